"""export and import when things go wrong: every malformed line is one message naming the
line and the field (exit 2, no traceback, nothing written); a stop part-way says how many
lines were done and that a re-run resumes; an export that stops leaves no file that looks
whole; progress on a terminal counts backtests against their total."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devkit.records import result, trade
from devkit.terminal import on_terminal

from backtest_store import BacktestStore
from backtest_store.cli import transfer
from backtest_store.cli.main import main


@pytest.fixture
def exported(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    """Three backtests with trades, exported to a file."""
    with BacktestStore.connect(db_url) as store:
        for n in range(3):
            store.save_backtest(result(parameters={"n": n}), [trade(i) for i in range(3)])
    path = tmp_path / "backup.jsonl"
    assert main(["export", "--database", db_url, "-o", str(path)]) == 0
    return db_url, path


def count(url: str) -> int:
    with BacktestStore.connect(url) as store:
        return len(store.list_backtests(limit=100))


def line_of(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return document


def wrong(document: dict[str, Any], change: str) -> str:
    """One of the malformed lines an attacker's file held."""
    if change.startswith("="):
        return change[1:]
    key, _, value = change.partition("=")
    if key.startswith("backtest."):
        document["backtest"][key.split(".")[1]] = json.loads(value)
    else:
        document[key] = json.loads(value)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("trades=5", "trades = 5 is not an array"),
        ("trades=null", "trades = None is not an array"),
        ("backtest=null", "is not an object"),
        ("backtest=[]", "is not an object"),
        ("optimizations={}", "optimizations = {} is not an array"),
        ('walk_forward="x"', "walk_forward = 'x' is not an array"),
        ("trades=[[1, 2]]", "BacktestTrade.(record) = [1, 2] is not an object"),
        ("trades=[5]", "is not an object"),
        ("backtest.backtest_id=5", "BacktestResult.backtest_id = 5 cannot be read"),
        ("backtest.created_at=[]", "BacktestResult.created_at = [] cannot be read"),
        ("kind=[]", "kind = [] is unknown"),
        ("=[]", "is not a JSON object"),
        ('="x"', "is not a JSON object"),
        ("=5" + "0" * 5000, "a number of over 4,300 digits"),
        ('={"kind": "backtest", "backtest": {"parameters": ' + "[" * 100_000 + "]" * 100_000,
         "nests its JSON deeper"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_one_message_naming_the_line_and_field(
    exported: tuple[str, Path], tmp_path: Path, change: str, says: str,
    empty_migrated: str, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, path = exported
    bad = tmp_path / "bad.jsonl"
    bad.write_text(wrong(line_of(path), change) + "\n")
    assert main(["import", "--database", empty_migrated, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and says in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "nothing was imported" in err
    assert count(empty_migrated) == 0


@pytest.fixture
def empty_migrated(db_url: str) -> Iterator[str]:
    from devkit.dbs import scratch_database

    from backtest_store import migrations

    with scratch_database("bt_import_into") as url:
        migrations.apply(url)
        yield url


def test_a_truncated_file_says_what_was_imported_and_a_re_run_resumes(
    exported: tuple[str, Path], tmp_path: Path, empty_migrated: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, path = exported
    text = path.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: text.index("\n", text.index("\n") + 1) + 40])  # 2 lines and a bit
    assert main(["import", "--database", empty_migrated, str(cut)]) == 2
    err = capsys.readouterr().err
    assert "line 3 is not JSON: Unterminated string starting at column" in err
    assert "cut short?" in err
    assert "the 2 line(s) before it are done (2 imported, 0 unchanged" in err
    assert "running import again resumes" in err
    assert count(empty_migrated) == 2
    assert main(["import", "--database", empty_migrated, str(path)]) == 0
    assert "imported 1 " in capsys.readouterr().out and count(empty_migrated) == 3


def test_a_stopped_export_leaves_no_file_that_looks_whole(
    exported: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    url, path = exported
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # a file as open() makes one
    before = path.read_bytes()
    lines = transfer.chosen_lines

    def interrupted(*args: Any) -> Iterator[str]:  # Ctrl-C once the first backtest is written
        for n, piece in enumerate(lines(*args)):
            if n and piece.startswith('{"kind"'):
                raise KeyboardInterrupt
            yield piece

    monkeypatch.setattr(transfer, "chosen_lines", interrupted)
    assert main(["export", "--database", url, "-o", str(path)]) == 130
    new = tmp_path / "new.jsonl"
    assert main(["export", "--database", url, "-o", str(new)]) == 130
    assert path.read_bytes() == before  # the older file stays as it was
    assert not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.jsonl"]  # nothing partial
    capsys.readouterr()


def test_progress_counts_backtests_against_their_total(exported: tuple[str, Path]) -> None:
    url, path = exported
    shown = on_terminal(["export", "--database", url, "-o", str(path.with_name("p.jsonl"))], 100)
    assert "exported 3 line(s)" in shown
    loading = on_terminal(["import", "--database", url, str(path)], 100)
    assert "unchanged 3" in loading
    # rich redraws the bar on a terminal: each frame counts "N of <total>"
    counts = _counts(shown + loading)
    assert counts and all(m.endswith("of 3") for m in counts), shown + loading


def _counts(text: str) -> list[str]:
    import re

    return re.findall(r"\d+ of \d+", text)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
