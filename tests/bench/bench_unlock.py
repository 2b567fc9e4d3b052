#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench_unlock.py - get latency while another client's Argon2id runs.

    bench_unlock.py SOCK ACCOUNT CONFIRM_ACCOUNT PASSFILE ROUNDS

Driven by bench_unlock.sh against a running agent whose vault has the
default (moderate) KDF, ACCOUNT use=any and CONFIRM_ACCOUNT use=confirm.
Client A makes GET after GET of ACCOUNT on one connection and records
each round trip; meanwhile client B does, in turn:

  idle     nothing (the baseline, measured in the same run)
  unlock   LOCK, then UNLOCK with the right passphrase (A's GETs are
           answered "locked" until the key is back: still served)
  confirm  a GET of CONFIRM_ACCOUNT carrying the passphrase (the agent
           checks it against the slot: one derivation)

ROUNDS times each, interleaved so that other load hits all alike. Prints
key=value lines: p50/p99/max of A's latency in ms per case, the number
of A's requests, and B's median derivation round trip. Figures only.
"""
import socket
import statistics
import struct
import sys
import threading
import time

HELLO, STATUS, UNLOCK, LOCK, GET = 1, 2, 3, 5, 15
OK, ERROR = 100, 101


def frame(t, p=b""):
    return struct.pack(">IB", len(p) + 1, t) + p


def sstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def get_payload(name, confirm=b""):
    return sstr(name) + struct.pack(">IB", 0, 1) + sstr(confirm)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            raise EOFError
        buf += c
    return buf


def call(s, t, p=b""):
    s.sendall(frame(t, p))
    while True:
        (n,) = struct.unpack(">I", recv_exact(s, 4))
        body = recv_exact(s, n)
        if body[0] != 102:  # ITEM frames come before the final one
            return body[0], body[1:]


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t, _ = call(s, HELLO, struct.pack(">I", 2))
    assert t == OK, t
    return s


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    path, acct, conf, passfile, rounds = sys.argv[1:6]
    rounds = int(rounds)
    pw = open(passfile, "rb").read().rstrip(b"\n")
    a, b = connect(path), connect(path)
    lat = {"idle": [], "unlock": [], "confirm": []}
    derive = {"unlock": [], "confirm": []}
    for _ in range(rounds):
        for case in ("idle", "unlock", "confirm"):
            done = threading.Event()

            def other():
                t0 = time.monotonic()
                if case == "idle":
                    time.sleep(1.0)
                elif case == "unlock":
                    call(b, LOCK)
                    t0 = time.monotonic()
                    t, _ = call(b, UNLOCK, sstr(pw))
                    assert t == OK, ("unlock", t)
                    derive[case].append(time.monotonic() - t0)
                else:
                    t, _ = call(b, GET, get_payload(conf, pw))
                    assert t == OK, ("confirm", t)
                    derive[case].append(time.monotonic() - t0)
                done.set()

            th = threading.Thread(target=other)
            th.start()
            while not done.is_set():
                t0 = time.perf_counter()
                t, _ = call(a, GET, get_payload(acct))
                lat[case].append((time.perf_counter() - t0) * 1000)
                time.sleep(0.002)
            th.join()
    for case, xs in lat.items():
        print(f"{case}_n={len(xs)}")
        print(f"{case}_p50_ms={statistics.median(xs):.3f}")
        print(f"{case}_p99_ms={pct(xs, 0.99):.3f}")
        print(f"{case}_max_ms={max(xs):.3f}")
    for case, xs in derive.items():
        print(f"{case}_derive_s={statistics.median(xs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
