"""The async store reads a large series without blocking its event loop: jsonb text of
``DEFER_AT`` bytes or more is parsed in a worker thread, in pieces, while a year of
minute bars (525,600 points, 19 MB) is read; the record is the one the sync store reads.
And the pieces parse as the whole."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import psycopg
import pytest
from devkit.minutes import YEAR_OF_MINUTES

from backtest_store import AsyncBacktestStore, BacktestStore, json_policy


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


def test_a_year_of_minutes_is_parsed_off_the_event_loop_in_pieces(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of ``DEFER_AT`` bytes or more is parsed on the loop's thread: the curve is
    parsed in a worker thread, in pieces of about ``PIECE`` bytes, between which the loop
    runs. (How long the loop waits meanwhile is measured in ``make bench``'s stall
    section, not asserted here: it depends on the machine and on the process's heap.)"""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(YEAR_OF_MINUTES).fetchone()
    assert row is not None
    the_id = row[0]
    parsed: list[tuple[int, int]] = []  # (thread, bytes) of every parse
    load = json_policy.load_json

    def watched(data: Any) -> Any:
        parsed.append((threading.get_ident(), len(data)))
        return load(data)

    monkeypatch.setattr(json_policy, "load_json", watched)

    async def main() -> tuple[Any, int]:
        async with AsyncBacktestStore.connect(db_url) as store:
            return await store.get_backtest(the_id), threading.get_ident()

    found, loop_thread = asyncio.run(main())
    on_loop = [size for thread, size in parsed if thread == loop_thread]
    off_loop = [size for thread, size in parsed if thread != loop_thread]
    assert max(on_loop, default=0) < json_policy.DEFER_AT  # nothing large on the loop
    assert len(off_loop) > 100  # 19 MB in pieces
    assert max(off_loop) < 2 * json_policy.PIECE
    with BacktestStore.connect(db_url) as store:
        assert found == store.get_backtest(the_id)  # the sync store's record, to the value
    assert found is not None and len(found.equity_curve) == 525_600


def test_a_fetch_that_deferred_nothing_is_not_walked_and_one_that_did_is() -> None:
    """``deferred(result, since)``: the count of deferrals decides without walking a page
    of records; a value deferred since (by this fetch, or by another) walks it."""
    from backtest_store import BacktestResult

    small = json_policy._defer_or_load(b"[1, 2]")
    before = json_policy.deferrals()
    big = json_policy._defer_or_load(b"[" + b"1, " * json_policy.DEFER_AT + b"1]")
    assert small == [1, 2] and isinstance(big, json_policy.Deferred)
    assert json_policy.deferrals() == before + 1
    holding = BacktestResult(symbol="A", strategy_type="s", start_date=None,  # type: ignore[arg-type]
                             end_date=None, equity_curve=big)  # type: ignore[arg-type]  # fmt: skip
    assert json_policy.deferred([holding], before)
    assert json_policy.deferred([holding])  # without since: walked
    plain = [BacktestResult(symbol="A", strategy_type="s", start_date=None,  # type: ignore[arg-type]
                            end_date=None)] * 50  # type: ignore[arg-type]  # fmt: skip
    assert not json_policy.deferred(plain, before)  # walked: nothing there
    assert not json_policy.deferred(plain, json_policy.deferrals())  # not walked
