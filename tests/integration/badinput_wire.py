#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""badinput_wire.py - one hostile wire case against a running, unlocked agent.

    badinput_wire.py CASE SOCK AGENT_PID ACCOUNT

Speaks the wire protocol by hand (vault/vault.h; the framing is the same as
agent_hostile.py's): frame = u32 big-endian length of (type + payload) |
u8 type | payload. Runs the hostile CASE on its own connection, checks what
the agent did with it (closed the connection, and for some cases sent one
ERROR frame first), then checks that the agent process is still alive and
that a second, well-behaved client is served (HELLO, then GET ACCOUNT
answered OK with a password).

On success prints one line to stderr saying what was observed, starting
with "survived:", and exits 0; otherwise prints the problem and exits 1.

Cases: oversize, oversize-huge, zero-length, cut (the GET frame cut at each
byte, one connection per cut point), cut-hello (the HELLO frame likewise),
unknown-type, version, before-hello, trailing, overrun.
"""
import os
import socket
import struct
import sys
import time

from vault_wire import ERR_PROTO, ERR_VERSION, ERROR, FRAME_MAX, GET, HELLO, OK, PROTO_VERSION
from vault_wire import connect as vault_connect
from vault_wire import Closed, frame, recv_frame, send_quiet, sstr, u32

CLOSE_WITHIN = 2.0
ANSWER_WITHIN = 5.0


def get_payload(name):
    return sstr(name) + u32(0) + b"\x00" + sstr(b"")


def connect(path):
    return vault_connect(path, ANSWER_WITHIN)


def send(s, data):
    """Sends; the agent may already have closed: that is not our failure."""
    return send_quiet(s, data)


def until_closed(s):
    """Frames received before the agent closed; raises if it did not close."""
    frames = []
    deadline = time.monotonic() + CLOSE_WITHIN
    try:
        while True:
            frames.append(recv_frame(s, max(0.01, deadline - time.monotonic())))
    except Closed:
        return frames
    except socket.timeout:
        raise AssertionError(f"the connection is still open after {CLOSE_WITHIN}s (frames {frames!r})")


def hello(s):
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    t, p = recv_frame(s, ANSWER_WITHIN)
    if t != OK or p != u32(PROTO_VERSION):
        raise AssertionError(f"HELLO answered with type {t} payload {p!r}")


def error_of(frames, code, *words):
    if len(frames) != 1 or frames[0][0] != ERROR:
        raise AssertionError(f"expected one ERROR frame before the close, got {frames!r}")
    p = frames[0][1]
    got, dlen = struct.unpack(">II", p[:8])
    detail = p[8 : 8 + dlen].decode("utf-8", "replace")
    if got != code or any(w not in detail for w in words):
        raise AssertionError(f"ERROR code {got} detail {detail!r}: expected code {code} naming {words}")
    return f"ERROR {got} ({detail})"


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return False


def second_client(path, pid, account):
    if not alive(pid):
        raise AssertionError(f"the agent (pid {pid}) died")
    s = connect(path)
    hello(s)
    send(s, frame(GET, get_payload(account)))
    t, p = recv_frame(s, ANSWER_WITHIN)
    s.close()
    if t != OK or len(p) < 5:
        raise AssertionError(f"a second client's GET was answered with type {t}: {p[:100]!r}")


# --- the cases: each returns a few words on what the agent did -----------------


def c_oversize(path, acct, n=FRAME_MAX + 1):
    s = connect(path)
    send(s, struct.pack(">IB", n, HELLO) + b"x" * 16)
    frames = until_closed(s)
    if frames:
        raise AssertionError(f"answered an oversized frame: {frames!r}")
    return f"a frame of length {n} was closed unanswered"


def c_oversize_huge(path, acct):
    return c_oversize(path, acct, 0x7FFFFFFF)


def c_zero(path, acct):
    s = connect(path)
    send(s, u32(0) + frame(HELLO, u32(PROTO_VERSION)))
    frames = until_closed(s)
    if frames:
        raise AssertionError(f"answered a zero-length frame: {frames!r}")
    return "a zero-length frame was closed unanswered"


def cut_each(path, pid, acct, full, after_hello):
    for k in range(len(full)):
        s = connect(path)
        if after_hello:
            hello(s)
        send(s, full[:k])
        s.shutdown(socket.SHUT_WR)
        frames = until_closed(s)
        s.close()
        if any(t == OK for t, _ in frames):
            raise AssertionError(f"cut at byte {k}: answered OK to half a frame: {frames!r}")
        try:
            second_client(path, pid, acct)
        except AssertionError as e:
            raise AssertionError(f"cut at byte {k}: {e}") from None
    return f"all {len(full)} cut points (0..{len(full) - 1}) closed, and a second client was served after each"


def c_cut(path, acct, pid):
    return cut_each(path, pid, acct, frame(GET, get_payload(acct)), True)


def c_cut_hello(path, acct, pid):
    return cut_each(path, pid, acct, frame(HELLO, u32(PROTO_VERSION)), False)


def c_unknown(path, acct):
    s = connect(path)
    hello(s)
    send(s, frame(250, b"\x01\x02\x03"))
    return error_of(until_closed(s), ERR_PROTO, "250") + ", then closed"


def c_version(path, acct):
    s = connect(path)
    send(s, frame(HELLO, u32(99)))
    return error_of(until_closed(s), ERR_VERSION, "99", str(PROTO_VERSION)) + ", then closed"


def c_before_hello(path, acct):
    s = connect(path)
    send(s, frame(GET, get_payload(acct)))
    frames = until_closed(s)
    if frames:
        raise AssertionError(f"a GET before HELLO was answered: {frames!r}")
    return "a GET before HELLO was closed unanswered"


def c_trailing(path, acct):
    s = connect(path)
    hello(s)
    send(s, frame(GET, get_payload(acct) + b"\x00TRAILING"))
    frames = until_closed(s)
    if any(t == OK for t, _ in frames):
        raise AssertionError("a GET with trailing bytes released the password")
    return f"a GET with trailing bytes was closed ({len(frames)} frames)"


def c_overrun(path, acct):
    s = connect(path)
    hello(s)
    send(s, frame(GET, u32(0xFFFFFFF0) + acct.encode()))
    frames = until_closed(s)
    if any(t == OK for t, _ in frames):
        raise AssertionError("a GET whose string overruns the frame was answered OK")
    return f"a string length past the frame end was closed ({len(frames)} frames)"


CASES = {
    "oversize": c_oversize,
    "oversize-huge": c_oversize_huge,
    "zero-length": c_zero,
    "cut": c_cut,
    "cut-hello": c_cut_hello,
    "unknown-type": c_unknown,
    "version": c_version,
    "before-hello": c_before_hello,
    "trailing": c_trailing,
    "overrun": c_overrun,
}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in CASES:
        print(f"usage: badinput_wire.py {'|'.join(CASES)} SOCK AGENT_PID ACCOUNT", file=sys.stderr)
        return 2
    case, path, pid, acct = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    fn = CASES[case]
    try:
        second_client(path, pid, acct)  # the agent works to begin with
        if fn in (c_cut, c_cut_hello):
            what = fn(path, acct, pid)
        else:
            what = fn(path, acct)
        time.sleep(0.05)
        second_client(path, pid, acct)
    except (AssertionError, OSError, ValueError, Closed) as e:
        print(f"FAILED: {case}: {e!r}", file=sys.stderr)
        return 1
    print(f"survived: {what}; the agent (pid {pid}) still serves a second client", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
