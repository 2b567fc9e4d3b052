#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""agent_hostile.py - hostile clients against a running, unlocked vault-agent.

    agent_hostile.py SOCK AGENT_PID ACCOUNT
    agent_hostile.py SOCK AGENT_PID ACCOUNT fair CONN_TIMEOUT
    agent_hostile.py SOCK AGENT_PID ACCOUNT kdf PASSPHRASE CONFIRM_ACCOUNT
    agent_hostile.py SOCK AGENT_PID ACCOUNT backoff SECONDS
    agent_hostile.py SOCK AGENT_PID ACCOUNT worker ROTATE_ACCOUNT

The extra modes (issue 13, item 8; issue 10, item 10) need an agent set
up for them by agent.sh: "fair" one started with --conn-timeout
CONN_TIMEOUT (slow-loris and 300 idle connections), "kdf" a locked one
whose vault has a moderate KDF and CONFIRM_ACCOUNT with use=confirm (the
loop keeps serving while Argon2id runs), "backoff" a locked one
(reconnecting does not skip the failed-unlock delay), "worker" an
unlocked one where ROTATE_ACCOUNT has a command target (a worker serves
only its own request).

Speaks the wire protocol by hand over a raw socket (vault/vault.h):
frame = u32 big-endian length of (type + payload) | u8 type | payload,
fields u8/u32/u64 big-endian and u32-length-prefixed strings; the first
request must be HELLO with u32 version 1; VAULT_FRAME_MAX is 64 KiB.

Each hostile case runs on its own connection and must get that connection
closed (recv returns b'' or the connection is reset) within CLOSE_WITHIN
seconds, while a second, well-behaved connection opened before all of them
(HELLO, then STATUS and a GET of ACCOUNT) keeps working before and after
every case, and the agent's pid stays alive.

Prints one line per check for agent.sh to turn into TAP:
    PASS<TAB>description
    FAIL<TAB>description<TAB>diagnostic
