"""A command on a real pseudo-terminal of a given width: what a user sees."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
from pathlib import Path

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(args: list[str], columns: int) -> str:
    """What ``backtest-store ARGS`` shows on a terminal ``columns`` wide."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on the pseudo-terminal
        env = {**os.environ, "COLUMNS": str(columns), "LINES": "60", "TERM": "xterm"}
        os.execve(str(BIN / "backtest-store"), [str(BIN / "backtest-store"), *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return ANSI.sub("", out.decode()).replace("\r", "")
