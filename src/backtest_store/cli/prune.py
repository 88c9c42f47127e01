"""``backtest-store prune``: retention through ``delete_backtests``.

It counts what will go first (backtests and, by cascade, their trades, optimization
results and walk-forward windows), asks on a terminal unless ``--yes``, then deletes batch
by batch with a progress bar. ``--dry-run`` only counts. Without a terminal and without
``--yes`` it refuses rather than delete unasked.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest_store.cli.console import (
    BAD_INPUT,
    BUSY,
    CommandError,
    cutoff,
    open_store,
    print_json,
)
from backtest_store.cli.progress import progress


def prune(args: argparse.Namespace) -> int:
    older_than = cutoff(args.older_than)
    with open_store(args.database) as store:
        counts = store.count_backtests(
            older_than=older_than, symbol=args.symbol, strategy_type=args.strategy
        )
        described = (
            f"{counts['backtests']:,} backtest(s) run before "
            f"{older_than.isoformat(timespec='seconds')}"
            f" with {counts['trades']:,} trade(s), {counts['optimizations']:,} optimization"
            f" result(s) and {counts['walk_forward']:,} walk-forward window(s)"
        )
        if args.json:
            print_json({"older_than": older_than, "dry_run": args.dry_run, **counts})
        if args.dry_run or counts["backtests"] == 0:
            if not args.json:
                print(f"would delete {described}" if args.dry_run else "nothing to delete")
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                raise CommandError(f"would delete {described}: pass --yes to confirm", BAD_INPUT)
            answer = input(f"delete {described}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 0
        with progress("deleting backtests", counts["backtests"]) as advance:
            deleted = store.delete_backtests(
                older_than=older_than, symbol=args.symbol, strategy_type=args.strategy,
                progress=advance,
            )  # fmt: skip
    if not args.json:
        print(f"deleted {deleted:,} backtest(s) and their children")
    if deleted < counts["backtests"]:  # batches skip rows other sessions hold locked
        left = counts["backtests"] - deleted
        raise CommandError(
            f"{left:,} of the {counts['backtests']:,} backtest(s) counted were not deleted "
            "(held by other sessions, or deleted by them meanwhile): run prune again",
            BUSY,
        )
    return 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("prune", parents=[database], help="delete old backtests (retention)")
    p.add_argument(
        "--older-than",
        required=True,
        metavar="DURATION|DATE",
        help="run before: 90d, 12w, 1y, 36h back from now, or a date YYYY-MM-DD",
    )
    p.add_argument("--symbol", metavar="S")
    p.add_argument("--strategy", metavar="NAME", help="strategy_type")
    p.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.add_argument("--json", action="store_true", help="the counts as JSON on stdout")
    p.set_defaults(handler=prune)
