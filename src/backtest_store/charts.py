"""The charts of a tearsheet as plotly figures, one code for the offline report
(``report.py``, figures written as HTML) and the web view (``web/``, figures sent as
JSON and drawn by the page's own script).

A figure is a plain ``{"data": [...], "layout": {...}}`` dict, as plotly.js takes it:
building one costs microseconds where plotly's validated graph objects cost tens of
milliseconds a chart, and the web view needs no Python plotly at all.

A curve longer than ``MAX_POINTS`` is decimated for display: the lowest and highest
point of each bucket, in time order, so every peak and trough stays visible. ``gl``
picks WebGL traces (the report: fast with long curves) or SVG ones (the web view: its
Content-Security-Policy has no ``unsafe-eval``, which WebGL traces need).
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from uuid import UUID

from backtest_store import tearsheet
from backtest_store.records import (
    NOT_LOADED,
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.tearsheet import Curve, Labels, curve_of

MAX_POINTS = 4000  # per curve, shown: two per bucket
MAX_MARKERS = 2000  # trades drawn on the curve
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GRID = "#e5e5e5"
# losses red, gains green (plotly.js has no "RdYlGn" of its own: plotly's Python names it)
RED_GREEN = [[0.0, "#d73027"], [0.25, "#fc8d59"], [0.5, "#ffffbf"], [0.75, "#91cf60"],
             [1.0, "#1a9850"]]  # fmt: skip


Figure = dict[str, Any]


def _axes(rows: int, titles: Sequence[str], heights: Sequence[float]) -> dict[str, Any]:
    """The layout of ``rows`` charts stacked on one shared x axis, each with its title."""
    layout: dict[str, Any] = {"annotations": [], "margin": {"t": 40, "r": 20}}
    top, gap = 1.0, 0.07
    for n in range(rows):
        suffix = "" if n == 0 else str(n + 1)
        bottom = max(0.0, top - heights[n])
        layout[f"yaxis{suffix}"] = {"domain": [bottom, top], "anchor": f"x{suffix}",
                                     "gridcolor": GRID, "zerolinecolor": GRID}  # fmt: skip
        layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "gridcolor": GRID,
                                     **({"matches": "x"} if n else {})}  # fmt: skip
        layout["annotations"].append(_title(titles[n], 0.5, top))
        top = bottom - gap
    return layout


def _title(text: str, x: float, y: float) -> dict[str, Any]:
    return {"text": text, "x": x, "y": y, "xref": "paper", "yref": "paper", "showarrow": False,
            "xanchor": "center", "yanchor": "bottom", "font": {"size": 14}}  # fmt: skip


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    base = {"paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#222"}}
    return {"data": data, "layout": {**base, **layout}}


def decimate(
    xs: Sequence[Any], ys: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[Any], list[float]]:
    """At most ``limit`` points: the lowest and highest of each of ``limit // 2`` buckets,
    in their order, so every peak and trough stays visible."""
    kept = kept_points(ys, limit)
    return [xs[i] for i in kept], [ys[i] for i in kept]


def kept_points(ys: Sequence[float], limit: int = MAX_POINTS) -> list[int]:
    """The positions ``decimate`` keeps: a screen shows a few thousand points of a year of
    minutes, so only those are formatted and sent (min and max by C-speed list calls)."""
    n = len(ys)
    if n <= limit:
        return list(range(n))
    values = list(ys)
    buckets = limit // 2
    out: list[int] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        chunk = values[lo:hi]
        i_min, i_max = lo + chunk.index(min(chunk)), lo + chunk.index(max(chunk))
        out += [i_min] if i_min == i_max else sorted((i_min, i_max))
    return out


def _shown(xs: Labels, ys: Sequence[float]) -> tuple[list[Any], list[float]]:
    """The points a chart draws of a series, decimated, their x as the chart reads them."""
    if len(ys) <= MAX_POINTS:  # every point
        return xs.every(), list(ys)
    kept = kept_points(ys)
    return [xs[i] for i in kept], [ys[i] for i in kept]


def title(result: BacktestResult) -> str:
    """A backtest's name: its symbol, strategy and short id."""
    return f"{result.symbol} {result.strategy_type} {str(result.backtest_id)[:8]}"


