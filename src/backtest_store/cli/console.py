"""What the data commands share: exit codes, opening the store, reading arguments,
printing JSON or a table.

Exit codes: 0 done, 1 not found (or another failure), 2 bad usage or bad input, 3 the
database cannot be reached, the connection was lost, or it is not migrated, 4 the database
is busy or short of resources for now (a deadlock, a serialization failure, a lock or
statement timeout, too many connections, a full disk), 5 the port ``serve`` was told to
listen on is in use. Errors go to stderr as one line, without a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from backtest_store import documents
from backtest_store.errors import (
    BacktestStoreError,
    ConnectionLostError,
    NotFoundError,
    PermissionDeniedError,
    QueryTimeoutError,
    ResourceError,
    SchemaVersionError,
    TransactionRollbackError,
    ValidationError,
)
from backtest_store.facts import MIN_ID_PREFIX, id_or_prefix
from backtest_store.rules import STATUSES
from backtest_store.store import BacktestStore

NOT_FOUND, BAD_INPUT, UNREACHABLE, BUSY, PORT_IN_USE = 1, 2, 3, 4, 5


class CommandError(BacktestStoreError):
    """A command's failure, with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def exit_code(error: BacktestStoreError) -> int:
    if isinstance(error, CommandError):
        return error.code
    if isinstance(error, NotFoundError):
        return NOT_FOUND
    if isinstance(error, ValidationError):
        return BAD_INPUT
    if isinstance(error, ConnectionLostError | SchemaVersionError | PermissionDeniedError):
        return UNREACHABLE
    if isinstance(error, TransactionRollbackError | QueryTimeoutError | ResourceError):
        return BUSY
    return 1


def database_url(database: str | None) -> str:
    """--database, else DATABASE_URL; bad usage when neither is given."""
    url = database or os.environ.get("DATABASE_URL")
    if not url:
        raise CommandError("no database given: pass --database URL or set DATABASE_URL", BAD_INPUT)
    return url


@contextmanager
def open_store(database: str | None, *, fill: bool = True) -> Iterator[BacktestStore]:
    try:
        with BacktestStore.connect(database_url(database), fill=fill) as store:
            yield store
    except SchemaVersionError as exc:  # said for the command line, not a Python caller
        raise SchemaVersionError(
            str(exc).split(", or pass check_schema=False")[0],
            current=exc.current, required=exc.required,
        ) from None  # fmt: skip


SHORT_ID = 8  # hex digits a table shows of an id, as git shows short hashes


def short_id(the_id: UUID | None) -> str:
    return "" if the_id is None else str(the_id)[:SHORT_ID]


def backtest_id(store: BacktestStore, text: str) -> UUID:
    """A whole backtest id, or a unique prefix of at least MIN_ID_PREFIX hex digits of
    one: not found is exit 1, an ambiguous prefix exit 2 listing the candidates."""
    digits = id_or_prefix(text)
    if isinstance(digits, UUID):
        return digits
    if digits is None:
        raise CommandError(
            f"{text!r} is not a backtest id: give the id, or at least {MIN_ID_PREFIX} of its "
            "first hex digits", BAD_INPUT,
        )  # fmt: skip
    found = store.backtest_ids(digits, limit=11)
    if not found:
        raise CommandError(f"no backtest id starts with {text}", NOT_FOUND)
    if len(found) > 1:
        shown = ", ".join(str(i) for i in found[:10]) + (", ..." if len(found) > 10 else "")
        raise CommandError(f"{text} is ambiguous: it starts {shown}", BAD_INPUT)
    return found[0]


def day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)", BAD_INPUT) from None


_DURATION = re.compile(r"^(\d+)\s*(h|d|w|y)$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
         "y": timedelta(days=365)}  # fmt: skip


