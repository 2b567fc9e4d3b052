#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""run_client.py - a raw vault wire-protocol client that plays vault-launch.

    run_client.py policy SOCK ACTION        RUN, then LAUNCH twice, as this uid
    run_client.py ticket SOCK ACTION FILE   RUN, write the launch ticket to FILE

run.sh runs it as the (non-root) owner of the agent, to show that the agent
releases a local-account password only to vault-launch running as root in
the run's own process: a non-root peer that obtains a real launch ticket
(by sending RUN itself, exactly as `vault run` does) and then speaks the
launcher's part of the protocol (LAUNCH) gets an ERROR, and the ticket is
burned. The wire format is vault_wire.py's (vault/vault.h), copied beside
this file by run.sh.

Output, one fact per line, never a secret:
  HELLO ok version=5
  RUN ok netonly=0 argc=N has_ticket=1 secret_len=0 program=...
  RUN error code=C detail=...
  LAUNCH1 error code=13 detail=...        (or "LAUNCH1 ok plan_len=N secret_len=M")
  LAUNCH2 error code=13 detail=...        (a second try, on a new connection)
  TICKET written                          (ticket mode)
Exit 0 when the exchange could be made, 1 when the agent misbehaved at the
protocol level, 2 on a usage error. Standard library and vault_wire.py only.
"""
import os
import struct
import sys

import vault_wire
from vault_wire import ERROR as MSG_ERROR
from vault_wire import HELLO as MSG_HELLO
from vault_wire import LAUNCH as MSG_LAUNCH
from vault_wire import OK as MSG_OK
from vault_wire import PROTO_VERSION, error_text, frame, recv_frame
from vault_wire import RUN as MSG_RUN
from vault_wire import sstr as s


def connect(path):
    return vault_wire.connect(path, 10.0)


def call(c, mtype, payload=b""):
    c.sendall(frame(mtype, payload))
    return recv_frame(c)


def hello(c):
    t, p = call(c, MSG_HELLO, struct.pack(">I", PROTO_VERSION))
    if t != MSG_OK:
        print(f"HELLO failed type={t} {p[:200]!r}")
        return False
    print(f"HELLO ok version={struct.unpack('>I', p)[0]}")
    return True


def parse_plan(p):
    """vault_wire.parse_plan, keeping only the password's length."""
    plan = vault_wire.parse_plan(p)
    plan["secret_len"] = len(plan.pop("secret"))
    return plan


def run_request(c, action):
    # RUN: u8 adhoc=0, str action, u32 nkv=0, u8 interactive=0, str confirm="",
    # then the program's hash (32 bytes; zeros: only a network-only run sends one).
    payload = b"\x00" + s(action.encode()) + struct.pack(">I", 0) + b"\x00" + s(b"") + bytes(32)
    t, p = call(c, MSG_RUN, payload)
    if t == MSG_ERROR:
        print(f"RUN error {error_text(p)}")
        return None
    if t != MSG_OK:
        print(f"RUN unexpected type={t}")
        return None
    plan = parse_plan(p)
    print(f"RUN ok netonly={plan['netonly']} argc={len(plan['argv'])} has_ticket={plan['has_ticket']} "
          f"secret_len={plan['secret_len']} program={plan['program'].decode(errors='replace')}")
    return plan


def launch(c, label, ticket):
    t, p = call(c, MSG_LAUNCH, ticket)
    if t == MSG_ERROR:
        print(f"{label} error {error_text(p)}")
    elif t == MSG_OK:
        try:
            n = parse_plan(p)["secret_len"]
        except ValueError:
            n = "?"
        print(f"{label} ok plan_len={len(p)} secret_len={n}")
    else:
        print(f"{label} unexpected type={t}")


def main(argv):
    if len(argv) < 4 or argv[1] not in ("policy", "ticket") or (argv[1] == "ticket" and len(argv) != 5):
        print(__doc__, file=sys.stderr)
        return 2
    mode, sock, action = argv[1], argv[2], argv[3]
    c = connect(sock)
    if not hello(c):
        return 1
    plan = run_request(c, action)
    if plan is None or not plan["has_ticket"]:
        return 1
    if mode == "ticket":
        fd = os.open(argv[4], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, plan["ticket"])
        os.close(fd)
        print("TICKET written")
        return 0
    # The same non-root process that asked for the ticket presents it.
    launch(c, "LAUNCH1", plan["ticket"])
    c.close()
    c = connect(sock)
    if not hello(c):
        return 1
    launch(c, "LAUNCH2", plan["ticket"])
    c.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError) as e:
        print(f"run_client.py: {e}")
        sys.exit(1)
