"""experiments: the runs grouped by their experiment, the one with the newest run first:
how many, when, who ran them and from how many code versions (``--json``: every count);
and ``list --duplicates``: the runs repeated."""

from __future__ import annotations

import argparse
from typing import Any

from backtest_store import documents
from backtest_store.cli.console import (
    NOT_FOUND,
    Col,
    CommandError,
    open_store,
    positive,
    print_json,
    print_table,
    short_id,
)
from backtest_store.facts import MAX_LIMIT
from backtest_store.metrics import params_text


def experiments(args: argparse.Namespace) -> int:
    limit = positive("--limit", args.limit, MAX_LIMIT)
    with open_store(args.database) as store:
        found = store.list_experiments(experiment=args.name, limit=limit)
    if args.name and not found:
        raise CommandError(f"no run of experiment {args.name!r}", NOT_FOUND)
    if args.json:
        print_json(documents.experiments(found))
        return 0
    columns = [Col("experiment"), Col("runs", right=True), Col("first run", 2),
               Col("last run", 3), Col("run by", 1, text=True),
               Col("code versions", 4, right=True)]  # fmt: skip
    cells = [[e.experiment, f"{e.runs:,}", e.first_run.strftime("%Y-%m-%d"),
              e.last_run.strftime("%Y-%m-%d"),
              ", ".join(f"{who or '(not recorded)'} {n:,}" for who, n in e.run_by.items()),
              f"{len(e.code_versions):,}"] for e in found]  # fmt: skip
    print_table(f"{len(found)} experiments, the newest run first", columns, cells,
                wide=args.wide)  # fmt: skip
    return 0


def duplicates(args: argparse.Namespace) -> int:
    """list --duplicates: the runs repeated, a group a row (the newest first)."""
    with open_store(args.database) as store:
        groups = store.list_duplicates(limit=positive("--limit", args.limit, MAX_LIMIT))
    if args.json:
        print_json(documents.duplicates(groups))
        return 0
    columns = [Col("strategy_type", 3, text=True), Col("parameters", 9, text=True),
               Col("period", 2), Col("code", 4), Col("runs", right=True),
               Col("ids", text=True)]  # fmt: skip
    cells = [[g.strategy_type, params_text(g.parameters), f"{g.start_date} .. {g.end_date}",
              (g.code_version or "")[:12], str(len(g.backtest_ids)),
              " ".join(short_id(i) for i in g.backtest_ids)] for g in groups]  # fmt: skip
    print_table(f"{len(groups)} runs repeated (same strategy, parameters, period, data and "
                "code)", columns, cells, wide=args.wide)  # fmt: skip
    return 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("experiments", parents=[database],
                       help="the runs grouped by experiment: who ran them, which code")  # fmt: skip
    p.add_argument("name", nargs="?", metavar="NAME", help="this experiment alone")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="default 50")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--wide", action="store_true", help="every column, however wide the terminal")
    p.set_defaults(handler=experiments)
