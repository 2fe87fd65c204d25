#!/usr/bin/env python3
"""A small departmental system in Python, talking to the mesh with grpcio.

It follows its unit's inbox (InboxService.WatchAssignments) and handles each
order it leads: accept, record progress, reply. Its calls about an order
continue the order's trace (W3C traceparent), so the department's work shows
in the same trace as the order's dispatch. Stubs are generated from the
repository's .proto files at start, into a temporary directory, with
grpcio-tools (pip install grpcio grpcio-tools).

    hotline certs issue --unit dept-utility --dir hotline-data/pki
    python3 examples/python/departmental_system.py \
        --gateway 127.0.0.1:7345 --unit dept-utility --orders 1 \
        --cert hotline-data/pki/unit-dept-utility.crt \
        --key hotline-data/pki/unit-dept-utility.key \
        --ca hotline-data/pki/ca.crt

Every hop of the mesh is mutual TLS: the unit's certificate proves which unit
this system is (the gateway refuses an x-hotline-unit it does not name).
"""

import argparse
import glob
import importlib
import os
import re
import secrets
import sys
import tempfile

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))


def generate_stubs(out_dir):
    """Compiles hotline/v1/*.proto into out_dir and returns the modules."""
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = sorted(glob.glob(os.path.join(PROTO_ROOT, "hotline", "v1", "*.proto")))
    code = protoc.main(
        ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
         f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
        + [os.path.relpath(f, PROTO_ROOT) for f in files]
    )
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, out_dir)
    pb = {}
    for name in ("types", "dispatch", "integration"):
        pb[name] = importlib.import_module(f"hotline.v1.{name}_pb2")
        pb[name + "_grpc"] = importlib.import_module(f"hotline.v1.{name}_pb2_grpc")
    return pb


def own(unit):
    """Metadata of a call a unit makes for itself."""
    return (("x-hotline-target", unit), ("x-hotline-unit", unit))


TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})")


def child_traceparent(parent):
    """A child of the order's W3C traceparent (the assignment's trace_parent):
    the same trace id and flags, and a span id of our own for this handling
    of the assignment. None when the parent is missing or malformed: the
    calls then start traces of their own, which the mesh only links to the
    order's."""
    m = TRACEPARENT.fullmatch(parent)
    if not m or m.group(1) == "0" * 32:
        return None
    span_id = "0" * 16
    while span_id == "0" * 16:
        span_id = secrets.token_hex(8)
    return f"00-{m.group(1)}-{span_id}-{m.group(2)}"


def handle(pb, dispatch, unit, order_id):
    """Accepts, contacts the requester, records progress and replies; request ids come from the order
    and epoch, so a retry after a crash is answered, not applied twice."""
    d, t = pb["dispatch"], pb["types"]
    a = dispatch.GetAssignment(d.GetAssignmentRequest(order_id=order_id), metadata=own(unit)).assignment
    if a.role not in (t.ASSIGNMENT_ROLE_LEAD, t.ASSIGNMENT_ROLE_CO_HANDLER):
        return False
    if a.state != t.ASSIGNMENT_STATE_DISPATCHED:
        return False

    # The calls about the order continue its trace; the read above did not
    # (a poll is no part of the order's story).
    on_order = own(unit)
    tp = child_traceparent(a.trace_parent)
    if tp:
        print(f"traceparent {order_id} {tp}", flush=True)
        on_order += (("traceparent", tp),)

    def rid(step):
        return f"{unit}:{order_id}:{a.epoch}:{step}"

    dispatch.AcceptAssignment(
        d.AcceptAssignmentRequest(request_id=rid("accept"), order_id=order_id, epoch=a.epoch),
        metadata=on_order)
    # The requester is reached through the centre's relay: the number never
    # leaves the centre.
    dispatch.ContactRequester(
        d.ContactRequesterRequest(request_id=rid("contact"), order_id=order_id, epoch=a.epoch,
                                  purpose="confirm the location"),
        metadata=on_order)
    dispatch.UpdateProgress(
        d.UpdateProgressRequest(request_id=rid("progress"), order_id=order_id, epoch=a.epoch,
                                note="crew sent"),
        metadata=on_order)
    dispatch.ReplyAssignment(
        d.ReplyAssignmentRequest(request_id=rid("reply"), order_id=order_id, epoch=a.epoch,
                                 outcome=t.REPLY_OUTCOME_RESOLVED,
                                 text="repaired by the Python departmental system"),
        metadata=on_order)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gateway", default="127.0.0.1:7345")
    p.add_argument("--unit", required=True)
    p.add_argument("--orders", type=int, default=0, help="stop after handling this many")
    p.add_argument("--cursor", type=int, default=0, help="resume after this cursor")
    p.add_argument("--cert", help="the unit's certificate (PEM)")
    p.add_argument("--key", help="the unit's private key (PEM)")
    p.add_argument("--ca", help="the mesh CA certificate (PEM)")
    p.add_argument("--insecure-plaintext", action="store_true",
                   help="no TLS, for a mesh started with --insecure-plaintext")
    args = p.parse_args()
    gateway = args.gateway.split("://", 1)[-1]
    if args.insecure_plaintext:
        open_channel = lambda: grpc.insecure_channel(gateway)
    else:
        if not (args.cert and args.key and args.ca):
            sys.exit("--cert, --key and --ca are required (or --insecure-plaintext)")
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.ca),
            private_key=read(args.key),
            certificate_chain=read(args.cert))
        open_channel = lambda: grpc.secure_channel(gateway, credentials)

    with tempfile.TemporaryDirectory() as out:
        pb = generate_stubs(out)
        i = pb["integration"]
        with open_channel() as channel:
            dispatch = pb["dispatch_grpc"].DispatchServiceStub(channel)
            inbox = pb["integration_grpc"].InboxServiceStub(channel)
            cursor, handled = args.cursor, 0
            print(f"watching {args.unit} after cursor {cursor}", flush=True)
            stream = inbox.WatchAssignments(
                i.WatchAssignmentsRequest(after_cursor=cursor), metadata=own(args.unit))
            for item in stream:
                e = item.event
                kind = i.InboxEventKind.Name(e.kind)
                print(f"event {e.cursor} {kind} {e.order_id} epoch {e.epoch}", flush=True)
                if e.kind == i.INBOX_EVENT_KIND_DISPATCHED and handle(pb, dispatch, args.unit, e.order_id):
                    handled += 1
                    print(f"handled {e.order_id}", flush=True)
                cursor = e.cursor
                if args.orders and handled >= args.orders:
                    stream.cancel()
                    break
            print(f"stopped at cursor {cursor}", flush=True)


if __name__ == "__main__":
    main()
