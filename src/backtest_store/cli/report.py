"""backtest-store report: one self-contained HTML file of backtests (report.py renders it)."""

from __future__ import annotations

import argparse
from typing import Any

from backtest_store.cli.console import backtest_id, open_store
from backtest_store.report import write_html


def report(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        ids = [backtest_id(store, i) for i in args.ids]
        target = write_html(store, ids, args.output)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[database], help="one self-contained HTML report")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("-o", "--output", required=True, metavar="FILE.html")
    p.set_defaults(handler=report)
