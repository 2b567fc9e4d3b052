#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""adversary_client.py - a hand-written vault client, as malware would write one.

    adversary_client.py run-pin SOCK ACTION HEX   RUN a saved action, claiming the
                                                  program hashes to HEX (64 hex digits)
    adversary_client.py askpass SOCK TOKEN PROMPT ASKPASS with a token it got hold of

adversary.sh runs it as the agent's owner, with no terminal and no
passphrase, to show that what the kernel or the vault knows decides, not
what a client says: a RUN whose program hash is not the pin gets no
password, and an askpass token presented from outside the run's process
tree gets nothing. The wire format is vault_wire.py's (vault/vault.h).

Output, one line, never a secret:
  RUN ok plan_len=N              (the agent released; the test fails on this)
  RUN error code=C detail=...
  ASKPASS ok answer_len=N
  ASKPASS error code=C detail=...
Exit 0 when the exchange could be made, 1 on a protocol failure, 2 on usage.
Standard library and vault_wire.py only.
"""
import socket
import struct
import sys

from vault_wire import ASKPASS, ERROR, HELLO, OK, PROTO_VERSION, RUN, error_text, frame, recv_frame
from vault_wire import sstr as s


def call(c, t, p):
    c.sendall(frame(t, p))
    return recv_frame(c)


def connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    t, p = call(c, HELLO, struct.pack(">I", PROTO_VERSION))
    if t != OK:
        raise EOFError(f"HELLO refused: {error_text(p)}")
    return c


def main(argv):
    if len(argv) != 5 or argv[1] not in ("run-pin", "askpass"):
        print(__doc__, file=sys.stderr)
        return 2
    c = connect(argv[2])
    if argv[1] == "run-pin":
        pin = bytes.fromhex(argv[4])
        # RUN: u8 adhoc=0, str action, u32 nkv=0, u8 interactive=0, str confirm, pin.
        t, p = call(c, RUN, b"\x00" + s(argv[3].encode()) + struct.pack(">I", 0) + b"\x00" + s(b"") + pin)
        if t == ERROR:
            print(f"RUN error {error_text(p)}")
        elif t == OK:
            print(f"RUN ok plan_len={len(p)}")  # the plan holds the password: never printed
        else:
            print(f"RUN unexpected type={t}")
            return 1
    else:
        token = bytes.fromhex(argv[3])
        t, p = call(c, ASKPASS, token + s(argv[4].encode()))
        if t == ERROR:
            print(f"ASKPASS error {error_text(p)}")
        elif t == OK:
            print(f"ASKPASS ok answer_len={struct.unpack('>I', p[:4])[0]}")
        else:
            print(f"ASKPASS unexpected type={t}")
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, EOFError, ValueError, struct.error) as e:
        print(f"protocol failure: {e}")
        sys.exit(1)
