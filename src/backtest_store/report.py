"""``backtest-store report`` and ``write_html``: one self-contained HTML file per set of
backtests (extra ``backtest-store[report]``, plotly).

The file opens offline: plotly.js and every style are inline, nothing is fetched. It
holds the metrics table (each metric in its column's unit), the equity curve and the
drawdown as interactive charts (zoom, pan, hover; several backtests overlaid), each
trade's entry and exit on the equity curve, and a trades table. A curve longer than
``MAX_POINTS`` is decimated for display (the lowest and highest point of each bucket, in
time order), and the chart says so; the numbers in the tables are never decimated.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from backtest_store import tearsheet
from backtest_store._extras import need
from backtest_store.errors import NotFoundError
from backtest_store.metrics import MEASURES, shown, units
from backtest_store.records import BacktestResult, BacktestTrade
from backtest_store.tearsheet import curve_of

MAX_POINTS = 4000  # per curve, shown: two per bucket
MAX_TRADES_SHOWN = 500  # rows of each trades table
MAX_MARKERS = 2000  # trades drawn on the curve


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


def points(curve: Any) -> tuple[list[Any], list[float], bool]:
    """A stored curve as x and y lists, and whether x is time: ``[timestamp, value]`` pairs,
    the legacy object keyed by timestamps, or plain values (x = bar number)."""
    if not curve:
        return [], [], False
    if isinstance(curve, dict):
        items = sorted(curve.items())
        return [k for k, _ in items], [float(v) for _, v in items], True
    if all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in curve):
        return [p[0] for p in curve], [float(p[1]) for p in curve], True
    return list(range(len(curve))), [float(v) for v in curve], False


def write_html(store: Any, ids: Iterable[UUID | None], path: str | Path) -> Path:
    """Write the report of the given backtests (a BacktestStore's) to ``path``; returns
    the path. NotFoundError names an id that is not stored."""
    chosen = list(ids)
    results: list[BacktestResult] = []
    trades: dict[UUID | None, list[BacktestTrade]] = {}
    for the_id in chosen:
        result = store.get_backtest(the_id)
        if result is None:
            raise NotFoundError(f"no backtest {the_id}")
        results.append(result)
        trades[the_id] = store.get_trades(the_id)
    target = Path(path)
    target.write_text(render(results, trades), encoding="utf-8")
    return target


def render(results: list[BacktestResult], trades: dict[UUID | None, list[BacktestTrade]]) -> str:
    """The report's HTML."""
    go = need("plotly.graph_objects", "report", "backtest_store.report")
    subplots = need("plotly.subplots", "report", "backtest_store.report")
    fig = subplots.make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04,
        subplot_titles=("equity", "drawdown"),
    )  # fmt: skip
    notes: list[str] = []
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
    overlaid = len(results) > 1
    curves = [curve_of(r.equity_curve) for r in results]
    if overlaid:  # absolute money on one axis compares nothing: each starts at 1.0
        curves = tearsheet.rebased(curves)
        notes.append("equity rebased to 1.0 at the common start")
    for n, result in enumerate(results):
        color = palette[n % len(palette)]
        label = f"{result.symbol} {result.strategy_type} {str(result.backtest_id)[:8]}"
        curve = curves[n]
        xs, ys, timed = [_iso(x) for x in curve.x()], curve.values, curve.times is not None
        if not ys:
            notes.append(f"{label}: no equity curve stored")
            continue
        dx, dy = decimate(xs, ys)
        if len(dy) < len(ys):
            notes.append(f"{label}: {len(ys):,} points shown as {len(dy):,} (min/max per bucket)")
        group = str(result.backtest_id)
        line = {"color": color, "width": 1.5}
        fig.add_trace(go.Scattergl(x=dx, y=dy, mode="lines", name=label, legendgroup=group,
                                   line=line), row=1, col=1)  # fmt: skip
        stored = curve_of(result.drawdown_series)
        dd_x, dd_y = [_iso(x) for x in stored.x()], stored.values
        if not dd_y or overlaid:  # from the rebased curve: over the same span
            dd_x, dd_y = xs, tearsheet.underwater(ys)
        ddx, ddy = decimate(dd_x, dd_y)
        fill = "tozeroy" if len(results) == 1 else None  # overlaid: lines only
        fig.add_trace(go.Scattergl(x=ddx, y=[v * 100 for v in ddy], mode="lines", fill=fill,
                                   name=f"{label} drawdown %", legendgroup=group, line=line,
                                   showlegend=False), row=2, col=1)  # fmt: skip
        if timed:
            rows = trades[result.backtest_id]
            _trade_markers(go, fig, rows, xs, ys, group, color)
    title = (
        "backtest report"
        if len(results) != 1
        else f"{results[0].symbol} {results[0].strategy_type}"
    )
    if notes:
        title += "<br><sup>" + "; ".join(html.escape(n) for n in notes) + "</sup>"
    fig.update_layout(title=title, hovermode="x unified", height=720, template="plotly_white",
                      margin={"t": 90 if notes else 60})  # fmt: skip
    fig.update_yaxes(title_text="equity, rebased" if overlaid else "equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    chart: str = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    chart += "".join(tearsheet_html(go, subplots, r) for r in results)
    return _page(results, trades, chart, notes)


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
            text.append(f"#{t.trade_number} {t.direction} {side} @ {price}{pnl}")
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


STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 24px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; }
.note { color: #666; font-size: 12px; }
"""


def _page(results: list[BacktestResult], trades: dict[UUID | None, list[BacktestTrade]], chart: str,
          notes: list[str]) -> str:  # fmt: skip
    e = html.escape
    head = "".join(
        f"<th>{e(r.symbol)} {e(r.strategy_type)}<br><span class=note>{r.backtest_id}</span></th>"
        for r in results
    )
    rows = "".join(
        f"<tr><td>{e(m)} <span class=note>{e(units().get(m, ''))}</span></td>"
        + "".join(f"<td>{e(shown(m, getattr(r, m)))}</td>" for r in results)
        + "</tr>"
        for m in MEASURES
    )
    period = "".join(f"<td>{r.start_date} .. {r.end_date}</td>" for r in results)
    params = "".join(f"<td>{e(str(r.parameters or ''))}</td>" for r in results)
    metrics = (
        f"<table><thead><tr><th>metric</th>{head}</tr></thead><tbody><tr><td>period</td>"
        f"{period}</tr><tr><td>parameters</td>{params}</tr>{rows}</tbody></table>"
    )
    tables = "".join(_trades_table(r, trades[r.backtest_id]) for r in results)
    note = "".join(f"<p class=note>{e(n)}</p>" for n in notes)
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>backtest report</title>"
        f"<style>{STYLE}</style></head><body><h1>Backtest report</h1>{metrics}{chart}{note}"
        f"{tables}</body></html>"
    )


def _trades_table(result: BacktestResult, rows: list[BacktestTrade]) -> str:
    e = html.escape
    names = ("trade_number", "direction", "entry_time", "entry_price", "exit_time", "exit_price",
             "position_size", "pnl", "pnl_percent", "exit_reason")  # fmt: skip
    body = "".join(
        "<tr>" + "".join(f"<td>{e(_cell(t, n))}</td>" for n in names) + "</tr>"
        for t in rows[:MAX_TRADES_SHOWN]
    )
    more = (f"<p class=note>the first {MAX_TRADES_SHOWN:,} of {len(rows):,} trades</p>"
            if len(rows) > MAX_TRADES_SHOWN else "")  # fmt: skip
    head = "".join(f"<th>{n}</th>" for n in names)
    return (
        f"<h2>Trades: {e(result.symbol)} {e(result.strategy_type)} ({len(rows):,})</h2>"
        f"<table class=trades><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    )


def _cell(t: BacktestTrade, name: str) -> str:
    value = getattr(t, name)
    if name == "entry_time" and value is None:
        value = t.entry_date
    if name == "exit_time" and value is None:
        value = t.exit_date
    if value is None:
        return ""
    if name == "pnl_percent":
        return f"{float(value) * 100:.2f} %"
    return str(value)


def _iso(x: Any) -> Any:
    """A curve's x for the chart: a time as ISO text (naive UTC), a bar number as it is."""
    if isinstance(x, datetime):
        return x.astimezone(UTC).replace(tzinfo=None).isoformat()
    return x


CONFIG = {"displaylogo": False}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WORST = 5  # drawdowns in the table


def tearsheet_html(go: Any, subplots: Any, result: BacktestResult) -> str:
    """A backtest's tearsheet: monthly returns (a heatmap), yearly returns, rolling Sharpe
    ratio and volatility, and the worst drawdowns, from its stored equity curve."""
    e = html.escape
    curve = curve_of(result.equity_curve)
    title = f"{e(result.symbol)} {e(result.strategy_type)} {str(result.backtest_id)[:8]}"
    if len(curve) < 3:
        return f"<h2>Tearsheet: {title}</h2><p class=note>no equity curve to read it from</p>"
    parts = [f"<h2>Tearsheet: {title}</h2>"]
    monthly = tearsheet.monthly_returns(curve)
    if monthly:
        parts.append(_calendar_chart(go, subplots, curve, monthly))
    else:
        parts.append("<p class=note>calendar returns need a curve with timestamps</p>")
    roll = tearsheet.rolling(curve)
    if roll.x:
        when = [_iso(x) for x in roll.x]
        fig = subplots.make_subplots(
            rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
            subplot_titles=(f"rolling Sharpe ratio ({roll.window} bars)",
                            f"rolling volatility % ({roll.window} bars)"),
        )  # fmt: skip
        sx, sy = decimate(when, [float("nan") if s is None else s for s in roll.sharpe])
        vx, vy = decimate(when, [v * 100 for v in roll.volatility])
        fig.add_trace(go.Scattergl(x=sx, y=sy, mode="lines", name="Sharpe"), row=1, col=1)
        fig.add_trace(go.Scattergl(x=vx, y=vy, mode="lines", name="volatility %"), row=2, col=1)
        fig.update_layout(height=420, template="plotly_white", showlegend=False, margin={"t": 50})
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG))
    parts.append(_drawdowns_table(tearsheet.worst_drawdowns(curve, WORST)))
    return "".join(parts)


