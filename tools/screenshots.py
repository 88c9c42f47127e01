"""``make screenshots``: docs/report.png, the report of three backtesting.py runs on GOOG
(the tests' strategy, three parameter sets), rendered by headless Chromium in a scratch
database on the test server."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

from backtesting import Backtest
from backtesting.test import GOOG
from tests.support.browser import render
from tests.support.dbs import scratch_database
from tests.test_adapter_backtesting import SmaCross

from backtest_store import BacktestStore, migrations
from backtest_store.adapters.backtesting import from_stats
from backtest_store.report import write_html

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    warnings.simplefilter("ignore")
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002)
    with scratch_database("bt_screenshots") as url, tempfile.TemporaryDirectory() as tmp:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            ids = []
            for fast in (5, 10, 15):
                result, trades = from_stats(bt.run(n1=fast), symbol="GOOG")
                ids.append(store.save_backtest(result, trades).backtest_id)
            page = write_html(store, ids, Path(tmp) / "report.html")
        shot = render(page, Path(tmp), width=1280, height=1500).screenshot
        DOCS.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS / "report.png")
    print(f"wrote {DOCS / 'report.png'}")


if __name__ == "__main__":
    main()