def cutoff(text: str, now: datetime | None = None) -> datetime:
    """``--older-than``: a duration back from now (``90d``, ``12w``, ``1y``, ``36h``) or a
    date (midnight UTC)."""
    match = _DURATION.match(text.strip())
    if match:
        return (now or datetime.now(UTC)) - int(match[1]) * _UNIT[match[2]]
    the_day = day(text) if re.match(r"^\d{4}-\d{2}-\d{2}$", text) else None
    if the_day is None:
        raise CommandError(
            f"--older-than {text!r}: give a duration (90d, 12w, 1y, 36h) or a date (YYYY-MM-DD)",
            BAD_INPUT,
        )
    return datetime(the_day.year, the_day.month, the_day.day, tzinfo=UTC)


def positive(name: str, value: int, most: int | None = None) -> int:
    if value < 1 or (most is not None and value > most):
        limit = f"from 1 to {most:,}" if most is not None else "at least 1"
        raise CommandError(f"{name} must be {limit}, not {value:,}", BAD_INPUT)
    return value


def status_filter(value: str | None) -> str | None:
    """--status: one of the statuses the schema allows (else bad usage, listing them)."""
    if value is None or value in STATUSES:
        return value
    raise CommandError(f"--status {value!r}: one of {', '.join(STATUSES)}", BAD_INPUT)


def print_json(document: Any) -> None:
    sys.stdout.write(documents.dumps(document) + "\n")


WIDE = 10_000  # --wide: no terminal is this wide, so nothing is left out


def console(wide: bool = False) -> Any:
    from rich.console import Console

    # a terminal's own width; in a pipe or a file wide enough for a row per record
    width = WIDE if wide else None if sys.stdout.isatty() else 200
    return Console(highlight=False, soft_wrap=False, width=width)


@dataclass(frozen=True)
class Col:
    """A column of a printed table. ``keep``: how much it matters; when the table is wider
    than the terminal, the columns that matter least are left out first (``keep`` 0 never).
    ``text``: its values may be shortened with an ellipsis once nothing more can be left
    out; numbers, dates and ids never are."""

    name: str
    keep: int = 0
    right: bool = False
    text: bool = False


def print_table(title: str, columns: list[Col], rows: list[list[str]], *, wide: bool,
                shared: str = "") -> None:  # fmt: skip
    """A table that fits the terminal: whole columns are left out, least important first,
    and the title says which; a number is never cut. A column that holds one value in
    every row tells no row apart: it goes first, and the title gives its value (beside
    ``shared``, what the caller knows every row shares). ``wide``: every column."""
    from rich.table import Table

    out = console(wide)
    shown = list(range(len(columns)))
    natural = [max([len(c.name), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    same = {i for i, c in enumerate(columns) if c.keep > 0 and len(rows) > 1
            and all(r[i] == rows[0][i] for r in rows)}  # fmt: skip

    def width(kept: list[int]) -> int:  # rich's box: a bar and a space each side of a cell
        return sum(natural[i] + 3 for i in kept) + 1

    dropped: list[int] = []
    while width(shown) > out.width:
        droppable = [i for i in shown if columns[i].keep > 0]
        if not droppable:
            break
        gone = min(droppable, key=lambda i: (i not in same, columns[i].keep, -i))
        shown.remove(gone)
        dropped.append(gone)
    for i in reversed(dropped):  # a narrow column that fits after all comes back
        if width([*shown, i]) <= out.width:
            shown = sorted([*shown, i])
            dropped.remove(i)
    constant = [f"{columns[i].name} {rows[0][i]}" for i in dropped if i in same and rows[0][i]]
    constant += [shared] if shared else []
    left_out = [columns[i].name for i in dropped if i not in same]  # empty everywhere: unsaid
    notes = [f"every row: {', '.join(constant)}"] if constant else []
    if left_out:
        notes.append(f"left out for the width: {', '.join(left_out)}")
    if dropped:
        notes.append("--wide shows all")
    table = Table(title=title + (f" ({'; '.join(notes)})" if notes else ""))
    for i in shown:
        c = columns[i]
        table.add_column(
            c.name, justify="right" if c.right else "left", no_wrap=True,
            overflow="ellipsis" if c.text else "fold",
            min_width=None if c.text else natural[i],
        )  # fmt: skip
    for r in rows:
        table.add_row(*(r[i] for i in shown))
    out.print(table)
