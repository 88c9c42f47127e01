"""The tearsheet's work over a whole curve, away from the event loop.

A year of minutes is a 19 MB curve. Parsed in the server's process, it becomes millions of
Python objects; however the parsing and the figures are moved to worker threads, the
garbage collector then walks those objects while it holds the GIL, and every request the
event loop serves waits (0.3 to 0.5 s at a time with 5 such pages loading). So, for an
app made from a database URL, a tearsheet's series are read, parsed and reduced to its
figures in a worker process of their own (one, shared by the apps of this process, with
a connection per database): the server's process holds only the figures, a few thousand
points a chart, and the record without its series. An app over a pool the caller made
computes in a worker thread instead (its connection settings are the pool's own and
cannot be sent to another process).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import logging
import multiprocessing
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar
from uuid import UUID

from backtest_store import assessment, charts, documents, tearsheet
from backtest_store.records import NOT_LOADED, BacktestResult, BacktestTrade
from backtest_store.web.figure_cache import serialized, state

T = TypeVar("T")
log_ = logging.getLogger("backtest_store.web")
WORST = 5  # the tearsheet's worst drawdowns


def figures(result: BacktestResult, trades: list[BacktestTrade], optimizations: list[Any],
            windows: list[Any], log: bool) -> dict[str, Any]:  # fmt: skip
    """The tearsheet's figures and worst drawdowns, computed over the whole curve; its
    charts as the JSON the page embeds (figure_cache.serialized)."""
    curve = tearsheet.curve_of(result.equity_curve)
    judged = assessment.assess_backtest(result, optimizations, windows, curve=curve)
    equity, notes = charts.equity_figure([result], {result.backtest_id: trades}, gl=False,
                                         log=log, curves=[curve])  # fmt: skip
    return serialized({"equity": equity, "notes": notes,
                       "calendar": charts.calendar_figure(curve),
                       "rolling": charts.rolling_figure(curve, gl=False),
                       "drawdowns": tearsheet.worst_drawdowns(curve, WORST),
                       "grid": charts.optimization_figure(optimizations),
                       "walk_forward": charts.walk_forward_figure(windows),
                       "judged": judged, "panel": assessment.panel(judged)})  # fmt: skip


def compared(results: list[BacktestResult]) -> dict[str, Any]:
    """The compare page's chart, the runs' curves one beside the other, as its JSON, and
    its notes."""
    equity, notes = charts.equity_figure(results, {}, gl=False)
    return serialized({"equity": equity, "notes": notes})


def state_of(result: BacktestResult, trades: list[BacktestTrade], optimizations: list[Any],
             windows: list[Any]) -> Hashable:  # fmt: skip
    """The state of the rows a tearsheet's figures are made from (figure_cache.state)."""
    return state(result, (trades, optimizations, windows))


# the record without its series, the figures, and the state of the rows they are made from
Made = tuple[BacktestResult, dict[str, Any], Hashable]

# In the worker process: a store per database over one connection of its own, opened on
# first use and kept (the fewest databases at once); one that failed is dropped, and the
# next page opens a new one.
_STORES: dict[str, tuple[Any, Any]] = {}  # url -> (connection, store); the last used last
KEPT = 4


def _store(url: str) -> Any:
    from backtest_store.store import BacktestStore
    from backtest_store.urls import connect

    kept = _STORES.pop(url, None)
    if kept is None:
        while len(_STORES) >= KEPT:  # the database used longest ago goes
            _drop(next(iter(_STORES)))
        conn = connect(url)
        kept = (conn, BacktestStore(conn))
    _STORES[url] = kept
    return kept[1]


def _drop(url: str) -> None:
    kept = _STORES.pop(url, None)
    if kept is not None:
        with contextlib.suppress(Exception):
            kept[0].close()


FAILED = "failed"  # what the worker process answers when its work raised


def _in_process(url: str, backtest_id: UUID, log: bool) -> Made | str | None:
    """In the worker process: the backtest read and its figures made; the record goes back
    without its series. An error is logged here and answered as ``FAILED``: the page then
    does the work itself, and meets the error where the store's typed errors become pages
    (the database down is a 503); an error object is not always rebuilt by pickle."""
    try:
        store = _store(url)
        result = store.get_backtest(backtest_id)
        if result is None:
            return None
        trades = store.get_trades(backtest_id)
        optimizations = documents.best_first(store.optimization_results(backtest_id))
        windows = store.walk_forward_tests(backtest_id)
        made = figures(result, trades, optimizations, windows, log)
        made_from = state_of(result, trades, optimizations, windows)
    except Exception:
        _drop(url)
        log_.warning("the tearsheet of %s in the worker process failed", backtest_id,
                     exc_info=True)  # fmt: skip
        return FAILED
    light = dataclasses.replace(result, equity_curve=NOT_LOADED, drawdown_series=NOT_LOADED,
                                benchmark_curve=NOT_LOADED)  # fmt: skip
    return light, made, made_from


_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    """The worker process, started on first use (forkserver: a clean process, never a fork
    of a server with threads running), ended at exit."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["backtest_store.web.compute"])
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=context)
            atexit.register(_POOL.shutdown, wait=False, cancel_futures=True)
        return _POOL


async def in_process(url: str, backtest_id: UUID, log: bool) -> Made | str | None:
    """The backtest (without its series) and its tearsheet's figures, made in the worker
    process; None if there is no such backtest; ``FAILED`` if the work raised there or the
    process died (a new one is started for the next page)."""
    global _POOL
    pool = _pool()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _in_process, url,
                                                                backtest_id, log)  # fmt: skip
    except BrokenProcessPool:
        log_.warning("the tearsheet worker process died; a new one starts for the next page")
        with _POOL_LOCK:
            if _POOL is pool:
                _POOL = None
        return FAILED


# The work over a whole curve in this process runs in worker threads, one at a time: each
# such thread competes with the event loop for the GIL, and light pages wait longer the
# more there are.
_COMPUTING = threading.BoundedSemaphore(1)


async def in_thread(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(*args, **kwargs)`` in a worker thread, one such work at a time."""

    def one_at_a_time() -> T:
        with _COMPUTING:
            return work(*args, **kwargs)

    return await asyncio.to_thread(one_at_a_time)
