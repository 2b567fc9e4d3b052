#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""roundtrip_wire.py - the one-round-trip REQUEST frame against a real
vault-agent (vault/vault.h, VAULT_MSG_REQUEST; issue 14, item 3).

    roundtrip_wire.py SOCK DB ACCOUNT SECRET locked
    roundtrip_wire.py SOCK DB ACCOUNT SECRET served
    roundtrip_wire.py SOCK DB ACCOUNT SECRET refused
    roundtrip_wire.py SOCK DB ACCOUNT SECRET confirmed=PASSPHRASE
    roundtrip_wire.py fake-old SOCK      (a protocol-4 agent, until killed)
    roundtrip_wire.py fake-new SOCK      (a protocol-99 agent, until killed)

locked: the agent is locked. A REQUEST that needs it unlocked gets the
status (locked, this vault) and then "locked", and the connection stays
usable, as after HELLO.
served: the agent is unlocked. A REQUEST for a GET gets the status, then
the secret, with this vault's path or none; the connection then takes
plain requests.
refused: the agent is unlocked, and nothing here may be served (roundtrip.sh
checks that the audit log did not grow): another version (an ERROR naming
both, then the connection is closed), another vault (status, then an ERROR
saying it was not served), and malformed REQUESTs (closed without an
answer): unknown flags, a truncated head, and inner types that may not
travel in one (HELLO, STATUS, UNLOCK, ROTATE, REQUEST).
confirmed=PASSPHRASE: ACCOUNT has use=confirm; a REQUEST whose GET carries
the passphrase waits for the agent's check (off the loop, then the frame is
replayed) and still gets one status, then the secret.
fake-old / fake-new: a stand-in agent on SOCK for the CLI's side: "old"
closes a REQUEST without answering and answers HELLO with protocol 4's
refusal, as a protocol-4 agent does; "new" answers any REQUEST or HELLO
with a protocol-99 agent's refusal.

