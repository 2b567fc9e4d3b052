# SPDX-License-Identifier: ISC
"""vault_wire.py - the agent protocol (vault/vault.h, "Frame") for the
Python test clients: adversary_client.py, agent_hostile.py,
badinput_wire.py, load_client.py and run_client.py import it instead of
each keeping a copy.

Frame: u32 big-endian length of what follows | u8 type | payload; payload
fields are u8/u32/u64 big-endian and u32-length-prefixed strings.

    from vault_wire import HELLO, OK, PROTO_VERSION, frame, recv_frame, u32
    s.sendall(frame(HELLO, u32(PROTO_VERSION)))
    t, p = recv_frame(s, within=5.0)

The numbers are the C header's: `python3 vault_wire.py check vault/vault.h`
(meson test wire_py) fails when the two disagree.
"""
import os
import re
import socket
import struct
import sys
import time

PROTO_VERSION = 5
FRAME_MAX = 64 * 1024
FRAME_HDR = 5
TICKETBYTES = PINBYTES = 32

# enum vault_msg, without the VAULT_MSG_ prefix
HELLO, STATUS, UNLOCK, UNLOCK_KEYFILE, LOCK, REQUEST, UNLOCK_BOUND = 1, 2, 3, 4, 5, 6, 7
ADD, SET, LIST, SHOW, HISTORY, GET, RM, PASSWD = 10, 11, 12, 13, 14, 15, 16, 17
SLOT_LIST, SLOT_ADD_PASS, SLOT_ADD_KEYFILE, SLOT_RM, LOG, SLOT_ADD_BOUND = 18, 19, 20, 21, 22, 23
SLOT_ADD_DPAPI = 24
ACTION_ADD, ACTION_LIST, ACTION_SHOW, ACTION_RM, ACTION_REPIN = 30, 31, 32, 33, 34
RUN, LAUNCH, ASKPASS, EDIT, LAUNCH_CLAIM = 35, 36, 37, 38, 39
ROTATE, RECOVER, DUE, REKEY, MV, ACTION_MV = 40, 41, 42, 43, 44, 45
BACKUP, RESTORE = 50, 51
OK, ERROR, ITEM, CONFIRM = 100, 101, 102, 103

# An ERROR frame carries -VAULT_ERR_*: these as they travel.
ERR_INVAL, ERR_LOCKED, ERR_PROTO, ERR_VERSION = 3, 12, 14, 19
# REQUEST flags
REQ_UNLOCKED = 0x01


class Closed(ConnectionError, EOFError):
    """The peer closed (EOF or reset). An OSError and an EOFError, so
    that the clients' existing handlers for either still catch it."""


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def sstr(b):
    """A u32-length-prefixed string (str is sent as UTF-8)."""
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def frame(ftype, payload=b""):
    return struct.pack(">IB", len(payload) + 1, ftype) + payload


def request(ftype, payload=b"", flags=0, db=b"", version=None):
    """A REQUEST frame: the handshake (version, flags, the vault expected)
    and the request of type ftype in one frame (vault.h, VAULT_MSG_REQUEST).
    Its answer is OK status, then ftype's own answer; or ERROR alone."""
    v = PROTO_VERSION if version is None else version
    return frame(REQUEST, u32(v) + u8(flags) + sstr(db) + u8(ftype) + payload)


def recv_exact(s, n, deadline=None):
    """n bytes; raises Closed on EOF or reset, socket.timeout past the
    time.monotonic() deadline (None: the socket's own timeout)."""
    buf = b""
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            s.settimeout(left)
        try:
            chunk = s.recv(n - len(buf))
        except ConnectionResetError:
            raise Closed("reset") from None
        if not chunk:
            if buf:
                raise Closed(f"EOF after {len(buf)} of {n} bytes")
            raise Closed("EOF")
        buf += chunk
    return buf


def recv_frame(s, within=None):
    """One whole frame as (type, payload), within `within` seconds (None:
    the socket's timeout); raises Closed, socket.timeout, or ValueError
    for a length of 0 or over FRAME_MAX."""
    deadline = None if within is None else time.monotonic() + within
    (n,) = struct.unpack(">I", recv_exact(s, 4, deadline))
    if n < 1 or n > FRAME_MAX:
        raise ValueError(f"the agent sent a frame of length {n}")
    body = recv_exact(s, n, deadline)
    return body[0], body[1:]


