"""The async store saves a large DataFrame without blocking its event loop: each chunk is
encoded in a worker thread, so a coroutine that ticks every 10 ms keeps ticking, never
more than 100 ms late, while a frame of 1,000,000 trades goes in; and the rows stored are
the rows the sync store stores from the same frame."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from devkit.records import result

from backtest_store import AsyncBacktestStore, BacktestStore, columnar

ROWS = 1_000_000
TICK = 0.010
MAX_LATE = 0.100


def frame(n: int) -> Any:
    rng = np.random.default_rng(7)
    entry = pd.Timestamp("2015-01-01") + pd.to_timedelta(np.arange(n) % 3000, unit="D")
    price = 50 + rng.random(n) * 150
    return pd.DataFrame(
        {
            "entry_date": entry,
            "entry_price": price.round(2),
            "exit_date": entry + pd.Timedelta(days=3),
            "exit_price": (price * (0.9 + rng.random(n) * 0.2)).round(2),
            "position_size": np.full(n, 100.0),
            "direction": np.where(np.arange(n) % 2 == 0, "long", "short"),
            "pnl": rng.normal(0, 50, n).round(4),
            "exit_reason": "signal",
        }
    )


def test_a_million_row_frame_saves_while_the_event_loop_keeps_ticking(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trades = frame(ROWS)
    assert ROWS > 10 * columnar.CHUNK  # many chunks: the loop has many chances to stall
    encoded_on: list[int] = []  # the thread that encoded each chunk
    encode = columnar._rows

    def watched(*args: Any) -> Any:
        encoded_on.append(threading.get_ident())
        return encode(*args)

    monkeypatch.setattr(columnar, "_rows", watched)

    async def main() -> tuple[Any, list[float], float]:
        late: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            due = time.perf_counter() + TICK
            while not done.is_set():
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                now = time.perf_counter()
                late.append(now - due)
                due = now + TICK

        loop_thread.append(threading.get_ident())
        async with AsyncBacktestStore.connect(db_url) as store:
            ticking = asyncio.create_task(ticker())
            await asyncio.sleep(5 * TICK)  # ticking before the save starts
            started = time.perf_counter()
            saved = await store.save_backtest(result(), trades)
            took = time.perf_counter() - started
            done.set()
            await ticking
        return saved.backtest_id, late, took

    loop_thread: list[int] = []
    backtest_id, late, took = asyncio.run(main())
    # every chunk was encoded, and none of them on the event loop's thread
    assert len(encoded_on) == -(-ROWS // columnar.CHUNK)
    assert loop_thread[0] not in encoded_on
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM mcp_backtest_trades WHERE backtest_id = %s", (backtest_id,)
        ).fetchone()
    assert row is not None and row[0] == ROWS
    # the ticker ran all along (each tick at most TICK + MAX_LATE apart) and never stalled
    assert len(late) >= took / (TICK + MAX_LATE), (len(late), took)
    assert max(late) < MAX_LATE, f"a tick was {max(late) * 1000:.0f} ms late ({took:.1f} s save)"


def test_the_async_and_the_sync_frame_paths_store_the_same_rows(db_url: str) -> None:
    trades = frame(50_000)

    async def save_async() -> Any:
        async with AsyncBacktestStore.connect(db_url) as store:
            return (await store.save_backtest(result(), trades)).backtest_id

    async_id = asyncio.run(save_async())
    with BacktestStore.connect(db_url) as store:
        sync_id = store.save_backtest(result(), trades).backtest_id
    columns = "trade_number, entry_date, entry_price, exit_date, exit_price, position_size, direction, pnl, exit_reason"
    query = (
        f"SELECT {columns} FROM mcp_backtest_trades WHERE backtest_id = %s ORDER BY trade_number"  # noqa: S608
    )
    with psycopg.connect(db_url) as conn:
        from_async = conn.execute(query, (async_id,)).fetchall()
        from_sync = conn.execute(query, (sync_id,)).fetchall()
    assert len(from_async) == 50_000
    assert from_async == from_sync
