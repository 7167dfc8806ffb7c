#!/usr/bin/python3
"""Asks grpc.health.v1.Health/Check at ADDRESS; exits 0 when SERVING.

Usage: grpc_health.py [--tls DIR] HOST:PORT [SERVICE]
With --tls, the link is mutual TLS with DIR/ca.pem, DIR/cert.pem and DIR/key.pem (the local
stack's .data/tls, made by scripts/make_tls.sh); without it, plaintext (a --health_address port,
the gateway's admin port, or a process started with --insecure).
Uses Debian's python3-grpcio; the request and response are encoded by hand (two tiny messages),
so no generated code is needed.
"""
import os
import sys

import grpc


def channel_to(address, tls_dir):
    if not tls_dir:
        return grpc.insecure_channel(address)

    def read(name):
        with open(os.path.join(tls_dir, name), "rb") as f:
            return f.read()

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read("ca.pem"), private_key=read("key.pem"),
        certificate_chain=read("cert.pem"))
    return grpc.secure_channel(address, credentials)


def main(argv):
    tls_dir = None
    if len(argv) > 2 and argv[1] == "--tls":
        tls_dir, argv = argv[2], [argv[0]] + argv[3:]
    address = argv[1]
    service = argv[2] if len(argv) > 2 else ""
    encoded = service.encode()
    request = (b"\x0a" + bytes([len(encoded)]) + encoded) if encoded else b""
    check = channel_to(address, tls_dir).unary_unary("/grpc.health.v1.Health/Check")
    try:
        reply = check(request, timeout=2)
    except grpc.RpcError as e:
        print("%s: %s" % (e.code().name, e.details()))
        return 1
    status = reply[1] if len(reply) >= 2 and reply[0] == 0x08 else 0
    names = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
    print(names.get(status, str(status)))
    return 0 if status == 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