Prints PASS/FAIL lines (tab-separated) for roundtrip.sh.
"""
import os
import signal
import socket
import struct
import sys

from vault_wire import ERR_INVAL, ERR_LOCKED, ERR_VERSION, ERROR, GET, HELLO, OK, PROTO_VERSION
from vault_wire import REQ_UNLOCKED, REQUEST, ROTATE, STATUS, UNLOCK
from vault_wire import Closed, Reader, connect, frame, recv_frame, request, sstr, u8, u32

WITHIN = 10.0


def report(ok, desc, why=""):
    print(("PASS\t%s" % desc) if ok else ("FAIL\t%s\t%s" % (desc, why)), flush=True)


def get_payload(name):
    return sstr(name) + u32(0) + u8(0) + sstr(b"")


def status(p):
    r = Reader(p)
    st = {"unlocked": r.u8(), "db": r.str().decode(), "pid": r.u32(), "idle_left": r.u64(),
          "life_left": r.u64(), "idle_timeout": r.u32(), "max_lifetime": r.u32()}
    r.end()
    return st


def error(p):
    r = Reader(p)
    code = r.u32()
    return code, r.str().decode(errors="replace")


def closed_without_answer(s):
    """True if the agent closes s and sends nothing first."""
    try:
        t, p = recv_frame(s, within=WITHIN)
        return False, "answered type %d" % t
    except Closed:
        return True, ""
    except socket.timeout:
        return False, "still open after %.0f s" % WITHIN


def locked(path, db, account):
    s = connect(path, WITHIN)
    s.sendall(request(GET, get_payload(account), REQ_UNLOCKED, db))
    t, p = recv_frame(s, within=WITHIN)
    st = status(p) if t == OK else None
    report(st is not None and st["unlocked"] == 0 and st["db"] == db,
           "a locked agent answers a REQUEST with its status first (locked, this vault)", "type %d %r" % (t, st))
    t, p = recv_frame(s, within=WITHIN)
    code = error(p)[0] if t == ERROR else None
    report(code == ERR_LOCKED, "then 'locked', for a request that needs the vault unlocked",
           "type %d code %r" % (t, code))
    s.sendall(frame(STATUS))
    t, p = recv_frame(s, within=WITHIN)
    report(t == OK and status(p)["unlocked"] == 0, "the connection then takes plain requests (STATUS)")
    s.close()


def served(path, db, account, secret):
    for label, name in (("this vault's path", db), ("no path", "")):
        s = connect(path, WITHIN)
        s.sendall(request(GET, get_payload(account), REQ_UNLOCKED, name))
        t, p = recv_frame(s, within=WITHIN)
        st = status(p) if t == OK else None
        report(st is not None and st["unlocked"] == 1 and st["db"] == db,
               "REQUEST GET with %s: the status first (unlocked, this vault)" % label, "type %d %r" % (t, st))
        t, p = recv_frame(s, within=WITHIN)
        got = Reader(p).str() if t == OK else None
        report(got == secret.encode(), "REQUEST GET with %s: then the secret, in the same round trip" % label,
               "type %d" % t)
        if name:
            s.sendall(frame(GET, get_payload(account)))
            t, p = recv_frame(s, within=WITHIN)
            report(t == OK and Reader(p).str() == secret.encode(),
                   "after a REQUEST the connection takes plain requests (GET)", "type %d" % t)
        s.close()


def confirmed(path, db, account, secret, passphrase):
    """A REQUEST whose GET carries the passphrase a use=confirm account
    wants: the agent checks it off the loop and replays the whole frame;
    the answer is still one status, then the secret."""
    s = connect(path, 60.0)
    s.sendall(request(GET, sstr(account) + u32(0) + u8(1) + sstr(passphrase), REQ_UNLOCKED, db))
    frames = []
    while True:
        t, p = recv_frame(s, within=60.0)
        frames.append((t, p))
        if len(frames) > 1 and t in (OK, ERROR):
            break
    types = [t for t, _ in frames]
    report(types == [OK, OK] and status(frames[0][1])["db"] == db,
           "a REQUEST that waits for a passphrase check gets one status, then its answer", "types %r" % types)
    report(types == [OK, OK] and Reader(frames[1][1]).str() == secret.encode(),
           "and the answer is the confirmed secret")
    s.close()


def refused(path, db, account):
    # Another version: refused before anything past the number is read.
    s = connect(path, WITHIN)
    s.sendall(request(GET, get_payload(account), REQ_UNLOCKED, db, version=99))
    t, p = recv_frame(s, within=WITHIN)
    code, detail = error(p) if t == ERROR else (None, "")
    report(code == ERR_VERSION and "99" in detail and str(PROTO_VERSION) in detail.replace("99", ""),
           "a REQUEST of protocol 99 gets VAULT_ERR_VERSION naming both versions", "type %d %r" % (t, detail))
    ok, why = closed_without_answer(s)
    report(ok, "and then the connection is closed, with nothing served", why)
    s.close()
    # Another version whose layout we cannot read at all past the number.
    s = connect(path, WITHIN)
    s.sendall(frame(REQUEST, u32(PROTO_VERSION + 1) + b"\xff"))
    t, p = recv_frame(s, within=WITHIN)
    report(t == ERROR and error(p)[0] == ERR_VERSION,
           "a REQUEST of the next protocol with a head we cannot parse still gets VAULT_ERR_VERSION")
    s.close()
    # Another vault: the status says which, and the request is not served.
    s = connect(path, WITHIN)
    s.sendall(request(GET, get_payload(account), REQ_UNLOCKED, db + ".other"))
    t, p = recv_frame(s, within=WITHIN)
    st = status(p) if t == OK else None
    report(st is not None and st["db"] == db, "a REQUEST naming another vault gets the status (this vault)")
    t, p = recv_frame(s, within=WITHIN)
    code, detail = error(p) if t == ERROR else (None, "")
    report(code == ERR_INVAL and "not served" in detail,
           "then an ERROR saying the request was not served", "type %d code %r %r" % (t, code, detail))
    s.close()
    # Malformed: closed without a status.
    cases = [("unknown flags", frame(REQUEST, u32(PROTO_VERSION) + u8(0x80) + sstr(b"") + u8(GET) + get_payload(account))),
             ("a head cut after the flags", frame(REQUEST, u32(PROTO_VERSION) + u8(0))),
             ("a path with a NUL", request(GET, get_payload(account), 0, db.encode() + b"\0x")),
             ("a version cut short", frame(REQUEST, b"\0\0"))]
    for name, t in (("HELLO", HELLO), ("STATUS", STATUS), ("UNLOCK", UNLOCK), ("ROTATE", ROTATE),
                    ("REQUEST", REQUEST)):
        cases.append(("inner type %s" % name, request(t, b"", 0, b"")))
    for name, data in cases:
        s = connect(path, WITHIN)
        s.sendall(data)
        ok, why = closed_without_answer(s)
        report(ok, "a REQUEST with %s is closed without an answer" % name, why)
        s.close()


def fake(path, old):
    """A stand-in agent: one connection at a time, until killed (or 300 s)."""
    signal.alarm(300)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(8)
    mine, theirs = (4, PROTO_VERSION) if old else (99, PROTO_VERSION)
    refusal = u32(ERR_VERSION) + sstr("the agent speaks protocol %d, this client %d; restart the agent "
                                      "(vault-agent -k) after an upgrade" % (mine, theirs))
    while True:
        c, _ = ls.accept()
        try:
            t, _ = recv_frame(c, within=WITHIN)
            if t == HELLO or not old:
                c.sendall(frame(ERROR, refusal))
        except (OSError, ValueError, EOFError):
            pass
        c.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("fake-old", "fake-new"):
        fake(sys.argv[2], sys.argv[1] == "fake-old")
        return 0
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, db, account, secret, mode = sys.argv[1:]
    if mode == "locked":
        locked(path, db, account)
    elif mode == "served":
        served(path, db, account, secret)
    elif mode.startswith("confirmed="):
        confirmed(path, db, account, secret, mode.split("=", 1)[1])
    elif mode == "refused":
        refused(path, db, account)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
