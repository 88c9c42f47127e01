"""The summary page's figures, kept in memory and shown with their age.

``performance_summary`` aggregates the whole table: about 170 ms at 200,000 results, and
it grows with the table. The page does not wait for it: it shows the last figures
computed and how old they are, and once they are older than ``ttl`` seconds one
background task computes them again (stale-while-revalidate). Only the first request
for a filter waits, and the app's startup computes the unfiltered summary before the
first visitor comes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backtest_store.analytics import PerformanceSummary

Compute = Callable[[], Awaitable[PerformanceSummary]]
log = logging.getLogger("backtest_store.web")
MAX_KEPT = 32  # filters whose summary is kept


@dataclass(frozen=True)
class Kept:
    summary: PerformanceSummary
    computed_at: float  # time.time()
    seconds: float  # how long it took

    def age(self) -> float:
        return max(0.0, time.time() - self.computed_at)


def _logged(task: asyncio.Task[Kept]) -> None:
    """A background refresh that failed (the database went away): said in the log; the
    page goes on showing the figures it has, with their age, and tries again later."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("the summary could not be computed again: %s", task.exception())


class SummaryCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._kept: OrderedDict[Any, Kept] = OrderedDict()
        self._running: dict[Any, asyncio.Task[Kept]] = {}

    def close(self) -> None:
        """Cancel the computations still running (the app is stopping)."""
        for task in list(self._running.values()):
            task.cancel()

    async def get(self, key: Any, compute: Compute) -> Kept:
        kept = self._kept.get(key)
        if kept is None:
            return await self._refresh(key, compute)
        if kept.age() > self.ttl and key not in self._running:
            task = asyncio.create_task(self._compute(key, compute))
            self._running[key] = task
            task.add_done_callback(_logged)
        return kept

    async def _refresh(self, key: Any, compute: Compute) -> Kept:
        task = self._running.get(key)
        if task is None:  # one computation per key, however many requests wait for it
            task = self._running[key] = asyncio.create_task(self._compute(key, compute))
        return await asyncio.shield(task)

    async def _compute(self, key: Any, compute: Compute) -> Kept:
        try:
            started = time.perf_counter()
            summary = await compute()
            kept = Kept(summary, time.time(), time.perf_counter() - started)
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
            return kept
        finally:
            self._running.pop(key, None)
