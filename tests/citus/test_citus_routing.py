"""Where each call runs on the cluster, from Citus's own evidence.

A call about one backtest touches exactly one shard group: the commands the coordinator
sends to the workers (citus.log_remote_commands) name shards of one group only. The lists,
top, find, compare and the summary run on every shard, and their ORDER BY and LIMIT run
on the workers: each worker's command carries them, and EXPLAIN shows a Limit on the
worker under Task Count = the shard count."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from devkit.citus import RemoteCommands
from devkit.records import optimization, portfolio, result, trade, window

from backtest_store import BacktestStore
from backtest_store.operations import analytics as analytics_sql
from backtest_store.operations import backtests as read_sql
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.sql import Statement
from backtest_store.operations.steps import Fetch, Operation
from tests.citus.conftest import SHARDS


@pytest.fixture
def watched(distributed_url: str) -> Iterator[tuple[BacktestStore, RemoteCommands]]:
    with psycopg.connect(distributed_url, autocommit=True) as conn:
        remote = RemoteCommands(conn)
        yield BacktestStore(conn, check_schema=False), remote


def one_group(remote: RemoteCommands, call: Callable[[], Any]) -> list[str]:
    with remote.during() as commands:
        call()
    touched = [c for c in commands if re.search(r"\bmcp_\w+_\d{6,}\b", c)]
    assert touched, f"no shard was touched: {commands}"
    groups = remote.shard_groups(touched)
    assert len(groups) == 1, f"{len(groups)} shard groups: {touched}"
    return touched


def test_each_call_about_one_backtest_touches_one_shard_group(
    watched: tuple[BacktestStore, RemoteCommands],
) -> None:
    import pandas as pd

    store, remote = watched
    for _ in range(6):  # rows on every shard, so that a wide query would show
        store.save_backtest(result(), [trade(n) for n in range(3)])
    small = result(backtest_id=uuid4())
    one_group(remote, lambda: store.save_backtest(small, [trade(n) for n in range(25)]))
    large = result(backtest_id=uuid4())  # more than SMALL_SAVE trades: through COPY
    one_group(remote, lambda: store.save_backtest(large, [trade(n) for n in range(150)]))
    framed = result(backtest_id=uuid4())
    frame = pd.DataFrame(
        {
            "entry_date": pd.date_range("2024-01-02", periods=40).date,
            "entry_price": [100.0 + i for i in range(40)],
            "direction": ["long"] * 40,
        }
    )
    one_group(remote, lambda: store.save_backtest(framed, frame))
    bid = small.backtest_id
    one_group(remote, lambda: store.save_trades(bid, [trade(n) for n in range(30, 35)]))
    one_group(remote, lambda: store.save_trades(bid, frame.assign(trade_number=range(100, 140))))
    one_group(remote, lambda: store.get_backtest(bid))
    one_group(remote, lambda: store.get_trades(bid))
    one_group(remote, lambda: list(store.iter_trades(bid)))
    one_group(
        remote, lambda: store.save_optimization_results(bid, [optimization(n) for n in range(4)])
    )
    one_group(remote, lambda: store.best_parameters(bid))
    one_group(remote, lambda: store.save_walk_forward_tests(bid, [window(n) for n in range(3)]))
    one_group(remote, lambda: store.walk_forward_tests(bid))
    one_group(remote, lambda: store.delete_backtest(large.backtest_id))
    saved = store.save_portfolio(portfolio())
    one_group(remote, lambda: store.get_portfolio(saved.portfolio_backtest_id))


def on_every_shard(remote: RemoteCommands, call: Callable[[], Any]) -> list[str]:
    """The call's commands: one per shard, each with ORDER BY and LIMIT."""
    with remote.during() as commands:
        call()
    reads = [c for c in commands if re.search(r"\bmcp_backtest_results_\d{6,}\b", c)]
    shards = {int(s) for c in reads for s in re.findall(r"\bmcp_backtest_results_(\d{6,})\b", c)}
    assert len(shards) == SHARDS, reads
    return reads


