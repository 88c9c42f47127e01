"""``backtest-store export`` and ``import``: results as JSON Lines, between databases.

One line per backtest, ``{"kind": "backtest", "backtest": {...}, "trades": [...],
"optimizations": [...], "walk_forward": [...]}``, and one per portfolio,
``{"kind": "portfolio", "portfolio": {...}}``; each record as ``serialize.to_json``
writes it: every stored value, ids and timestamps included, numbers as exact decimal
strings. Export reads one snapshot (a read-only REPEATABLE READ transaction).

Import saves each backtest with its children in one transaction through the store's bulk
paths, under the ids in the file. A backtest or portfolio that is already stored is
compared: the same record (children included) is left alone, so importing a file twice
changes nothing the second time; a different record under that id is reported and left
as stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from uuid import UUID

import psycopg

from backtest_store import migrations
from backtest_store.console import (
    BAD_INPUT,
    CommandError,
    database_url,
    day,
    open_store,
    positive,
)
from backtest_store.errors import ValidationError
from backtest_store.operations import MAX_LIMIT
from backtest_store.progress import progress
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.serialize import from_json, to_json
from backtest_store.store import BacktestStore

PAGE = 200


def export_lines(
    store: BacktestStore,
    *,
    symbol: str | None = None,
    strategy_type: str | None = None,
    status: str | None = None,
    since: Any = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The export's documents, backtests newest first, then portfolios (only when no
    backtest filter is given: portfolios have no symbol or strategy)."""
    after = None
    left = limit
    while left is None or left > 0:
        page = store.list_backtests(
            symbol=symbol, strategy_type=strategy_type, status=status, since=since,
            limit=min(PAGE, left or PAGE), after=after, with_series=True,
        )  # fmt: skip
        for result in page:
            yield backtest_document(store, result)
        if len(page) < PAGE:
            break
        after = page[-1]
        left = None if left is None else left - len(page)
    if symbol or strategy_type or status or since or limit:
        return
    after_p = None
    while True:
        portfolios = store.list_portfolios(limit=PAGE, after=after_p, with_series=True)
        for p in portfolios:
            yield {"kind": "portfolio", "portfolio": to_json(p)}
        if len(portfolios) < PAGE:
            break
        after_p = portfolios[-1]


def backtest_document(store: BacktestStore, result: BacktestResult) -> dict[str, Any]:
    the_id = result.backtest_id
    optimizations = store.best_parameters(the_id, limit=MAX_LIMIT)
    if len(optimizations) == MAX_LIMIT:
        raise CommandError(
            f"backtest {the_id} has more than {MAX_LIMIT:,} optimization results, more than "
            "export reads; nothing more was written", BAD_INPUT,
        )  # fmt: skip
    return {
        "kind": "backtest",
        "backtest": to_json(result),
        "trades": [to_json(t) for t in store.get_trades(the_id)],
        "optimizations": [to_json(o) for o in optimizations],
        "walk_forward": [to_json(w) for w in store.walk_forward_tests(the_id)],
    }


def export(args: argparse.Namespace) -> int:
    url = database_url(args.database)
    conn = migrations.connect(url, autocommit=False)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    out: IO[str] = (
        sys.stdout
        if args.output in (None, "-")
        else open(  # noqa: SIM115
            args.output, "w", encoding="utf-8"
        )
    )
    written = 0
    try:
        with conn, progress("exporting backtests") as advance:
            store = BacktestStore(conn)
            for document in export_lines(
                store, symbol=args.symbol, strategy_type=args.strategy, status=args.status,
                since=day(args.since),
                limit=None if args.limit is None else positive("--limit", args.limit),
            ):  # fmt: skip
                out.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
                written += 1
                advance(1)
            conn.rollback()  # read only: nothing to commit
    finally:
        if out is not sys.stdout:
            out.close()
    if out is not sys.stdout:
        print(f"exported {written:,} line(s) to {args.output}", file=sys.stderr)
    return 0


@dataclass
class Outcome:
    """What an import did."""

    imported: int = 0
    unchanged: int = 0
    children: int = 0
    differing: list[str] = field(default_factory=list)


