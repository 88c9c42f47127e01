"""``backtest-store report`` and ``write_html``: one self-contained HTML file per set of
backtests (extra ``backtest-store[report]``, plotly).

The file opens offline: plotly.js and every style are inline, nothing is fetched. It
holds the metrics table (each metric in its column's unit), skill or selection (the
deflated Sharpe ratio against the trials of the run's grid), the equity curve and the
drawdown as interactive charts (zoom, pan, hover; several backtests overlaid), each
trade's entry and exit on the equity curve, and a trades table. A curve longer than
``charts.MAX_POINTS`` is decimated for display (the lowest and highest point of each bucket, in
time order), and the chart says so; the numbers in the tables are never decimated.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

from backtest_store import assessment, charts, tearsheet
from backtest_store._extras import need
from backtest_store.assessment import Assessment
from backtest_store.errors import RecordNotFoundError
from backtest_store.metrics import FOOTNOTE, MEASURES, benchmark, label, origin, percent, shown
from backtest_store.records import BacktestResult, BacktestTrade
from backtest_store.tearsheet import curve_of, iso

MAX_TRADES_SHOWN = 500  # rows of each trades table


def write_html(store: Any, ids: Iterable[UUID | None], path: str | Path) -> Path:
    """Write the report of the given backtests (a BacktestStore's) to ``path``; returns
    the path. RecordNotFoundError names an id that is not stored."""
    chosen = list(ids)
    results: list[BacktestResult] = []
    trades: dict[UUID | None, list[BacktestTrade]] = {}
    judged: dict[UUID | None, Assessment] = {}
    for the_id in chosen:
        result = store.get_backtest(the_id)
        if result is None:
            raise RecordNotFoundError(f"no backtest {the_id}")
        results.append(result)
        trades[the_id] = store.get_trades(the_id)
        judged[the_id] = store.assess(the_id)
    target = Path(path)
    target.write_text(render(results, trades, judged), encoding="utf-8")
    return target


def render(results: list[BacktestResult], trades: dict[UUID | None, list[BacktestTrade]],
           judged: Mapping[UUID | None, Assessment]) -> str:  # fmt: skip
    """The report's HTML; ``judged`` holds each backtest's ``assess``."""
    figure, notes = charts.equity_figure(results, trades, gl=True)
    title = (
        "backtest report"
        if len(results) != 1
        else html.escape(f"{results[0].symbol} {results[0].strategy_type}")
    )
    if notes:
        title += "<br><sup>" + "; ".join(html.escape(n, quote=False) for n in notes) + "</sup>"
    figure["layout"].update(title={"text": title}, height=720, margin={"t": 90 if notes else 60})
    chart = _html(figure, include_plotlyjs=True)
    chart += "".join(tearsheet_html(r, judged[r.backtest_id]) for r in results)
    return _page(results, trades, chart, notes)


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
        f"<tr><td>{e(m)} <span class=note>{e(label(m))}</span></td>"
        + "".join(f"<td>{e(shown(m, getattr(r, m)))}</td>" for r in results)
        + "</tr>"
        for m in MEASURES
    )
    period = "".join(f"<td>{r.start_date} .. {r.end_date}</td>" for r in results)
    params = "".join(f"<td>{e(str(r.parameters or ''))}</td>" for r in results)
    metrics = (
        f"<table><thead><tr><th>metric</th>{head}</tr></thead><tbody><tr><td>period</td>"
        f"{period}</tr><tr><td>parameters</td>{params}</tr>{rows}</tbody></table>"
        f"<p class=note>{e(FOOTNOTE)}</p>"
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
        return percent(value)
    return str(value)


CONFIG = {"displaylogo": False}
WORST = 5  # drawdowns in the table


def tearsheet_html(result: BacktestResult, judged: Assessment) -> str:
    """A backtest's tearsheet: skill or selection (``judged``), monthly returns (a
    heatmap), yearly returns, rolling Sharpe ratio and volatility, and the worst
    drawdowns, from its stored equity curve."""
    curve = curve_of(result.equity_curve)
    title = html.escape(charts.title(result))
    came = " · ".join(f"{html.escape(name)} <code>{html.escape(text)}</code>"
                      for name, text in origin(result))  # fmt: skip
    against = benchmark(result)
    head = f"<h2>Tearsheet: {title}</h2>" + (f"<p class=note>from {came}</p>" if came else "")
    head += f"<p>benchmark {html.escape(against)}</p>" if against else ""
    head += _skill_html(judged)
    if len(curve) < 3:
        return f"{head}<p class=note>no equity curve to read it from</p>"
    parts = [head]
    calendar = charts.calendar_figure(curve)
    if calendar is not None:
        parts.append(_html(calendar))
    else:
        parts.append("<p class=note>calendar returns need a curve with timestamps</p>")
    roll = charts.rolling_figure(curve, gl=True)
    if roll is not None:
        parts.append(_html(roll))
    parts.append(_drawdowns_table(tearsheet.worst_drawdowns(curve, WORST)))
    return "".join(parts)


def _skill_html(judged: Assessment) -> str:
    """The "skill or selection" panel: PSR, trials, the hurdle beside the Sharpe ratio,
    DSR and the verdict, as the web view's tearsheet shows them."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(name)}</td><td>{e(text)}</td></tr>"
                   for name, text in assessment.panel(judged))  # fmt: skip
    why = f"<p class=note>why a figure is missing: {e(judged.reason)}</p>" if judged.reason else ""
    return (
        f"<section class=skill><h3>Skill or selection</h3><table><tbody>{rows}</tbody></table>"
        f"<p class=verdict>{e(judged.verdict)}</p>{why}</section>"
    )


def _html(figure: charts.Figure, include_plotlyjs: bool = False) -> str:
    """A figure as HTML, drawn by plotly's own template for the report."""
    pio = need("plotly.io", "report", "backtest_store.report")
    figure["layout"]["template"] = pio.templates["plotly_white"].to_plotly_json()
    html_text: str = pio.to_html(figure, full_html=False, include_plotlyjs=include_plotlyjs,
                                 config=CONFIG, validate=False)  # fmt: skip
    return html_text


def _drawdowns_table(drawdowns: list[tearsheet.Drawdown]) -> str:
    e = html.escape
    if not drawdowns:
        return "<p class=note>no drawdown: the curve never fell below a peak</p>"
    rows = "".join(
        f"<tr><td>{n}</td><td>{e(str(iso(d.start)))}</td><td>{e(str(iso(d.valley)))}</td>"
        f"<td>{e(str(iso(d.recovery))) if d.recovery is not None else 'not recovered'}</td>"
        f"<td>{d.depth * 100:.2f} %</td><td>{d.length:,} bars</td></tr>"
        for n, d in enumerate(drawdowns, start=1)
    )
    head = "".join(f"<th>{h}</th>" for h in ("", "start", "valley", "recovery", "depth", "length"))
    return (
        f"<h3>The {len(drawdowns)} worst drawdowns</h3>"
        f"<table class=drawdowns><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