def test_lists_top_find_compare_and_summary_run_on_every_shard_and_limit_there(
    watched: tuple[BacktestStore, RemoteCommands],
) -> None:
    store, remote = watched
    ids = [store.save_backtest(result(sharpe_ratio=i / 7, parameters={"fast": i % 3})).backtest_id
           for i in range(24)]  # fmt: skip
    limited = {
        "list_backtests": lambda: store.list_backtests(limit=5),
        "top_backtests": lambda: store.top_backtests(limit=5),
        "find_backtests": lambda: store.find_backtests(parameters={"fast": 1}, limit=5),
        "browse_backtests": lambda: store.browse_backtests(sort="sharpe_ratio", limit=5),
    }
    for name, call in limited.items():
        for command in on_every_shard(remote, call):
            assert re.search(r"ORDER BY .* LIMIT", command, re.S), f"{name}: {command}"
    # compare reads only the shards of its ids (Citus prunes by backtest_id): a dozen ids
    # with one on every shard, chosen by the shard each id hashes to (random ids may miss
    # one: 12 of them do, one run in eight)
    shard: dict[Any, int] = {}
    while len(set(shard.values())) < SHARDS:
        if len(shard) == len(ids):
            ids.append(store.save_backtest(result(sharpe_ratio=1)).backtest_id)
        the_id = ids[len(shard)]
        row = remote.conn.execute("SELECT get_shard_id_for_distribution_column("
                                  "'mcp_backtest_results', %s)", (the_id,)).fetchone()  # fmt: skip
        assert row is not None
        shard[the_id] = row[0]
    one_each = list({s: i for i, s in shard.items()}.values())
    compared = one_each + [i for i in ids if i not in one_each][: 12 - len(one_each)]
    for command in on_every_shard(remote, lambda: store.compare_backtests(compared)):
        assert re.search(r"backtest_id OPERATOR\(pg_catalog.=\) ANY", command), command  # ids
    for command in on_every_shard(remote, store.performance_summary):
        assert re.search(r"GROUP BY", command), command  # aggregated on the workers


SETTINGS = StoreSettings("refuse")


def first(op: Operation[Any]) -> Statement:
    """The statement an operation sends first: a read's only one."""
    step = next(op)
    assert isinstance(step, Fetch) and isinstance(step.statement, str)
    return Statement(step.statement, step.params)


def explain(conn: psycopg.Connection[Any], statement: Any) -> str:
    rows = conn.execute(f"EXPLAIN (VERBOSE) {statement.sql}", statement.params).fetchall()
    return "\n".join(r[0] for r in rows)


def test_explain_shows_every_shard_and_the_limit_on_the_workers(
    citus_conn: psycopg.Connection[Any],
) -> None:
    now = datetime.now(UTC)
    statements = {
        "list": first(read_sql.list_backtests(
            SETTINGS, symbol=None, strategy_type=None, status=None, since=None, until=None,
            after=None, limit=5, with_series=False,
        )),
        "top": first(read_sql.top_backtests(
            SETTINGS, metric="sharpe_ratio", symbol=None, strategy_type=None, min_trades=0,
            status="completed", limit=5, with_series=False,
        )),
        "find": first(read_sql.find_backtests(
            SETTINGS, parameters={"fast": 1}, symbol=None, strategy_type=None, limit=5,
            with_series=False,
        )),
    }  # fmt: skip
    for name, statement in statements.items():
        plan = explain(citus_conn, statement)
        assert f"Task Count: {SHARDS}" in plan, f"{name}:\n{plan}"
        worker = plan.split("Tasks Shown", 1)[1]
        assert re.search(r"->\s+Limit", worker), f"{name}: no Limit on the worker:\n{plan}"
        assert re.search(r"Sort|Index Scan", worker), f"{name}:\n{plan}"
    summary = first(analytics_sql.performance_summary(
        SETTINGS, since=now.replace(year=2000), symbol=None, strategy_type=None, status=None))  # fmt: skip
    plan = explain(citus_conn, summary)
    assert f"Task Count: {SHARDS}" in plan and "Aggregate" in plan.split("Tasks Shown", 1)[1]