def label(result: BacktestResult) -> str:
    """A backtest's name in a legend: plotly reads text as markup, so it is escaped."""
    return _text(title(result))


def equity_figure(
    results: Sequence[BacktestResult],
    trades: dict[UUID | None, list[BacktestTrade]],
    *,
    gl: bool,
    log: bool = False,
    curves: Sequence[Curve] | None = None,
) -> tuple[Figure, list[str]]:
    """The equity curves over the underwater drawdown, with each trade's entry and exit on
    its curve; several backtests are rebased to 1.0 at their common start. Returns the
    figure and the notes to show beside it (what was rebased or decimated). ``curves``:
    the results' equity curves, when the caller has them already."""
    kind = "scattergl" if gl else "scatter"
    data: list[dict[str, Any]] = []
    notes: list[str] = []
    overlaid = len(results) > 1
    curves = list(curves) if curves is not None else [curve_of(r.equity_curve) for r in results]
    if overlaid:  # absolute money on one axis compares nothing: each starts at 1.0
        notes.append("equity rebased to 1.0 at the common start" if tearsheet.shared_span(curves)
                     else "the curves share no span of time: each rebased to 1.0 at its own "
                     "start")  # fmt: skip
        curves = tearsheet.rebased(curves)
    for n, result in enumerate(results):
        color = PALETTE[n % len(PALETTE)]
        name = label(result)
        curve = curves[n]
        xs, ys = curve.labels(), curve.values
        if not ys:
            notes.append(f"{title(result)}: no equity curve stored")
            continue
        dx, dy = _shown(xs, ys)
        if len(dy) < len(ys):
            shown = f"{len(ys):,} points shown as {len(dy):,} (min/max per bucket)"
            notes.append(f"{title(result)}: {shown}")
        group = str(result.backtest_id)
        line = {"color": color, "width": 1.5}
        data.append({"type": kind, "x": dx, "y": dy, "mode": "lines", "name": name,
                     "legendgroup": group, "line": line})  # fmt: skip
        if not overlaid:
            data += _benchmark_line(result, kind)
        stored = curve_of(result.drawdown_series)
        dd_x, dd_y = stored.labels(), stored.values
        if not dd_y or overlaid:  # from the rebased curve: over the same span
            dd_x, dd_y = xs, tearsheet.underwater(ys)
        ddx, ddy = _shown(dd_x, dd_y)
        data.append({"type": kind, "x": ddx, "y": [v * 100 for v in ddy], "mode": "lines",
                     "fill": None if overlaid else "tozeroy", "name": f"{name} drawdown %",
                     "legendgroup": group, "line": line, "showlegend": False,
                     "xaxis": "x2", "yaxis": "y2"})  # fmt: skip
        if curve.times is not None:
            data += _trade_markers(trades.get(result.backtest_id, []), curve.times, xs, ys,
                                   group, color)  # fmt: skip
    layout = _axes(2, ("equity", "drawdown"), (0.66, 0.27))
    layout["yaxis"].update(title={"text": "equity, rebased" if overlaid else "equity"},
                           type="log" if log else "linear")  # fmt: skip
    layout["yaxis2"]["title"] = {"text": "drawdown %"}
    layout["xaxis"]["showticklabels"] = False
    layout.update(hovermode="x unified", height=640)
    return _figure(data, layout), notes


