"""The README's Python examples run as written, in order, against a fresh migrated database."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples() -> None:
    assert len(examples()) >= 6


def test_readme_examples_run(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    # a module of its own, as a script's __main__ is: backtesting.py's optimize() pickles
    # the strategy class by reference for its worker processes
    module = types.ModuleType("readme")
    monkeypatch.setitem(sys.modules, "readme", module)
    namespace = module.__dict__
    for number, code in enumerate(examples(), start=1):
        exec(compile(code, f"README.md example {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "BacktestResult.symbol = 'NOT-A-SYMBOL-BUT-A-LONG-SENTENCE!' has 33 characters" in out


def test_the_performance_table_is_the_last_bench_runs() -> None:
    """make bench writes bench/results/latest.json and the README's table from it: the
    table in git is one run's figures, not edited by hand."""
    from bench import readme

    figures = json.loads(readme.LATEST.read_text())
    assert readme.current() == readme.table(figures)
    assert figures["reads"]["methods"] and figures["small_save"]["sizes"]
