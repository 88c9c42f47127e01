"""Runs repeated: the same strategy, parameters, period, data fingerprint and code version.
Counted for the runs a list shows (``duplicate_counts``: the mark in ``list`` and the web
list) and listed as groups (``list_duplicates``, ``list --duplicates``, ``/duplicates``).
Two runs differing in any one part of the key are not the same run; a run without a
fingerprint has no repeat (nothing says its data was the same); parameters are equal as
jsonb is (key order and a number's trailing zeros do not matter)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from devkit.records import result

from backtest_store import BacktestStore
from backtest_store.cli.main import main as cli

KEY = {"strategy_type": "sma_cross", "parameters": {"fast": 10, "slow": 50.0},
       "data_fingerprint": "sha256:aa", "code_version": "c1"}  # fmt: skip


@pytest.fixture
def runs(db_url: str) -> dict[str, str]:
    """Three runs of one key (the third written with its keys the other way round), and one
    run off the key by each of its parts, and one without a fingerprint."""
    made = {
        "a": result(**KEY),
        "b": result(**KEY),
        "c": result(**{**KEY, "parameters": {"slow": 50.0, "fast": 10}}),
        "params": result(**{**KEY, "parameters": {"fast": 11, "slow": 50.0}}),
        "strategy": result(**{**KEY, "strategy_type": "ema_cross"}),
        "data": result(**{**KEY, "data_fingerprint": "sha256:bb"}),
        "code": result(**{**KEY, "code_version": "c2"}),
        "no_fingerprint": result(**{**KEY, "data_fingerprint": None}),
        "no_fingerprint_2": result(**{**KEY, "data_fingerprint": None}),
    }
    with BacktestStore.connect(db_url) as store:
        ids = {name: str(store.save_backtest(r).backtest_id) for name, r in made.items()}
    # 50.00 is 50.0 to jsonb: stored as written by hand, it is the same run as a, b, c
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE mcp_backtest_results SET parameters = '{\"slow\": 50.00, \"fast\": 10}'"
                     " WHERE backtest_id = %s", (ids["c"],))  # fmt: skip
    return ids


def test_each_shown_run_is_counted_against_its_own_key(store: Any, runs: dict[str, str]) -> None:
    shown = store.list_backtests(limit=50)
    counts = {str(k): v for k, v in store.duplicate_counts(shown).items()}
    assert counts == {runs["a"]: 2, runs["b"]: 2, runs["c"]: 2}
    # a page showing one of them counts the repeats it does not show
    one = [r for r in shown if str(r.backtest_id) == runs["b"]]
    assert {str(k): v for k, v in store.duplicate_counts(one).items()} == {runs["b"]: 2}
    alone = [r for r in shown if str(r.backtest_id) in (runs["params"], runs["no_fingerprint"])]
    assert store.duplicate_counts(alone) == {}
    assert store.duplicate_counts([]) == {}


def test_the_groups_are_listed_in_the_cli_the_web_and_api(
    db_url: str, runs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with BacktestStore.connect(db_url) as store:
        groups = store.list_duplicates()
    assert [sorted(map(str, g.backtest_ids)) for g in groups] == [
        sorted([runs["a"], runs["b"], runs["c"]])
    ]
    assert groups[0].data_fingerprint == "sha256:aa" and groups[0].code_version == "c1"

    assert cli(["list", "--duplicates", "--json", "--database", db_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    group = [sorted([runs["a"], runs["b"], runs["c"]])]
    assert [sorted(g["backtest_ids"]) for g in listed] == group
    assert cli(["list", "--wide", "--database", db_url]) == 0
    out = capsys.readouterr().out
    marked = [line for line in out.splitlines() if " x2" in line]
    assert sorted(line.strip("│ ").split()[0] for line in marked) == sorted(
        runs[k][:8] for k in ("a", "b", "c"))  # fmt: skip

    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(db_url)) as client:
        api = client.get("/api/duplicates").json()
        assert [sorted(g["backtest_ids"]) for g in api] == group
        html = client.get("/").text
        assert html.count('class="dup"') == 3 and html.count("&times;2</a>") == 3
