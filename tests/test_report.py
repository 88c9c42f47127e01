"""The HTML report in a real browser (headless Chromium, network cut off): the charts
render for one backtest, three overlaid (rebased to 1.0 at their common start), and a
year of minutes (525,600 points); each backtest's tearsheet (monthly and yearly returns,
rolling Sharpe and volatility, the worst drawdowns) is drawn from the same code as the
figures tests/test_tearsheet.py checks."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from devkit.browser import render
from devkit.minutes import YEAR_OF_MINUTES
from devkit.records import result, trade
from PIL import Image, ImageStat

from backtest_store import BacktestStore
from backtest_store.charts import MAX_POINTS, decimate
from backtest_store.report import write_html
from backtest_store.tearsheet import curve_of

pytestmark = pytest.mark.slow

TIMES: dict[str, float] = {}


def check(rendered: Any, traces: int) -> None:
    dom = rendered.dom
    assert 'class="main-svg"' in dom  # plotly laid the chart out
    assert "gl-canvas" in dom or "scatterlayer" in dom  # and drew the traces
    assert len(re.findall(r'class="legendtext"', dom)) >= traces
    assert "<table" in dom and "trades" in dom
    image = Image.open(rendered.screenshot).convert("L")
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 10  # not blank
    colours = Image.open(rendered.screenshot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50


def save_runs(url: str, n: int) -> list[UUID]:
    ids = []
    with BacktestStore.connect(url) as store:
        for k in range(n):
            curve = [
                [f"2024-01-{d + 1:02d}T00:00:00Z", 10_000 + 100 * d * (k + 1) * (-1) ** d]
                for d in range(30)
            ]
            saved = store.save_backtest(
                result(symbol=f"S{k}", equity_curve=curve, sharpe_ratio=1 + k, total_return=0.1 * k),
                [trade(i, entry_date=date(2024, 1, 2 + i), pnl=i - 3) for i in range(8)],
            )  # fmt: skip
            assert saved.backtest_id is not None
            ids.append(saved.backtest_id)
    return ids


def test_one_backtest(db_url: str, tmp_path: Path) -> None:
    (the_id,) = save_runs(db_url, 1)
    with BacktestStore.connect(db_url) as store:
        page = write_html(store, [the_id], tmp_path / "one.html")
    text = page.read_text()
    # offline: no script, style sheet or image is fetched; plotly.js is inline
    assert re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", text) is None
    assert "plotly.js" in text
    rendered = render(page, tmp_path)
    TIMES["one backtest"] = rendered.seconds
    check(rendered, traces=1)
    assert str(the_id) in rendered.dom
    check_tearsheets(rendered, page, 1, rolling=False)  # 30 days: shorter than the window


def check_tearsheets(rendered: Any, page: Path, backtests: int, *, rolling: bool) -> None:
    """Each backtest's tearsheet drew: the main chart, then its calendar chart, its rolling
    chart (when the curve is longer than the window: a quarter year of bars), and its
    worst-drawdowns table."""
    dom = rendered.dom
    assert dom.count("Tearsheet: ") == backtests
    charts = 1 + backtests * (2 if rolling else 1)
    assert len(re.findall(r'class="plot-container plotly"', dom)) == charts
    assert "monthly returns %" in dom and "yearly returns %" in dom
    assert ("rolling Sharpe ratio" in dom and "rolling volatility %" in dom) == rolling
    assert dom.count('class="drawdowns"') == backtests
    assert "heatmaplayer" in dom or "hm" in dom  # the heatmap's own layer


def test_three_overlaid(db_url: str, tmp_path: Path) -> None:
    ids = save_runs(db_url, 3)
    with BacktestStore.connect(db_url) as store:
        page = write_html(store, ids, tmp_path / "three.html")
    rendered = render(page, tmp_path)
    TIMES["three overlaid"] = rendered.seconds
    check(rendered, traces=3)
    for the_id in ids:
        assert str(the_id) in rendered.dom
    check_tearsheets(rendered, page, 3, rolling=False)
    # absolute money on one axis compares nothing: every overlaid curve starts at 1.0
    text = page.read_text()
    assert "equity rebased to 1.0 at the common start" in text
    starts = re.findall(r'"y":\[(1\.0|1)[,\]]', text)
    assert len(starts) >= 3, starts


def test_a_year_of_minutes_is_decimated_and_stays_small(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    row = conn.execute(YEAR_OF_MINUTES).fetchone()
    assert row is not None
    with BacktestStore.connect(db_url) as store:
        store.save_trades(
            row[0],
            [trade(i, entry_date=date(2023, 3, 1 + i)) for i in range(20)],
        )
        page = write_html(store, [row[0]], tmp_path / "minutes.html")
    size = page.stat().st_size
    assert size < 10_000_000, size
    text = page.read_text()
    assert f"525,600 points shown as {MAX_POINTS:,} (min/max per bucket)" in text
    rendered = render(page, tmp_path)
    TIMES["525,600-point curve"] = rendered.seconds
    check(rendered, traces=1)
    assert "525,600 points shown as" in rendered.dom  # stated in the chart itself
    check_tearsheets(rendered, page, 1, rolling=True)
    print(
        f"\nreport render times (s): {', '.join(f'{k} {v:.1f}' for k, v in TIMES.items())}; minutes file {size / 1e6:.1f} MB"
    )


def test_decimation_keeps_every_bucket_extreme() -> None:
    ys = [float((i * 7919) % 1000) for i in range(100_000)]
    ys[54_321] = 5000.0
    ys[77_777] = -5000.0
    xs = list(range(len(ys)))
    dx, dy = decimate(xs, ys, 400)
    assert len(dy) <= 400 and max(dy) == 5000.0 and min(dy) == -5000.0
    assert dx == sorted(dx)  # time order kept
    assert decimate([1, 2], [3.0, 4.0]) == ([1, 2], [3.0, 4.0])
    legacy = curve_of({"2023-01-02 00:00:00": 2, "2023-01-01 00:00:00": 1})  # sorted by time
    assert [t.isoformat() for t in legacy.times or []] == [
        "2023-01-01T00:00:00+00:00", "2023-01-02T00:00:00+00:00"]  # fmt: skip
    assert legacy.values == [1.0, 2.0]
    plain = curve_of([5, 6])
    assert plain.times is None and plain.x() == [0, 1] and plain.values == [5.0, 6.0]
