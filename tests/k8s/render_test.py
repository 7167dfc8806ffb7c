"""Every kustomization renders with Debian 12's kubectl (kustomize v2.0.3) and uses only the
fields v2.0.3 has."""
import glob
import os
import unittest

import yaml

import k8s_lib

# Fields newer kustomize versions have and v2.0.3 refuses or ignores.
FORBIDDEN = {"components", "labels", "replicas", "patches", "openapi", "helmCharts"}


class RenderTest(unittest.TestCase):
    def test_kubectl_is_debians(self):
        k8s_lib.check_kubectl_is_debian_v2()

    def test_every_overlay_renders(self):
        for overlay in k8s_lib.OVERLAYS + ["monitoring"]:
            with self.subTest(overlay=overlay):
                objects = k8s_lib.render(overlay)
                self.assertTrue(objects)

    def test_overlays_render_every_service(self):
        for overlay in k8s_lib.OVERLAYS:
            names = {o["metadata"]["name"] for o in k8s_lib.render(overlay)
                     if o["kind"] == "Deployment"}
            self.assertEqual(names, set(k8s_lib.SERVICES), overlay)

    def test_everything_is_namespaced_in_marketplace(self):
        for overlay in k8s_lib.OVERLAYS:
            for o in k8s_lib.render(overlay):
                if o["kind"] == "Namespace":
                    continue
                self.assertEqual(o["metadata"].get("namespace"), "marketplace",
                                 f"{overlay}: {o['kind']}/{o['metadata']['name']}")

    def test_only_v2_fields(self):
        files = glob.glob(os.path.join(k8s_lib.k8s_dir(), "**", "kustomization.yaml"),
                          recursive=True)
        self.assertGreaterEqual(len(files), 4)
        for path in files:
            with open(path) as f:
                k = yaml.safe_load(f)
            used = FORBIDDEN & set(k)
            self.assertFalse(used, f"{path}: {sorted(used)} not in kustomize v2.0.3")
            for entry in k.get("resources", []):
                self.assertTrue(entry.endswith(".yaml"),
                                f"{path}: resources take files in v2.0.3; {entry} goes to bases:")

    def test_a_v3_field_fails_to_render(self):
        # The check above matters: kustomize v2.0.3 itself refuses `replicas`.
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            root = k8s_lib.copy_k8s(os.path.join(tmp, "k8s"))
            path = os.path.join(root, "overlays", "dev", "kustomization.yaml")
            with open(path, "a") as f:
                f.write("replicas:\n  - {name: identity, count: 2}\n")
            with self.assertRaisesRegex(AssertionError, "replicas"):
                k8s_lib.render_dir(root, "overlays/dev")


if __name__ == "__main__":
    unittest.main()
