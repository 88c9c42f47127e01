"""Helpers for the DAO suite: one test body drives the sync and the async store alike."""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backtest_store import (
    AsyncBacktestStore,
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)


class Blocking:
    """The async store behind the sync store's interface: every coroutine is run to completion
    on the test's event loop, so the same test body checks both stores."""

    def __init__(self, store: AsyncBacktestStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        return attr

    def iter_trades(self, *args: Any, **kwargs: Any) -> Iterator[BacktestTrade]:
        return self._collected(self._store.iter_trades(*args, **kwargs))

    def iter_children(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return self._collected(self._store.iter_children(*args, **kwargs))

    def _collected(self, agen: AsyncIterator[Any]) -> Iterator[Any]:
        async def collect() -> list[Any]:
            return [t async for t in agen]

        return iter(self._loop.run_until_complete(collect()))

    @contextmanager
    def transaction(self) -> Iterator[Blocking]:
        cm = self._store.transaction()
        bound = self._loop.run_until_complete(cm.__aenter__())
        try:
            yield Blocking(bound, self._loop)
        except BaseException as exc:
            if not self._loop.run_until_complete(cm.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self._loop.run_until_complete(cm.__aexit__(None, None, None))


@contextmanager
def opened(kind: str, url: str) -> Iterator[Any]:
    """The sync BacktestStore (``kind`` "sync"), or the async one behind the same blocking
    interface ("async"), open on ``url`` for the block."""
    from backtest_store import BacktestStore

    if kind == "sync":
        with BacktestStore.connect(url) as sync_store:
            yield sync_store
        return
    loop = asyncio.new_event_loop()
    cm = AsyncBacktestStore.connect(url)
    async_store = loop.run_until_complete(cm.__aenter__())
    try:
        yield Blocking(async_store, loop)
    finally:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()


DAY = timedelta(days=1)


def result(**over: Any) -> BacktestResult:
    fields: dict[str, Any] = {
        "symbol": "AAPL",
        "strategy_type": "sma_cross",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
    }
    fields.update(over)
    return BacktestResult(**fields)


def trade(n: int = 0, **over: Any) -> BacktestTrade:
    fields: dict[str, Any] = {
        "entry_date": date(2024, 1, 2) + n * DAY,
        "entry_price": 100 + n,
        "direction": "long" if n % 2 == 0 else "short",
        "pnl": (n % 5) - 2,
    }
    fields.update(over)
    return BacktestTrade(**fields)


def optimization(n: int = 0, **over: Any) -> OptimizationResult:
    fields: dict[str, Any] = {"parameters": {"fast": n, "slow": 50}}
    fields.update(over)
    return OptimizationResult(**fields)


def window(n: int = 0, **over: Any) -> WalkForwardTest:
    start = date(2020, 1, 1) + n * 90 * DAY
    fields: dict[str, Any] = {
        "window_size_months": 12,
        "step_size_months": 3,
        "training_start": start,
        "training_end": start + 364 * DAY,
        "test_period_start": start + 365 * DAY,
        "test_period_end": start + 455 * DAY,
    }
    fields.update(over)
    return WalkForwardTest(**fields)


def portfolio(**over: Any) -> BacktestPortfolio:
    fields: dict[str, Any] = {
        "portfolio_name": "tech",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
        "symbols": ["AAPL", "MSFT"],
    }
    fields.update(over)
    return BacktestPortfolio(**fields)


def at(days_ago: int) -> datetime:
    return datetime(2025, 1, 1, tzinfo=UTC) - days_ago * DAY


def row_counts(conn: Any) -> dict[str, int]:
    """Rows per table, to show what a save wrote (or that a refused one wrote nothing)."""
    tables = (
        "mcp_backtest_results",
        "mcp_backtest_trades",
        "mcp_optimization_results",
        "mcp_walk_forward_tests",
        "mcp_backtest_portfolios",
    )
    counts = {}
    for table in tables:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (fixed names)
        counts[table] = int(row[0])
    return counts


def assert_stored(record: Any, expected: dict[str, Any]) -> None:
    """Each field of a record read back from the store equals the expected figure to the
    column's scale (PostgreSQL rounds to it); None and NaN must match exactly."""
    import math

    from backtest_store.tables import ALL

    (spec,) = (s for s in ALL if s.record is type(record))
    for name, want in expected.items():
        got = getattr(record, name)
        column = spec.columns[name]
        if want is None or got is None:
            assert got is None and want is None, f"{name}: stored {got!r}, expected {want!r}"
        elif isinstance(want, float) and math.isnan(want):
            raise AssertionError(f"{name}: NaN expected, which the store cannot hold")
        elif column.kind == "numeric":
            assert column.scale is not None
            tolerance = 0.5 * 10.0**-column.scale + 1e-9 * abs(want)
            assert abs(float(got) - float(want)) <= tolerance, (
                f"{name}: stored {got}, expected {want}"
            )
        else:
            assert got == want, f"{name}: stored {got!r}, expected {want!r}"


def random_curve(
    rng: random.Random, bars: int, drift: float = 0.0, vol: float = 0.01
) -> list[list[Any]]:
    """An equity curve of ``bars`` daily points from 2020-01-01 (UTC), starting at 100,
    each return drawn from a normal distribution of mean ``drift`` and deviation ``vol``."""
    start, value, out = datetime(2020, 1, 1, tzinfo=UTC), 100.0, []
    for d in range(bars):
        value *= 1 + rng.gauss(drift, vol)
        out.append([(start + timedelta(days=d)).isoformat(), value])
    return out
