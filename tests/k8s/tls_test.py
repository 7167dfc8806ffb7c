"""The dev overlay's TLS material, as rendered into the <name>-tls Secrets from what
k8s/overlays/dev/make_secrets.sh wrote (k8s/README.md "Transport security"):

- every certificate verifies against the throwaway CA as a TLS server and as a TLS client,
  names exactly the four DNS names callers may dial, is EC P-256, lasts 90 days and matches
  its key; every Secret carries the same ca.crt; the CA's key is in no Secret;
- the files really do mutual TLS over gRPC (Debian's python3-grpcio, the gRPC core the
  binaries use): the gateway's certificate calls identity under each of its names; no client
  certificate, a client certificate of another CA, or a name the certificate lacks fails;
- make_secrets.sh writes once, and issues a certificate again when it no longer verifies
  against the CA (new CA) or no longer matches its key.

Needs openssl (Debian's `openssl`, installed by scripts/setup.sh).
"""
import base64
import datetime
import os
import subprocess
import tempfile
import unittest
from concurrent import futures

import grpc

import k8s_lib

NAMES = k8s_lib.SERVICES  # the five services and the gateway


def dns_names(name):
    return [name, f"{name}.marketplace", f"{name}.marketplace.svc",
            f"{name}.marketplace.svc.cluster.local"]


def openssl(*args, check=True):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=check)


def rendered_tls():
    """name -> {key: bytes} of the dev overlay's <name>-tls Secrets."""
    out = {}
    for o in k8s_lib.render("overlays/dev"):
        if o["kind"] == "Secret" and o["metadata"]["name"].endswith("-tls"):
            out[o["metadata"]["name"][:-len("-tls")]] = {
                k: base64.b64decode(v) for k, v in o.get("data", {}).items()}
    return out


def write_files(folder, files):
    os.makedirs(folder, exist_ok=True)
    for key, data in files.items():
        with open(os.path.join(folder, key), "wb") as f:
            f.write(data)
    return folder


