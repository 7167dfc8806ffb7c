#!/usr/bin/env python3
"""Creates a service's SERVICE account at identity for the local stack.

    provision_service_account.py SERVICE [SCOPE ...]

Logs in as the bootstrap admin (password in $MP_DATA_DIR/secrets/identity_admin_password,
email from $MP_IDENTITY_ADMIN_EMAIL or admin@marketplace.local) through identity's command-line
client ($CLI, target $MP_IDENTITY_TARGET), calls CreateServiceAccount, and writes the client id
and the secret (shown only once) to $MP_DATA_DIR/secrets/<service>_client_id and
<service>_client_secret, mode 0600. The request id is derived from the service name, so a
repeated run never makes a second account.
"""
import json
import os
import subprocess
import sys


def call(cli, method, body, token=None):
    env = dict(os.environ)
    if token:
        env["MP_IDENTITY_TOKEN"] = token
    else:
        env.pop("MP_IDENTITY_TOKEN", None)
    out = subprocess.run([cli, method, json.dumps(body)], env=env, capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"{method}: {out.stdout.strip()} {out.stderr.strip()}")
    return json.loads(out.stdout)


def write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)


def main(argv):
    service, scopes = argv[1], argv[2:]
    cli = os.environ["CLI"]
    secrets = os.path.join(os.environ["MP_DATA_DIR"], "secrets")
    with open(os.path.join(secrets, "identity_admin_password")) as f:
        password = f.read().strip()
    email = os.environ.get("MP_IDENTITY_ADMIN_EMAIL", "admin@marketplace.local")
    login = call(cli, "Login", {"email": email, "password": password})
    token = login["tokens"]["accessToken"]
    created = call(cli, "CreateServiceAccount",
                   {"displayName": service, "scopes": scopes,
                    "requestId": f"local-stack-service-account-{service}"}, token)
    if not created.get("clientSecret"):
        raise SystemExit(f"the SERVICE account of {service} exists but its secret was lost; "
                         f"remove .data to start afresh")
    write_secret(os.path.join(secrets, f"{service}_client_id"), created["clientId"])
    write_secret(os.path.join(secrets, f"{service}_client_secret"), created["clientSecret"])
    print(f"SERVICE account of {service}: client id {created['clientId']}")


if __name__ == "__main__":
    main(sys.argv)
