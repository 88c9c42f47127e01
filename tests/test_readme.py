"""The README's Python examples run as written, in order, against a fresh migrated database,
and then those of the docs/ pages that go on from them."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The pages whose examples go on from the README's (its names, a store at DATABASE_URL), in
# the order they run; docs/mcp.md and docs/skill-or-selection.md run theirs on their own
# (tests/test_mcp_command.py, tests/test_overfitting.py).
PAGES = [README, *(ROOT / "docs" / name for name in ("adapters.md", "web.md", "operations.md",
                                                     "citus.md", "failures.md"))]  # fmt: skip


def examples(page: Path = README) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def test_every_page_s_examples_are_run() -> None:
    """No page of docs/ with a Python example is left out of the runs."""
    with_examples = {p for p in (ROOT / "docs").glob("*.md") if examples(p)}
    on_their_own = {ROOT / "docs" / "mcp.md", ROOT / "docs" / "skill-or-selection.md"}
    assert with_examples == set(PAGES[1:]) | on_their_own


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
    for page in PAGES:
        for number, code in enumerate(examples(page), start=1):
            name = f"{page.relative_to(ROOT)} example {number}"
            exec(compile(code, name, "exec"), namespace)
    out = capsys.readouterr().out
    assert "BacktestResult.symbol = 'NOT-A-SYMBOL-BUT-A-LONG-SENTENCE!' has 33 characters" in out


def test_the_performance_table_is_the_last_bench_runs() -> None:
    """make bench writes bench/results/latest.json and docs/performance.md's table from it: the
    table in git is one run's figures, not edited by hand."""
    from bench import readme

    figures = json.loads(readme.LATEST.read_text())
    assert readme.current() == readme.table(figures)
    assert figures["reads"]["methods"] and figures["small_save"]["sizes"]
