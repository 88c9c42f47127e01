"""``make screenshots``: the README's pictures, from backtesting.py runs on GOOG (the tests'
strategy over a grid of parameters) in a scratch database on the test server:

- docs/report.png: the offline report of three runs (headless Chromium);
- docs/web-list.png, docs/web-tearsheet.png, docs/web-compare.png: the web view, served
  and opened in Playwright's chromium.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from datetime import date
from pathlib import Path
from typing import Any

from backtesting import Backtest
from backtesting.test import GOOG
from devkit.browser import render
from devkit.dbs import scratch_database
from devkit.engines import SmaCross
from devkit.serving import browser, served

from backtest_store import BacktestStore, WalkForwardTest, migrations
from backtest_store.adapters.backtesting import from_heatmap, from_stats
from backtest_store.report import write_html

DOCS = Path(__file__).resolve().parents[1] / "docs"


def fill(store: BacktestStore, bt: Any) -> list[Any]:
    """A grid of runs, newest last; the best by Sharpe gets its optimization and windows."""
    ids = []
    for n1 in (5, 10, 15, 20, 25):
        for n2 in (30, 50, 70, 90):
            result, trades = from_stats(bt.run(n1=n1, n2=n2), symbol="GOOG")
            ids.append(store.save_backtest(result, trades).backtest_id)
    best = store.top_backtests(metric="sharpe_ratio", limit=1)[0]
    _, heatmap = bt.optimize(n1=[5, 10, 15, 20, 25], n2=[30, 50, 70, 90],
                             maximize="Sharpe Ratio", return_heatmap=True)  # fmt: skip
    grid = from_heatmap(heatmap, objective_function="sharpe_ratio")
    store.save_optimization_results(best.backtest_id, grid)
    windows = [
        WalkForwardTest(
            window_size_months=24, step_size_months=12, training_start=date(2005 + y, 1, 1),
            training_end=date(2006 + y, 12, 31), test_period_start=date(2007 + y, 1, 1),
            test_period_end=date(2007 + y, 12, 31), optimal_parameters={"n1": 10, "n2": 50},
            training_performance=0.1 + y / 50, out_of_sample_return=0.08 - y / 40,
        )
        for y in range(5)
    ]  # fmt: skip
    store.save_walk_forward_tests(best.backtest_id, windows)
    return [best.backtest_id, *ids]


def main() -> None:
    warnings.simplefilter("ignore")
    from backtest_store.web import create_app

    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002)
    with scratch_database("bt_screenshots") as url, tempfile.TemporaryDirectory() as tmp:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            best, *ids = fill(store, bt)
            page = write_html(store, ids[4:7], Path(tmp) / "report.html")
        shot = render(page, Path(tmp), width=1280, height=1500).screenshot
        DOCS.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS / "report.png")
        with served(create_app(url)) as base, browser(1280, 900) as watched:
            p = watched.page
            p.goto(base + "/?sort=sharpe_ratio")
            p.screenshot(path=str(DOCS / "web-list.png"))
            p.goto(f"{base}/backtests/{best}")
            watched.charts_drawn()
            p.screenshot(path=str(DOCS / "web-tearsheet.png"), full_page=True)
            p.goto(f"{base}/compare?ids={best},{ids[0]},{ids[-1]}")
            watched.charts_drawn()
            p.screenshot(path=str(DOCS / "web-compare.png"), full_page=True)
            assert watched.errors == [], watched.errors
    for name in ("report.png", "web-list.png", "web-tearsheet.png", "web-compare.png"):
        print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
