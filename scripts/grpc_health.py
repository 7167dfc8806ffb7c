#!/usr/bin/python3
"""Asks grpc.health.v1.Health/Check at ADDRESS; exits 0 when SERVING.

Usage: grpc_health.py HOST:PORT [SERVICE]
Uses Debian's python3-grpcio; the request and response are encoded by hand (two tiny messages),
so no generated code is needed.
"""
import sys

import grpc


def main():
    address = sys.argv[1]
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    encoded = service.encode()
    request = (b"\x0a" + bytes([len(encoded)]) + encoded) if encoded else b""
    channel = grpc.insecure_channel(address)
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
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
    sys.exit(main())