def _benchmark_line(result: BacktestResult, kind: str) -> list[dict[str, Any]]:
    """The run's benchmark curve (buy & hold by default), beside its equity, grey, dashed."""
    stored = result.benchmark_curve
    if stored is NOT_LOADED or not stored:
        return []
    curve = curve_of(stored)
    if not curve.values:
        return []
    bx, by = _shown(curve.labels(), curve.values)
    name = f"benchmark: {result.benchmark_symbol}" if result.benchmark_symbol else "benchmark"
    return [{"type": kind, "x": bx, "y": by, "mode": "lines", "name": name,
             "line": {"color": "#7f7f7f", "width": 1.2, "dash": "dash"}}]  # fmt: skip


def portfolio_figure(portfolio: BacktestPortfolio) -> Figure | None:
    """A portfolio's equity curve over its underwater drawdown; None without a curve."""
    curve = curve_of(portfolio.portfolio_equity_curve)
    if not curve.values:
        return None
    xs = curve.labels()
    dx, dy = _shown(xs, curve.values)
    ux, uy = _shown(xs, tearsheet.underwater(curve.values))
    data = [
        {"type": "scatter", "x": dx, "y": dy, "mode": "lines",
         "name": _text(portfolio.portfolio_name)},
        {"type": "scatter", "x": ux, "y": [v * 100 for v in uy], "mode": "lines",
         "fill": "tozeroy", "name": "drawdown %", "xaxis": "x2", "yaxis": "y2"},
    ]  # fmt: skip
    layout = _axes(2, ("equity", "drawdown"), (0.66, 0.27))
    layout["xaxis"]["showticklabels"] = False
    layout.update(height=520, showlegend=False, hovermode="x unified")
    return _figure(data, layout)


def _trade_markers(rows: list[BacktestTrade], times: list[datetime], xs: Labels,
                   ys: list[float], group: str, color: str) -> list[dict[str, Any]]:  # fmt: skip
    """Entries and exits on the equity curve, at the equity of the nearest earlier bar."""
    shown_rows = rows[:MAX_MARKERS]
    out = []
    for side, name in (("entry", "entries"), ("exit", "exits")):
        mx, my, text, symbols = [], [], [], []
        for t in shown_rows:
            when = (
                (t.entry_time or t.entry_date) if side == "entry" else (t.exit_time or t.exit_date)
            )
            if when is None:
                continue
            i = max(0, bisect.bisect_right(times, _aware(when)) - 1)
            mx.append(xs[i])
            my.append(ys[i])
            pnl = "" if t.pnl is None else f" pnl {float(t.pnl):,.2f}"
            price = t.entry_price if side == "entry" else t.exit_price
            # hover text is drawn as markup by plotly: the stored text is escaped
            text.append(_text(f"#{t.trade_number} {t.direction} {side} @ {price}{pnl}"))
            symbols.append(
                ("triangle-up" if t.direction == "long" else "triangle-down")
                if side == "entry"
                else "x"
            )
        if mx:
            marker = {"symbol": symbols, "size": 8, "color": color,
                      "line": {"width": 1, "color": "#222"}}  # fmt: skip
            out.append({"type": "scatter", "x": mx, "y": my, "mode": "markers", "name": name,
                        "marker": marker, "legendgroup": group, "hovertext": text,
                        "hoverinfo": "text"})  # fmt: skip
    return out


