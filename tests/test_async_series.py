"""The async store reads a large series without blocking its event loop: jsonb text of
``DEFER_AT`` bytes or more is parsed in a worker thread, in pieces, so a coroutine that
ticks every 10 ms keeps ticking while a year of minute bars (525,600 points, 19 MB) is
read; the record is the one the sync store reads. And the pieces parse as the whole."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import psycopg
import pytest

from backtest_store import AsyncBacktestStore, BacktestStore, json_policy
from tests.support.minutes import YEAR_OF_MINUTES

TICK = 0.010
# parsed on the loop, the curve held it for its whole parse (0.3 s here, more on a busy
# machine); in pieces off the loop, a tick is late by a piece (about 1 ms) and by what else
# the machine is doing
MAX_LATE = 0.200


@pytest.mark.parametrize(
    "value",
    [
        [["2023-01-01T00:00:00Z", 1.5], ["2023-01-01T00:01:00Z", 2]] * 3000,
        [[i, [i, {"k": "v"}]] for i in range(5000)],
        [['a string that holds ], [ and \\"], [ too', i] for i in range(3000)],  # cut inside
        [1, 2, 3] * 5000,  # not an array of arrays: parsed whole
        {"2023-01-01": 1.0},
        [],
        [[]],
    ],
    ids=["pairs", "nested", "hostile", "flat", "object", "empty", "one-empty"],
)
def test_pieces_parse_as_the_whole(value: Any) -> None:
    text = json.dumps(value).encode()  # ", " between elements, as PostgreSQL writes jsonb
    assert json_policy.load_in_pieces(text, piece=1000) == json_policy.load_json(text) == value


def test_a_year_of_minutes_is_read_while_the_event_loop_keeps_ticking(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(YEAR_OF_MINUTES).fetchone()
    assert row is not None
    the_id = row[0]
    parsed_on: list[int] = []
    pieces = json_policy.load_in_pieces

    def watched(data: bytes, piece: int = json_policy.PIECE) -> Any:
        parsed_on.append(threading.get_ident())
        return pieces(data, piece)

    monkeypatch.setattr(json_policy, "load_in_pieces", watched)

    async def main() -> tuple[Any, list[float], float, int]:
        late: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            due = time.perf_counter() + TICK
            while not done.is_set():
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                now = time.perf_counter()
                late.append(now - due)
                due = now + TICK

        async with AsyncBacktestStore.connect(db_url) as store:
            ticking = asyncio.create_task(ticker())
            await asyncio.sleep(5 * TICK)
            started = time.perf_counter()
            found = await store.get_backtest(the_id)
            took = time.perf_counter() - started
            done.set()
            await ticking
        return found, late, took, threading.get_ident()

    found, late, took, loop_thread = asyncio.run(main())
    assert parsed_on and loop_thread not in parsed_on  # parsed, and not on the loop
    with BacktestStore.connect(db_url) as store:
        assert found == store.get_backtest(the_id)  # the sync store's record, to the value
    assert len(found.equity_curve) == 525_600
    assert max(late) < MAX_LATE, f"a tick was {max(late) * 1000:.0f} ms late ({took:.2f} s read)"
