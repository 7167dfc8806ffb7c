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


# Transport security (k8s/README.md "Transport security"): the flags and files of issue 21.
TLS_FILES = {"tls_cert_file": "tls.crt", "tls_key_file": "tls.key", "tls_ca_file": "ca.crt"}
HEALTH_PORT = 7002
TRUE = {"true", "1", "yes"}  # common/config.cc ParseBool


def flag_settings(c, config_maps):
    """The flags the container's binary sees, name -> value: the ConfigMaps of envFrom, then
    env (MP_<FLAG>), then args, the command line winning (common/config.h). A value taken from
    a reference (valueFrom) reads '<ref>'."""
    s = {}

    def put_env(key, value):
        if key.startswith("MP_"):
            s[key[3:].lower()] = str(value)

    for ref in c.get("envFrom", []):
        cm = config_maps.get(ref.get("configMapRef", {}).get("name"))
        for key, value in ((cm or {}).get("data") or {}).items():
            put_env(ref.get("prefix", "") + key, value)
    for e in c.get("env", []):
        put_env(e["name"], e.get("value", "<ref>"))
    for a in c.get("args", []):
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            s[name] = value if eq else "true"
    return s


def tls_rules(where, app, c, spec, s, init):
    """Servers and the gateway: the three TLS files from a read-only mount of Secret <app>-tls,
    never --insecure. Init containers: the key stays out; --insecure only in migrate."""
    v = []
    tls_volumes = {vol["name"] for vol in spec.get("volumes", [])
                   if vol.get("secret", {}).get("secretName") == f"{app}-tls"}
    mounts = {m["mountPath"].rstrip("/"): m for m in c.get("volumeMounts", [])
              if m["name"] in tls_volumes}
    insecure = s.get("insecure", "false").lower() in TRUE
    if init:
        if insecure and not (c["name"] == "migrate" and "--migrate_only" in c.get("args", [])):
            v.append(f"{where}: --insecure outside the migrate init container (--migrate_only)")
        if mounts:
            v.append(f"{where}: Secret {app}-tls (the private key) mounted outside the serving "
                     "container")
        if not insecure and not ("tls_cert_file" in s and "tls_key_file" in s):
            v.append(f"{where}: neither --insecure nor TLS files: the binary exits 2")
        if insecure and any(flag in s for flag in TLS_FILES):
            v.append(f"{where}: --insecure together with TLS files: the binary exits 2")
        return v
    if insecure:
        v.append(f"{where}: --insecure (plaintext gRPC) is not allowed")
    if any(m.get("readOnly") is not True for m in mounts.values()):
        v.append(f"{where}: Secret {app}-tls must be mounted readOnly")
    if any(m.get("subPath") for m in mounts.values()):
        v.append(f"{where}: Secret {app}-tls mounted with subPath: renewals would not reach it")
    for flag, key in TLS_FILES.items():
        path = s.get(flag)
        if not path:
            v.append(f"{where}: {flag} not set (MP_{flag.upper()} or --{flag})")
            continue
        folder, _, base = path.rpartition("/")
        m = mounts.get(folder)
        if m is None or base != key:
            v.append(f"{where}: {flag}={path} must be {key} on the mount of Secret {app}-tls")
    return v


def health_rules(where, c, s):
    """Services: plaintext gRPC health on 0.0.0.0:7002 (port `health`), every probe there (the
    kubelet's gRPC probes cannot speak TLS; the gRPC port requires it)."""
    v = []
    host, _, port = s.get("health_address", "").rpartition(":")
    if port != str(HEALTH_PORT) or host not in ("0.0.0.0", "[::]"):
        v.append(f"{where}: --health_address must be 0.0.0.0:{HEALTH_PORT} (plaintext health "
                 f"for the kubelet), got {s.get('health_address')!r}")
    declared = [p for p in c.get("ports", []) if p.get("name") == "health"]
    if not declared or declared[0].get("containerPort") != HEALTH_PORT:
        v.append(f"{where}: container port 'health' ({HEALTH_PORT}) not declared")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = (c.get(probe) or {}).get("grpc")
        if grpc and grpc.get("port") != HEALTH_PORT:
            v.append(f"{where}: {probe} must use the health port {HEALTH_PORT} "
                     "(the gRPC port speaks TLS only)")
    return v


