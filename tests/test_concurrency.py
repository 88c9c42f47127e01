"""Concurrency: threads, processes and tasks saving at once lose nothing and never deadlock."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from devkit.records import at, result, row_counts, trade
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from backtest_store import AsyncBacktestStore, BacktestStore, NotFoundError

SAVES = 100
TRADES_EACH = 5


def save_many(url: str, worker: int) -> list[str]:
    """One worker's saves (also run in other processes, hence module level and plain types)."""
    with BacktestStore.connect(url) as store:
        return [
            str(
                store.save_backtest(
                    result(symbol=f"W{worker}", notes=str(i)),
                    [trade(n) for n in range(TRADES_EACH)],
                ).backtest_id
            )
            for i in range(SAVES)
        ]


def assert_all_there(conn: psycopg.Connection[Any], ids: list[str], workers: int) -> None:
    counts = row_counts(conn)
    assert len(set(ids)) == workers * SAVES
    assert counts["mcp_backtest_results"] == workers * SAVES
    assert counts["mcp_backtest_trades"] == workers * SAVES * TRADES_EACH
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT backtest_id, trade_number FROM mcp_backtest_trades "
        "GROUP BY 1, 2 HAVING count(*) > 1) d"
    ).fetchone()
    assert dupes == (0,)


@pytest.mark.slow
def test_eight_threads_saving_at_once(db_url: str, conn: psycopg.Connection[Any]) -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(save_many, [db_url] * 8, range(8)) for i in chunk]
    assert_all_there(conn, ids, 8)


@pytest.mark.slow
def test_four_processes_saving_at_once(db_url: str, conn: psycopg.Connection[Any]) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = [
            i for chunk in pool.starmap(save_many, [(db_url, w) for w in range(4)]) for i in chunk
        ]
    assert_all_there(conn, ids, 4)


def test_fifty_async_tasks_on_a_pool(db_url: str, conn: psycopg.Connection[Any]) -> None:
    async def main() -> list[UUID | None]:
        async with AsyncConnectionPool(db_url, min_size=2, max_size=10, open=False) as pool:
            store = AsyncBacktestStore(pool)
            saved = await asyncio.gather(
                *(
                    store.save_backtest(
                        result(notes=str(i)), [trade(n) for n in range(TRADES_EACH)]
                    )
                    for i in range(50)
                )
            )
            return [s.backtest_id for s in saved]

    ids = asyncio.run(main())
    assert len(set(ids)) == 50
    assert row_counts(conn)["mcp_backtest_trades"] == 50 * TRADES_EACH


def test_concurrent_appends_to_one_backtest_number_trades_uniquely(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    with ConnectionPool(db_url, min_size=8, max_size=8, kwargs={"autocommit": True}) as pool:
        store = BacktestStore(pool)
        parent = store.save_backtest(result())

        def append(_: int) -> int:
            return sum(
                store.save_trades(parent.backtest_id, [trade(n) for n in range(10)])
                for _ in range(10)
            )

        with ThreadPoolExecutor(8) as threads:
            assert sum(threads.map(append, range(8))) == 800
    numbers = [
        r[0] for r in conn.execute("SELECT trade_number FROM mcp_backtest_trades ORDER BY 1")
    ]
    assert numbers == list(range(1, 801))


def test_delete_racing_save_trades_one_wins_cleanly(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    outcomes = {"save first": 0, "delete first": 0}
    with ConnectionPool(db_url, min_size=2, max_size=2, kwargs={"autocommit": True}) as pool:
        store = BacktestStore(pool)
        for _ in range(20):
            parent = store.save_backtest(result())
            start = threading.Barrier(2)
            errors: list[BaseException] = []

            def save(
                start: threading.Barrier = start,
                bid: Any = parent.backtest_id,
                errors: list[BaseException] = errors,
            ) -> None:
                start.wait()
                try:
                    store.save_trades(bid, [trade(n) for n in range(50)])
                except NotFoundError as exc:  # the loser's clear error
                    errors.append(exc)

            def delete(start: threading.Barrier = start, bid: Any = parent.backtest_id) -> None:
                start.wait()
                assert store.delete_backtest(bid) is True

            threads = [threading.Thread(target=save), threading.Thread(target=delete)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            outcomes["delete first" if errors else "save first"] += 1
    orphans = conn.execute(
        "SELECT count(*) FROM mcp_backtest_trades t LEFT JOIN mcp_backtest_results r "
        "USING (backtest_id) WHERE r.backtest_id IS NULL"
    ).fetchone()
    assert orphans == (0,)
    assert (
        row_counts(conn)["mcp_backtest_results"] == 0
        and row_counts(conn)["mcp_backtest_trades"] == 0
    )
    assert sum(outcomes.values()) == 20


def test_retention_never_blocks_saves(db_url: str, conn: psycopg.Connection[Any]) -> None:
    """A retention batch holds its rows (open transaction here); saves of new backtests
    go on under a short lock_timeout, and a save to a row it holds is skipped, not waited for."""
    with BacktestStore.connect(db_url) as store:
        for i in range(20):
            store.save_backtest(result(backtest_date=at(400 + i)), [trade(0)])
    retention = psycopg.connect(db_url)  # a batch in progress: its transaction stays open
    retention_store = BacktestStore(retention)
    assert retention_store.delete_backtests(older_than=at(300), batch_size=5) == 20
    with psycopg.connect(db_url, autocommit=True) as saver_conn:
        saver_conn.execute("SET lock_timeout = '500ms'")
        saver = BacktestStore(saver_conn)
        for _ in range(10):
            saver.save_backtest(result(backtest_date=datetime.now(UTC)), [trade(0), trade(1)])
        assert saver.delete_backtests(older_than=at(300), batch_size=5) == 0  # skipped, not waited
    retention.commit()
    retention.close()
    assert row_counts(conn)["mcp_backtest_results"] == 10
