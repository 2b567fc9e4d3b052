#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""load_client.py - raw wire-protocol clients for the load and exhaustion tests.

    load_client.py load SOCK [--clients 64] [--procs 8] [--seconds 60]
                   --get ACCOUNT --run ACTION [--kv K=V] [--add-prefix P]
    load_client.py probe SOCK STOPFILE READYFILE [--threads 4]
    load_client.py flood SOCK COUNT READYFILE RELEASEFILE [--extra 20]
    load_client.py race OUTDIR -- CMD [ARG...]

The secret that GET of ACCOUNT and RUN of ACTION must return comes from the
environment (LOAD_SECRET), never argv.

load: CLIENTS concurrent clients (PROCS processes x CLIENTS/PROCS threads,
each with its own connection, reconnecting every RECONNECT requests as
`vault` does) run a fixed mix for SECONDS: 50% GET of ACCOUNT (a use=any
release, one audit record each), 30% RUN of ACTION (a saved network-only
action delivered on stdin: the agent answers with the plan and the
password, and writes an audit record), 10% LIST, 10% ADD of a new account.
Every answer is checked: GET and RUN must carry exactly LOAD_SECRET, LIST
must parse and hold at least ACCOUNT, ADD must be OK. Each client adds
LOAD_ADD_RING (8) new accounts PREFIX-CLIENT-K, then keeps replacing them
(ADD with replace=1), so that the vault, and with it LIST, stays the same
size however long the test runs. Prints
    STAT<TAB>type<TAB>count<TAB>errors<TAB>p50_ms<TAB>p99_ms
    TOTAL<TAB>requests<TAB>errors<TAB>seconds<TAB>rate
    ERR<TAB>text            (the first few distinct errors)
and exits 0 if there was no error, 1 otherwise.

probe: THREADS threads connect to SOCK in a loop (ENOENT and ECONNREFUSED
mean "no one listens yet" and are retried), send HELLO and STATUS and
check both answers, until STOPFILE exists. A connection that was accepted
but then broke (EOF, reset, garbage, timeout) is a broken connection.
Writes READYFILE once the threads run. Prints
    PROBE<TAB>connects<TAB>answered<TAB>broken<TAB>not_listening
    BROKEN<TAB>text         (the first few)

flood: opens COUNT connections to SOCK at once and sends HELLO on each;
classifies each as served (OK), shed (closed by the agent: EOF or reset),
refused (connect failed; a full listen backlog, EAGAIN, is waited out for up
to 10 s) or silent (no answer in 10 s). Then it checks that
every served connection still answers STATUS, tries EXTRA more connections
while holding them (all must be shed or served, none may hang), prints
    FLOOD<TAB>served<TAB>shed<TAB>refused<TAB>silent<TAB>held_ok<TAB>extra_shed<TAB>extra_served<TAB>extra_silent
writes READYFILE, waits (up to 120 s) for RELEASEFILE, checks the held
connections once more (HELD<TAB>ok<TAB>bad) and closes them all.

race: runs two copies of CMD released at the same instant (both block on
one pipe until the parent closes it), stdout and stderr to OUTDIR/a1.out,
a1.err, a2.out, a2.err; prints RACE<TAB>exit1<TAB>exit2 (-N: signal N).

