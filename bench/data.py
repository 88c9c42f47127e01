"""The rows every section saves: trades as a backtest engine hands them over, the same
rows as a hand-written COPY loop sends them, a parent result, and a year-of-minutes result."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg

from backtest_store import BacktestResult, BacktestTrade

RAW_COLUMNS = (
    "backtest_id", "trade_number", "entry_date", "entry_price", "exit_date", "exit_price",
    "position_size", "direction", "pnl", "pnl_percent", "duration_days", "exit_reason",
)  # fmt: skip


RAW_TYPES = ["uuid", "int4", "date", "numeric", "date", "numeric", "numeric", "varchar",
             "numeric", "numeric", "int4", "varchar"]  # fmt: skip


def make_trades(n: int, seed: int = 7) -> list[BacktestTrade]:
    """Plain input as a backtest engine hands it over: floats, dates, strings."""
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    out = []
    for i in range(n):
        entry = start + timedelta(days=i % 3000)
        price = round(50 + rng.random() * 150, 2)
        exit_price = round(price * (0.9 + rng.random() * 0.2), 2)
        out.append(
            BacktestTrade(
                entry_date=entry, entry_price=price, exit_date=entry + timedelta(days=3),
                exit_price=exit_price, position_size=100.0, direction="long" if i % 2 else "short",
                pnl=round((exit_price - price) * 100, 4), pnl_percent=round(exit_price / price - 1, 4),
                duration_days=3, exit_reason="signal",
            )
        )  # fmt: skip
    return out


def to_decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def raw_rows(backtest_id: UUID, trades: list[BacktestTrade]) -> Iterator[tuple[Any, ...]]:
    """What a hand-written COPY loop sends: the floats as Decimal, nothing checked."""
    for i, t in enumerate(trades, start=1):
        yield (
            backtest_id, i, t.entry_date, to_decimal(t.entry_price), t.exit_date,  # type: ignore[arg-type]
            to_decimal(t.exit_price), to_decimal(t.position_size), t.direction,  # type: ignore[arg-type]
            to_decimal(t.pnl), to_decimal(t.pnl_percent), t.duration_days, t.exit_reason,  # type: ignore[arg-type]
        )  # fmt: skip


def parent(conn: psycopg.Connection[Any]) -> UUID:
    bid = uuid4()
    conn.execute(
        "INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date, end_date)"
        " VALUES (%s, 'BENCH', 'bench', '2015-01-01', '2024-01-01')",
        (bid,),
    )
    return bid


def big_result(points: int) -> BacktestResult:
    equity = [10_000 + i * 0.013 for i in range(points)]
    drawdown = [-((i % 997) / 10_000) for i in range(points)]
    return BacktestResult(
        symbol="SPY", strategy_type="minute_mr", start_date=date(2023, 1, 1), end_date=date(2023, 12, 31),
        parameters={"lookback": 390, "z": 2.0}, total_return=0.12, sharpe_ratio=1.1,
        equity_curve=equity, drawdown_series=drawdown,
    )  # fmt: skip
