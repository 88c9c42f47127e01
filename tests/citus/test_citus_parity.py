"""The same cases on single-node PostgreSQL and on the distributed database give the same
results: every public method of both stores (a test fails when a method is added and not
exercised here), every CLI command, and the errors' types and constraints."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from devkit.records import opened, optimization, portfolio, result, trade, window

from backtest_store import BacktestStore
from backtest_store.cli.main import main
from backtest_store.errors import BacktestStoreError, DatabaseError

NS = UUID("2f1e4c3a-0000-4000-8000-000000000000")
CLOCK = {"created_at", "updated_at", "optimization_date", "test_date"}  # the server's now()
PUBLIC = sorted(n for n, _ in inspect.getmembers(BacktestStore) if not n.startswith("_"))


def uid(*parts: object) -> UUID:
    return uuid5(NS, "/".join(map(str, parts)))


def plain(value: Any) -> Any:
    """A result as comparable data: records as dicts without the server's clock."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in CLOCK
        }
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def unclocked(value: Any) -> Any:
    """A JSON document without the server's clock."""
    if isinstance(value, dict):
        return {k: unclocked(v) for k, v in value.items() if k not in CLOCK}
    if isinstance(value, list):
        return [unclocked(v) for v in value]
    return value


class Recorder:
    """The store, with the names of the methods called on it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self.store, name)


def scenario(store: Recorder) -> list[tuple[str, Any]]:
    """Every public method, with data whose ids and dates are the same on every run."""
    import pandas as pd

    out: list[tuple[str, Any]] = []

    def note(name: str, value: Any) -> None:
        out.append((name, plain(value)))

    store.check_schema()
    base = datetime(2025, 6, 1, 12, tzinfo=UTC)
    ids = []
    for i in range(18):
        bid = uid("result", i)
        ids.append(bid)
        trades = [trade(n, trade_id=uid("trade", i, n), pnl=(n % 5) - 2 + i / 10) for n in range(4)]
        saved = store.save_backtest(
            result(
                backtest_id=bid, symbol=("AAPL", "MSFT", "EURUSD")[i % 3],
                strategy_type=("sma_cross", "rsi")[i % 2], backtest_date=base - timedelta(days=i),
                sharpe_ratio=None if i == 5 else (i * 7 % 11) / 4, total_return=i / 50 - 0.1,
                win_rate=(i % 9) / 10, parameters={"fast": i % 4, "slow": 50}, total_trades=4,
                experiment=("exp_a", "exp_b")[i % 2], bars_per_year=252,
                tags={"batch": str(i % 3)}, data_fingerprint="sha256:same" if i in (6, 10) else None,
                equity_curve=[100 + (i * k) % 7 + k / 10 for k in range(40)],
            ),
            trades,
        )  # fmt: skip
        note("save_backtest", saved)
    many = [trade(n, trade_id=uid("many", n)) for n in range(120)]  # the COPY path
    note("save_backtest", store.save_backtest(result(backtest_id=uid("many"),
                                              backtest_date=base - timedelta(days=40)), many))  # fmt: skip
    frame = pd.DataFrame(
        {
            "trade_id": [uid("frame", n) for n in range(10)],
            "entry_date": [date(2024, 2, 1) + timedelta(days=n) for n in range(10)],
            "entry_price": [1.0851 + n / 10_000 for n in range(10)],
            "direction": ["long", "short"] * 5,
            "pnl": [n - 4.5 for n in range(10)],
        }
    )
    note("save_trades", store.save_trades(ids[0], frame.assign(trade_number=range(10, 20))))
    note("save_trades", store.save_trades(ids[1], [trade(9, trade_id=uid("extra", 9))]))
    note("get_backtest", store.get_backtest(ids[0]))
    note("get_trades", store.get_trades(ids[0]))
    note("get_trades", store.get_trades(ids[0], outcome="winning"))
    note("iter_trades", list(store.iter_trades(uid("many"))))
    first = store.list_backtests(limit=5)
    note("list_backtests", first)
    note("list_backtests", store.list_backtests(limit=5, after=first[-1], symbol="AAPL"))
    for metric in ("sharpe_ratio", "max_drawdown", "total_return"):
        note("top_backtests", store.top_backtests(metric=metric, limit=4, min_trades=1))
    note("find_backtests", store.find_backtests(parameters={"fast": 2}))
    for sort in ("backtest_date", "sharpe_ratio"):
        page = store.browse_backtests(sort=sort, limit=4, symbols=["AAPL", "EURUSD"])
        note("browse_backtests", page)
    from backtest_store import cursor_of

    page = store.browse_backtests(sort="sharpe_ratio", limit=7)
    note("browse_backtests", store.browse_backtests(sort="sharpe_ratio", limit=7,
                                                    after=cursor_of(page[-1], "sharpe_ratio")))  # fmt: skip
    note("browse_backtests",
         store.browse_backtests(ranges=[("sharpe_ratio", ">=", 1)], parameters_any=[{"fast": 1}, {"fast": 3}]))  # fmt: skip
    note("backtest_ids", store.backtest_ids(str(ids[3])[:8]))
    opts = [optimization(n, optimization_id=uid("opt", n), objective_value=n % 3) for n in range(6)]
    note("save_optimization_results", store.save_optimization_results(ids[2], opts))
    note("best_parameters", store.best_parameters(ids[2], limit=3))
    note("optimization_results", store.optimization_results(ids[2]))
    windows = [window(n, walk_forward_id=uid("wf", n)) for n in range(3)]
    note("save_walk_forward_tests", store.save_walk_forward_tests(ids[2], windows))
    note("walk_forward_tests", store.walk_forward_tests(ids[2]))
    for kind in ("trades", "optimizations", "walk_forward"):
        note("iter_children", list(store.iter_children(ids[2], kind, batch_size=2)))
    note("iter_children", list(store.iter_children(ids[0], "trades")))
    for n in range(3):
        store.save_portfolio(portfolio(portfolio_backtest_id=uid("pf", n), portfolio_name=f"p{n % 2}",
                                       backtest_date=base - timedelta(days=n)))  # fmt: skip
    note(
        "save_portfolio",
        store.save_portfolio(portfolio(portfolio_backtest_id=uid("pf", 9), backtest_date=base)),
    )
    note("get_portfolio", store.get_portfolio(uid("pf", 1)))
    # where the runs came from, and skill or selection
    note("list_backtests", store.list_backtests(experiment="exp_a", tags={"batch": "1"}))
    note("list_experiments", store.list_experiments())
    note("duplicate_counts", store.duplicate_counts(store.list_backtests(limit=50)))
    note("list_duplicates", store.list_duplicates())
    note("assess", store.assess(ids[2]))
    note("record_assessment", store.record_assessment(ids[2]))
    note("optimization_results", store.optimization_results(ids[2]))
    note("assess_experiment", store.assess_experiment("exp_a", blocks=4))
    note("list_portfolios", store.list_portfolios(portfolio_name="p0"))
    note("compare_backtests", store.compare_backtests(ids[:6]))
    note("performance_summary", store.performance_summary())
    note("performance_summary", store.performance_summary(symbol="MSFT"))
    note("performance_summary", store.performance_summary(since=base - timedelta(days=6)))
    with store.transaction() as tx:
        tx.save_backtest(result(backtest_id=uid("tx"), backtest_date=base))
    note("transaction", store.get_backtest(uid("tx")))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.save_backtest(result(backtest_id=uid("undone"), backtest_date=base))
        raise RuntimeError("rolled back")
    note("transaction", store.get_backtest(uid("undone")))
    attempts: list[Callable[[], Any]] = [
        lambda: store.save_trades(ids[4], [trade(1, direction="buy")]),  # a check, one row
        lambda: store.save_trades(ids[4], [trade(n, direction="buy") for n in range(150)]),
        lambda: store.save_trades(uid("missing"), [trade(1)]),  # no such backtest
    ]
    for bad in attempts:
        try:
            bad()
        except BacktestStoreError as exc:
            note("refused", (type(exc).__name__, getattr(exc, "constraint", None)))
    cutoff = base - timedelta(days=10)
    note("count_backtests", store.count_backtests(older_than=cutoff))
    note("delete_backtests", store.delete_backtests(older_than=cutoff, batch_size=3))
    note("count_backtests", store.count_backtests(older_than=cutoff))
    note("delete_backtest", store.delete_backtest(ids[0]))
    note("delete_backtest", store.delete_backtest(ids[0]))
    note("list_backtests", store.list_backtests(limit=100))
    return out


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_public_method_gives_the_same_results_on_both(
    db_url: str, distributed_url: str, kind: str
) -> None:
    """Both stores: the sync one, and the async one behind the same blocking interface."""
    runs = []
    for url in (db_url, distributed_url):
        with opened(kind, url) as store:
            recorder = Recorder(store)
            runs.append(scenario(recorder))
    single, distributed = runs
    assert [name for name, _ in single] == [name for name, _ in distributed]
    for (name, a), (_, b) in zip(single, distributed, strict=True):
        assert a == b, name
    assert recorder.called >= set(PUBLIC) - {"connect"}, "a public method is not exercised"
    refused = [value for name, value in single if name == "refused"]
    assert refused == [
        ["ConstraintViolation", "ck_mcp_backtest_trades_direction"],
        ["ConstraintViolation", "ck_mcp_backtest_trades_direction"],
        ["ParentNotFoundError", None],  # the DAO finds no such backtest first
    ]


COMMANDS: list[list[str]] = [
    ["list", "--json"],
    ["list", "--json", "--symbol", "AAPL", "--limit", "3"],
    ["show", "--json", "{id0}"],
    ["show", "--json", "{prefix3}"],
    ["trades", "--json", "{id0}"],
    ["trades", "--csv", "--outcome", "winning", "{id0}"],
    ["top", "--json", "--metric", "total_return", "--limit", "5"],
    ["top", "--json", "--param", "fast=1"],
    ["compare", "--json", "{id0}", "{id1}", "{id2}"],
    ["summary", "--json"],
    ["summary", "--json", "--symbol", "MSFT"],
    ["export", "--symbol", "AAPL", "-o", "{tmp}/out.jsonl"],
    ["status"],
    ["prune", "--older-than", "2025-05-25", "--dry-run", "--json"],
    ["prune", "--older-than", "2025-05-25", "--yes", "--json"],
    ["list", "--json", "--limit", "100"],
    ["import", "{tmp}/out.jsonl"],
    ["list", "--json", "--limit", "100"],
    ["report", "-o", "{tmp}/report.html", "{id0}", "{id1}"],
]


def run_commands(url: str, tmp: Path, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    with BacktestStore.connect(url) as store:
        scenario(Recorder(store))
        ids = [str(r.backtest_id) for r in store.list_backtests(limit=3)]
    out: list[Any] = []
    for args in COMMANDS:
        argv = [a.format(id0=ids[0], id1=ids[1], id2=ids[2], prefix3=ids[2][:8], tmp=tmp)
                for a in args]  # fmt: skip
        code = main([args[0], "--database", url, *argv[1:]])
        captured = capsys.readouterr()
        text = captured.out.replace(str(tmp), "{tmp}")
        if args[0] == "status":  # the Citus line is the one difference, checked apart
            text = "\n".join(line for line in text.splitlines() if "Citus" not in line)
        if "--json" in args and text.strip():
            text = unclocked(json.loads(text))
        out.append((args[0], code, text))
    exported = (tmp / "out.jsonl").read_text().splitlines()
    out.append(("export", [unclocked(json.loads(line)) for line in exported]))
    html = (tmp / "report.html").read_text()
    # the report embeds the data it draws, the same on both; plotly's random div ids and
    # the server's clock are not
    random_id = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    out.append(("report", re.sub(random_id, "", html)))
    out.append(("report ids", [i in html for i in ids[:2]]))
    return out


def test_every_command_gives_the_same_output_on_both(
    db_url: str, distributed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = run_commands(db_url, tmp_path / "one", capsys)
    distributed = run_commands(distributed_url, tmp_path / "two", capsys)
    for a, b in zip(single, distributed, strict=True):
        assert a == b, a[0]
    commands = {args[0] for args in COMMANDS}
    assert commands == {"list", "show", "trades", "top", "compare", "summary", "export",
                        "import", "prune", "report", "status"}  # fmt: skip
    codes = [entry[1] for entry in single if len(entry) == 3]
    assert set(codes) == {0}, single
    assert main(["status", "--database", distributed_url]) == 0
    assert "distributed on Citus: 5 tables, 4 shards" in capsys.readouterr().out


def test_a_database_error_has_the_same_type_on_both(db_url: str, distributed_url: str) -> None:
    errors = []
    for url in (db_url, distributed_url):
        with BacktestStore.connect(url) as store:
            saved = store.save_backtest(result(), [trade(0, trade_id=uid("dup"))])
            try:
                store.save_trades(saved.backtest_id, [trade(1, trade_id=uid("dup"))])
            except DatabaseError as exc:
                errors.append(type(exc).__name__)
    assert errors[0] == errors[1] and len(errors) == 2
