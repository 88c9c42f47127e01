"""``backtest-store distribute``: the store's tables on a Citus cluster
(``backtest_store.distribution``). ``--dry-run`` prints every statement with the lock it
takes. Exit 2 when the database is not a Citus coordinator (or has no active workers, or
its tables are distributed some other way), 3 when it is not migrated; nothing is changed
then."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest_store.cli.console import BAD_INPUT
from backtest_store.cli.progress import terminal_progress
from backtest_store.distribution import DistributionError, distribute
from backtest_store.urls import redact, resolve_url


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    ds = sub.add_parser(
        "distribute",
        parents=[database],
        help="distribute the five tables on a Citus coordinator (one colocation group)",
        description="Give the child tables (parent id, own id) primary keys, hash-distribute "
        "all five tables by their backtest id in one colocation group and move the existing "
        "rows to the shards, in one transaction. Checks first; nothing is changed if a check "
        "fails. Running it again changes nothing.",
    )
    ds.add_argument(
        "--shard-count", type=int, metavar="N", help="shards per table (default: citus.shard_count)"
    )
    ds.add_argument(
        "--dry-run", action="store_true", help="print each statement and its lock; change nothing"
    )
    ds.set_defaults(handler=distribute_, prefix="backtest-store")


def distribute_(args: argparse.Namespace) -> int:
    url = resolve_url(args.database)
    try:
        plan = distribute(
            url, shard_count=args.shard_count, dry_run=args.dry_run, progress=terminal_progress()
        )
    except DistributionError as exc:
        print(f"backtest-store: {exc}", file=sys.stderr)
        return BAD_INPUT
    if args.dry_run or plan.nothing_to_do:
        print(plan.render())
        return 0
    total = sum(plan.seconds.values())
    times = ", ".join(f"{t} {s:.1f} s" for t, s in plan.seconds.items())
    print(f"distributed {redact(url)} in {total:.1f} s ({times})")
    return 0