Exits 0 when it could run at all (the checks carry the verdict), 2 on
a usage error or when the agent cannot be reached to begin with.
"""
import os
import random
import select
import socket
import struct
import sys
import time

from vault_wire import DUE, ERR_PROTO, ERR_VERSION, ERROR, FRAME_MAX, GET, HELLO, OK, PROTO_VERSION
from vault_wire import RECOVER, ROTATE, STATUS, UNLOCK
from vault_wire import connect as vault_connect
from vault_wire import Closed, frame, recv_frame, send_quiet, sstr, u8, u32

CLOSE_WITHIN = float(os.environ.get("HOSTILE_CLOSE_WITHIN", "1.0"))
ANSWER_WITHIN = float(os.environ.get("HOSTILE_ANSWER_WITHIN", "5.0"))

failures = 0


def report(ok, desc, why=""):
    global failures
    if ok:
        print(f"PASS\t{desc}", flush=True)
    else:
        failures += 1
        why = why.replace("\t", " ").replace("\n", " | ")
        print(f"FAIL\t{desc}\t{why}", flush=True)


def get_payload(name, version=0, interactive=0, confirm=b""):
    return sstr(name) + u32(version) + u8(interactive) + sstr(confirm)


def connect(path):
    return vault_connect(path, ANSWER_WITHIN)


def send(s, data):
    """Sends; the agent may already have closed: that is not our failure."""
    return send_quiet(s, data)


def parse_error(payload):
    code, dlen = struct.unpack(">II", payload[:8])
    detail = payload[8 : 8 + dlen].decode("utf-8", "replace")
    return code, detail


def expect_closed(s, within=None):
    """Reads until the peer closes. Returns (closed, frames, why)."""
    within = CLOSE_WITHIN if within is None else within
    frames = []
    deadline = time.monotonic() + within
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, frames, f"still open after {within}s"
            frames.append(recv_frame(s, left))
    except Closed:
        return True, frames, ""
    except socket.timeout:
        return False, frames, f"still open after {within}s (no EOF)"
    except ValueError as e:
        return False, frames, str(e)


class Good:
    """The well-behaved client: one connection, kept open throughout."""

    def __init__(self, path, pid, account):
        self.pid, self.account = pid, account
        self.s = connect(path)
        self.s.sendall(frame(HELLO, u32(PROTO_VERSION)))
        t, p = recv_frame(self.s, ANSWER_WITHIN)
        if t != OK or p != u32(PROTO_VERSION):
            raise RuntimeError(f"HELLO answered with type {t} payload {p!r}")

    def check(self, when):
        """STATUS (unlocked, the same pid) then a GET that is answered OK."""
        try:
            self.s.sendall(frame(STATUS))
            t, p = recv_frame(self.s, ANSWER_WITHIN)
            if t != OK:
                return f"STATUS answered with type {t}"
            unlocked = p[0]
            dlen = struct.unpack(">I", p[1:5])[0]
            (pid,) = struct.unpack(">I", p[5 + dlen : 9 + dlen])
            if unlocked != 1:
                return "STATUS says locked"
            if pid != self.pid:
                return f"STATUS says pid {pid}, expected {self.pid}"
            self.s.sendall(frame(GET, get_payload(self.account)))
            t, p = recv_frame(self.s, ANSWER_WITHIN)
            if t != OK:
                return f"GET answered with type {t}: {p[:200]!r}"
            (slen,) = struct.unpack(">I", p[:4])
            if slen == 0 or len(p) != 4 + slen:
                return "GET answer is malformed"
            return ""
        except (Closed, socket.timeout, OSError, ValueError) as e:
            return f"the well-behaved connection failed {when}: {e!r}"


def agent_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return True


def run_case(path, good, name, action, what="that connection is closed"):
    """Runs one hostile case: good before, the case, good and pid after."""
    why = good.check("before")
    report(not why, f"{name}: the second connection works before", why)
    try:
        ok, why = action(path)
    except Exception as e:  # a broken test is a failed check, not a crash
        ok, why = False, f"the case itself raised {e!r}"
    report(ok, f"{name}: {what}", why)
    # A crash may take a moment to show.
    time.sleep(0.05)
    report(agent_alive(good.pid), f"{name}: the agent (pid {good.pid}) is still running",
           "the agent died")
    why = good.check("after")
    report(not why, f"{name}: the second connection still works after", why)


# --- the hostile cases: each returns (ok, why) --------------------------------


def case_garbage(path):
    s = connect(path)
    rnd = random.Random(1234)
    # The first byte is at least 0x01, so the length field reads > 64 KiB:
    # the agent must not wait for the rest of a frame it cannot accept.
    data = bytes([rnd.randrange(1, 256)]) + bytes(rnd.randrange(256) for _ in range(4095))
    send(s, data)
    closed, frames, why = expect_closed(s)
    s.close()
    if frames:
        return False, f"got {len(frames)} answer frame(s) to garbage"
    return closed, why


def case_text(path):
    s = connect(path)
    send(s, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not frames, why or (f"answered {frames!r}" if frames else "")


def case_len_huge(path):
    s = connect(path)
    send(s, struct.pack(">IB", 0x7FFFFFFF, STATUS) + b"x" * 16)
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not frames, why


def case_len_65537(path):
    s = connect(path)
    # Just the header and the type byte: an agent that waited for 65 536
    # more bytes would never close, and the check would time out.
    send(s, struct.pack(">IB", FRAME_MAX + 1, HELLO))
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not frames, why


def case_len_zero(path):
    s = connect(path)
    send(s, struct.pack(">I", 0) + frame(HELLO, u32(PROTO_VERSION)))
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not frames, why or (f"answered {frames!r}" if frames else "")


def case_truncated_then_close(path):
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    t, _ = recv_frame(s, ANSWER_WITHIN)
    if t != OK:
        return False, f"HELLO answered with type {t}"
    # Announce 100 bytes, send 10, hang up.
    send(s, struct.pack(">IB", 100, GET) + b"\x00\x00\x00\x05abc")
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    return True, ""


def case_truncated_kept_open(path, good):
    """A half-sent frame on an open connection blocks nobody else."""
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    recv_frame(s, ANSWER_WITHIN)
    send(s, struct.pack(">IB", 200, GET) + b"\x00\x00\x00\x09half")
    why = good.check("while another connection holds half a frame")
    s.close()
    return not why, why


def case_unknown_type(path):
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    t, _ = recv_frame(s, ANSWER_WITHIN)
    if t != OK:
        s.close()
        return False, f"HELLO answered with type {t}"
    send(s, frame(250, b"\x01\x02\x03"))
    closed, frames, why = expect_closed(s)
    s.close()
    if len(frames) != 1 or frames[0][0] != ERROR:
        return False, f"expected one ERROR frame before the close, got {frames!r}"
    code, detail = parse_error(frames[0][1])
    if code != ERR_PROTO or "250" not in detail:
        return False, f"ERROR code {code} detail {detail!r}: expected {ERR_PROTO} naming type 250"
    return closed, why


def case_before_hello(path):
    s = connect(path)
    send(s, frame(STATUS))
    closed, frames, why = expect_closed(s)
    s.close()
    if frames:
        return False, f"a request before HELLO was answered: {frames!r}"
    return closed, why


def case_get_before_hello(path, account):
    s = connect(path)
    send(s, frame(GET, get_payload(account)))
    closed, frames, why = expect_closed(s)
    s.close()
    if any(t == OK for t, _ in frames):
        return False, "a GET before HELLO released the password"
    return closed and not frames, why or f"answered {frames!r}"


def case_bad_version(path):
    s = connect(path)
    send(s, frame(HELLO, u32(99)))
    closed, frames, why = expect_closed(s)
    s.close()
    if len(frames) != 1 or frames[0][0] != ERROR:
        return False, f"expected one ERROR frame, got {frames!r}"
    code, detail = parse_error(frames[0][1])
    if code != ERR_VERSION:
        return False, f"ERROR code {code}, expected {ERR_VERSION} (VAULT_ERR_VERSION): {detail!r}"
    if "99" not in detail or str(PROTO_VERSION) not in detail.replace("99", ""):
        return False, f"the error text does not name both versions: {detail!r}"
    return closed, why


def case_hello_trailing(path):
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION) + b"\x00"))
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not frames, why or f"answered {frames!r}"


def case_get_trailing(path, account):
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    recv_frame(s, ANSWER_WITHIN)
    send(s, frame(GET, get_payload(account) + b"\x00TRAILING"))
    closed, frames, why = expect_closed(s)
    s.close()
    if any(t == OK for t, _ in frames):
        return False, "a GET with trailing bytes released the password"
    return closed and not frames, why or f"answered {frames!r}"


def case_string_overrun(path, account):
    """A string length that runs past the end of the frame."""
    s = connect(path)
    send(s, frame(HELLO, u32(PROTO_VERSION)))
    recv_frame(s, ANSWER_WITHIN)
    send(s, frame(GET, u32(0xFFFFFFF0) + account.encode()))
    closed, frames, why = expect_closed(s)
    s.close()
    return closed and not any(t == OK for t, _ in frames), why or f"answered {frames!r}"


# --- well-formed edge cases that must be served -------------------------------


def case_split_writes(path):
    """A HELLO and STATUS sent one byte at a time are answered."""
    s = connect(path)
    for b in frame(HELLO, u32(PROTO_VERSION)) + frame(STATUS):
        s.sendall(bytes([b]))
        time.sleep(0.001)
    t1, _ = recv_frame(s, ANSWER_WITHIN)
    t2, _ = recv_frame(s, ANSWER_WITHIN)
    s.close()
    return (t1, t2) == (OK, OK), f"answers {t1}, {t2}"


def case_pipelined(path):
    """HELLO and two STATUS in one write get three answers, in order."""
    s = connect(path)
    s.sendall(frame(HELLO, u32(PROTO_VERSION)) + frame(STATUS) + frame(STATUS))
    types = [recv_frame(s, ANSWER_WITHIN)[0] for _ in range(3)]
    s.close()
    return types == [OK, OK, OK], f"answers {types}"


def case_pipelined_many(path):
    """HELLO and 20 STATUS in one write get 21 answers (not 8, then nothing)."""
    s = connect(path)
    s.sendall(frame(HELLO, u32(PROTO_VERSION)) + frame(STATUS) * 20)
    types = []
    try:
        for _ in range(21):
            types.append(recv_frame(s, ANSWER_WITHIN)[0])
    except (Closed, socket.timeout) as e:
        s.close()
        return False, f"{len(types)} answers, then {e!r}"
    s.close()
    return types == [OK] * 21, f"answers {types}"


def hello(path):
    s = connect(path)
    s.sendall(frame(HELLO, u32(PROTO_VERSION)))
    t, _ = recv_frame(s, ANSWER_WITHIN)
    if t != OK:
        raise RuntimeError(f"HELLO answered with type {t}")
    return s


def fresh_get(path, account):
    """What `vault get` does: a new connection, HELLO, GET. '' when it worked."""
    try:
        s = hello(path)
        s.sendall(frame(GET, get_payload(account)))
        t, p = recv_frame(s, ANSWER_WITHIN)
        s.close()
        return "" if t == OK else f"GET answered with type {t}: {p[:120]!r}"
    except (Closed, socket.timeout, OSError, RuntimeError, ValueError) as e:
        return f"{e!r}"


def status_unlocked(s):
    s.sendall(frame(STATUS))
    t, p = recv_frame(s, ANSWER_WITHIN)
    if t != OK:
        raise RuntimeError(f"STATUS answered with type {t}")
    return p[0] == 1


def fair_main(path, good, account, timeout):
    """Slow-loris and idle connections cannot starve the owner."""
    # A client that trickles one byte of a frame every 0.3 s never sends a
    # complete one: closed after about timeout seconds, not kept forever.
    s = hello(path)
    partial = struct.pack(">IB", 200, GET) + b"\x00" * 60
    t0 = time.monotonic()
    closed_at = None
    served = 0
    for i, b in enumerate(partial):
        if i % 3 == 0:
            # Meanwhile the well-behaved client is served (and, asking
            # more often than the timeout, keeps its connection).
            served += not good.check("while a slow-loris client trickles")
        if not send(s, bytes([b])):
            closed_at = time.monotonic()
            break
        s.settimeout(0.3)
        try:
            if s.recv(1) == b"":
                closed_at = time.monotonic()
                break
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            closed_at = time.monotonic()
            break
        if time.monotonic() - t0 > timeout + 10:
            break
    s.close()
    report(closed_at is not None,
           f"slow-loris: a client trickling a frame byte by byte is closed (--conn-timeout {timeout})",
           f"still open after {time.monotonic() - t0:.1f} s")
    why = good.check("after the slow-loris client")
    report(not why and served >= 3, f"slow-loris: the well-behaved connection was served {served} times "
           "meanwhile and still works", why or "not served meanwhile")

    # Control: a client that sends a complete request more often than the
    # timeout stays open for twice the timeout.
    s = hello(path)
    ok, why = True, ""
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 2 * timeout:
            status_unlocked(s)
            time.sleep(timeout / 3)
        status_unlocked(s)
    except (Closed, socket.timeout, OSError, RuntimeError) as e:
        ok, why = False, f"closed after {time.monotonic() - t0:.1f} s: {e!r}"
    s.close()
    report(ok, "control: a client that completes a request every timeout/3 stays open for 2 x timeout", why)

    # 300 idle connections (more than the agent's cap of 256), half of
    # them after HELLO: the owner's own `vault get`s keep working.
    idle = []
    try:
        for i in range(300):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            if i % 2:
                c.sendall(frame(HELLO, u32(PROTO_VERSION)))
            idle.append(c)
    except OSError as e:
        report(False, "300 idle connections could be opened", repr(e))
    else:
        report(True, "300 idle connections opened")
    time.sleep(0.5)
    fails = [w for w in (fresh_get(path, account) for _ in range(20)) if w]
    report(not fails, "with 300 idle connections open, 20 fresh GETs (as `vault get` makes them) all work",
           "; ".join(fails[:3]))
    why = good.check("with 300 idle connections open")
    # The long-lived good connection may itself have been the oldest idle
    # one: that is the price of the cap, and reconnecting works.
    if why:
        good.__init__(path, good.pid, good.account)
        why = good.check("after reconnecting")
    report(not why, "a client that reconnects is served with 300 idle connections open", why)
    # And after the timeout the idle ones are gone: count EOFs.
    time.sleep(timeout + 1.5)
    gone = 0
    for c in idle:
        c.settimeout(0.01)
        try:
            while True:
                d = c.recv(4096)
                if d == b"":
                    gone += 1
                    break
        except socket.timeout:
            pass
        except OSError:
            gone += 1
        c.close()
    report(gone == len(idle), f"after the connection timeout every idle connection was closed ({gone} of {len(idle)})",
           f"{len(idle) - gone} still open")
    return 0


def kdf_main(path, pid, account, passphrase, confirm_account):
    """While Argon2id runs for one client, the others are served."""
    # The agent is locked. A: UNLOCK with the right passphrase. B: STATUS
    # over and over until A's answer comes. With the derivation on the
    # loop B would get at most the answers sent before the agent read A.
    a, b = hello(path), hello(path)
    a.sendall(frame(UNLOCK, sstr(passphrase)))
    served_locked = 0
    answer = None
    t0 = time.monotonic()
    while answer is None and time.monotonic() - t0 < 60:
        if not status_unlocked(b):
            served_locked += 1
        if select.select([a], [], [], 0.01)[0]:
            answer = recv_frame(a, ANSWER_WITHIN)
    report(answer is not None and answer[0] == OK, "the unlock (moderate KDF) succeeded", repr(answer))
    report(served_locked >= 5,
           f"another client was answered {served_locked} times while the unlock derived (want >= 5)",
           "the loop waited for the derivation")
    a.close()

    # A confirmation: GET of a use=confirm account with the passphrase,
    # deferred to the thread; STATUS on B is answered meanwhile.
    def confirm_get(pw):
        c = hello(path)
        c.sendall(frame(GET, get_payload(confirm_account, 0, 1, pw)))
        n = 0
        t1 = time.monotonic()
        res = None
        while res is None and time.monotonic() - t1 < 60:
            status_unlocked(b)
            n += 1
            if select.select([c], [], [], 0.01)[0]:
                res = recv_frame(c, 60)
        c.close()
        return res, n, time.monotonic() - t1

    res, n, _ = confirm_get(passphrase)
    report(res is not None and res[0] == OK, "GET of a use=confirm account with the right passphrase is released",
           repr(res and (res[0], res[1][:60])))
    report(n >= 5, f"another client was answered {n} times while the confirmation derived (want >= 5)",
           "the loop waited for the derivation")
    # Wrong confirmations: refused, and each one costs more than the last
    # (the same growing delay as failed unlocks: 1 s, 2 s, then 4 s on
    # top of the derivation, which costs the same each time).
    res1, _, d1 = confirm_get("not the passphrase")
    res2, _, d2 = confirm_get("not the passphrase either")
    res3, _, d3 = confirm_get("still not the passphrase")
    report(all(r is not None and r[0] == ERROR for r in (res1, res2, res3)),
           "wrong confirmations are refused", f"{res1!r} {res2!r} {res3!r}")
    # Lower bounds only: each answer is held for its delay after the
    # derivation, so a crowded machine makes them later, never earlier
    # (d3 >= d1 + 2 s failed at load 15, where the derivation alone
    # varied by 1.7 s).
    report(d1 >= 1.0 and d2 >= 2.0 and d3 >= 4.0,
           f"failed confirmations back off like failed unlocks: answered after {d1:.2f} s, {d2:.2f} s, "
           f"then {d3:.2f} s (at least 1, 2 and 4 s)",
           "no growing delay")
    b.close()
    return 0


def backoff_main(path, seconds):
    """Reconnecting does not skip the failed-unlock delay.

    For SECONDS, open a connection, send a wrong UNLOCK and hang up at
    once, again and again. agent.sh then counts the failed unlocks the
    agent logged: with a per-connection delay each of these derives.
    """
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        try:
            s = hello(path)
            s.sendall(frame(UNLOCK, sstr("wrong passphrase %d" % n)))
            time.sleep(0.05)
            s.close()
            n += 1
        except (OSError, Closed, socket.timeout, RuntimeError):
            time.sleep(0.05)
    print(f"ATTEMPTS\t{n}", flush=True)
    return 0


def rotate_payload(name, dry, due):
    return sstr(name) + u32(0) + u32(0) + u8(dry) + u8(due)


def worker_main(path, rot_account):
    """A rotation worker serves the request it was forked for, no more."""
    s = hello(path)
    s.sendall(frame(ROTATE, rotate_payload(rot_account, 1, 0)))
    t, _ = recv_frame(s, 30)
    report(t == OK, "a dry-run ROTATE through a worker is answered", f"type {t}")
    # The same connection belonged to that worker, which has exited: a
    # second ROTATE (not part of a --due batch) gets no answer, only EOF.
    send(s, frame(ROTATE, rotate_payload(rot_account, 1, 0)))
    closed, frames, why = expect_closed(s, 10)
    s.close()
    ok = closed and all(f[0] != OK for f in frames)
    report(ok, "a second request to a single-request worker is not served: its connection is closed",
           why or repr(frames))
    # A --due batch worker takes DUE after RECOVER, but not a GET.
    s = hello(path)
    s.sendall(frame(RECOVER, u32(0)))
    frames = []
    while True:
        t, p = recv_frame(s, 30)
        frames.append(t)
        if t != 102:
            break
    s.sendall(frame(DUE))
    t = None
    while True:
        t, p = recv_frame(s, 30)
        if t != 102:
            break
    report(t == OK, "a --due batch worker serves RECOVER then DUE", f"type {t}")
    send(s, frame(GET, get_payload(rot_account)))
    closed, frames, why = expect_closed(s, 10)
    s.close()
    report(closed and all(f[0] != OK for f in frames), "it refuses a GET and closes", why or repr(frames))
    return 0


def main():
    if len(sys.argv) < 4:
        print("usage: agent_hostile.py SOCK AGENT_PID ACCOUNT [MODE ARGS]", file=sys.stderr)
        return 2
    path, pid, account = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    if mode == "kdf":
        return kdf_main(path, pid, account, sys.argv[5], sys.argv[6])
    if mode == "backoff":
        return backoff_main(path, float(sys.argv[5]))
    if mode == "worker":
        return worker_main(path, sys.argv[5])
    try:
        good = Good(path, pid, account)
    except Exception as e:
        print(f"FAIL\tthe well-behaved client connects and says HELLO\t{e!r}", flush=True)
        return 2
    report(True, "the well-behaved client connects and says HELLO")
    if mode == "fair":
        return fair_main(path, good, account, float(sys.argv[5]))

    cases = [
        ("random garbage (4 KiB)", case_garbage),
        ("text garbage (an HTTP request)", case_text),
        ("frame length 0x7fffffff", case_len_huge),
        ("frame length 65537 (VAULT_FRAME_MAX + 1)", case_len_65537),
        ("frame length 0", case_len_zero),
        ("frame cut short, then the client closes", case_truncated_then_close,
         "the client sent half a frame and hung up"),
        ("frame cut short, connection kept open", lambda p: case_truncated_kept_open(p, good),
         "others are served meanwhile"),
        ("HELLO then unknown type 250 (ERROR, then close)", case_unknown_type),
        ("STATUS before HELLO", case_before_hello),
        ("GET before HELLO", lambda p: case_get_before_hello(p, account)),
        ("HELLO version 99 (ERROR naming both versions)", case_bad_version),
        ("HELLO with a trailing byte", case_hello_trailing),
        ("GET with trailing bytes after its fields", lambda p: case_get_trailing(p, account)),
        ("GET whose string length runs past the frame", lambda p: case_string_overrun(p, account)),
    ]
    for name, action, *what in cases:
        run_case(path, good, name, action, *what)

    ok, why = case_split_writes(path)
    report(ok, "HELLO and STATUS sent one byte at a time are answered", why)
    ok, why = case_pipelined(path)
    report(ok, "pipelined HELLO, STATUS, STATUS get three OK answers in order", why)
    ok, why = case_pipelined_many(path)
    report(ok, "pipelined HELLO and 20 STATUS in one write get 21 OK answers", why)
    why = good.check("at the end")
    report(not why, "the well-behaved connection works at the end", why)
    good.s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
