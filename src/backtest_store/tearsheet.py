"""A quant's tearsheet, computed from a stored equity curve: monthly and yearly returns,
rolling Sharpe ratio and volatility, the worst drawdowns, and curves rebased to 1.0 at a
common start for comparison. Plain Python (no numpy): the HTML report and the web view
use it alike.

A curve is what the store holds: ``[timestamp, value]`` pairs, the legacy object keyed by
timestamps, or plain values. Calendar figures (months, years) need timestamps; plain
values give bar-numbered figures only (rolling metrics, drawdowns by bar).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

TRADING_DAYS = 252  # the annualisation of daily bars, as backtesting.py and vectorbt use


@dataclass(frozen=True, slots=True)
class Curve:
    """An equity curve as parallel lists: ``times`` (datetimes, or None for bar numbers)
    and ``values``."""

    times: list[datetime] | None
    values: list[float]

    def __len__(self) -> int:
        return len(self.values)

    def x(self) -> list[Any]:
        return list(self.times) if self.times is not None else list(range(len(self.values)))


def curve_of(stored: Any) -> Curve:
    """A stored curve as a Curve; values that are not numbers are left out, with their
    timestamps."""
    if not stored:
        return Curve(None, [])
    if isinstance(stored, dict):
        pairs: Iterable[Any] = sorted(stored.items())
    elif all(isinstance(p, list | tuple) and len(p) == 2 for p in stored):
        pairs = stored
    else:
        values = [float(v) for v in stored if _number(v)]
        return Curve(None, values)
    times: list[datetime] = []
    values = []
    for when, value in pairs:
        moment = _moment(when)
        if moment is None or not _number(value):
            continue
        times.append(moment)
        values.append(float(value))
    return Curve(times, values)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _moment(text: Any) -> datetime | None:
    """A timestamp as stored: ISO 8601 (a date, or a date and time, with or without zone)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)  # Python 3.11 reads the "Z" suffix too
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def returns(values: Sequence[float]) -> list[float]:
    """Bar-to-bar simple returns (a bar after a zero value has none: it is left out)."""
    return [b / a - 1 for a, b in pairwise(values) if a != 0]


def periods_per_year(curve: Curve) -> float:
    """Bars per year, from the timestamps (the bars the curve has over the years it spans);
    without timestamps, daily bars are assumed."""
    if curve.times is None or len(curve) < 2:
        return float(TRADING_DAYS)
    years = (curve.times[-1] - curve.times[0]).total_seconds() / (365.25 * 86400)
    return (len(curve) - 1) / years if years > 0 else float(TRADING_DAYS)


def _period_returns(curve: Curve, key: Any) -> dict[Any, float]:
    """The return of each calendar period ``key(time)`` gives: its last value over the last
    value of the period before (the curve's first value for the first period)."""
    if curve.times is None or not curve.values:
        return {}
    out: dict[Any, float] = {}
    base = curve.values[0]
    current = key(curve.times[0])
    last = base
    for when, value in zip(curve.times, curve.values, strict=True):
        period = key(when)
        if period != current:
            if base != 0:
                out[current] = last / base - 1
            base, current = last, period
        last = value
    if base != 0:
        out[current] = last / base - 1
    return out


def monthly_returns(curve: Curve) -> dict[tuple[int, int], float]:
    """{(year, month): return} of every month the curve covers."""
    return _period_returns(curve, lambda t: (t.year, t.month))


def yearly_returns(curve: Curve) -> dict[int, float]:
    """{year: return} of every year the curve covers."""
    return _period_returns(curve, lambda t: t.year)


@dataclass(frozen=True, slots=True)
class Rolling:
    """Rolling annualised Sharpe ratio (risk-free rate 0) and volatility over ``window``
    bars, each at the bar that ends its window (``x``)."""

    window: int
    x: list[Any]
    sharpe: list[float | None]
    volatility: list[float]


