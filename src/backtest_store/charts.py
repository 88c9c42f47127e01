"""The charts of a tearsheet as plotly figures, one code for the offline report
(``report.py``, figures written as HTML) and the web view (``web/``, figures sent as
JSON and drawn by the page's own script).

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
from typing import Any
from uuid import UUID

from backtest_store import tearsheet
from backtest_store._extras import need
from backtest_store.records import (
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.tearsheet import Curve, curve_of

MAX_POINTS = 4000  # per curve, shown: two per bucket
MAX_MARKERS = 2000  # trades drawn on the curve
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
THEME = "plotly_white"


def plotly() -> tuple[Any, Any]:
    """plotly's graph_objects and subplots (extra ``backtest-store[report]`` or ``[web]``)."""
    go = need("plotly.graph_objects", "report", "backtest_store.charts")
    subplots = need("plotly.subplots", "report", "backtest_store.charts")
    return go, subplots


def decimate(
    xs: Sequence[Any], ys: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[Any], list[float]]:
    """At most ``limit`` points: the lowest and highest of each of ``limit // 2`` buckets,
    in their order, so every peak and trough stays visible."""
    n = len(ys)
    if n <= limit:
        return list(xs), list(ys)
    buckets = limit // 2
    out_x: list[Any] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        chunk = ys[lo:hi]
        i_min = lo + min(range(len(chunk)), key=chunk.__getitem__)
        i_max = lo + max(range(len(chunk)), key=chunk.__getitem__)
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


def label(result: BacktestResult) -> str:
    """A backtest's name in a legend: plotly reads text as markup, so it is escaped."""
    return html.escape(f"{result.symbol} {result.strategy_type} {str(result.backtest_id)[:8]}")


def equity_figure(
    results: Sequence[BacktestResult],
    trades: dict[UUID | None, list[BacktestTrade]],
    *,
    gl: bool,
    log: bool = False,
) -> tuple[Any, list[str]]:
    """The equity curves over the underwater drawdown, with each trade's entry and exit on
    its curve; several backtests are rebased to 1.0 at their common start. Returns the
    figure and the notes to show beside it (what was rebased or decimated)."""
    go, subplots = plotly()
    line_trace = go.Scattergl if gl else go.Scatter
    fig = subplots.make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04,
        subplot_titles=("equity", "drawdown"),
    )  # fmt: skip
    notes: list[str] = []
    overlaid = len(results) > 1
    curves = [curve_of(r.equity_curve) for r in results]
    if overlaid:  # absolute money on one axis compares nothing: each starts at 1.0
        curves = tearsheet.rebased(curves)
        notes.append("equity rebased to 1.0 at the common start")
    for n, result in enumerate(results):
        color = PALETTE[n % len(PALETTE)]
        name = label(result)
        curve = curves[n]
        xs, ys = [iso(x) for x in curve.x()], curve.values
        if not ys:
            notes.append(f"{name}: no equity curve stored")
            continue
        dx, dy = decimate(xs, ys)
        if len(dy) < len(ys):
            notes.append(f"{name}: {len(ys):,} points shown as {len(dy):,} (min/max per bucket)")
        group = str(result.backtest_id)
        line = {"color": color, "width": 1.5}
        fig.add_trace(line_trace(x=dx, y=dy, mode="lines", name=name, legendgroup=group,
                                 line=line), row=1, col=1)  # fmt: skip
        stored = curve_of(result.drawdown_series)
        dd_x, dd_y = [iso(x) for x in stored.x()], stored.values
        if not dd_y or overlaid:  # from the rebased curve: over the same span
            dd_x, dd_y = xs, tearsheet.underwater(ys)
        ddx, ddy = decimate(dd_x, dd_y)
        fill = None if overlaid else "tozeroy"  # overlaid: lines only
        fig.add_trace(line_trace(x=ddx, y=[v * 100 for v in ddy], mode="lines", fill=fill,
                                 name=f"{name} drawdown %", legendgroup=group, line=line,
                                 showlegend=False), row=2, col=1)  # fmt: skip
        if curve.times is not None:
            _trade_markers(go, fig, trades.get(result.backtest_id, []), xs, ys, group, color)
    fig.update_layout(hovermode="x unified", height=640, template=THEME, margin={"t": 40})
    fig.update_yaxes(title_text="equity, rebased" if overlaid else "equity", row=1, col=1,
                     type="log" if log else "linear")  # fmt: skip
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    return fig, notes


def _trade_markers(go: Any, fig: Any, rows: list[BacktestTrade], xs: list[str], ys: list[float],
                   group: str, color: str) -> None:  # fmt: skip
    """Entries and exits on the equity curve, at the equity of the nearest earlier bar."""
    keys = [_instant(x) for x in xs]
    shown_rows = rows[:MAX_MARKERS]
    for side, name in (("entry", "entries"), ("exit", "exits")):
        mx, my, text, symbols = [], [], [], []
        for t in shown_rows:
            when = (
                (t.entry_time or t.entry_date) if side == "entry" else (t.exit_time or t.exit_date)
            )
            if when is None:
                continue
            i = max(0, bisect.bisect_right(keys, _instant(when)) - 1)
            mx.append(xs[i])
            my.append(ys[i])
            pnl = "" if t.pnl is None else f" pnl {float(t.pnl):,.2f}"
            price = t.entry_price if side == "entry" else t.exit_price
            # hover text is drawn as markup by plotly: the stored text is escaped
            text.append(html.escape(f"#{t.trade_number} {t.direction} {side} @ {price}{pnl}"))
            symbols.append(
                ("triangle-up" if t.direction == "long" else "triangle-down")
                if side == "entry"
                else "x"
            )
        if mx:
            marker = {"symbol": symbols, "size": 8, "color": color,
                      "line": {"width": 1, "color": "#222"}}  # fmt: skip
            fig.add_trace(go.Scatter(x=mx, y=my, mode="markers", name=name, marker=marker,
                                     legendgroup=group, hovertext=text, hoverinfo="text"),
                          row=1, col=1)  # fmt: skip


