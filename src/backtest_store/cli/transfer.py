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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, Literal
from uuid import UUID

import psycopg

from backtest_store.cli.console import (
    BAD_INPUT,
    CommandError,
    backtest_id,
    database_url,
    day,
    exit_code,
    open_store,
    positive,
    status_filter,
)
from backtest_store.cli.progress import progress
from backtest_store.errors import BacktestStoreError, ValidationError, translate
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.serialize import from_json, to_json
from backtest_store.store import BacktestStore
from backtest_store.urls import connect

PAGE = 200

# Each child table of a backtest, in the file's order (store.iter_children streams each in
# a total order: exporting the same rows writes the same bytes)
CHILDREN: tuple[Literal["trades", "optimizations", "walk_forward"], ...] = (
    "trades", "optimizations", "walk_forward",
)  # fmt: skip


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def listed_ids(
    store: BacktestStore,
    *,
    symbol: str | None = None,
    strategy_type: str | None = None,
    status: str | None = None,
    since: Any = None,
    limit: int | None = None,
) -> list[UUID]:
    """The ids of the backtests an export writes, newest first, read a page at a time
    without their series (so the progress bar knows the total before the first line)."""
    ids: list[UUID] = []
    after = None
    while limit is None or len(ids) < limit:
        page = store.list_backtests(
            symbol=symbol, strategy_type=strategy_type, status=status, since=since,
            limit=min(PAGE, PAGE if limit is None else limit - len(ids)), after=after,
        )  # fmt: skip
        ids += [light.backtest_id for light in page if light.backtest_id is not None]
        if len(page) < PAGE:
            break
        after = page[-1]
    return ids


def portfolio_lines(store: BacktestStore) -> Iterator[str]:
    """One line per portfolio, newest first."""
    after = None
    while True:
        portfolios = store.list_portfolios(limit=PAGE, after=after)
        for light in portfolios:
            portfolio = store.get_portfolio(light.portfolio_backtest_id)
            if portfolio is not None:
                yield dumps({"kind": "portfolio", "portfolio": to_json(portfolio)}) + "\n"
        if len(portfolios) < PAGE:
            break
        after = portfolios[-1]


def backtest_line(store: BacktestStore, result: BacktestResult) -> Iterator[str]:
    """``{"kind": "backtest", "backtest": {...}, "trades": [...], "optimizations": [...],
    "walk_forward": [...]}`` and a newline, the same text ``dumps`` makes of the whole
    document, in pieces."""
    assert result.backtest_id is not None
    yield '{"kind":"backtest","backtest":' + dumps(to_json(result))
    for name in CHILDREN:
        yield f',"{name}":['
        for n, row in enumerate(store.iter_children(result.backtest_id, name)):
            yield ("," if n else "") + dumps(to_json(row))
        yield "]"
    yield "}\n"


def export(args: argparse.Namespace) -> int:
    url = database_url(args.database)
    status = status_filter(args.status)
    limit = None if args.limit is None else positive("--limit", args.limit)
    filtered = bool(args.symbol or args.strategy or status or args.since or limit)
    if args.ids and filtered:
        raise CommandError("give backtest ids or filters, not both", BAD_INPUT)
    conn = connect(url, autocommit=False)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    with conn:
        store = BacktestStore(conn)
        if args.ids:
            ids = [backtest_id(store, text) for text in args.ids]  # before the file is made
        else:
            ids = listed_ids(store, symbol=args.symbol, strategy_type=args.strategy,
                             status=status, since=day(args.since), limit=limit)  # fmt: skip
        portfolios = not (args.ids or filtered)  # portfolios have no symbol or strategy
        try:
            if args.output in (None, "-"):
                written = _write(store, ids, portfolios, sys.stdout)
            else:
                written = _write_file(store, ids, portfolios, args.output)
            conn.rollback()  # read only: nothing to commit
        except psycopg.Error as exc:  # a child stream (the store's own calls translate theirs)
            raise translate(exc, "export") from exc
    if args.output not in (None, "-"):
        print(f"exported {written:,} line(s) to {args.output}", file=sys.stderr)
    return 0