def rolling(curve: Curve, window: int | None = None) -> Rolling:
    """Rolling metrics over ``window`` bars (default: a quarter year of bars, at least 2)."""
    per_year = periods_per_year(curve)
    size = window or max(2, round(per_year / 4))
    xs = curve.x()
    r = [(b / a - 1) if a != 0 else 0.0 for a, b in pairwise(curve.values)]
    out_x: list[Any] = []
    sharpe: list[float | None] = []
    vol: list[float] = []
    total = total_sq = 0.0
    for i, value in enumerate(r):
        total += value
        total_sq += value * value
        if i >= size:
            old = r[i - size]
            total -= old
            total_sq -= old * old
        if i >= size - 1:
            mean = total / size
            variance = max(0.0, (total_sq - size * mean * mean) / (size - 1))
            std = math.sqrt(variance)
            vol.append(std * math.sqrt(per_year))
            # below 1e-9 a bar, the spread is the floats' rounding: no volatility, no ratio
            sharpe.append(mean / std * math.sqrt(per_year) if std > 1e-9 else None)
            out_x.append(xs[i + 1])
    return Rolling(size, out_x, sharpe, vol)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """One drawdown: from the peak it starts at, down to its valley, back to the peak's
    level (``recovery``; None while it lasts). ``depth`` is a negative fraction, ``length``
    counts bars from start to recovery (or to the end)."""

    start: Any
    valley: Any
    recovery: Any | None
    depth: float
    length: int


def worst_drawdowns(curve: Curve, count: int = 5) -> list[Drawdown]:
    """The ``count`` deepest drawdowns that do not overlap, deepest first."""
    xs = curve.x()
    found: list[Drawdown] = []
    peak_i = 0
    valley_i = 0
    in_drawdown = False
    values = curve.values
    for i, value in enumerate(values):
        if value >= values[peak_i]:
            if in_drawdown:
                depth = values[valley_i] / values[peak_i] - 1 if values[peak_i] else 0.0
                found.append(Drawdown(xs[peak_i], xs[valley_i], xs[i], depth, i - peak_i))
                in_drawdown = False
            peak_i = valley_i = i
        else:
            in_drawdown = True
            if value < values[valley_i]:
                valley_i = i
    if in_drawdown:
        depth = values[valley_i] / values[peak_i] - 1 if values[peak_i] else 0.0
        found.append(Drawdown(xs[peak_i], xs[valley_i], None, depth, len(values) - 1 - peak_i))
    found.sort(key=lambda d: d.depth)
    return found[:count]


def underwater(values: Sequence[float]) -> list[float]:
    """Each bar's drawdown from the running peak (0 at a new high, negative below it)."""
    peak = float("-inf")
    out = []
    for y in values:
        peak = max(peak, y)
        out.append(y / peak - 1 if peak > 0 else 0.0)
    return out


def shared_span(curves: Sequence[Curve]) -> bool:
    """Whether timed curves overlap in time: each reaches the latest first timestamp.
    Curves without timestamps are taken to start together."""
    timed = [c.times for c in curves if c.times]
    if len(timed) < len(curves) or not timed:
        return True
    start = max(t[0] for t in timed)
    return all(t[-1] >= start for t in timed)


def rebased(curves: Sequence[Curve]) -> list[Curve]:
    """The curves from a common start, each divided by its value there (1.0 at the start):
    comparable whatever each started with. With timestamps the common start is the latest
    first timestamp; without, the first bar. Curves that share no span of time (GOOG in
    2004-13 beside EURUSD in 2017-18) are each rebased at their own start instead
    (``shared_span``). A curve with nothing from there on, or zero there, is empty."""
    timed = all(c.times is not None and c.values for c in curves)
    common = timed and shared_span(curves)
    start = max(c.times[0] for c in curves if c.times) if common else None
    out = []
    for c in curves:
        first = 0
        if start is not None and c.times is not None:
            first = next((i for i, t in enumerate(c.times) if t >= start), len(c))
        if first >= len(c) or c.values[first] == 0:
            out.append(Curve([] if timed else None, []))
            continue
        base = c.values[first]
        times = c.times[first:] if timed and c.times is not None else None
        out.append(Curve(times, [v / base for v in c.values[first:]]))
    return out
