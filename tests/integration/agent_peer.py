#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""agent_peer.py - what another process sees of a vault-agent.

    agent_peer.py connect SOCK   connect, send HELLO, report what came back
    agent_peer.py ptrace PID     try PTRACE_ATTACH on PID, report the result

agent.sh runs these as another user (setpriv/runuser), so the script uses
nothing but the standard library and prints one word first on its line:

  connect:  "closed"    the agent closed the connection without a byte
            "answered"  the agent sent something back (followed by the frame)
            "timeout"   nothing, and the connection stayed open
            "cannot-connect <errno name>"  connect() itself failed
  ptrace:   "attached"  the attach worked (the tracee is detached again)
            "refused <errno name>"

It always prints "uid=N" on a first line, so the caller can check who ran it.
"""
import ctypes
import errno
import os
import socket
import struct
import sys

PTRACE_ATTACH, PTRACE_DETACH = 16, 17


def do_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3.0)
    try:
        s.connect(path)
    except OSError as e:
        print(f"cannot-connect {errno.errorcode.get(e.errno, e.errno)}")
        return 1
    try:
        s.sendall(struct.pack(">IBI", 5, 1, 2))  # HELLO, version 2
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed before we could even send: still "closed" below
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        print("timeout")
        return 1
    if data:
        print(f"answered {data[:64].hex()}")
        return 1
    print("closed")
    return 0


def do_ptrace(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    r = libc.ptrace(PTRACE_ATTACH, pid, None, None)
    if r == -1:
        e = ctypes.get_errno()
        print(f"refused {errno.errorcode.get(e, e)}")
        return 0
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    libc.ptrace(PTRACE_DETACH, pid, None, None)
    print("attached")
    return 0


def main():
    print(f"uid={os.getuid()}")
    if len(sys.argv) == 3 and sys.argv[1] == "connect":
        return do_connect(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "ptrace":
        return do_ptrace(int(sys.argv[2]))
    print("usage: agent_peer.py connect SOCK | ptrace PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