def _aware(value: Any) -> datetime:
    """A trade's date or time as an aware datetime, comparable with a curve's times (a
    date is its midnight in UTC; a time without a zone is taken as UTC)."""
    moment: datetime = (
        value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def calendar_figure(curve: Curve) -> Figure | None:
    """Monthly returns as a heatmap (a row a year), the yearly returns as bars beside it;
    None for a curve without timestamps."""
    monthly = tearsheet.monthly_returns(curve)
    if not monthly:
        return None
    years = sorted({y for y, _ in monthly})
    z = [[_pct(monthly.get((y, m))) for m in range(1, 13)] for y in years]
    text = [["" if v is None else f"{v:.2f} %" for v in row] for row in z]
    yearly = tearsheet.yearly_returns(curve)
    data = [
        {"type": "heatmap", "z": z, "x": list(MONTHS), "y": [str(y) for y in years],
         "text": text, "texttemplate": "%{text}", "colorscale": RED_GREEN, "zmid": 0,
         "showscale": False, "hoverongaps": False},
        {"type": "bar", "orientation": "h", "y": [str(y) for y in yearly],
         "x": [_pct(v) for v in yearly.values()], "showlegend": False, "xaxis": "x2",
         "yaxis": "y2", "marker": {"color": ["#2ca02c" if v >= 0 else "#d62728"
                                             for v in yearly.values()]}},
    ]  # fmt: skip
    axis = {"autorange": "reversed", "type": "category"}
    layout = {
        "xaxis": {"domain": [0, 0.72], "anchor": "y"}, "yaxis": {**axis, "anchor": "x"},
        "xaxis2": {"domain": [0.78, 1], "anchor": "y2", "gridcolor": GRID},
        "yaxis2": {**axis, "anchor": "x2"},
        "annotations": [_title("monthly returns %", 0.36, 1), _title("yearly returns %", 0.89, 1)],
        "height": max(260, 40 * len(years) + 120), "margin": {"t": 50, "r": 20},
    }  # fmt: skip
    return _figure(data, layout)


def rolling_figure(curve: Curve, *, gl: bool) -> Figure | None:
    """Rolling Sharpe ratio over rolling volatility; None for a curve shorter than the
    window."""
    roll = tearsheet.rolling(curve)
    if not roll.x:
        return None
    kind = "scattergl" if gl else "scatter"
    when = curve.labels(roll.window)  # roll.x: the curve's x from the first window's end
    sx, sy = _shown(when, [float("nan") if s is None else s for s in roll.sharpe])
    vx, vy = _shown(when, [v * 100 for v in roll.volatility])
    data = [
        {"type": kind, "x": sx, "y": [None if v != v else v for v in sy], "mode": "lines",
         "name": "Sharpe"},
        {"type": kind, "x": vx, "y": vy, "mode": "lines", "name": "volatility %",
         "xaxis": "x2", "yaxis": "y2"},
    ]  # fmt: skip
    layout = _axes(2, (f"rolling Sharpe ratio ({roll.window} bars)",
                       f"rolling volatility % ({roll.window} bars)"), (0.43, 0.43))  # fmt: skip
    layout["xaxis"]["showticklabels"] = False  # one time axis, under the lower chart
    layout.update(height=420, showlegend=False)
    return _figure(data, layout)


def optimization_figure(rows: Sequence[OptimizationResult]) -> Figure | None:
    """The grid's objective by its first two numeric parameters (a heatmap, the best
    value where other parameters vary), or by its one parameter (a line); None without a
    numeric parameter."""
    scored = [(o.parameters, float(o.objective_value)) for o in rows
              if isinstance(o.parameters, dict) and o.objective_value is not None
              and o.objective_value == o.objective_value]  # fmt: skip
    if not scored:
        return None
    keys = [k for k, v in scored[0][0].items() if _numeric(v)]
    keys = [k for k in keys if all(_numeric(p.get(k)) for p, _ in scored)][:2]
    if not keys:
        return None
    titles = [_text(k) for k in keys]
    objective = _text(rows[0].objective_function or "objective")
    if len(keys) == 1:
        points = sorted((float(p[keys[0]]), v) for p, v in scored)
        line = {"type": "scatter", "x": [x for x, _ in points], "y": [y for _, y in points],
                "mode": "lines+markers"}  # fmt: skip
        data: list[dict[str, Any]] = [line]
        axes: dict[str, Any] = {"xaxis": {"title": {"text": titles[0]}},
                                "yaxis": {"title": {"text": objective}}}  # fmt: skip
    else:
        best: dict[tuple[float, float], float] = {}
        for p, v in scored:
            cell = (float(p[keys[0]]), float(p[keys[1]]))
            best[cell] = max(v, best.get(cell, v))
        xs = sorted({x for x, _ in best})
        ys = sorted({y for _, y in best})
        z = [[best.get((x, y)) for x in xs] for y in ys]
        # the tested values as categories: a cell each, ticks only where a value was tested
        # (on a continuous axis, 10, 20, 50 drew ticks at 25 and 35 and a cell twice as wide)
        data = [{"type": "heatmap", "x": [_tick(x) for x in xs], "y": [_tick(y) for y in ys],
                 "z": z, "colorscale": "Viridis",
                 "colorbar": {"title": {"text": objective}}}]  # fmt: skip
        axes = {"xaxis": {"title": {"text": titles[0]}, "type": "category"},
                "yaxis": {"title": {"text": titles[1]}, "type": "category"}}  # fmt: skip
    layout: dict[str, Any] = {**axes, "height": 380, "margin": {"t": 40, "r": 20},
              "title": {"text": f"{objective} over the grid"}}  # fmt: skip
    return _figure(data, layout)


def _tick(value: float) -> str:
    """A tested value as its category's label: 10, not 10.0."""
    return str(int(value)) if value.is_integer() else repr(value)


def walk_forward_figure(windows: Sequence[WalkForwardTest]) -> Figure | None:
    """In-sample against out-of-sample return, a pair of bars per window."""
    if not windows:
        return None
    names = [str(w.test_period_start) for w in windows]
    data = [  # training_performance: the in-sample figure the parameters were chosen by
        {"type": "bar", "x": names, "y": [_pct(_float(w.training_performance)) for w in windows],
         "name": "in-sample (training) %"},
        {"type": "bar", "x": names, "y": [_pct(_float(w.out_of_sample_return)) for w in windows],
         "name": "out-of-sample %"},
    ]  # fmt: skip
    layout = {"barmode": "group", "height": 340, "margin": {"t": 40, "r": 20},
              "title": {"text": "return per window: in-sample against out-of-sample"},
              "yaxis": {"gridcolor": GRID}}  # fmt: skip
    return _figure(data, layout)


def overfitting_figures(found: Any) -> list[Figure]:
    """An experiment's CSCV drawn: the histogram of λ (left of 0: the in-sample best
    ranked in the lower half out of sample) and the selected runs' in-sample against
    out-of-sample Sharpe ratios; none when PBO could not be computed."""
    bins = found.logit_histogram
    if found.pbo is None or not bins.get("counts"):
        return []
    edges = bins["edges"]
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    histogram = _figure([{"type": "bar", "x": centers, "y": bins["counts"], "name": "splits",
                          "marker": {"color": ["#d62728" if c <= 0 else "#1f77b4"
                                               for c in centers]}}],
                        {"height": 300, "margin": {"t": 40, "r": 20}, "bargap": 0.05,
                         "title": {"text": f"λ over {found.combinations:,} splits: PBO "
                                           f"{found.pbo:.2f}"},
                         "xaxis": {"title": {"text": "λ = logit of the out-of-sample rank"}},
                         "yaxis": {"title": {"text": "splits"}, "gridcolor": GRID}})  # fmt: skip
    pairs = found.selected
    scatter = _figure([{"type": "scatter", "mode": "markers", "name": "selected run",
                        "x": [p[0] for p in pairs], "y": [p[1] for p in pairs],
                        "marker": {"size": 4, "opacity": 0.5}}],
                      {"height": 300, "margin": {"t": 40, "r": 20},
                       "title": {"text": "the in-sample best, out of sample"},
                       "xaxis": {"title": {"text": "in-sample Sharpe per bar"}, "gridcolor": GRID},
                       "yaxis": {"title": {"text": "out-of-sample Sharpe per bar"},
                                 "gridcolor": GRID}})  # fmt: skip
    return [histogram, scatter]


def _text(value: str) -> str:
    """Stored text for plotly, which reads ``<`` as the start of its markup: escaped, so
    it shows as it is (quotes are plain text there, and plotly would show ``&quot;``)."""
    return html.escape(value, quote=False)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)