def certificate_rules(tls_secrets, by_kind, production):
    """Where each <app>-tls Secret comes from: in production a cert-manager Certificate from a
    CA Issuer (ca.crt), with the DNS names callers dial and both usages; in the dev overlay a
    generated Secret with tls.crt, tls.key and ca.crt. The base generates nothing."""
    v = []
    certs = {c["spec"].get("secretName"): c for c in by_kind.get("Certificate", [])}
    issuers = {i["metadata"]["name"]: i for i in by_kind.get("Issuer", [])}
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    for name in sorted(tls_secrets):
        app = name[:-len("-tls")]
        if production:
            cert = certs.get(name)
            if cert is None:
                v.append(f"Secret {name}: no Certificate issues it in production")
                continue
            where = f"Certificate/{cert['metadata']['name']}"
            wanted = {app, f"{app}.marketplace", f"{app}.marketplace.svc",
                      f"{app}.marketplace.svc.cluster.local"}
            missing = wanted - set(cert["spec"].get("dnsNames", []))
            if missing:
                v.append(f"{where}: DNS names missing {sorted(missing)}")
            if not {"server auth", "client auth"} <= set(cert["spec"].get("usages", [])):
                v.append(f"{where}: usages must include server auth and client auth (mutual TLS)")
            ref = cert["spec"].get("issuerRef", {})
            if ref.get("kind", "Issuer") == "Issuer":
                issuer = issuers.get(ref.get("name"))
                if issuer is None:
                    v.append(f"{where}: Issuer {ref.get('name')!r} not in the manifests")
                elif "ca" not in issuer["spec"]:
                    v.append(f"{where}: Issuer {ref.get('name')} must be a CA issuer (it writes "
                             "ca.crt)")
        elif secrets:
            keys = set((secrets.get(name) or {}).get("data", {}))
            if keys != {"tls.crt", "tls.key", "ca.crt"}:
                v.append(f"Secret {name}: must be generated with tls.crt, tls.key, ca.crt, "
                         f"has {sorted(keys)}")
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
    config_maps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    tls_secrets = set()
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
        app = w["metadata"]["name"]
        tls_secrets |= {vol["secret"]["secretName"] for vol in spec.get("volumes", [])
                        if vol.get("secret", {}).get("secretName", "").endswith("-tls")}
        for c in spec.get("initContainers", []) + containers:
            where = f"{name}/{c['name']}"
            v += container_rules(where, c, pod_sc)
            v += tls_rules(where, app, c, spec, flag_settings(c, config_maps),
                           init=c not in containers)
            if not any(m["mountPath"] == "/tmp" and m["name"] in tmp
                       for m in c.get("volumeMounts", [])):
                v.append(f"{where}: /tmp must be an emptyDir (read-only root filesystem)")
            if production and not DIGEST.match(c.get("image", "")):
                v.append(f"{where}: production images must be pinned by digest "
                         f"(registry/name@sha256:...), got {c.get('image')!r}")
        for c in containers:
            where = f"{name}/{c['name']}"
            v += probe_rules(where, c)
            if app != "gateway":  # the gateway's probes stay on its admin port
                v += health_rules(where, c, flag_settings(c, config_maps))
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

    v += certificate_rules(tls_secrets, by_kind, production)
    for s in by_kind.get("Service", []):
        for p in s["spec"].get("ports", []):
            if p.get("port") == HEALTH_PORT or p.get("targetPort") in (HEALTH_PORT, "health"):
                v.append(f"Service/{s['metadata']['name']}: exposes the plaintext health port "
                         "(only the kubelet probes it)")
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


def init(objects, name):
    return deployment(objects, name)["spec"]["template"]["spec"]["initContainers"][0]


def config_map(objects, name):
    return next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name)


def service(objects, name):
    return next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == name)


def certificate(objects, name):
    return next(o for o in objects
                if o["kind"] == "Certificate" and o["metadata"]["name"] == name)


def mount(container, name):
    return next(m for m in container["volumeMounts"] if m["name"] == name)


def drop_env(container, name):
    container["env"] = [e for e in container["env"] if e["name"] != name]