Standard library and vault_wire.py (the wire format, vault/vault.h) only.
"""
import errno
import json
import hashlib
import os
import socket
import sys
import threading
import time

import vault_wire
from vault_wire import ADD, ERROR, GET, HELLO, ITEM, LIST, OK, PROTO_VERSION, RUN, SET, STATUS
from vault_wire import frame, u8, u32, u64
from vault_wire import sstr as s

TIMEOUT = float(os.environ.get("LOAD_TIMEOUT", "30"))
RECONNECT = int(os.environ.get("LOAD_RECONNECT", "50"))
ADD_RING = int(os.environ.get("LOAD_ADD_RING", "8"))


class Broken(Exception):
    """The connection broke or the agent answered something malformed."""


class AgentError(Exception):
    """The agent answered ERROR."""


class Reader(vault_wire.Reader):
    """vault_wire.Reader, its failures as Broken."""

    def take(self, n):
        try:
            return super().take(n)
        except ValueError as e:
            raise Broken(str(e)) from None

    def end(self):
        try:
            super().end()
        except ValueError as e:
            raise Broken(str(e)) from None


def connect(path, timeout=TIMEOUT):
    return vault_wire.connect(path, timeout)


def recv_frame(c):
    """vault_wire.recv_frame, its failures as Broken."""
    try:
        return vault_wire.recv_frame(c)
    except vault_wire.Closed as e:
        raise Broken(f"connection {e}") from None
    except socket.timeout:
        raise Broken(f"no answer in {c.gettimeout():.0f} s") from None
    except ValueError as e:
        raise Broken(str(e)) from None


def send(c, mtype, payload=b""):
    try:
        c.sendall(frame(mtype, payload))
    except (BrokenPipeError, ConnectionResetError) as e:
        raise Broken(f"send: {e}") from None


def error_of(p):
    r = Reader(p)
    code = r.u32()
    return f"error {code}: {r.str().decode(errors='replace')}"


def call(c, mtype, payload=b""):
    """One request; returns (OK payload, [ITEM payloads]); raises AgentError on ERROR."""
    send(c, mtype, payload)
    items = []
    while True:
        t, p = recv_frame(c)
        if t == ITEM:
            items.append(p)
            continue
        if t == OK:
            return p, items
        if t == ERROR:
            raise AgentError(error_of(p))
        raise Broken(f"unexpected frame type {t}")


def hello(c):
    p, _ = call(c, HELLO, u32(PROTO_VERSION))
    if p != u32(PROTO_VERSION):
        raise Broken(f"HELLO answered {p!r}")


# --- requests ---------------------------------------------------------------

def req_get(c, account, secret):
    p, _ = call(c, GET, s(account) + u32(0) + u8(0) + s(b""))
    r = Reader(p)
    got = r.str()
    r.end()
    if got != secret:
        raise Broken(f"GET {account}: a different secret ({len(got)} bytes)")


def req_list(c, account):
    _, items = call(c, LIST)
    names = set()
    for it in items:
        names.add(Reader(it).str())
    if account.encode() not in names:
        raise Broken(f"LIST: {account} missing from {len(names)} accounts")
    return len(names)


def parse_plan(p):
    return vault_wire.parse_plan(p, Reader)


with open("/bin/true", "rb") as _f:
    RUN_PIN = hashlib.blake2b(_f.read(), digest_size=32).digest()


def req_run(c, action, kv, secret):
    # The pin: the BLAKE2b-256 of the program vault run opened (load.sh saves /bin/true).
    payload = (u8(0) + s(action) + u32(len(kv)) + b"".join(s(x) for x in kv) + u8(0) + s(b"") +
               RUN_PIN)
    p, _ = call(c, RUN, payload)
    plan = parse_plan(p)
    if not plan["netonly"] or plan["secret"] != secret or plan["action"] != action.encode():
        raise Broken(f"RUN {action}: unexpected plan (netonly={plan['netonly']}, "
                     f"secret {len(plan['secret'])} bytes)")


def account_payload(name, secret, replace=0):
    # vault_account_encode(): name user domain host note, u8 use, u64 created,
    # u64 updated, u32 version, u32 nversions, then vault_rotation_encode():
    # u32 history, u8 rotate_with, str rotate_cmd, str verify_cmd, u32 max_age,
    # u32 pw_length, u32 pw_classes, u64 changed, u64 last_rotated, u8 rstate,
    # u32 failures, u64 next_attempt, u32 pending, str last_error.
    a = (s(name) + s("loaduser") + s("") + s("") + s("added by load_client.py") + u8(0) +
         u64(0) + u64(0) + u32(0) + u32(0) +
         u32(0) + u8(0) + s("") + s("") + u32(0) + u32(0) + u32(0) + u64(0) + u64(0) + u8(0) +
         u32(0) + u64(0) + u32(0) + s(""))
    # proof: none (u8 0, empty str); a new account needs none
    return a + u8(replace) + u32(0) + s(secret) + u8(0) + s(b"")


def req_add(c, name, replace):
    if replace:
        # Replacing an account needs proof of a master secret (an Argon2id
        # run); a new password for it (SET) keeps the vault as bounded.
        call(c, SET, s(name) + u32(0) + s(b"load-secret-" + name.encode()))
        return
    call(c, ADD, account_payload(name, b"load-secret-" + name.encode(), replace))


# --- load -------------------------------------------------------------------

MIX = ["get", "run", "get", "list", "run", "get", "add", "get", "run", "get"]


def percentile(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * q))]


def load_thread(idx, args, secret, deadline, out):
    lat = {k: [] for k in ("get", "run", "list", "add")}
    errs = {k: 0 for k in lat}
    msgs = []
    c = None
    n = 0
    adds = 0
    while time.monotonic() < deadline:
        kind = MIX[(n + idx) % len(MIX)]
        t0 = time.monotonic()
        try:
            if c is None:
                c = connect(args["sock"])
                hello(c)
            if kind == "get":
                req_get(c, args["get"], secret)
            elif kind == "run":
                req_run(c, args["run"], args["kv"], secret)
            elif kind == "list":
                req_list(c, args["get"])
            else:
                # A ring of ADD_RING names per client: new accounts first,
                # then --replace, so that the vault (and LIST) stays bounded.
                req_add(c, f"{args['add_prefix']}-{idx}-{adds % ADD_RING}", int(adds >= ADD_RING))
                adds += 1
            lat[kind].append(time.monotonic() - t0)
        except (Broken, AgentError, OSError) as e:
            errs[kind] += 1
            if len(msgs) < 5:
                msgs.append(f"client {os.getpid()}/{idx} {kind}: {type(e).__name__}: {e}")
            if c is not None:
                c.close()
                c = None
        n += 1
        if c is not None and n % RECONNECT == 0:
            c.close()
            c = None
    if c is not None:
        c.close()
    out[idx] = (lat, errs, msgs)


def load_proc(first, nthreads, args, secret, deadline, wfd):
    out = {}
    threads = [threading.Thread(target=load_thread, args=(first + i, args, secret, deadline, out))
               for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = {k: [] for k in ("get", "run", "list", "add")}
    errs = {k: 0 for k in lat}
    msgs = []
    for l, e, m in out.values():
        for k in lat:
            lat[k].extend(l[k])
            errs[k] += e[k]
        msgs.extend(m)
    data = json.dumps({"lat": lat, "errs": errs, "msgs": msgs}).encode()
    with os.fdopen(wfd, "wb") as f:
        f.write(data)


def cmd_load(argv):
    args = {"clients": 64, "procs": 8, "seconds": 60.0, "get": None, "run": None, "kv": [],
            "add_prefix": "load"}
    it = iter(argv)
    args["sock"] = next(it)
    for a in it:
        v = next(it)
        if a == "--clients":
            args["clients"] = int(v)
        elif a == "--procs":
            args["procs"] = int(v)
        elif a == "--seconds":
            args["seconds"] = float(v)
        elif a == "--get":
            args["get"] = v
        elif a == "--run":
            args["run"] = v
        elif a == "--kv":
            args["kv"].append(v)
        elif a == "--add-prefix":
            args["add_prefix"] = v
        else:
            raise SystemExit(f"load_client.py load: unknown option {a}")
    secret = os.environ.get("LOAD_SECRET", "").encode()
    if not args["get"] or not args["run"] or not secret:
        raise SystemExit("load_client.py load: --get, --run and LOAD_SECRET are needed")
    procs = max(1, min(args["procs"], args["clients"]))
    per = [args["clients"] // procs + (1 if i < args["clients"] % procs else 0) for i in range(procs)]
    start = time.monotonic()
    deadline = start + args["seconds"]
    kids = []
    first = 0
    for i in range(procs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                load_proc(first, per[i], args, secret, deadline, w)
            except BaseException as e:  # noqa: BLE001 - reported by the parent
                print(f"ERR\tload process {i}: {e!r}", flush=True)
                code = 1
            os._exit(code)
        os.close(w)
        kids.append((pid, r))
        first += per[i]
    lat = {k: [] for k in ("get", "run", "list", "add")}
    errs = {k: 0 for k in lat}
    msgs = []
    lost = 0
    for pid, r in kids:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, st = os.waitpid(pid, 0)
        if not data or st != 0:
            lost += 1
            continue
        d = json.loads(data)
        for k in lat:
            lat[k].extend(d["lat"][k])
            errs[k] += d["errs"][k]
        msgs.extend(d["msgs"])
    elapsed = time.monotonic() - start
    total = sum(len(v) for v in lat.values())
    nerr = sum(errs.values()) + lost
    for k in ("get", "list", "run", "add"):
        v = sorted(lat[k])
        print(f"STAT\t{k}\t{len(v)}\t{errs[k]}\t{percentile(v, 0.50) * 1e3:.2f}\t"
              f"{percentile(v, 0.99) * 1e3:.2f}")
    allv = sorted(x for v in lat.values() for x in v)
    print(f"STAT\tall\t{total}\t{nerr}\t{percentile(allv, 0.50) * 1e3:.2f}\t"
          f"{percentile(allv, 0.99) * 1e3:.2f}")
    print(f"TOTAL\t{total}\t{nerr}\t{elapsed:.1f}\t{total / elapsed:.0f}")
    if lost:
        print(f"ERR\t{lost} load process(es) died or reported nothing")
    for m in msgs[:10]:
        print(f"ERR\t{m}")
    return 0 if nerr == 0 else 1


# --- probe (two agents racing for one socket) -------------------------------

def cmd_probe(argv):
    sock, stopfile, readyfile = argv[0], argv[1], argv[2]
    nthreads = int(argv[4]) if len(argv) > 4 and argv[3] == "--threads" else 4
    lock = threading.Lock()
    st = {"connects": 0, "answered": 0, "broken": 0, "absent": 0}
    msgs = []

    def worker():
        while not os.path.exists(stopfile):
            try:
                c = connect(sock, timeout=10.0)
            except (FileNotFoundError, ConnectionRefusedError):
                with lock:
                    st["absent"] += 1
                time.sleep(0.001)
                continue
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.ENOENT, errno.ECONNREFUSED):
                    with lock:
                        st["absent"] += 1
                    time.sleep(0.001)
                    continue
                with lock:
                    st["broken"] += 1
                    msgs.append(f"connect: {e}")
                continue
            with lock:
                st["connects"] += 1
            try:
                hello(c)
                p, _ = call(c, STATUS)
                r = Reader(p)
                r.u8()
                r.str()
                pid = r.u32()
                if pid <= 1:
                    raise Broken(f"STATUS names pid {pid}")
                with lock:
                    st["answered"] += 1
            except (Broken, AgentError, OSError) as e:
                with lock:
                    st["broken"] += 1
                    if len(msgs) < 5:
                        msgs.append(f"{type(e).__name__}: {e}")
            finally:
                c.close()

    threads = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in threads:
        t.start()
    with open(readyfile, "w") as f:
        f.write("ready\n")
    for t in threads:
        t.join()
    print(f"PROBE\t{st['connects']}\t{st['answered']}\t{st['broken']}\t{st['absent']}")
    for m in msgs[:5]:
        print(f"BROKEN\t{m}")
    return 0


# --- flood (out of file descriptors) ----------------------------------------

def classify(c):
    """HELLO on an open connection: 'served', 'shed' or 'silent'."""
    try:
        hello(c)
        return "served"
    except Broken as e:
        return "silent" if "no answer" in str(e) else "shed"
    except AgentError:
        return "shed"
    except OSError:
        return "shed"


def connect_waiting(sock, within=10.0):
    """connect(), waiting while the listen backlog is full (EAGAIN); None if refused."""
    end = time.monotonic() + within
    while True:
        try:
            return connect(sock, timeout=10.0)
        except BlockingIOError:
            if time.monotonic() > end:
                return None
            time.sleep(0.002)
        except OSError:
            return None


def cmd_flood(argv):
    sock, count, readyfile, releasefile = argv[0], int(argv[1]), argv[2], argv[3]
    extra = int(argv[5]) if len(argv) > 5 and argv[4] == "--extra" else 20
    conns, refused = [], 0
    for _ in range(count):
        c = connect_waiting(sock)
        if c is None:
            refused += 1
        else:
            conns.append(c)
    # All connected before the first HELLO: the agent sees them all at once.
    for c in conns:
        try:
            send(c, HELLO, u32(PROTO_VERSION))
        except Broken:
            pass
    served, shed, silent = [], 0, 0
    for c in conns:
        c.settimeout(10.0)
        try:
            t, p = recv_frame(c)
            ok = t == OK and p == u32(PROTO_VERSION)
        except Broken as e:
            ok = False
            if "no answer" in str(e):
                silent += 1
            else:
                shed += 1
        except OSError:
            ok = False
            shed += 1
        if ok:
            served.append(c)
        else:
            c.close()
    held_ok = 0
    for c in served:
        try:
            call(c, STATUS)
            held_ok += 1
        except (Broken, AgentError, OSError):
            pass
    ex = {"shed": 0, "served": 0, "silent": 0}
    for _ in range(extra):
        c = connect_waiting(sock)
        if c is None:
            ex["shed"] += 1
            continue
        ex[classify(c)] += 1
        c.close()
    print(f"FLOOD\t{len(served)}\t{shed}\t{refused}\t{silent}\t{held_ok}\t{ex['shed']}\t"
          f"{ex['served']}\t{ex['silent']}", flush=True)
    with open(readyfile, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + 120
    while not os.path.exists(releasefile) and time.monotonic() < end:
        time.sleep(0.05)
    ok = bad = 0
    for c in served:
        try:
            call(c, STATUS)
            ok += 1
        except (Broken, AgentError, OSError):
            bad += 1
        c.close()
    print(f"HELD\t{ok}\t{bad}", flush=True)
    return 0


# --- race (two agents started at the same instant) --------------------------

def cmd_race(argv):
    outdir, cmd = argv[0], argv[2:]
    if argv[1] != "--" or not cmd:
        raise SystemExit("load_client.py race OUTDIR -- CMD [ARG...]")
    r, w = os.pipe()
    pids = []
    for k in (1, 2):
        pid = os.fork()
        if pid == 0:
            os.close(w)
            out = os.open(f"{outdir}/a{k}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(f"{outdir}/a{k}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            nul = os.open(os.devnull, os.O_RDONLY)
            os.dup2(nul, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.read(r, 1)  # EOF for both at once, when the parent closes w
            os.close(r)
            try:
                os.execv(cmd[0], cmd)
            finally:
                os._exit(127)
        pids.append(pid)
    os.close(r)
    time.sleep(0.05)  # both children are blocked in read() by now
    os.close(w)
    codes = []
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        codes.append(os.waitstatus_to_exitcode(st))
    print(f"RACE\t{codes[0]}\t{codes[1]}")
    return 0


def main(argv):
    if len(argv) < 3 or argv[1] not in ("load", "probe", "flood", "race"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "load":
        return cmd_load(argv[2:])
    if argv[1] == "probe":
        return cmd_probe(argv[2:])
    if argv[1] == "race":
        return cmd_race(argv[2:])
    return cmd_flood(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