class Reader:
    """Reads payload fields in order; ValueError on a short payload or,
    at end(), trailing bytes."""

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

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def str(self):
        return self.take(self.u32())

    def end(self):
        if self.i != len(self.d):
            raise ValueError(f"{len(self.d) - self.i} trailing bytes")


def parse_plan(p, reader=Reader):
    """A RUN answer's plan, in vault_plan_encode() order (vault/codec.c),
    as a dict; "secret" is the password (empty for a local-account run)."""
    r = reader(p)
    plan = {"netonly": r.u8(), "action": r.str(), "account": r.str(), "user": r.str(),
            "domain": r.str(), "host": r.str(), "deliver": r.u8(), "deliver_fd": r.u32(),
            "deliver_env": r.str(), "profile": r.u8(), "keep_env": r.u8(), "program": r.str(),
            "pinned": r.u8(), "pin": r.take(PINBYTES)}
    argc = r.u32()
    plan["argv"] = [r.str() for _ in range(argc)]
    plan["has_ticket"] = r.u8()
    plan["ticket"] = r.take(TICKETBYTES)
    plan["secret"] = r.str()
    r.end()
    return plan


def connect(path, timeout=None):
    """A connected AF_UNIX stream socket with this timeout (None: none)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except BaseException:
        s.close()
        raise
    return s


def send_quiet(s, data):
    """Sends; False when the agent had already closed (not the client's
    failure in a test that expects the close)."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def error_text(p):
    """An ERROR payload as "code=N detail=..."."""
    r = Reader(p)
    code = r.u32()
    return f"code={code} detail={r.str().decode(errors='replace')}"


def _c_int(expr):
    """The value of a C constant expression as vault.h writes them:
    4U, (64U * 1024U), -19."""
    expr = re.sub(r"(\d+)[uUlL]+\b", r"\1", expr)
    if not re.fullmatch(r"[\d\s()*+-]+", expr):
        raise ValueError(f"not a simple constant: {expr!r}")
    return int(eval(expr, {"__builtins__": {}}))  # digits, spaces, ()*+- only


def check_header(path):
    """The differences between this module and the C header, as lines."""
    text = open(path, encoding="utf-8").read()
    # vault.h's parts in files of their own (vault_wire.h, vault_action.h).
    for inc in re.findall(r'#include "(vault_[a-z_]+\.h)"', text):
        text += open(os.path.join(os.path.dirname(path), inc), encoding="utf-8").read()
    want = {}
    for name in ("PROTO_VERSION", "FRAME_MAX", "FRAME_HDR", "PINBYTES", "TICKETBYTES"):
        m = re.search(r"#define VAULT_%s\s+(.+)" % name, text)
        want[name] = _c_int(m.group(1)) if m else None
    for m in re.finditer(r"\bVAULT_MSG_([A-Z_]+)\s*=\s*(\d+)", text):
        want[m.group(1)] = int(m.group(2))
    for name in ("INVAL", "LOCKED", "PROTO", "VERSION"):
        m = re.search(r"\bVAULT_ERR_%s\s*=\s*(-?\d+)" % name, text)
        want["ERR_" + name] = -int(m.group(1)) if m else None
    mod = sys.modules[__name__]
    return [f"{k}: vault.h says {v}, vault_wire.py {getattr(mod, k, 'nothing')}"
            for k, v in sorted(want.items()) if getattr(mod, k, None) != v]


def _main(argv):
    if len(argv) != 3 or argv[1] != "check":
        print("usage: vault_wire.py check PATH/vault.h", file=sys.stderr)
        return 2
    bad = check_header(argv[2])
    print("1..1")
    if bad:
        print("not ok 1 - vault_wire.py holds vault.h's protocol numbers")
        for line in bad:
            print("# " + line)
        return 1
    print("ok 1 - vault_wire.py holds vault.h's protocol numbers")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
