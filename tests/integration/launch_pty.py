#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""launch_pty.py - drives a command on a real pseudo-terminal, as a person
at a terminal would, for launch.sh (signals, job control, TIOCSTI).

    launch_pty.py STEPS -- COMMAND [ARG...]

STEPS is a file with one step per line:
    send TEXT        writes TEXT (Python escapes: \\n, \\x03 for ^C, \\x1a for ^Z)
    expect REGEX     waits (up to 30 s) until the transcript after the last
                     match matches REGEX
    resize ROWS COLS sets the terminal's size (the command gets SIGWINCH)
    sleep SECONDS
    eof              waits (up to 30 s) for the command to end

Prints the whole transcript; exits 0 when every step succeeded, else 1
after "STEP-FAILED n: step" on stderr.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def main():
    steps_file = sys.argv[1]
    assert sys.argv[2] == "--"
    cmd = sys.argv[3:]
    steps = [l.rstrip("\n") for l in open(steps_file) if l.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    pos = 0
    ok = True
    failed = ""

    def pump(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True

    for i, step in enumerate(steps):
        verb, _, arg = step.partition(" ")
        if verb == "send":
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif verb == "sleep":
            end = time.time() + float(arg)
            while time.time() < end:
                pump(0.05)
        elif verb == "resize":
            rows, cols = (int(x) for x in arg.split())
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        elif verb == "expect":
            rx = re.compile(arg.encode())
            end = time.time() + 30
            while True:
                m = rx.search(out, pos)
                if m:
                    pos = m.end()
                    break
                if time.time() > end or not pump(0.1):
                    m = rx.search(out, pos)
                    if m:
                        pos = m.end()
                        break
                    ok, failed = False, f"STEP-FAILED {i + 1}: {step}"
                    break
        elif verb == "eof":
            end = time.time() + 30
            while time.time() < end and pump(0.1):
                pass
        if not ok:
            break
    # Whatever is left, briefly, then make sure the command is gone.
    end = time.time() + 1
    while time.time() < end and pump(0.05):
        pass
    try:
        os.kill(pid, signal.SIGKILL) if not ok else None
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    sys.stdout.write(out.decode("utf-8", "replace"))
    if not ok:
        sys.stderr.write(failed + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