def set_env(container, name, value):
    next(e for e in container["env"] if e["name"] == name)["value"] = value


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
    ("--insecure on a server", lambda o: server(o, "payments")["args"].append("--insecure"),
     "payments/server: --insecure (plaintext gRPC)"),
    ("MP_INSECURE in a ConfigMap", lambda o: config_map(o, "catalog-config")["data"].update(
        MP_INSECURE="yes"), "catalog/server: --insecure (plaintext gRPC)"),
    ("--insecure on the gateway", lambda o: server(o, "gateway")["args"].append(
        "--insecure=true"), "gateway/server: --insecure"),
    ("no CA bundle", lambda o: drop_env(server(o, "identity"), "MP_TLS_CA_FILE"),
     "identity/server: tls_ca_file not set"),
    ("gateway without client certificate", lambda o: server(o, "gateway").pop("env"),
     "gateway/server: tls_cert_file not set"),
    ("key off the Secret", lambda o: set_env(server(o, "support"), "MP_TLS_KEY_FILE",
                                             "/tmp/tls.key"), "tls_key_file=/tmp/tls.key"),
    ("cert and key swapped by args", lambda o: server(o, "sellerkpi")["args"].append(
        "--tls_cert_file=/secrets/tls/tls.key"), "tls_cert_file=/secrets/tls/tls.key"),
    ("writable TLS mount", lambda o: mount(server(o, "catalog"), "tls").update(readOnly=False),
     "catalog-tls must be mounted readOnly"),
    ("TLS files by subPath", lambda o: mount(server(o, "gateway"), "tls").update(
        subPath="tls.crt"), "renewals would not reach it"),
    ("TLS key in the migrate container", lambda o: init(o, "payments")["volumeMounts"].append(
        {"name": "tls", "mountPath": "/secrets/tls", "readOnly": True}),
     "mounted outside the serving container"),
    ("migrate without --insecure", lambda o: init(o, "identity")["args"].remove("--insecure"),
     "the binary exits 2"),
    ("TLS file for every container in a shared ConfigMap", lambda o: config_map(
        o, "marketplace-db")["data"].update(MP_TLS_CA_FILE="/secrets/tls/ca.crt"),
     "support/migrate: --insecure together with TLS files"),
    ("readiness on the TLS port", lambda o: server(o, "catalog")["readinessProbe"]["grpc"].update(
        port=7000), "readinessProbe must use the health port"),
    ("no health listener", lambda o: server(o, "sellerkpi").update(args=[
        a for a in server(o, "sellerkpi")["args"] if not a.startswith("--health_address")]),
     "--health_address"),
    ("health listener on loopback", lambda o: server(o, "payments")["args"].append(
        "--health_address=127.0.0.1:7002"), "--health_address must be 0.0.0.0:7002"),
    ("health port undeclared", lambda o: server(o, "identity").update(ports=[
        p for p in server(o, "identity")["ports"] if p["name"] != "health"]),
     "container port 'health'"),
    ("health port in the Service", lambda o: service(o, "payments")["spec"]["ports"].append(
        {"name": "health", "port": 7002, "targetPort": "health"}), "plaintext health port"),
    ("certificate without the short name", lambda o: certificate(o, "identity-tls")["spec"][
        "dnsNames"].remove("identity"), "DNS names missing ['identity']"),
    ("server-only certificate", lambda o: certificate(o, "payments-tls")["spec"].update(
        usages=["digital signature", "server auth"]), "client auth"),
    ("no Certificate", lambda o: o.remove(certificate(o, "gateway-tls")),
     "gateway-tls: no Certificate"),
    ("no CA issuer", lambda o: o.remove(next(i for i in o if i["kind"] == "Issuer")),
     "Issuer 'marketplace-ca' not in the manifests"),
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

    def test_dev_tls_secret_without_ca_is_caught(self):
        objects = copy.deepcopy(k8s_lib.render("overlays/dev"))
        secret = next(o for o in objects
                      if o["kind"] == "Secret" and o["metadata"]["name"] == "payments-tls")
        secret["data"].pop("ca.crt")
        self.assertTrue(any(f.startswith("Secret payments-tls: must be generated with")
                            for f in policy_violations(objects, production=False)))

    def test_the_tls_rules_see_every_server_and_the_gateway(self):
        # Not vacuous: every workload mounts its own <name>-tls and production issues all six.
        objects = k8s_lib.render("overlays/production")
        for name in k8s_lib.SERVICES:
            spec = deployment(objects, name)["spec"]["template"]["spec"]
            self.assertIn(f"{name}-tls", [vol.get("secret", {}).get("secretName")
                                          for vol in spec["volumes"]])
            certificate(objects, f"{name}-tls")

    def test_dev_with_two_replicas_is_caught(self):
        objects = copy.deepcopy(k8s_lib.render("overlays/dev"))
        deployment(objects, "catalog")["spec"]["replicas"] = 2
        self.assertIn("catalog: outside production one replica and no HPA",
                      policy_violations(objects, production=False))


if __name__ == "__main__":
    unittest.main()
