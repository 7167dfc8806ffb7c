#!/usr/bin/env python3
"""Writes the single, reproducible root-filesystem layer of a service image (uncompressed tar).

Contents: the binary at /app/<name>, its shared-library closure as `ldd` resolves it on this
(Debian 12) machine, each library stored as a regular file at the path the loader asks for;
/etc/passwd and /etc/group with root and nonroot (65532); /etc/nsswitch.conf; the CA bundle
(/etc/ssl/certs/ca-certificates.crt); /usr/share/zoneinfo (tzdata); data files given as
SRC=DEST; an empty /tmp (mode 1777). No shell, no package manager.

Reproducible: entries sorted by path, every mtime SOURCE_DATE_EPOCH (default 0), owner 0:0
with empty user/group names, modes normalised (0755 executables and directories, 0644 files),
GNU tar format without PAX headers: the same inputs give the same bytes.

Usage: make_layer.py --binary PATH --name NAME --out layer.tar [--data SRC=DEST ...]
"""
import argparse
import io
import os
import re
import subprocess
import sys
import tarfile

ZONEINFO = "/usr/share/zoneinfo"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

PASSWD = ("root:x:0:0:root:/root:/usr/sbin/nologin\n"
          "nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n")
GROUP = "root:x:0:\nnonroot:x:65532:\n"
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"


def library_closure(binary):
    """Absolute paths of every shared object `ldd` lists for `binary` (loader included)."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    paths = set()
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            sys.exit(f"make_layer: {binary}: missing library: {line}")
        m = re.match(r"\S+ => (/\S+) \(0x[0-9a-f]+\)$", line) or re.match(
            r"(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            paths.add(m.group(1))
        elif "=>" in line or line.startswith("/"):
            sys.exit(f"make_layer: cannot read ldd line: {line}")
    return sorted(paths)


class Layer:
    def __init__(self, mtime):
        self.mtime = mtime
        self.entries = {}  # path (no leading /) -> (TarInfo, bytes or None)

    def _dirs(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.add_dir(d)

    def _info(self, path, kind, mode):
        info = tarfile.TarInfo(path)
        info.type = kind
        info.mode = mode
        info.mtime = self.mtime
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def add_dir(self, path, mode=0o755):
        path = path.strip("/")
        self._dirs(path)
        self.entries[path] = (self._info(path, tarfile.DIRTYPE, mode), None)

    def add_bytes(self, path, data, mode=0o644):
        path = path.strip("/")
        self._dirs(path)
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.entries[path] = (info, data)

    def add_file(self, path, source):
        with open(source, "rb") as f:
            data = f.read()
        executable = os.stat(source).st_mode & 0o111
        self.add_bytes(path, data, 0o755 if executable else 0o644)

    def add_symlink(self, path, target):
        path = path.strip("/")
        self._dirs(path)
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.entries[path] = (info, None)

    def add_tree(self, root):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            self.add_dir(dirpath)
            for name in sorted(filenames + [d for d in dirnames
                                            if os.path.islink(os.path.join(dirpath, d))]):
                full = os.path.join(dirpath, name)
                if os.path.islink(full):
                    target = os.readlink(full)
                    if target.startswith("/"):
                        self.add_file(full, full)  # absolute links: store the content
                    else:
                        self.add_symlink(full, target)
                elif os.path.isfile(full):
                    self.add_file(full, full)

    def write(self, out):
        with open(out, "wb") as f:
            with tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT) as tar:
                for path in sorted(self.entries):
                    info, data = self.entries[path]
                    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--name", required=True, help="file name under /app")
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", action="append", default=[], help="SRC=DEST (absolute DEST)")
    args = parser.parse_args()

    layer = Layer(int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    layer.add_dir("tmp", 0o1777)
    layer.add_dir("home/nonroot", 0o755)
    layer.add_bytes("etc/passwd", PASSWD.encode())
    layer.add_bytes("etc/group", GROUP.encode())
    layer.add_bytes("etc/nsswitch.conf", NSSWITCH.encode())
    layer.add_file(CA_BUNDLE, CA_BUNDLE)
    layer.add_tree(ZONEINFO)
    for lib in library_closure(args.binary):
        layer.add_file(lib, os.path.realpath(lib))
    layer.add_bytes(f"app/{args.name}", open(args.binary, "rb").read(), 0o755)
    for spec in args.data:
        src, _, dest = spec.partition("=")
        if not dest.startswith("/"):
            sys.exit(f"make_layer: --data {spec}: DEST must be absolute")
        layer.add_file(dest, src)
    layer.write(args.out)


if __name__ == "__main__":
    main()
