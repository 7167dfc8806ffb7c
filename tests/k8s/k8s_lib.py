"""Shared helpers of tests/k8s: find the workspace and Debian's kubectl, render overlays.

Run with Debian's /usr/bin/python3 (python3-yaml, python3-kubernetes, python3-jsonschema).

kubectl: $MP_KUBECTL when set, otherwise <workspace>/.tools/usr/bin/kubectl, the Debian 12
kubernetes-client (kubectl 1.20, kustomize v2.0.3) that scripts/setup.sh unpacks there. The
workspace is found through the data files: under `bazel test` they are symlinks into the
source tree (spawn_strategy=local), so the real path of k8s/base/kustomization.yaml names it.
Never /usr/bin/kubectl: a newer kubectl accepts fields v2.0.3 refuses.
"""
import os
import shutil
import subprocess
import tempfile

import yaml

OVERLAYS = ["base", "overlays/dev", "overlays/production"]
SERVICES = ["identity", "catalog", "payments", "support", "sellerkpi", "gateway"]


def k8s_dir():
    """The k8s/ folder of the runfiles (under bazel test) or of the source tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in [os.path.join(os.environ.get("TEST_SRCDIR", ""),
                                   os.environ.get("TEST_WORKSPACE", ""), "k8s"),
                      os.path.join(here, "..", "..", "k8s")]:
        if os.path.isfile(os.path.join(candidate, "base", "kustomization.yaml")):
            return os.path.abspath(candidate)
    raise RuntimeError("k8s/ not found next to the test")


def workspace_root():
    real = os.path.realpath(os.path.join(k8s_dir(), "base", "kustomization.yaml"))
    return os.path.dirname(os.path.dirname(os.path.dirname(real)))


def kubectl():
    path = os.environ.get("MP_KUBECTL") or os.path.join(workspace_root(), ".tools", "usr", "bin",
                                                       "kubectl")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} missing: run scripts/setup.sh (unpacks Debian's kubectl)")
    return path


def check_kubectl_is_debian_v2():
    """kubectl 1.20 with the kustomize v2 packages (sigs.k8s.io/kustomize/pkg/...)."""
    out = subprocess.run([kubectl(), "version", "--client", "--short"], capture_output=True,
                         text=True, check=True).stdout
    if "v1.20." not in out:
        raise AssertionError(f"expected Debian 12's kubectl 1.20, got: {out.strip()}")
    with open(kubectl(), "rb") as f:
        if b"sigs.k8s.io/kustomize/pkg/commands/build" not in f.read():
            raise AssertionError("kubectl does not embed kustomize v2 (pkg/commands/build)")
    return out.strip()


def copy_k8s(dest):
    """A real copy of k8s/ (kustomize does not follow the runfiles' symlinks), with the dev
    overlay's throwaway secrets generated."""
    shutil.copytree(k8s_dir(), dest, symlinks=False)
    subprocess.run(["bash", os.path.join(dest, "overlays", "dev", "make_secrets.sh")],
                   check=True, capture_output=True)
    return dest


def render_dir(root, overlay):
    result = subprocess.run([kubectl(), "kustomize", os.path.join(root, overlay)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


_RENDERED = {}


def render(overlay):
    """Rendered objects of `overlay` (cached per process)."""
    if overlay not in _RENDERED:
        with tempfile.TemporaryDirectory() as tmp:
            root = copy_k8s(os.path.join(tmp, "k8s"))
            _RENDERED[overlay] = render_dir(root, overlay)
    return _RENDERED[overlay]
