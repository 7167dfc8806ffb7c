"""Every rendered object against the API models of Debian 12's python3-kubernetes (client
22.6, Kubernetes API 1.22): an unknown field or a value of the wrong type fails. Fields newer
than API 1.22 that the manifests use are in NEWER_FIELDS / NEWER_KINDS below. The two
monitoring CRDs and cert-manager's Certificate and Issuer (no model in the client) are checked
with the JSON Schemas in schemas/."""
import json
import os
import re
import unittest

import jsonschema
import kubernetes.client as models

import k8s_lib

# Fields newer than API 1.22 (model name -> field -> type in the client's notation).
NEWER_FIELDS = {
    # Native gRPC probes: alpha in 1.23, beta in 1.24, GA in 1.27.
    "V1Probe": {"grpc": "GRPCAction"},
}
# A model the client does not have: {"port": int, "service": str}.
EXTRA_MODELS = {
    "GRPCAction": {"port": "int", "service": "str"},
}
# Kinds whose apiVersion is newer than the client: checked against the model with the same
# shape. autoscaling/v2 (GA in 1.23) is autoscaling/v2beta2 renamed.
NEWER_KINDS = {
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2beta2HorizontalPodAutoscaler",
}
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.schema.json",
    ("cert-manager.io/v1", "Certificate"): "certificate.schema.json",
    ("cert-manager.io/v1", "Issuer"): "issuer.schema.json",
}
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def model_name(api_version, kind):
    if (api_version, kind) in NEWER_KINDS:
        return NEWER_KINDS[(api_version, kind)]
    version = api_version.split("/")[-1]
    return version[0].upper() + version[1:] + kind


def fields_of(name):
    if name in EXTRA_MODELS:
        types = EXTRA_MODELS[name]
        return {k: (k, t) for k, t in types.items()}
    cls = getattr(models, name)
    out = {cls.attribute_map[attr]: (attr, t) for attr, t in cls.openapi_types.items()}
    for field, t in NEWER_FIELDS.get(name, {}).items():
        out[field] = (field, t)
    return out


def check(value, type_name, path, errors, quantity=False):
    """Appends to `errors` every unknown field or wrong type under `value`."""
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", errors, quantity)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for k, v in value.items():
            check(v, m.group(1), f"{path}.{k}", errors, quantity)
        return
    if type_name == "object":  # int-or-string, or free form
        return
    if type_name in PRIMITIVES:
        expected = PRIMITIVES[type_name]
        if quantity and type_name == "str" and isinstance(value, (int, float)):
            return  # resource quantities may be written as numbers
        if isinstance(value, bool) and type_name != "bool":
            errors.append(f"{path}: expected {type_name}, got bool")
        elif not isinstance(value, expected):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    if type_name == "datetime":
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({type_name}), got {type(value).__name__}")
        return
    fields = fields_of(type_name)
    for key, v in value.items():
        if key not in fields:
            errors.append(f"{path}: unknown field {key!r} in {type_name}")
            continue
        _, t = fields[key]
        check(v, t, f"{path}.{key}", errors,
              quantity=type_name == "V1ResourceRequirements" or key == "sizeLimit")


def schema_errors(obj):
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in CRD_SCHEMAS:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas",
                            CRD_SCHEMAS[key])
        with open(path) as f:
            schema = json.load(f)
        return [f"{'.'.join(map(str, e.path))}: {e.message}"
                for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
    errors = []
    name = model_name(*key)
    if not hasattr(models, name):
        return [f"no model {name} for {key}"]
    check(obj, name, f"{obj['kind']}/{obj['metadata'].get('name')}", errors)
    return errors


class SchemaTest(unittest.TestCase):
    def test_every_object_matches_its_model(self):
        seen = set()
        for overlay in k8s_lib.OVERLAYS + ["monitoring"]:
            for obj in k8s_lib.render(overlay):
                seen.add(obj["kind"])
                with self.subTest(overlay=overlay, obj=f"{obj['kind']}/{obj['metadata']['name']}"):
                    self.assertEqual(schema_errors(obj), [])
        for kind in ["Deployment", "Service", "ConfigMap", "ServiceAccount", "NetworkPolicy",
                     "PodDisruptionBudget", "HorizontalPodAutoscaler", "Namespace", "Secret",
                     "ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"]:
            self.assertIn(kind, seen)

    def test_unknown_field_fails(self):
        dep = next(o for o in k8s_lib.render("base") if o["kind"] == "Deployment")
        dep = json.loads(json.dumps(dep))
        dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
        self.assertTrue(any("unknown field 'runAsNonroot'" in e for e in schema_errors(dep)))

    def test_wrong_type_fails(self):
        dep = next(o for o in k8s_lib.render("base") if o["kind"] == "Deployment")
        dep = json.loads(json.dumps(dep))
        dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "7000"
        self.assertTrue(any("expected int" in e for e in schema_errors(dep)))
        dep["spec"]["replicas"] = "2"
        self.assertTrue(any("spec.replicas: expected int" in e for e in schema_errors(dep)))

    def test_crd_schema_catches_a_bad_servicemonitor(self):
        sm = next(o for o in k8s_lib.render("monitoring") if o["kind"] == "ServiceMonitor")
        sm = json.loads(json.dumps(sm))
        sm["spec"]["endpoints"][0]["prot"] = "metrics"
        self.assertTrue(schema_errors(sm))

    def test_crd_schema_catches_a_bad_certificate(self):
        cert = next(o for o in k8s_lib.render("overlays/production") if o["kind"] == "Certificate")
        for mutate, expected in [
                (lambda c: c["spec"].update(dnsName=c["spec"]["dnsNames"]), "dnsName"),
                (lambda c: c["spec"].update(usages=["server auth", "clientAuth"]), "clientAuth"),
                (lambda c: c["spec"]["privateKey"].update(size=2048), "2048"),
                (lambda c: c["spec"].update(duration="90d"), "90d"),
                (lambda c: c["spec"].pop("issuerRef"), "issuerRef")]:
            broken = json.loads(json.dumps(cert))
            mutate(broken)
            errors = schema_errors(broken)
            self.assertTrue(any(expected in e for e in errors), (expected, errors))

    def test_crd_schema_catches_a_bad_issuer(self):
        issuer = next(o for o in k8s_lib.render("overlays/production") if o["kind"] == "Issuer")
        both = json.loads(json.dumps(issuer))
        both["spec"]["selfSigned"] = {}
        self.assertTrue(schema_errors(both))
        typo = json.loads(json.dumps(issuer))
        typo["spec"]["ca"]["secret"] = typo["spec"]["ca"].pop("secretName")
        self.assertTrue(schema_errors(typo))

    def test_dashboard_is_json_in_its_configmap(self):
        cm = next(o for o in k8s_lib.render("monitoring") if o["kind"] == "ConfigMap")
        dash = json.loads(cm["data"]["marketplace.json"])
        self.assertTrue(dash["panels"])


if __name__ == "__main__":
    unittest.main()
