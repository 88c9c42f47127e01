"""A quant's tearsheet, computed from a stored equity curve: monthly and yearly returns,
rolling Sharpe ratio and volatility, the worst drawdowns, and curves rebased to 1.0 at a
common start for comparison; the HTML report and the web view use it alike. The work
over every bar (the running peak, the rolling windows) is numpy's: the web view and the
report's extras install it, and a year of minute bars takes milliseconds, not seconds.

A curve is what the store holds: ``[timestamp, value]`` pairs, the legacy object keyed by
timestamps, or plain values. Calendar figures (months, years) need timestamps; plain
values give bar-numbered figures only (rolling metrics, drawdowns by bar).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from backtest_store._extras import need

TRADING_DAYS = 252  # the annualisation of daily bars, as backtesting.py and vectorbt use


@dataclass(frozen=True, slots=True)
class Curve:
    """An equity curve as parallel lists: ``times`` (datetimes, or None for bar numbers)
    and ``values``; ``texts``, each point's time as the store held it (ISO text), where
    every point's was text: a chart's label is made from it (``Labels``)."""

    times: list[datetime] | None
    values: list[float]
    texts: list[str] | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.values)

    def x(self) -> list[Any]:
        return list(self.times) if self.times is not None else list(range(len(self.values)))

    def labels(self, start: int = 0) -> Labels:
        """The x of each point from ``start`` on, as a chart reads them."""
        texts = self.texts[start:] if self.texts is not None else None
        return Labels(self.x()[start:], texts)


class Labels:
    """A series' x as a chart reads them, each made once, when first asked for: the
    stored text without its UTC suffix where it has one (formatting the times again
    was half of a tearsheet's figures), else ``iso``. A curve's equity and drawdown
    traces share them, and the points a decimated chart leaves out are never made."""

    def __init__(self, xs: Sequence[Any], texts: Sequence[str] | None = None) -> None:
        self.xs = xs
        self.texts = texts
        self.made: dict[int, Any] = {}
        self._every: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.xs)

    def every(self) -> list[Any]:
        """All of them, for a chart that draws every point: made in one pass, once."""
        if self._every is None:
            texts, xs = self.texts, self.xs
            if texts is None:
                self._every = [iso(x) for x in xs]
            else:
                self._every = _utc_texts(texts) or list(map(_text, texts, xs))
        return self._every

    def __getitem__(self, i: int) -> Any:
        if self._every is not None:
            return self._every[i]
        label = self.made.get(i)
        if label is None:
            x = self.xs[i]
            label = iso(x) if self.texts is None else _text(self.texts[i], x)
            self.made[i] = label
        return label


def curve_of(stored: Any) -> Curve:
    """A stored curve as a Curve; values that are not numbers are left out, with their
    timestamps."""
    if not stored:
        return Curve(None, [])
    if isinstance(stored, dict):
        pairs: Iterable[Any] = sorted(stored.items())
    elif all(isinstance(p, list | tuple) and len(p) == 2 for p in (stored[0], stored[-1])):
        pairs = stored
    else:
        return Curve(None, [float(v) for v in stored if _number(v)])
    times: list[datetime] = []
    values: list[float] = []
    texts: list[Any] = []
    parse, finite = datetime.fromisoformat, math.isfinite
    for pair in pairs:
        try:
            when, value = pair
        except (TypeError, ValueError):  # not a pair: the curve is not of pairs
            return Curve(None, [float(v) for v in stored if _number(v)])
        kind = type(value)
        if not (((kind is float or kind is int) and finite(value)) or _number(value)):
            continue
        moment: datetime
        if type(when) is str:  # the stored form: ISO 8601 text ("Z" read by Python 3.11)
            try:
                moment = parse(when)
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
        else:
            found = _moment(when)
            if found is None:
                continue
            moment = found
        times.append(moment)
        values.append(float(value))
        texts.append(when)
    textual = bool(texts) and set(map(type, texts)) == {str}
    return Curve(times, values, texts if textual else None)


def _utc_texts(texts: Sequence[str]) -> list[str] | None:
    """Each text without its "Z", when every one ends in it and all are of one length (the
    adapters' form): ``_text``'s rule checked by C-speed calls over the whole curve at once,
    not point by point (a third of its cost). None for any other curve. A stored text holds
    no newline (``datetime.fromisoformat`` read it), so one joins them."""
    n = len(texts)
    lengths = set(map(len, texts))
    if n == 0 or len(lengths) != 1:
        return None
    size = lengths.pop() + 1  # a text and its newline
    if size < 6:  # too short to hold a date's dash at [4]
        return None
    joined = "\n".join(texts)
    if not joined.endswith("Z") or joined.count("Z\n") != n - 1:
        return None
    if joined[4::size] != "-" * n:  # the date's first dash: cut[4:5] == "-"
        return None
    if size - 2 > 10 and set(joined[10::size]) - {"T", " "}:  # cut[10:11] in ("T", " ")
        return None
    return joined[:-1].replace("Z\n", "\n").split("\n")


def _text(stored: str, moment: Any) -> Any:
    """A point's x for a chart from its stored text, read as ``moment``: the text without
    its UTC suffix, when it is in the extended form a chart reads; else ``iso``."""
    if stored[-1:] == "Z":
        cut = stored[:-1]
    elif stored.endswith("+00:00"):
        cut = stored[:-6]
    else:
        return iso(moment)
    return cut if cut[4:5] == "-" and cut[10:11] in ("", "T", " ") else iso(moment)


def iso(x: Any) -> Any:
    """A curve's x for a chart: a time as ISO text (naive UTC), a bar number as it is."""
    if isinstance(x, datetime):
        text = x.isoformat()
        if text.endswith("+00:00"):  # stored times are UTC: the offset cut off, fast
            return text[:-6]
        return x.astimezone(UTC).replace(tzinfo=None).isoformat()
    return x


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


def _numpy() -> Any:
    return need("numpy", "report", "the tearsheet (the report and the web view)")


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
    """Rolling metrics over ``window`` bars (default: a quarter year of bars, at least 2):
    the sample standard deviation (n - 1) of the window's returns."""
    np = _numpy()
    per_year = periods_per_year(curve)
    size = window or max(2, round(per_year / 4))
    values = np.asarray(curve.values, dtype=float)
    if len(values) - 1 < size:
        return Rolling(size, [], [], [])
    before, after = values[:-1], values[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(before != 0, after / np.where(before != 0, before, 1) - 1, 0.0)
    sums = np.concatenate(([0.0], np.cumsum(r)))
    squares = np.concatenate(([0.0], np.cumsum(r * r)))
    total, total_sq = sums[size:] - sums[:-size], squares[size:] - squares[:-size]
    mean = total / size
    std = np.sqrt(np.maximum(0.0, (total_sq - size * mean * mean) / (size - 1)))
    scale = math.sqrt(per_year)
    # below 1e-9 a bar, the spread is the floats' rounding: no volatility, no ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean / std * scale
    sharpe: list[float | None] = [
        None if s <= 1e-9 else v for s, v in zip(std.tolist(), ratio.tolist(), strict=True)
    ]
    return Rolling(size, curve.x()[size:], sharpe, (std * scale).tolist())


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
    np = _numpy()
    if not len(values):
        return []
    y = np.asarray(values, dtype=float)
    peak = np.maximum.accumulate(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(peak > 0, y / np.where(peak > 0, peak, 1) - 1, 0.0)
    result: list[float] = out.tolist()
    return result


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
        texts = c.texts[first:] if times is not None and c.texts is not None else None
        out.append(Curve(times, [v / base for v in c.values[first:]], texts))
    return out
