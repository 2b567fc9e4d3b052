#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""run_procscan.py - looks for a secret in /proc/*/cmdline and /proc/*/environ.

    run_procscan.py SECRET_FILE [--rounds N] [--interval S] [--watch COMM]
                                [--until FILE [--max-seconds S]]

run.sh runs it as root while a `vault run` is in progress. The secret is
read from SECRET_FILE (never from argv, where it would show up itself),
every process but this one is scanned ROUNDS times (with --until: round
after round until FILE exists, for at most --max-seconds, default 60, and
at least ROUNDS rounds), and it prints:

  FOUND pid=P uid=U comm=C in=cmdline|environ   once per (pid, place)
  SEEN pid=P uid=U comm=C                       each process named COMM (--watch)
  SCANNED processes=N environ_read=M rounds=R   always, last

Exit 0 when the scan ran (whatever it found), 2 on a usage error. Only the
standard library: it must run anywhere run.sh does.
"""
import os
import sys
import time


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def owner(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    secret = read(argv[1])
    if not secret:
        print("run_procscan.py: empty or unreadable secret file", file=sys.stderr)
        return 2
    rounds, interval, watch, until, max_seconds = 5, 0.1, None, None, 60.0
    i = 2
    while i < len(argv):
        if argv[i] == "--rounds":
            rounds = int(argv[i + 1])
        elif argv[i] == "--interval":
            interval = float(argv[i + 1])
        elif argv[i] == "--watch":
            watch = argv[i + 1]
        elif argv[i] == "--until":
            until = argv[i + 1]
        elif argv[i] == "--max-seconds":
            max_seconds = float(argv[i + 1])
        else:
            print(f"run_procscan.py: unknown option {argv[i]}", file=sys.stderr)
            return 2
        i += 2
    me = os.getpid()
    found, seen, pids = set(), set(), set()
    environ_read = 0
    start = time.monotonic()
    r = 0
    while True:
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            pid = int(name)
            pids.add(pid)
            comm = (read(f"/proc/{pid}/comm") or b"?").decode(errors="replace").strip()
            if watch is not None and comm == watch and pid not in seen:
                seen.add(pid)
                print(f"SEEN pid={pid} uid={owner(pid)} comm={comm}", flush=True)
            for where in ("cmdline", "environ"):
                data = read(f"/proc/{pid}/{where}")
                if data is None:
                    continue
                if where == "environ":
                    environ_read += 1
                if secret in data and (pid, where) not in found:
                    found.add((pid, where))
                    # Read again: the process may have exec'd since comm was
                    # read (the same pid, a new image: this data is the new one's).
                    comm = (read(f"/proc/{pid}/comm") or b"?").decode(errors="replace").strip()
                    print(f"FOUND pid={pid} uid={owner(pid)} comm={comm} in={where}", flush=True)
        r += 1
        if r >= rounds and (until is None or os.path.exists(until)
                            or time.monotonic() - start > max_seconds):
            break
        time.sleep(interval)
    print(f"SCANNED processes={len(pids)} environ_read={environ_read} rounds={r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
