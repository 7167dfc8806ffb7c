#!/usr/bin/env bash
# tools/image/build.sh offline: payments' image built twice gives the same digest; skopeo reads
# it; unpacked into a folder, the binary runs with chroot (`--version`), so its library closure
# is complete; no shell in the image; the passwd entry, CA bundle and zoneinfo are there.
# chroot needs root (the README test command runs as root).
set -euo pipefail
root="${TEST_SRCDIR:?}/${TEST_WORKSPACE:-marketplace}"
binary="$root/services/payments/payments_server"
work="${TEST_TMPDIR:?}/image"
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root for chroot"

for n in 1 2; do
  MP_IMAGE_DIR="$work/build$n" MP_IMAGE_BINARY="$binary" bash "$root/tools/image/build.sh" payments \
    >"$work/digest$n" 2>"$work/log$n" || { cat "$work/log$n"; fail "build $n"; }
done
d1=$(cat "$work/digest1"); d2=$(cat "$work/digest2")
[[ "$d1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "no digest: $d1"
[ "$d1" = "$d2" ] || fail "two builds differ: $d1 vs $d2"
echo "same digest twice: $d1"

tag=$(sed -n 's/^inline constexpr char kVersion\[\] = "\(.*\)";$/\1/p' "$root/common/version.h")
image="$work/build1/payments"
inspect=$(skopeo inspect "oci:$image:$tag")
echo "$inspect" | /usr/bin/python3 -c '
import json, sys
info = json.load(sys.stdin)
assert info["Digest"] == sys.argv[1], (info["Digest"], sys.argv[1])
assert len(info["Layers"]) == 1, info["Layers"]
assert info["Os"] == "linux" and info["Architecture"] == "amd64", info
' "$d1" || fail "skopeo inspect: $inspect"
config=$(skopeo inspect --config "oci:$image:$tag")
echo "$config" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["config"]
assert c["User"] == "65532:65532", c
assert c["Entrypoint"] == ["/app/payments_server"], c
' || fail "image config: $config"

umoci unpack --rootless --image "$image:$tag" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
for shell in sh bash dash busybox; do
  [ -z "$(find "$rootfs" -name "$shell")" ] || fail "a shell ($shell) is in the image"
done
grep -q '^nonroot:x:65532:65532:' "$rootfs/etc/passwd" || fail "no passwd entry for 65532"
[ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle"
[ -s "$rootfs/usr/share/zoneinfo/Europe/Paris" ] || fail "no zoneinfo"
# A sanitizer build (bazel test --config=asan) needs /proc at exit, which no image has;
# images are only ever made from the normal build, where the run is checked.
if grep -q -e __asan_init -e __tsan_init <(readelf -s "$binary"); then
  echo "chroot: not run (a sanitizer build of the binary needs /proc)"
else
  out=$(/usr/sbin/chroot "$rootfs" /app/payments_server --version) ||
    fail "--version in the chroot failed"
  [[ "$out" =~ ^payments_server\ $tag\ \(commit\ [^\)]+\)$ ]] || fail "--version printed: $out"
  echo "chroot: $out"
fi
echo "layer size: $(du -b "$image"/blobs/sha256/* | sort -n | tail -1 | cut -f1) bytes (gzip)"
echo "PASS"
