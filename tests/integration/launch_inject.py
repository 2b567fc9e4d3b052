#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""launch_inject.py - what a hostile program run by vault-launch would do:
push a command into the input of the terminal on its standard input
(TIOCSTI), to be run by the caller's shell once the program exits.
launch.sh checks that the caller's shell never runs it."""
import fcntl
import sys
import termios

line = b"echo INJ$((6*7))ECTED\n"
done = 0
for b in line:
    try:
        fcntl.ioctl(0, termios.TIOCSTI, bytes([b]))
        done += 1
    except OSError as e:
        print(f"TIOCSTI refused: {e}")
        break
print(f"INJECTOR pushed {done} bytes")
