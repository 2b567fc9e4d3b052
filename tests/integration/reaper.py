#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""reaper.py - runs a command as a child subreaper, for crash.sh.

    reaper.py COMMAND [ARG...]

With PR_SET_CHILD_SUBREAPER set, every process that COMMAND's descendants
leave behind (an orphan: its parent was killed or exited) becomes our
child, whatever its command line, process group or session says. crash.sh
needs that: a trial's SIGKILL can leave a rotate command that `vault
--no-agent` forked but that has not exec'd yet, so it still carries the
vault's command line and no pgrep pattern finds it; rotate_target.sh's
'late' change runs in a setsid process. COMMAND finds all of them as our
live children in /proc/$CRASH_REAPER_PID/task/$CRASH_REAPER_PID/children
(itself among them) and waits for them.

We reap every child as it exits (so none lingers as a zombie), forward
SIGTERM, SIGINT and SIGHUP to COMMAND, and exit with COMMAND's status once
it has exited (128 + N if signal N ended it).
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        print("usage: reaper.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"reaper.py: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}",
              file=sys.stderr)
        return 1
    os.environ["CRASH_REAPER_PID"] = str(os.getpid())
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)

    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            got, status = os.wait()
        except ChildProcessError:
            return 1  # cannot happen: COMMAND is ours until we saw it exit
        if got == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