def import_document(store: BacktestStore, document: dict[str, Any], where: str,
                    outcome: Outcome) -> None:  # fmt: skip
    kind = document.get("kind")
    if kind == "portfolio":
        portfolio = from_json(BacktestPortfolio, document["portfolio"], where=where)
        stored_p = store.get_portfolio(_key(portfolio.portfolio_backtest_id, where))
        if stored_p is None:
            store.save_portfolio(portfolio)
            outcome.imported += 1
        elif stored_p == portfolio:
            outcome.unchanged += 1
        else:
            outcome.differing.append(f"portfolio {portfolio.portfolio_backtest_id}")
        return
    if kind != "backtest":
        raise ValidationError(
            "line", "kind", kind, "backtest or portfolio", problem=f"is unknown{where}"
        )
    result = from_json(BacktestResult, document["backtest"], where=where)
    trades = [from_json(BacktestTrade, t, where=where) for t in document.get("trades", [])]
    optimizations = [from_json(OptimizationResult, o, where=where)
                     for o in document.get("optimizations", [])]  # fmt: skip
    windows = [from_json(WalkForwardTest, w, where=where) for w in document.get("walk_forward", [])]
    the_id = _key(result.backtest_id, where)
    stored = store.get_backtest(the_id)
    if stored is None:
        with store.transaction() as tx:
            tx.save_backtest(result, trades)
            if optimizations:
                tx.save_optimization_results(the_id, optimizations)
            if windows:
                tx.save_walk_forward_tests(the_id, windows)
        outcome.imported += 1
        outcome.children += len(trades) + len(optimizations) + len(windows)
        return
    same = (
        stored == result
        and _by_id(store.get_trades(the_id), "trade_id") == _by_id(trades, "trade_id")
        and _by_id(store.best_parameters(the_id, limit=MAX_LIMIT), "optimization_id")
        == _by_id(optimizations, "optimization_id")
        and _by_id(store.walk_forward_tests(the_id), "walk_forward_id")
        == _by_id(windows, "walk_forward_id")
    )
    if same:
        outcome.unchanged += 1
    else:
        outcome.differing.append(f"backtest {the_id}")


def _key(value: UUID | None, where: str) -> UUID:
    if value is None:
        raise ValidationError("line", "id", None, "the record's id", problem=f"is missing{where}")
    return value


def _by_id(records: list[Any], key: str) -> dict[Any, Any]:
    return {getattr(r, key): r for r in records}


def import_(args: argparse.Namespace) -> int:
    try:
        source: IO[str] = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}", BAD_INPUT) from None
    size = os.fstat(source.fileno()).st_size if source is not sys.stdin else None
    outcome = Outcome()
    with source, open_store(args.database) as store, progress("importing", size) as advance:
        for number, line in enumerate(source, start=1):
            advance(len(line.encode("utf-8")))
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CommandError(f"line {number} is not JSON: {exc.msg}", BAD_INPUT) from None
            if not isinstance(document, dict):
                raise CommandError(f"line {number} is not a JSON object", BAD_INPUT)
            try:
                import_document(store, document, f" (line {number})", outcome)
            except KeyError as exc:
                raise CommandError(f"line {number} has no {exc.args[0]!r}", BAD_INPUT) from None
    print(
        f"imported {outcome.imported:,} (with {outcome.children:,} trades, optimization results"
        f" and walk-forward windows), unchanged {outcome.unchanged:,}, "
        f"differing {len(outcome.differing):,}"
    )
    for what in outcome.differing:
        print(f"backtest-store import: {what} differs from the stored one; left as stored",
              file=sys.stderr)  # fmt: skip
    return 1 if outcome.differing else 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("export", parents=[database], help="write backtests as JSON Lines")
    p.add_argument("--symbol", metavar="S")
    p.add_argument("--strategy", metavar="NAME", help="strategy_type")
    p.add_argument("--status", metavar="S")
    p.add_argument("--since", metavar="DATE", help="run on or after DATE (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N backtests (default all)")
    p.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    p.set_defaults(handler=export)
    p = sub.add_parser("import", parents=[database], help="load a file that export wrote")
    p.add_argument("file", metavar="FILE", help="JSON Lines, or - for stdin")
    p.set_defaults(handler=import_)
