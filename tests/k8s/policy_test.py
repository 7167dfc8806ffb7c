"""Policy over every pod template of every overlay (k8s/README.md "Policy"), and proof that
each rule can fail: one setting mutated at a time must make the policy report it."""
import copy
import re
import unittest

import k8s_lib

DIGEST = re.compile(r"^[^@:]+(:[0-9]+)?/[^@]+@sha256:(?!0{64})[0-9a-f]{64}$")
DURATION = re.compile(r"^(\d+)s$")


def pod_templates(objects):
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield o, o["spec"]["template"]


def container_rules(where, c, pod_sc):
    v = []
    sc = c.get("securityContext", {})

    def eff(key):
        return sc.get(key, pod_sc.get(key))

    if sc.get("allowPrivilegeEscalation") is not False:
        v.append(f"{where}: allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        v.append(f"{where}: privileged")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        v.append(f"{where}: capabilities must drop ALL")
    if sc.get("capabilities", {}).get("add"):
        v.append(f"{where}: capabilities added")
    if sc.get("readOnlyRootFilesystem") is not True:
        v.append(f"{where}: readOnlyRootFilesystem must be true")
    if eff("runAsNonRoot") is not True:
        v.append(f"{where}: runAsNonRoot must be true")
    if eff("runAsUser") != 65532:
        v.append(f"{where}: runAsUser must be 65532")
    if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
        v.append(f"{where}: seccompProfile must be RuntimeDefault")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(kind, {}):
                v.append(f"{where}: resources.{kind}.{r} missing")
    image = c.get("image", "")
    if image.endswith(":latest") or ("@" not in image and ":" not in image.split("/")[-1]):
        v.append(f"{where}: image {image!r} must name a version (never latest)")
    for m in c.get("volumeMounts", []):
        if m["mountPath"].startswith("/secrets") and not m.get("readOnly"):
            v.append(f"{where}: secret mount {m['mountPath']} must be readOnly")
    return v


def probe_rules(where, c):
    v = []
    readiness, liveness, startup = (c.get(p) for p in
                                    ("readinessProbe", "livenessProbe", "startupProbe"))
    if not readiness or "grpc" not in readiness or readiness["grpc"].get("service", ""):
        v.append(f"{where}: readinessProbe must be gRPC on the overall status (service '')")
    if not liveness or liveness.get("grpc", {}).get("service") != "liveness":
        v.append(f"{where}: livenessProbe must be gRPC on service 'liveness'")
    if not startup or "grpc" not in startup:
        v.append(f"{where}: startupProbe (gRPC) missing")
    ports = {p["containerPort"] for p in c.get("ports", [])}
    for name, p in (("readiness", readiness), ("liveness", liveness), ("startup", startup)):
        if p and "grpc" in p and p["grpc"].get("port") not in ports:
            v.append(f"{where}: {name} probe port is not a container port")
    return v


def seconds(args, flag):
    for a in args:
        if a.startswith(f"--{flag}="):
            m = DURATION.match(a.split("=", 1)[1])
            return int(m.group(1)) if m else None
    return None


def policy_violations(objects, production):
    v = []
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)

    namespaces = by_kind.get("Namespace", [])
    if not any(n["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
               == "restricted" for n in namespaces):
        v.append("namespace: pod-security.kubernetes.io/enforce must be restricted")

    accounts = {a["metadata"]["name"]: a for a in by_kind.get("ServiceAccount", [])}
    templates = list(pod_templates(objects))
    for w, t in templates:
        name = f"{w['kind']}/{w['metadata']['name']}"
        spec = t["spec"]
        pod_sc = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            v.append(f"{name}: automountServiceAccountToken must be false")
        sa = accounts.get(spec.get("serviceAccountName", "default"))
        if sa is None:
            v.append(f"{name}: its ServiceAccount is not in the manifests")
        elif sa.get("automountServiceAccountToken") is not False:
            v.append(f"{name}: ServiceAccount must not automount its token")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                v.append(f"{name}: {host}")
        if any("hostPath" in vol for vol in spec.get("volumes", [])):
            v.append(f"{name}: hostPath volume")
        if pod_sc.get("runAsNonRoot") is not True or pod_sc.get("runAsUser") != 65532:
            v.append(f"{name}: pod must run as non-root user 65532")
        tmp = [vol["name"] for vol in spec.get("volumes", []) if "emptyDir" in vol]
        containers = spec.get("containers", [])
        for c in spec.get("initContainers", []) + containers:
            where = f"{name}/{c['name']}"
            v += container_rules(where, c, pod_sc)
            if not any(m["mountPath"] == "/tmp" and m["name"] in tmp
                       for m in c.get("volumeMounts", [])):
                v.append(f"{where}: /tmp must be an emptyDir (read-only root filesystem)")
            if production and not DIGEST.match(c.get("image", "")):
                v.append(f"{where}: production images must be pinned by digest "
                         f"(registry/name@sha256:...), got {c.get('image')!r}")
        for c in containers:
            where = f"{name}/{c['name']}"
            v += probe_rules(where, c)
            grace, drain = seconds(c.get("args", []), "shutdown_grace"), seconds(
                c.get("args", []), "drain_timeout")
            if grace is None or drain is None:
                v.append(f"{where}: --shutdown_grace and --drain_timeout must be set in seconds")
            elif spec.get("terminationGracePeriodSeconds", 30) <= grace + drain:
                v.append(f"{where}: terminationGracePeriodSeconds must exceed "
                         f"shutdown_grace + drain_timeout ({grace + drain}s)")
        owner_volumes = {vol["name"] for vol in spec.get("volumes", [])
                         if vol.get("secret", {}).get("secretName", "").endswith("-db-owner")}
        if owner_volumes:
            migrate = [c for c in spec.get("initContainers", []) if c["name"] == "migrate"]
            if not migrate or "--migrate_only" not in migrate[0].get("args", []):
                v.append(f"{name}: the DDL user's secret needs a migrate init container "
                         "running --migrate_only")
            for c in containers:
                if any(m["name"] in owner_volumes for m in c.get("volumeMounts", [])):
                    v.append(f"{name}/{c['name']}: the DDL user's secret is mounted outside the "
                             "migrate init container")
        elif w["metadata"]["name"] != "gateway":
            v.append(f"{name}: no DDL secret: migrations would run as the service's DML user")
        if production:
            keys = {c.get("topologyKey") for c in spec.get("topologySpreadConstraints", [])}
            if "kubernetes.io/hostname" not in keys:
                v.append(f"{name}: production pods must spread across nodes")

    def selects(selector, labels):
        return selector and all(labels.get(k) == val for k, val in selector.items())

    for s in by_kind.get("Service", []):
        if not any(selects(s["spec"].get("selector"), t["metadata"].get("labels", {}))
                   for _, t in templates):
            v.append(f"Service/{s['metadata']['name']}: selector matches no pod template")
    for w, t in templates:
        labels = t["metadata"].get("labels", {})
        name = w["metadata"]["name"]
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", [])
                if selects(p["spec"].get("selector", {}).get("matchLabels"), labels)]
        if not pdbs:
            v.append(f"{name}: no PodDisruptionBudget")
        for p in pdbs:
            if p["apiVersion"] != "policy/v1" or p["spec"].get("maxUnavailable") != 1:
                v.append(f"{name}: PodDisruptionBudget must be policy/v1 maxUnavailable 1")
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
                if h["spec"]["scaleTargetRef"].get("kind") == w["kind"]
                and h["spec"]["scaleTargetRef"].get("name") == name]
        if production:
            if not hpas:
                v.append(f"{name}: no HorizontalPodAutoscaler in production")
            for h in hpas:
                cpu = [m for m in h["spec"].get("metrics", [])
                       if m.get("resource", {}).get("name") == "cpu"]
                if (h["apiVersion"] != "autoscaling/v2" or h["spec"].get("minReplicas") != 2
                        or h["spec"].get("maxReplicas") != 6 or not cpu
                        or cpu[0]["resource"]["target"].get("averageUtilization") != 70):
                    v.append(f"{name}: HPA must be autoscaling/v2, CPU 70 %, 2-6 replicas")
        elif w["spec"].get("replicas", 1) != 1 or hpas:
            v.append(f"{name}: outside production one replica and no HPA")

    policies = by_kind.get("NetworkPolicy", [])
    if not any(p["spec"].get("podSelector") == {}
               and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress")
               for p in policies):
        v.append("no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)")
    for w, t in templates:
        labels = t["metadata"].get("labels", {})
        if not any(selects(p["spec"]["podSelector"].get("matchLabels"), labels)
                   for p in policies):
            v.append(f"{w['metadata']['name']}: no NetworkPolicy of its own")
    return v


