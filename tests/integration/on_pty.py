#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""on_pty.py [--answer TEXT] [--seconds N] PROGRAM [ARG...]

Runs PROGRAM on a new pseudo-terminal (its stdin, stdout, stderr and its
controlling terminal, in a session of its own) and prints everything it
wrote there. With --answer, types TEXT and a newline once, as soon as the
output so far ends in "]" (a prompt such as "Remove it? [y/N] "). Exits
with PROGRAM's status; if PROGRAM has not finished after N seconds
(default 15), which is what waiting on a prompt looks like, it is killed
and this prints HUNG and exits 124, as timeout(1) does.
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    args = sys.argv[1:]
    answer, seconds = None, 15.0
    while args and args[0] in ("--answer", "--seconds"):
        if args[0] == "--answer":
            answer = args[1].encode()
        else:
            seconds = float(args[1])
        args = args[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    out, status, end = b"", None, time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
            if answer is not None and out.rstrip().endswith(b"]"):
                os.write(fd, answer + b"\n")
                answer = None
        else:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                status = st
                break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode("utf-8", "replace") + "\nHUNG\n")
        return 124
    if status is None:
        _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode("utf-8", "replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
