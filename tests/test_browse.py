"""browse_backtests, the web view's list: every filter, every sort either way with NULL
and NaN last, and keyset pages forward and back that together give each row once, in
the order a plain Python sort of all rows gives (sync and async)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from devkit.records import result

from backtest_store import BacktestResult, ValidationError
from backtest_store.operations.browse import SORTS, cursor_of

Store = Any

START = datetime(2024, 1, 1, tzinfo=UTC)


def fill(store: Store, conn: psycopg.Connection[Any]) -> list[BacktestResult]:
    """37 backtests: three symbols, two strategies, a grid of parameters, Sharpe ratios
    with ties, NULLs and (written past the store, as another writer could) NaNs."""
    saved = []
    for n in range(37):
        sharpe = None if n % 9 == 4 else Decimal(str(round((n % 7) * 0.25 - 0.5, 2)))
        saved.append(store.save_backtest(result(
            symbol=("AAPL", "MSFT", "EURUSD")[n % 3], strategy_type=("sma", "rsi")[n % 2],
            parameters={"fast": (10, 20, 30)[n % 3], "slow": 50 + n % 2 * 50},
            sharpe_ratio=sharpe, total_trades=n, total_return=Decimal(n) / 100,
            backtest_date=START + timedelta(hours=n // 2),  # pairs share a date: ties
        )))  # fmt: skip
    with conn.cursor() as cur:  # 0009's check refuses NaN: drop it, as a legacy table has none
        cur.execute(
            "ALTER TABLE mcp_backtest_results DROP CONSTRAINT ck_mcp_backtest_results_sharpe_ratio_not_nan"
        )
        cur.execute(
            "UPDATE mcp_backtest_results SET sharpe_ratio = 'NaN' WHERE total_trades IN (5, 6)"
        )
    conn.commit()
    return [store.get_backtest(s.backtest_id) for s in saved]


def expected(rows: list[BacktestResult], sort: str, descending: bool) -> list[Any]:
    def missing(r: BacktestResult) -> bool:
        v = getattr(r, sort)
        return v is None or v != v

    having = [r for r in rows if not missing(r)]
    having.sort(key=lambda r: (getattr(r, sort), r.backtest_id), reverse=descending)
    lacking = sorted((r for r in rows if missing(r)), key=lambda r: str(r.backtest_id),
                     reverse=descending)  # fmt: skip
    return [r.backtest_id for r in having + lacking]


def walk(store: Store, sort: str, descending: bool, **filters: Any) -> tuple[list[Any], list[Any]]:
    """Every page forward from the first, then every page back from the last."""
    forward: list[list[BacktestResult]] = [store.browse_backtests(
        sort=sort, descending=descending, limit=5, **filters)]  # fmt: skip
    while forward[-1]:
        forward.append(store.browse_backtests(sort=sort, descending=descending, limit=5,
                       after=cursor_of(forward[-1][-1], sort), **filters))  # fmt: skip
    forward.pop()
    back = [forward[-1]] if forward else []
    while back and back[-1]:
        back.append(store.browse_backtests(sort=sort, descending=descending, limit=5,
                    before=cursor_of(back[-1][0], sort), **filters))  # fmt: skip
    back = back[:-1][::-1]
    assert all(len(p) == 5 for p in forward[:-1]) and all(len(p) == 5 for p in back[:-1])
    return ([r.backtest_id for p in forward for r in p], [r.backtest_id for p in back for r in p])


@pytest.mark.parametrize("sort", ["backtest_date", "sharpe_ratio", "max_drawdown"])
@pytest.mark.parametrize("descending", [True, False])
def test_pages_forward_and_back_give_every_row_once_in_order(
    store: Store, conn: psycopg.Connection[Any], sort: str, descending: bool
) -> None:
    rows = fill(store, conn)
    want = expected(rows, sort, descending)
    forward, back = walk(store, sort, descending)
    assert forward == want
    assert back == want
    if sort == "sharpe_ratio":  # NULL and NaN last, whichever the direction
        tail = {
            r.backtest_id
            for r in rows
            if r.sharpe_ratio is None or r.sharpe_ratio != r.sharpe_ratio
        }
        assert len(tail) == 6 and set(forward[-6:]) == tail


def test_filters_combine(store: Store, conn: psycopg.Connection[Any]) -> None:
    rows: list[Any] = fill(store, conn)
    filters: dict[str, Any] = dict(
        symbols=["AAPL", "EURUSD"], strategy_type="sma", min_trades=3,
        parameters_any=[{"fast": 10}, {"fast": 30, "slow": 50}],
        ranges=[("total_return", ">=", 0.05), ("total_return", "<", Decimal("0.3"))],
        since=START + timedelta(hours=1), until=START + timedelta(hours=17),
    )  # fmt: skip
    chosen = [
        r for r in rows if r.backtest_date is not None
        if r.symbol in ("AAPL", "EURUSD") and r.strategy_type == "sma" and r.total_trades >= 3
        and (r.parameters["fast"] == 10 or r.parameters == {"fast": 30, "slow": 50})
        and Decimal("0.05") <= r.total_return < Decimal("0.3")
        and START + timedelta(hours=1) <= r.backtest_date < START + timedelta(hours=17)
    ]  # fmt: skip
    assert len(chosen) >= 3  # the filters leave something to page through
    for sort in ("backtest_date", "sharpe_ratio"):
        forward, back = walk(store, sort, True, **filters)
        assert forward == back == expected(chosen, sort, True)


def test_a_range_leaves_nan_out(store: Store, conn: psycopg.Connection[Any]) -> None:
    rows = fill(store, conn)
    page = store.browse_backtests(ranges=[("sharpe_ratio", ">=", -10)], limit=100)
    assert {r.backtest_id for r in page} == {
        r.backtest_id
        for r in rows
        if r.sharpe_ratio is not None and r.sharpe_ratio == r.sharpe_ratio
    }


def test_every_sort_is_indexed(conn: psycopg.Connection[Any]) -> None:
    """Each sort column leads a btree index: a page reads the index, not the table."""
    with conn.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'mcp_backtest_results'")
        leading = {d.split("(")[1].split(")")[0].split(",")[0].strip() for (d,) in cur}
    assert set(SORTS) <= leading


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"sort": "notes"}, "sort"),
        ({"ranges": [("symbol", ">=", 1)]}, "ranges"),
        ({"ranges": [("sharpe_ratio", "=~", 1)]}, "ranges"),
        ({"ranges": [("sharpe_ratio", ">=", "high")]}, "sharpe_ratio"),
        ({"min_trades": -1}, "min_trades"),
        ({"parameters_any": [{"a": n} for n in range(11)]}, "parameters_any"),
        ({"after": ("x", "not-a-uuid")}, "after"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_arguments_name_the_field(store: Store, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        store.browse_backtests(**arguments)
    assert caught.value.field == field