def not_after(path):
    text = openssl("x509", "-in", path, "-noout", "-enddate").stdout.strip()
    return datetime.datetime.strptime(text.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")


def not_before(path):
    text = openssl("x509", "-in", path, "-noout", "-startdate").stdout.strip()
    return datetime.datetime.strptime(text.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")


def run_make_secrets(folder):
    script = os.path.join(k8s_lib.k8s_dir(), "overlays", "dev", "make_secrets.sh")
    subprocess.run(["bash", script, folder], check=True, capture_output=True)


def read_all(folder):
    out = {}
    for name in NAMES:
        for key in ("tls.crt", "tls.key"):
            with open(os.path.join(folder, f"{name}-tls", key), "rb") as f:
                out[(name, key)] = f.read()
    return out


class DevCertificatesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.secrets = rendered_tls()
        cls.dirs = {name: write_files(os.path.join(cls.tmp.name, name), files)
                    for name, files in cls.secrets.items()}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_one_secret_per_service_and_gateway_with_the_three_keys(self):
        self.assertEqual(sorted(self.secrets), sorted(NAMES))
        for name, files in self.secrets.items():
            self.assertEqual(sorted(files), ["ca.crt", "tls.crt", "tls.key"], name)
        cas = {files["ca.crt"] for files in self.secrets.values()}
        self.assertEqual(len(cas), 1, "every Secret must carry the same CA")

    def test_each_certificate(self):
        for name, folder in self.dirs.items():
            with self.subTest(name=name):
                crt, key, ca = (os.path.join(folder, k) for k in ("tls.crt", "tls.key", "ca.crt"))
                for purpose in ("sslserver", "sslclient"):
                    result = openssl("verify", "-CAfile", ca, "-purpose", purpose, crt,
                                     check=False)
                    self.assertEqual(result.returncode, 0, f"{purpose}: {result.stderr}")
                san = openssl("x509", "-in", crt, "-noout", "-ext", "subjectAltName").stdout
                listed = [part.strip()[len("DNS:"):] for part in
                          san.splitlines()[1].split(",")]
                self.assertEqual(listed, dns_names(name))
                text = openssl("x509", "-in", crt, "-noout", "-text").stdout
                self.assertIn("NIST CURVE: P-256", text)
                self.assertIn("CA:FALSE", text)
                self.assertEqual((not_after(crt) - not_before(crt)).days, 90)
                self.assertEqual(openssl("x509", "-in", crt, "-noout", "-pubkey").stdout,
                                 openssl("pkey", "-in", key, "-pubout").stdout)
                # The CA itself: a CA, and not a certificate of any service.
                ca_text = openssl("x509", "-in", ca, "-noout", "-text").stdout
                self.assertIn("CA:TRUE", ca_text)

    def test_the_ca_key_is_in_no_secret(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = k8s_lib.copy_k8s(os.path.join(tmp, "k8s"))
            with open(os.path.join(root, "overlays", "dev", "secrets", "ca", "ca.key"),
                      "rb") as f:
                ca_key = f.read()
            self.assertIn(b"PRIVATE KEY", ca_key)
            for o in k8s_lib.render_dir(root, "overlays/dev"):
                if o["kind"] != "Secret":
                    continue
                for key, value in o.get("data", {}).items():
                    self.assertNotEqual(base64.b64decode(value), ca_key,
                                        f"{o['metadata']['name']}/{key}")


def serve_identity(folder):
    """A gRPC server with identity's files, requiring client certificates of the CA; its one
    method answers with the caller's certificate's DNS names."""
    def peer(request, context):
        names = context.auth_context().get("x509_subject_alternative_name", [])
        return b",".join(sorted(names))

    with open(os.path.join(folder, "tls.key"), "rb") as k, \
            open(os.path.join(folder, "tls.crt"), "rb") as c, \
            open(os.path.join(folder, "ca.crt"), "rb") as ca:
        credentials = grpc.ssl_server_credentials([(k.read(), c.read())],
                                                  root_certificates=ca.read(),
                                                  require_client_auth=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "marketplace.test.Peer", {"Who": grpc.unary_unary_rpc_method_handler(peer)})])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, port


def call(port, ca, name, cert=None, key=None):
    """Calls the server at 127.0.0.1:port as if dialling `name` (the TLS name checked)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                               certificate_chain=cert)
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials,
                             options=[("grpc.ssl_target_name_override", name)]) as channel:
        return channel.unary_unary("/marketplace.test.Peer/Who")(b"", timeout=10)


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        secrets = rendered_tls()
        cls.files = secrets
        cls.server, cls.port = serve_identity(
            write_files(os.path.join(cls.tmp.name, "identity"), secrets["identity"]))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(None)
        cls.tmp.cleanup()

    def test_the_gateway_calls_identity_under_each_name(self):
        gw = self.files["gateway"]
        for name in dns_names("identity"):
            with self.subTest(name=name):
                reply = call(self.port, gw["ca.crt"], name, gw["tls.crt"], gw["tls.key"])
                self.assertEqual(reply.decode().split(","), sorted(dns_names("gateway")))

    def test_every_service_is_a_client_of_identity(self):
        for name in NAMES:
            files = self.files[name]
            reply = call(self.port, files["ca.crt"], "identity", files["tls.crt"],
                         files["tls.key"])
            self.assertIn(name.encode(), reply.split(b","))

    def test_no_client_certificate_fails(self):
        with self.assertRaises(grpc.RpcError) as e:
            call(self.port, self.files["gateway"]["ca.crt"], "identity")
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_name_the_certificate_lacks_fails(self):
        gw = self.files["gateway"]
        for name in ("catalog", "identity.other", "identity.marketplace.svc.cluster"):
            with self.subTest(name=name):
                with self.assertRaises(grpc.RpcError) as e:
                    call(self.port, gw["ca.crt"], name, gw["tls.crt"], gw["tls.key"])
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_client_of_another_ca_fails(self):
        with tempfile.TemporaryDirectory() as other:
            run_make_secrets(other)
            with open(os.path.join(other, "gateway-tls", "tls.crt"), "rb") as c, \
                    open(os.path.join(other, "gateway-tls", "tls.key"), "rb") as k:
                cert, key = c.read(), k.read()
        self.assertNotEqual(cert, self.files["gateway"]["tls.crt"])
        with self.assertRaises(grpc.RpcError) as e:
            call(self.port, self.files["gateway"]["ca.crt"], "identity", cert, key)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)


class MakeSecretsTest(unittest.TestCase):
    def test_written_once(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_make_secrets(tmp)
            first = read_all(tmp)
            with open(os.path.join(tmp, "ca", "ca.crt"), "rb") as f:
                ca = f.read()
            run_make_secrets(tmp)
            self.assertEqual(read_all(tmp), first)
            with open(os.path.join(tmp, "ca", "ca.crt"), "rb") as f:
                self.assertEqual(f.read(), ca)
            self.assertEqual(os.stat(os.path.join(tmp, "ca", "ca.key")).st_mode & 0o077, 0)
            self.assertEqual(os.stat(os.path.join(tmp, "payments-tls", "tls.key")).st_mode
                             & 0o077, 0)

    def test_a_new_ca_reissues_every_certificate(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_make_secrets(tmp)
            first = read_all(tmp)
            for f in ("ca.crt", "ca.key"):
                os.remove(os.path.join(tmp, "ca", f))
            run_make_secrets(tmp)
            again = read_all(tmp)
            for name in NAMES:
                self.assertNotEqual(again[(name, "tls.crt")], first[(name, "tls.crt")], name)
                result = openssl("verify", "-CAfile", os.path.join(tmp, "ca", "ca.crt"),
                                 os.path.join(tmp, f"{name}-tls", "tls.crt"), check=False)
                self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_replaced_key_reissues_its_certificate_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_make_secrets(tmp)
            first = read_all(tmp)
            key = os.path.join(tmp, "support-tls", "tls.key")
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", key)
            run_make_secrets(tmp)
            again = read_all(tmp)
            self.assertNotEqual(again[("support", "tls.crt")], first[("support", "tls.crt")])
            crt = os.path.join(tmp, "support-tls", "tls.crt")
            self.assertEqual(openssl("x509", "-in", crt, "-noout", "-pubkey").stdout,
                             openssl("pkey", "-in", key, "-pubout").stdout)
            for name in NAMES:
                if name != "support":
                    self.assertEqual(again[(name, "tls.crt")], first[(name, "tls.crt")], name)


if __name__ == "__main__":
    unittest.main()
