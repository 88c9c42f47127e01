"""5. Memory: peak resident growth of streaming and listing trades, each in a child
process of its own."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any
from uuid import UUID

import psycopg

from backtest_store import BacktestStore
from bench.data import make_trades, parent
from bench.harness import ROOT, truncate


def child(kind: str, url: str, backtest_id: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--child", kind, url, backtest_id],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def rss_mb() -> float:
    """Resident memory now (not the process's all-time peak, which imports may have set)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakSampler:
    """Samples resident memory every 2 ms on a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def run_child(kind: str, url: str, backtest_id: str) -> None:
    bid = UUID(backtest_id)
    with BacktestStore.connect(url) as store:
        gc.collect()
        base = rss_mb()
        sampler = PeakSampler().__enter__()
        start = time.perf_counter()
        if kind == "read_back":
            result = store.get_backtest(bid)
            trades = store.get_trades(bid)
            assert result is not None and len(trades) == 1000
        elif kind == "iter_trades":
            count = sum(1 for _ in store.iter_trades(bid, batch_size=5000))
            assert count > 0
        elif kind == "get_trades":
            assert len(store.get_trades(bid)) > 0
        seconds = time.perf_counter() - start
        sampler.__exit__()
        print(json.dumps({"seconds": seconds, "peak_mb": sampler.peak - base, "base_mb": base}))


def bench_memory(url: str, n: int) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        truncate(conn)
        bid = parent(conn)
        BacktestStore(conn).save_trades(bid, make_trades(n))
    streamed = child("iter_trades", url, str(bid))
    listed = child("get_trades", url, str(bid))
    return {
        "trades": n,
        "iter_trades_peak_growth_mb": streamed["peak_mb"],
        "iter_trades_s": streamed["seconds"],
        "get_trades_peak_growth_mb": listed["peak_mb"],
        "get_trades_s": listed["seconds"],
    }


def report_memory(memory: dict[str, Any]) -> str:
    lines = []
    mem = memory
    lines.append(f"5. Memory over {mem['trades']:,} trades (peak RSS growth)")
    lines.append(
        f"   iter_trades  +{mem['iter_trades_peak_growth_mb']:7.0f} MB  {mem['iter_trades_s']:.1f} s (target < 100 MB)"
    )
    lines.append(
        f"   get_trades   +{mem['get_trades_peak_growth_mb']:7.0f} MB  {mem['get_trades_s']:.1f} s"
    )
    return "\n".join(lines)
