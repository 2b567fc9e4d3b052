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
burned. Wire format (vault/vault.h): u32 big-endian length of what follows,
u8 type, payload; strings are u32-length-prefixed.

Output, one fact per line, never a secret:
  HELLO ok version=4
  RUN ok netonly=0 argc=N has_ticket=1 secret_len=0 program=...
  RUN error code=C detail=...
  LAUNCH1 error code=13 detail=...        (or "LAUNCH1 ok plan_len=N secret_len=M")
  LAUNCH2 error code=13 detail=...        (a second try, on a new connection)
  TICKET written                          (ticket mode)
Exit 0 when the exchange could be made, 1 when the agent misbehaved at the
protocol level, 2 on a usage error. Standard library only.
"""
import os
import socket
import struct
import sys

MSG_HELLO, MSG_RUN, MSG_LAUNCH = 1, 35, 36
MSG_OK, MSG_ERROR, MSG_CONFIRM = 100, 101, 103
PROTO_VERSION = 4
TICKETBYTES = 32
PINBYTES = 32


def s(b):
    return struct.pack(">I", len(b)) + b


class Reader:
    def __init__(self, data):
        self.d, self.i = data, 0

    def take(self, n):
        if self.i + n > len(self.d):
            raise ValueError("short payload")
        v = self.d[self.i:self.i + n]
        self.i += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def str(self):
        return self.take(self.u32())

    def end(self):
        if self.i != len(self.d):
            raise ValueError(f"{len(self.d) - self.i} trailing bytes")


def connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10.0)
    c.connect(path)
    return c


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the agent closed the connection")
        buf += chunk
    return buf


def call(c, mtype, payload=b""):
    c.sendall(struct.pack(">IB", 1 + len(payload), mtype) + payload)
    (n,) = struct.unpack(">I", recv_exact(c, 4))
    body = recv_exact(c, n)
    return body[0], body[1:]


def hello(c):
    t, p = call(c, MSG_HELLO, struct.pack(">I", PROTO_VERSION))
    if t != MSG_OK:
        print(f"HELLO failed type={t} {p[:200]!r}")
        return False
    print(f"HELLO ok version={struct.unpack('>I', p)[0]}")
    return True


def error_text(p):
    r = Reader(p)
    code = r.u32()
    detail = r.str().decode(errors="replace")
    return f"code={code} detail={detail}"


def parse_plan(p):
    """vault_plan_encode() order (vault/action.c)."""
    r = Reader(p)
    plan = {"netonly": r.u8(), "action": r.str(), "account": r.str(), "user": r.str(),
            "domain": r.str(), "host": r.str(), "deliver": r.u8(), "deliver_fd": r.u32(),
            "deliver_env": r.str(), "profile": r.u8(), "keep_env": r.u8(), "program": r.str(),
            "pinned": r.u8(), "pin": r.take(PINBYTES)}
    argc = r.u32()
    plan["argv"] = [r.str() for _ in range(argc)]
    plan["has_ticket"] = r.u8()
    plan["ticket"] = r.take(TICKETBYTES)
    plan["secret_len"] = len(r.str())
    r.end()
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
