"""Runs `quotient login-token` in a pseudo-terminal: waits for the hidden
password prompt, types the password, waits for the countdown, interrupts,
and prints everything the terminal showed. Usage: pty_login_token.py
PASSWORD QUOTIENT_BINARY ARGS..."""

import os
import pty
import select
import signal
import sys
import termios
import time

password = sys.argv[1].encode()
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

seen = b""


def read_until(marker, timeout=30):
    global seen
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            sys.stdout.write(seen.decode(errors="replace"))
            sys.exit("timed out waiting for %r" % marker)
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            seen += data


read_until(b"Password for")
# The prompt is written before the CLI switches echo off: typing at once
# races with that switch, and the terminal would echo what a person types
# that fast. Wait (bounded) until the terminal says echo is off, as it is
# by the time anyone could type.
deadline = time.monotonic() + 10
while termios.tcgetattr(fd)[3] & termios.ECHO:
    if time.monotonic() > deadline:
        sys.stdout.write(seen.decode(errors="replace"))
        sys.exit("echo was never switched off for the password prompt")
    time.sleep(0.01)
os.write(fd, password + b"\n")
read_until(b"Expires in")
time.sleep(1.5)  # let the countdown tick at least once
read_until(b"Expires in", 1)
os.kill(pid, signal.SIGINT)
os.waitpid(pid, 0)
try:
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            break
        data = os.read(fd, 4096)
        if not data:
            break
        seen += data
except OSError:
    pass
sys.stdout.write(seen.decode(errors="replace"))