def calendar_figure(curve: Curve) -> Any | None:
    """Monthly returns as a heatmap (a row a year), the yearly returns as bars beside it;
    None for a curve without timestamps."""
    monthly = tearsheet.monthly_returns(curve)
    if not monthly:
        return None
    go, subplots = plotly()
    years = sorted({y for y, _ in monthly})
    z = [[_pct(monthly.get((y, m))) for m in range(1, 13)] for y in years]
    text = [["" if v is None else f"{v:.2f} %" for v in row] for row in z]
    fig = subplots.make_subplots(
        rows=1, cols=2, column_widths=[0.75, 0.25],
        subplot_titles=("monthly returns %", "yearly returns %"),
    )  # fmt: skip
    heat = go.Heatmap(
        z=z, x=list(MONTHS), y=[str(y) for y in years], text=text, texttemplate="%{text}",
        colorscale="RdYlGn", zmid=0, showscale=False, hoverongaps=False,
    )  # fmt: skip
    fig.add_trace(heat, row=1, col=1)
    yearly = tearsheet.yearly_returns(curve)
    colors = ["#2ca02c" if v >= 0 else "#d62728" for v in yearly.values()]
    bars = go.Bar(
        y=[str(y) for y in yearly], x=[_pct(v) for v in yearly.values()], orientation="h",
        marker_color=colors, showlegend=False,
    )  # fmt: skip
    fig.add_trace(bars, row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(height=max(260, 40 * len(years) + 120), template=THEME, margin={"t": 50})
    return fig


def rolling_figure(curve: Curve, *, gl: bool) -> Any | None:
    """Rolling Sharpe ratio over rolling volatility; None for a curve shorter than the
    window."""
    roll = tearsheet.rolling(curve)
    if not roll.x:
        return None
    go, subplots = plotly()
    line_trace = go.Scattergl if gl else go.Scatter
    when = [iso(x) for x in roll.x]
    fig = subplots.make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=(f"rolling Sharpe ratio ({roll.window} bars)",
                        f"rolling volatility % ({roll.window} bars)"),
    )  # fmt: skip
    sx, sy = decimate(when, [float("nan") if s is None else s for s in roll.sharpe])
    vx, vy = decimate(when, [v * 100 for v in roll.volatility])
    fig.add_trace(line_trace(x=sx, y=sy, mode="lines", name="Sharpe"), row=1, col=1)
    fig.add_trace(line_trace(x=vx, y=vy, mode="lines", name="volatility %"), row=2, col=1)
    fig.update_layout(height=420, template=THEME, showlegend=False, margin={"t": 50})
    return fig


def optimization_figure(rows: Sequence[OptimizationResult]) -> Any | None:
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
    titles = [html.escape(k) for k in keys]
    go, _ = plotly()
    objective = html.escape(rows[0].objective_function or "objective")
    if len(keys) == 1:
        points = sorted((float(p[keys[0]]), v) for p, v in scored)
        fig = go.Figure(go.Scatter(x=[x for x, _ in points], y=[y for _, y in points],
                                   mode="lines+markers"))  # fmt: skip
        fig.update_layout(xaxis_title=titles[0], yaxis_title=objective)
    else:
        best: dict[tuple[float, float], float] = {}
        for p, v in scored:
            cell = (float(p[keys[0]]), float(p[keys[1]]))
            best[cell] = max(v, best.get(cell, v))
        xs = sorted({x for x, _ in best})
        ys = sorted({y for _, y in best})
        z = [[best.get((x, y)) for x in xs] for y in ys]
        fig = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorscale="Viridis",
                                   colorbar={"title": {"text": objective}}))  # fmt: skip
        fig.update_layout(xaxis_title=titles[0], yaxis_title=titles[1])
    fig.update_layout(height=380, template=THEME, margin={"t": 40},
                      title=f"{objective} over the grid")  # fmt: skip
    return fig


def walk_forward_figure(windows: Sequence[WalkForwardTest]) -> Any | None:
    """In-sample against out-of-sample return, a pair of bars per window."""
    if not windows:
        return None
    go, _ = plotly()
    names = [f"{w.test_period_start}" for w in windows]
    fig = go.Figure()
    # training_performance: the in-sample figure the window's parameters were chosen by
    fig.add_trace(go.Bar(x=names, y=[_pct(_float(w.training_performance)) for w in windows],
                         name="in-sample (training) %"))  # fmt: skip
    fig.add_trace(go.Bar(x=names, y=[_pct(_float(w.out_of_sample_return)) for w in windows],
                         name="out-of-sample %"))  # fmt: skip
    fig.update_layout(barmode="group", height=340, template=THEME, margin={"t": 40},
                      title="return per window: in-sample against out-of-sample")  # fmt: skip
    return fig


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _instant(value: Any) -> str:
    """A comparable key for a time: naive ISO text 'YYYY-MM-DDTHH:MM:SS', in UTC when the
    value has an offset (as the stored pairs' "...Z" timestamps are)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return str(value.isoformat())
    return f"{value}T00:00:00"  # a date


def iso(x: Any) -> Any:
    """A curve's x for the chart: a time as ISO text (naive UTC), a bar number as it is."""
    if isinstance(x, datetime):
        return x.astimezone(UTC).replace(tzinfo=None).isoformat()
    return x


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)