def _write_file(store: BacktestStore, ids: list[UUID], portfolios: bool, path: str) -> int:
    """The export written beside ``path`` under a temporary name, renamed to ``path`` only
    once it is whole: an export that stops part-way (Ctrl-C, an error) leaves no file that
    looks complete, and an older file at ``path`` stays as it was."""
    target = os.path.abspath(path)
    handle, partial = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                       suffix=".partial", dir=os.path.dirname(target))  # fmt: skip
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(partial, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            written = _write(store, ids, portfolios, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        os.unlink(partial)
        raise
    return written


def _write(store: BacktestStore, ids: list[UUID], portfolios: bool, out: IO[str]) -> int:
    """Every backtest of ``ids`` with its children (the progress bar counts them against
    their total), then the portfolios when ``portfolios``; the lines written."""
    written = 0
    with progress("exporting backtests", len(ids)) as advance:
        for piece in chosen_lines(store, ids):
            out.write(piece)
            if piece.endswith("\n"):
                written += 1
                advance(1)
    if portfolios:
        for line in portfolio_lines(store):
            out.write(line)
            written += 1
    return written


def chosen_lines(store: BacktestStore, ids: list[UUID]) -> Iterator[str]:
    """The lines of the backtests given by id, in the order given."""
    for the_id in ids:
        result = store.get_backtest(the_id)  # with its series, one at a time
        if result is not None:  # never None in the export's snapshot
            yield from backtest_line(store, result)


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
    trades = [from_json(BacktestTrade, t, where=where) for t in _array(document, "trades", where)]
    optimizations = [from_json(OptimizationResult, o, where=where)
                     for o in _array(document, "optimizations", where)]  # fmt: skip
    windows = [from_json(WalkForwardTest, w, where=where)
               for w in _array(document, "walk_forward", where)]  # fmt: skip
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
        stored == replace(result, saved_by=stored.saved_by)  # saved_by: the importing role
        and _by_id(store.get_trades(the_id), "trade_id") == _by_id(trades, "trade_id")
        and _by_id(store.optimization_results(the_id), "optimization_id")
        == _by_id(optimizations, "optimization_id")
        and _by_id(store.walk_forward_tests(the_id), "walk_forward_id")
        == _by_id(windows, "walk_forward_id")
    )
    if same:
        outcome.unchanged += 1
    else:
        outcome.differing.append(f"backtest {the_id}")


def _array(document: dict[str, Any], name: str, where: str) -> list[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise ValidationError("line", name, value, "a JSON array of objects",
                              problem=f"is not an array{where}")  # fmt: skip
    return value


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
    total = _line_count(args.file) if source is not sys.stdin else None
    outcome = Outcome()
    with (
        source,
        open_store(args.database, fill=False) as store,
        progress("importing backtests", total) as advance,
    ):
        try:
            for number, line in _lines(source, args.file):
                if line.strip():
                    document = _document(line, number)
                    try:
                        import_document(store, document, f" (line {number})", outcome)
                    except KeyError as exc:
                        raise CommandError(f"line {number} has no {exc.args[0]!r}",
                                           BAD_INPUT) from None  # fmt: skip
                advance(1)
        except (BacktestStoreError, KeyboardInterrupt) as exc:
            raise _stopped(exc, outcome) from None
    print(
        f"imported {outcome.imported:,} (with {outcome.children:,} trades, optimization results"
        f" and walk-forward windows), unchanged {outcome.unchanged:,}, "
        f"differing {len(outcome.differing):,}"
    )
    for what in outcome.differing:
        print(f"backtest-store import: {what} differs from the stored one; left as stored",
              file=sys.stderr)  # fmt: skip
    return 1 if outcome.differing else 0


def _stopped(error: BaseException, outcome: Outcome) -> BacktestStoreError:
    """The error an import stopped on, saying what the lines before it did: each line is
    its own transaction, so they are stored, and a second run leaves them alone."""
    code, message = 130, "interrupted"
    if isinstance(error, BacktestStoreError):
        code, message = exit_code(error), str(error)
    before = outcome.imported + outcome.unchanged + len(outcome.differing)
    if not before:
        return CommandError(f"{message}; nothing was imported", code)
    return CommandError(
        f"{message}; the {before:,} line(s) before it are done ({outcome.imported:,} imported, "
        f"{outcome.unchanged:,} unchanged, {len(outcome.differing):,} differing: one "
        "transaction a line), and running import again resumes: it leaves what is stored as "
        "it is", code,
    )  # fmt: skip


def _document(line: str, number: int) -> dict[str, Any]:
    """One line's JSON object; anything else is bad input naming the line."""
    try:
        document = json.loads(line)
    except json.JSONDecodeError as exc:
        cut = "" if line.endswith("\n") else " (the file ends inside this line: cut short?)"
        at = "" if exc.msg.endswith(" at") else " at"  # "Unterminated string starting at"
        raise CommandError(f"line {number} is not JSON: {exc.msg}{at} column {exc.colno}{cut}",
                           BAD_INPUT) from None  # fmt: skip
    except ValueError:  # an integer past Python's limit of digits
        raise CommandError(
            f"line {number} holds a number of over {sys.get_int_max_str_digits():,} digits: "
            "import reads numbers as export writes them (decimal strings)", BAD_INPUT,
        ) from None  # fmt: skip
    except RecursionError:
        raise CommandError(f"line {number} nests its JSON deeper than import reads",
                           BAD_INPUT) from None  # fmt: skip
    if not isinstance(document, dict):
        raise CommandError(f"line {number} is not a JSON object (export writes one a line)",
                           BAD_INPUT)  # fmt: skip
    return document


def _line_count(path: str) -> int | None:
    """The lines of a file (the progress bar's total), or None for a pipe or a device."""
    if not os.path.isfile(path):
        return None
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _lines(source: IO[str], name: str) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered; a file that is not UTF-8 text is bad input."""
    number = 0
    try:
        for number, line in enumerate(source, start=1):
            yield number, line
    except UnicodeDecodeError:
        raise CommandError(
            f"{name} is not UTF-8 text (line {number + 1}): import reads the JSON Lines that "
            "export writes", BAD_INPUT,
        ) from None  # fmt: skip


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("export", parents=[database], help="write backtests as JSON Lines")
    p.add_argument(
        "ids", nargs="*", metavar="ID",
        help="only these backtests (ids, or unique prefixes of 6+ hex digits)",
    )  # fmt: skip
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