def deployment(objects, name):
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def server(objects, name):
    return deployment(objects, name)["spec"]["template"]["spec"]["containers"][0]


# One mutation per rule: (description, function changing the rendered production objects,
# text the violation must contain).
MUTATIONS = [
    ("privilege escalation", lambda o: server(o, "payments")["securityContext"].update(
        allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    ("writable root", lambda o: server(o, "identity")["securityContext"].update(
        readOnlyRootFilesystem=False), "readOnlyRootFilesystem"),
    ("root user", lambda o: deployment(o, "catalog")["spec"]["template"]["spec"][
        "securityContext"].update(runAsUser=0), "65532"),
    ("capabilities kept", lambda o: server(o, "support")["securityContext"].update(
        capabilities={}), "drop ALL"),
    ("no seccomp", lambda o: [server(o, "gateway")["securityContext"].pop("seccompProfile"),
                              deployment(o, "gateway")["spec"]["template"]["spec"][
                                  "securityContext"].pop("seccompProfile")], "seccompProfile"),
    ("no limits", lambda o: server(o, "sellerkpi")["resources"].pop("limits"), "limits"),
    ("init container without requests", lambda o: deployment(o, "payments")["spec"]["template"][
        "spec"]["initContainers"][0]["resources"].pop("requests"), "requests"),
    ("no liveness", lambda o: server(o, "payments").pop("livenessProbe"), "livenessProbe"),
    ("http readiness", lambda o: server(o, "catalog").update(
        readinessProbe={"httpGet": {"path": "/", "port": 9100}}), "readinessProbe"),
    ("no startup probe", lambda o: server(o, "identity").pop("startupProbe"), "startupProbe"),
    ("short grace", lambda o: deployment(o, "support")["spec"]["template"]["spec"].update(
        terminationGracePeriodSeconds=20), "terminationGracePeriodSeconds"),
    ("latest tag", lambda o: server(o, "gateway").update(image="marketplace/gateway:latest"),
     "latest"),
    ("image by tag in prod", lambda o: server(o, "payments").update(
        image="registry.example.com/marketplace/payments:0.1.0"), "digest"),
    ("token automount", lambda o: deployment(o, "payments")["spec"]["template"]["spec"].update(
        automountServiceAccountToken=True), "automountServiceAccountToken"),
    ("writable secret", lambda o: server(o, "payments")["volumeMounts"][1].update(
        readOnly=False), "readOnly"),
    ("DDL secret in the server", lambda o: server(o, "payments")["volumeMounts"].append(
        {"name": "db-owner", "mountPath": "/secrets/owner", "readOnly": True}),
     "outside the migrate init container"),
    ("no migrate init container", lambda o: deployment(o, "support")["spec"]["template"][
        "spec"].pop("initContainers"), "--migrate_only"),
    ("service selector typo", lambda o: next(
        s for s in o if s["kind"] == "Service" and s["metadata"]["name"] == "support")[
        "spec"]["selector"].update(app="suport"), "selector matches no pod"),
    ("no PDB", lambda o: o.remove(next(p for p in o if p["kind"] == "PodDisruptionBudget"
                                       and p["metadata"]["name"] == "catalog")),
     "catalog: no PodDisruptionBudget"),
    ("no HPA", lambda o: o.remove(next(p for p in o if p["kind"] == "HorizontalPodAutoscaler"
                                       and p["metadata"]["name"] == "gateway")),
     "gateway: no HorizontalPodAutoscaler"),
    ("no default deny", lambda o: o.remove(next(p for p in o if p["kind"] == "NetworkPolicy"
                                                and p["metadata"]["name"] == "default-deny")),
     "default-deny"),
    ("no spread", lambda o: deployment(o, "identity")["spec"]["template"]["spec"].pop(
        "topologySpreadConstraints"), "spread"),
    ("PSA not enforced", lambda o: next(n for n in o if n["kind"] == "Namespace")["metadata"][
        "labels"].update({"pod-security.kubernetes.io/enforce": "baseline"}), "restricted"),
]


class PolicyTest(unittest.TestCase):
    def test_every_overlay_passes(self):
        for overlay in k8s_lib.OVERLAYS:
            with self.subTest(overlay=overlay):
                self.assertEqual(policy_violations(k8s_lib.render(overlay),
                                                   overlay == "overlays/production"), [])

    def test_each_mutation_is_caught(self):
        base = k8s_lib.render("overlays/production")
        for description, mutate, expected in MUTATIONS:
            with self.subTest(mutation=description):
                objects = copy.deepcopy(base)
                mutate(objects)
                found = policy_violations(objects, production=True)
                self.assertTrue(any(expected in f for f in found),
                                f"{description}: expected a violation with {expected!r}, got {found}")

    def test_dev_with_two_replicas_is_caught(self):
        objects = copy.deepcopy(k8s_lib.render("overlays/dev"))
        deployment(objects, "catalog")["spec"]["replicas"] = 2
        self.assertIn("catalog: outside production one replica and no HPA",
                      policy_violations(objects, production=False))


if __name__ == "__main__":
    unittest.main()
