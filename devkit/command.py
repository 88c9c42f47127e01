"""The ``backtest-store`` command run in this process, as its entry point runs it
(``main(argv)``): where a subprocess would prove nothing more, a test saves its start (about
0.4 s a command). The installed command itself is run by the tests of first use, the
README's and docs' shell blocks, and the pseudo-terminal's (``terminal.py``)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from backtest_store.cli.main import main


def run_command(
    *args: str, url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``backtest-store ARGS`` with DATABASE_URL (unset for None) and stdin as given, its
    stdout and stderr caught, neither a terminal; what it printed is never a traceback."""
    out, err = _stream(b""), _stream(b"")
    with pytest.MonkeyPatch.context() as patch:
        if url is None:
            patch.delenv("DATABASE_URL", raising=False)
        else:
            patch.setenv("DATABASE_URL", url)
        patch.setattr(sys, "stdin", _stream((stdin or "").encode()))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    done = subprocess.CompletedProcess(args, code, _read(out), _read(err))
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _stream(data: bytes) -> io.TextIOWrapper:
    """A text stream over bytes, with the ``buffer`` a command may write bytes to."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def _read(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode()
