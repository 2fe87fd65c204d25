#!/usr/bin/env python3
"""A hostile grpcio client against the mesh: prints one line per attempt,
`<attempt> <grpc status name>`, for the Rust test to check.

    hostile.py GATEWAY CA UNIT_CERT UNIT_KEY ORDER_ID
"""

import os
import sys
import tempfile

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "python"))
from departmental_system import generate_stubs  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        return f.read()


def code(call):
    try:
        call()
        return "OK"
    except grpc.RpcError as e:
        return e.code().name


def main():
    gateway, ca, cert, key, order_id = sys.argv[1:6]
    gateway = gateway.split("://", 1)[-1]
    with tempfile.TemporaryDirectory() as out:
        pb = generate_stubs(out)
        d = pb["dispatch"]
        meta = lambda unit: (("x-hotline-target", unit), ("x-hotline-unit", unit))
        get = lambda ch, unit: pb["dispatch_grpc"].DispatchServiceStub(ch).GetAssignment(
            d.GetAssignmentRequest(order_id=order_id), metadata=meta(unit), timeout=10)
        with grpc.insecure_channel(gateway) as ch:
            print("plaintext", code(lambda: get(ch, "t-harbour")), flush=True)
        no_cert = grpc.ssl_channel_credentials(root_certificates=read(ca))
        with grpc.secure_channel(gateway, no_cert) as ch:
            print("no-certificate", code(lambda: get(ch, "t-harbour")), flush=True)
        harbour = grpc.ssl_channel_credentials(
            root_certificates=read(ca), private_key=read(key), certificate_chain=read(cert))
        with grpc.secure_channel(gateway, harbour) as ch:
            print("own-unit", code(lambda: get(ch, "t-harbour")), flush=True)
            print("other-unit", code(lambda: get(ch, "t-market")), flush=True)
            forged = (("x-hotline-target", "t-harbour"), ("x-hotline-unit", "city"),
                      ("x-hotline-principal", "service/city"))
            deliver = lambda: pb["dispatch_grpc"].DispatchServiceStub(ch).DeliverAssignment(
                d.DeliverAssignmentRequest(request_id="forged-1", assignment=pb["types"].Assignment(
                    order_id="HL99999991", unit_id="t-harbour", text="evacuate now", epoch=1)),
                metadata=forged, timeout=10)
            print("forged-delivery", code(deliver), flush=True)


if __name__ == "__main__":
    main()
