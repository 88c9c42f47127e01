"""What both adapters compute the same way: the trade statistics in money, the
longest drawdown in calendar days, timestamps in a time zone."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from backtest_store._extras import need
from backtest_store.values import ranks as competition_ranks

R = TypeVar("R")


def undefined_as_null(record: R) -> R:
    """The record with every non-finite number (NaN, +/-inf: the Sharpe ratio of a run that
    never traded, a profit factor without a loss) as None: NULL, the column's "undefined".
    So a grid's runs save under the store's default policy, without a try/except."""
    undefined = {
        f.name: None
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if isinstance(v := getattr(record, f.name), float | Decimal) and not _finite(v)
    }
    return dataclasses.replace(record, **undefined) if undefined else record  # type: ignore[type-var]


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def ranks(values: Sequence[float | None]) -> list[int | None]:
    """1 = highest, ties share the best rank; a non-finite or missing value gets no rank
    (NULL: it is not better or worse than the others, it is undefined)."""
    return competition_ranks([v if v is not None and math.isfinite(v) else None for v in values])


def pandas(extra: str) -> Any:
    return need("pandas", extra, f"backtest_store.adapters.{extra}")


def trade_statistics(pnl: list[float], library_win_rate: float | None = None) -> dict[str, Any]:
    """The result columns that describe the closed trades, from their pnl in money.

    ``total_trades`` counts closed trades and the win rate is over the same trades; the
    profit factor is gross profit over gross loss in money, NULL when there is no
    losing trade (the column's meaning); averages and extremes are NULL when there is
    no trade to take them from. With no closed trade the win rate is NaN, as both
    libraries report it: it passes through to the store's non-finite policy."""
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p < 0]
    total = len(pnl)
    if library_win_rate is not None:
        win_rate = library_win_rate
    else:
        win_rate = len(wins) / total if total else math.nan
    gross_loss = -math.fsum(losses)
    return {
        "total_trades": total,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "win_rate": win_rate,
        "profit_factor": math.fsum(wins) / gross_loss if losses else None,
        "average_win": math.fsum(wins) / len(wins) if wins else None,
        "average_loss": -gross_loss / len(losses) if losses else None,
        "largest_win": max(wins) if wins else None,
        "largest_loss": min(losses) if losses else None,
    }


def longest_drawdown_days(equity: Any) -> int:
    """The longest drawdown of a time-indexed equity Series, from the peak to the
    recovery (or to the last bar when it has not recovered), in whole calendar days;
    0 when the curve never falls below a peak."""
    values = equity.to_numpy(dtype=float)
    index = equity.index
    longest = 0
    peak_value = -math.inf
    peak_at = 0
    below = False
    for i, value in enumerate(values):
        if value >= peak_value:
            if below:
                longest = max(longest, (index[i] - index[peak_at]).days)
                below = False
            peak_value, peak_at = value, i
        elif not math.isnan(value):
            below = True
    if below:
        longest = max(longest, (index[len(values) - 1] - index[peak_at]).days)
    return longest


def aware(stamp: Any, tz: str) -> datetime:
    """A pandas Timestamp (or datetime64) as an aware datetime: naive ones are taken in
    ``tz``."""
    import pandas as pd  # present: the adapter's entry point checked its extra

    value = pd.Timestamp(stamp)
    if value.tzinfo is None:
        value = value.tz_localize(tz)
    result: datetime = value.to_pydatetime()
    return result


def aware_index(series: Any, tz: str) -> Any:
    """``series`` with its DatetimeIndex in a time zone (naive ones taken in ``tz``)."""
    index = series.index
    if getattr(index, "tz", "none") is None:
        return series.tz_localize(tz)
    return series


def engine(distribution: str, name: str) -> str:
    """The library and its installed version, as ``backtesting.py 0.6.5``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name} {version(distribution)}"
    except PackageNotFoundError:
        return name


def extra_metrics(figures: Any, held: Sequence[str]) -> dict[str, float]:
    """The engine's numeric figures that no column holds (``held``), by the engine's own
    names and in its own units; figures it could not define (NaN, inf) are left out."""
    out: dict[str, float] = {}
    for name, value in figures.items():
        if name in held or str(name).startswith("_") or type(value).__name__ in ("bool", "bool_"):
            continue
        if isinstance(value, int | float) or type(value).__module__ == "numpy":
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                out[str(name)] = number
    return out