def _calendar_chart(
    go: Any, subplots: Any, curve: tearsheet.Curve, monthly: dict[tuple[int, int], float]
) -> str:
    """Monthly returns as a heatmap (a row a year), the yearly returns as bars beside it."""
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
    fig.update_layout(height=max(260, 40 * len(years) + 120), template="plotly_white",
                      margin={"t": 50})  # fmt: skip
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG))


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _drawdowns_table(drawdowns: list[tearsheet.Drawdown]) -> str:
    e = html.escape
    if not drawdowns:
        return "<p class=note>no drawdown: the curve never fell below a peak</p>"
    rows = "".join(
        f"<tr><td>{n}</td><td>{e(str(_iso(d.start)))}</td><td>{e(str(_iso(d.valley)))}</td>"
        f"<td>{e(str(_iso(d.recovery))) if d.recovery is not None else 'not recovered'}</td>"
        f"<td>{d.depth * 100:.2f} %</td><td>{d.length:,} bars</td></tr>"
        for n, d in enumerate(drawdowns, start=1)
    )
    head = "".join(f"<th>{h}</th>" for h in ("", "start", "valley", "recovery", "depth", "length"))
    return (
        f"<h3>The {len(drawdowns)} worst drawdowns</h3>"
        f"<table class=drawdowns><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
