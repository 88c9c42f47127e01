"""The data commands through the ``backtest-store`` entry point (in this process; the
installed command through bash in the last test), against a real database: ``--json``
output against what the store returns, exit codes, export/import."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from devkit.command import run_command as run
from devkit.dbs import scratch_database
from devkit.records import optimization, portfolio, result, trade, window

from backtest_store import BacktestStore, migrations
from backtest_store.documents import summary
from backtest_store.metrics import MEASURES, units
from backtest_store.serialize import from_json, plain, to_json
from backtest_store.tables import RESULTS, TRADES

BIN = Path(sys.executable).parent / "backtest-store"


def out_json(*args: str, url: str) -> Any:
    done = run(*args, "--json", url=url)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no progress, no noise
    return json.loads(done.stdout)


@pytest.fixture
def filled(db_url: str) -> Iterator[tuple[str, list[Any]]]:
    """Three backtests (trades, an optimization, walk-forward windows) and a portfolio."""
    saved = []
    with BacktestStore.connect(db_url) as store:
        for n, (symbol, sharpe) in enumerate((("AAPL", 1.5), ("MSFT", 0.7), ("AAPL", 2.1))):
            r = store.save_backtest(
                result(symbol=symbol, sharpe_ratio=sharpe, total_return=0.1 * n, total_trades=4,
                       winning_trades=2, losing_trades=2, win_rate=0.5, max_drawdown=-0.1,
                       equity_curve=[["2024-01-01T00:00:00Z", 100.0], ["2024-01-02T00:00:00Z", 101.5]],
                       parameters={"fast": 10 + n, "slow": 50}),
                [trade(i, exit_date=date(2024, 2, 1), pnl=(-1) ** i * (i + 1)) for i in range(4)] + [trade(9)],
            )  # fmt: skip
            store.save_optimization_results(
                r.backtest_id, [optimization(i, objective_value=i) for i in range(3)]
            )
            store.save_walk_forward_tests(r.backtest_id, [window(i) for i in range(2)])
            saved.append(r)
        store.save_portfolio(
            portfolio(weights={"AAPL": 0.6, "MSFT": 0.4}, portfolio_equity_curve=[1, 2])
        )
    yield db_url, saved


def test_list_and_top_print_what_the_store_returns(filled: tuple[str, list[Any]]) -> None:
    url, _ = filled
    with BacktestStore.connect(url) as store:
        assert out_json("list", url=url) == [plain(to_json(r)) for r in store.list_backtests()]
        assert out_json("list", "--symbol", "AAPL", "--limit", "1", url=url) == [
            to_json(r) for r in store.list_backtests(symbol="AAPL", limit=1)
        ]
        top = out_json("top", "--metric", "sharpe_ratio", "--min-trades", "3", url=url)
        assert top == [to_json(r) for r in store.top_backtests(metric="sharpe_ratio", min_trades=3)]
    assert [r["sharpe_ratio"] for r in top] == [
        "2.1000",
        "1.5000",
        "0.7000",
    ]  # exact decimal strings
    assert out_json("list", "--since", "2999-01-01", url=url) == []
    table = run("list", url=url)
    assert table.returncode == 0 and "AAPL" in table.stdout and "150.00 %" not in table.stdout


def test_show_gives_every_metric_with_its_unit_and_the_children(
    filled: tuple[str, list[Any]],
) -> None:
    url, saved = filled
    the_id = str(saved[0].backtest_id)
    shown = out_json("show", the_id, url=url)
    with BacktestStore.connect(url) as store:
        stored = store.get_backtest(saved[0].backtest_id)
        assert stored is not None
        assert shown["backtest"] == {
            k: v for k, v in to_json(stored).items() if k not in RESULTS.series
        }
        assert shown["optimizations"] == [
            to_json(o) for o in store.best_parameters(stored.backtest_id)
        ]
        assert shown["walk_forward"] == [
            to_json(w) for w in store.walk_forward_tests(stored.backtest_id)
        ]
    assert shown["trades"] == {"count": 5, "winning": 3, "losing": 2, "open": 1}
    assert set(shown["units"]) == set(MEASURES)
    assert (
        shown["units"]["total_return"] == "fraction" and shown["units"]["largest_win"] == "currency"
    )
    assert shown["units"]["max_drawdown_duration"] == "days"
    table = run("show", the_id, url=url).stdout
    # max_drawdown as percent, and the unit named as printed (the JSON keeps "fraction")
    assert re.search(r"max_drawdown\s+│\s+-10\.00 %\s+│\s+%\s", table) and "fraction" not in table
    assert from_json(type(stored), shown["backtest"]) == dataclasses.replace(
        stored, equity_curve=None, drawdown_series=None
    )


def test_trades_as_json_csv_and_by_outcome(filled: tuple[str, list[Any]]) -> None:
    url, saved = filled
    the_id = saved[1].backtest_id
    with BacktestStore.connect(url) as store:
        assert out_json("trades", str(the_id), url=url) == [
            to_json(t) for t in store.get_trades(the_id)
        ]
        winning = out_json("trades", str(the_id), "--outcome", "winning", url=url)
        assert winning == [to_json(t) for t in store.get_trades(the_id, outcome="winning")]
    assert all(float(t["pnl"]) > 0 for t in winning) and len(winning) == 3
    done = run("trades", str(the_id), "--csv", url=url)
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == list(TRADES.column_names) and len(rows) == 6
    assert done.stderr == ""


def test_compare_and_summary(filled: tuple[str, list[Any]]) -> None:
    url, saved = filled
    ids = [str(r.backtest_id) for r in saved]
    with BacktestStore.connect(url) as store:
        got = out_json("compare", *ids, "--metrics", "sharpe_ratio,total_return", url=url)
        want = store.compare_backtests(
            [r.backtest_id for r in saved], metrics=["sharpe_ratio", "total_return"]
        )
        assert got == plain(want)
        assert out_json("summary", url=url) == summary(store.performance_summary())
        assert out_json("summary", "--symbol", "AAPL", url=url) == summary(
            store.performance_summary(symbol="AAPL")
        )
    assert got[0]["ranks"]["sharpe_ratio"] == 1 and got[0]["values"]["sharpe_ratio"] == "2.1000"


def test_exit_codes_and_no_tracebacks(filled: tuple[str, list[Any]], empty_db_url: str) -> None:
    url, saved = filled
    missing = "00000000-0000-0000-0000-000000000000"
    cases = [
        (("show", missing), 1, "no backtest"),
        (("trades", missing), 1, "no backtest"),
        (("compare", str(saved[0].backtest_id), missing), 1, "no backtest"),
        (("report", missing, "-o", "/tmp/never.html"), 1, "no backtest"),
        (("show", "not-a-uuid"), 2, "not a backtest id"),
        (("list", "--since", "yesterday"), 2, "not a date"),
        (("list", "--limit", "0"), 2, "--limit"),
        (("top", "--metric", "luck"), 2, "--metric"),
        (("list", "--limit", "ten"), 2, "invalid int value"),
        (("prune", "--older-than", "soon"), 2, "--older-than"),
        (("import", "/nonexistent/file.jsonl"), 2, "cannot read"),
        (("report", str(saved[0].backtest_id), "-o", "/nonexistent/dir/r.html"), 2, "No such file"),
        (("export", "-o", "/nonexistent/dir/x.jsonl"), 2, "No such file"),
    ]
    for args, code, message in cases:
        done = run(*args, url=url)
        assert done.returncode == code, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert done.stdout == ""
    unreachable = run("list", url="postgresql://postgres@127.0.0.1:1/none")
    assert unreachable.returncode == 3 and "connect" in unreachable.stderr
    not_migrated = run("list", url=empty_db_url)
    assert not_migrated.returncode == 3 and "backtest-store migrate" in not_migrated.stderr
    no_database = run("list")
    assert no_database.returncode == 2 and "DATABASE_URL" in no_database.stderr


def _everything(url: str) -> dict[str, Any]:
    with BacktestStore.connect(url) as store:
        results = store.list_backtests(with_series=True, limit=1000)
        return {
            "results": {r.backtest_id: r for r in results},
            "trades": {r.backtest_id: store.get_trades(r.backtest_id) for r in results},
            "optimizations": {
                r.backtest_id: store.best_parameters(r.backtest_id, limit=100) for r in results
            },
            "windows": {r.backtest_id: store.walk_forward_tests(r.backtest_id) for r in results},
            "portfolios": store.list_portfolios(with_series=True),
        }


def test_export_then_import_gives_equal_records_and_twice_changes_nothing(
    filled: tuple[str, list[Any]], tmp_path: Path
) -> None:
    url, _ = filled
    path = tmp_path / "backup.jsonl"
    done = run("export", "-o", str(path), url=url)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["backtest"] * 3 + ["portfolio"]
    assert all(
        line["backtest"]["backtest_id"] and line["backtest"]["created_at"] for line in lines[:3]
    )
    with scratch_database("bt_import") as other:
        migrations.apply(other)
        first = run("import", str(path), url=other)
        assert first.returncode == 0, first.stderr
        assert "imported 4 " in first.stdout and first.stderr == ""
        assert _everything(other) == _everything(url)  # ids, timestamps, every value
        second = run("import", str(path), url=other)
        assert second.returncode == 0, second.stderr
        assert "imported 0 " in second.stdout and "unchanged 4" in second.stdout
        assert _everything(other) == _everything(url)
        # a different record under a stored id is reported and left as it is
        changed = lines[0]
        changed["backtest"]["sharpe_ratio"] = "9.9999"
        path.write_text("\n".join(json.dumps(line) for line in [changed, *lines[1:]]) + "\n")
        third = run("import", str(path), url=other)
        assert third.returncode == 1
        assert f"backtest {changed['backtest']['backtest_id']} differs" in third.stderr
        assert _everything(other) == _everything(url)
        # stdout export of one symbol, into stdin import
        only = run("export", "--symbol", "MSFT", url=url)
        assert len(only.stdout.splitlines()) == 1 and only.stderr == ""
        bad = run(
            "import", "-", url=other, stdin='{"kind": "backtest", "backtest": {"symbol": 5}}\n'
        )
        assert bad.returncode == 2 and "line 1" in bad.stderr
        not_json = run("import", "-", url=other, stdin="{nope\n")
        assert not_json.returncode == 2 and "line 1 is not JSON" in not_json.stderr


def test_prune_counts_asks_and_deletes(filled: tuple[str, list[Any]], conn: Any) -> None:
    url, saved = filled
    conn.execute(
        "UPDATE mcp_backtest_results SET backtest_date = %s WHERE backtest_id = ANY(%s)",
        [datetime.now(UTC) - timedelta(days=400), [saved[0].backtest_id, saved[1].backtest_id]],
    )
    dry = out_json("prune", "--older-than", "365d", "--dry-run", url=url)
    assert {k: dry[k] for k in ("backtests", "trades", "optimizations", "walk_forward")} == {
        "backtests": 2, "trades": 10, "optimizations": 6, "walk_forward": 4,
    }  # fmt: skip
    refused = run("prune", "--older-than", "365d", url=url)  # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert conn.execute("SELECT count(*) FROM mcp_backtest_results").fetchone()[0] == 3
    only_msft = run("prune", "--older-than", "365d", "--symbol", "MSFT", "--yes", url=url)
    assert only_msft.returncode == 0 and "deleted 1 backtest" in only_msft.stdout
    assert only_msft.stderr == ""
    done = run("prune", "--older-than", date.today().isoformat(), "--yes", url=url)
    assert done.returncode == 0 and "deleted 1 backtest" in done.stdout  # AAPL's old one
    left = conn.execute("SELECT backtest_id FROM mcp_backtest_results").fetchall()
    assert [r[0] for r in left] == [saved[2].backtest_id]
    assert conn.execute("SELECT count(*) FROM mcp_backtest_trades").fetchone()[0] == 5


def test_units_come_from_the_schema_comments() -> None:
    assert units()["win_rate"] == "fraction" and units()["sharpe_ratio"] == "ratio"
    assert units()["execution_time_seconds"] == "seconds" and units()["total_trades"] == "count"


def test_the_readme_commands_run_as_written(filled: tuple[str, list[Any]], tmp_path: Path) -> None:
    """The shell block of docs/cli.md ("Looking at results"), run by bash as it is."""
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    section = page.split("# Looking at results", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    url, _ = filled
    with BacktestStore.connect(url) as store:
        store.save_backtest(result(symbol="GOOG", total_trades=12), [trade(i) for i in range(3)])
    with scratch_database("bt_team") as team:
        migrations.apply(team)
        env = {**os.environ, "DATABASE_URL": url, "TEAM_DATABASE_URL": team,
               "PATH": f"{BIN.parent}:{os.environ['PATH']}"}  # fmt: skip
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.group(1)], cwd=tmp_path,
                              env=env, capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        with BacktestStore.connect(team) as store:
            assert [r.symbol for r in store.list_backtests()] == ["GOOG"]
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    assert (tmp_path / "losing.csv").read_text().startswith("trade_id,")
    assert len((tmp_path / "goog.jsonl").read_text().splitlines()) == 1
