"""The steps an operation yields, and the protocol its driver follows.

An operation is a generator (sans-I/O, like psycopg's own generators): it validates its
input, yields the statements to run (``Fetch``, ``CopyIn`` or ``Stream``), receives each
result, and returns the operation's value. A driver (``aio.py``, and ``store.py``
generated from it) starts it with ``first_step`` before it takes a connection, runs each
step, sends the result back, throws a CHECK violation into it (the operation knows the
row and adds what it broke), and runs it inside one transaction unless
``one_statement`` says the step is the whole of it."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from uuid import uuid4

from psycopg import sql
from psycopg.rows import BaseRowFactory

from backtest_store.operations.rows import RecordRow
from backtest_store.operations.sql import Statement
from backtest_store.records import (
    Record,
)

T = TypeVar("T")


R = TypeVar("R", bound=Record)


Mode = Literal["one", "all", "value", "rowcount"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """Run one statement; hand back one row, all rows, one value or the row count."""

    statement: str | sql.Composed
    params: Any
    mode: Mode
    row: BaseRowFactory[Any] | None = None
    # False: plan with the actual values every time. For filters whose best plan depends
    # on the value (a rare jsonb key, a small symbol), a prepared statement's generic plan
    # can be orders of magnitude slower.
    prepare: bool | None = None
    # True: this statement is all the operation does (a read, or one atomic write such as
    # a result saved with its trades), so on an idle autocommit connection it runs as its
    # own transaction: one round trip, no BEGIN and COMMIT around it.
    whole: bool = False
    # True: the statement's placeholders are PostgreSQL's own ($1, $2, ...) and it is sent
    # as it is (psycopg's raw cursor), never parsed on the client. For a statement of more
    # than 50 parameters, which psycopg would parse afresh on every call.
    raw: bool = False


@dataclass(frozen=True, slots=True)
class CopyIn:
    """COPY rows into a table (binary); hand back the number of rows. With ``encoded``
    (the row count), ``rows`` is the binary COPY stream itself, in chunks of bytes."""

    statement: sql.Composed
    types: tuple[str, ...]
    rows: Iterable[Any]
    encoded: int | None = None


@dataclass(frozen=True, slots=True)
class Stream:
    """Read rows through a server-side cursor, ``batch_size`` at a time, with bounded
    memory: not a step of an operation but a read of its own, whose rows the driver
    yields as they arrive (``iter_trades``)."""

    statement: str
    params: Any
    row: BaseRowFactory[Any]
    batch_size: int
    name: str = field(default_factory=lambda: f"backtest_store_{uuid4().hex}")


Step = Fetch | CopyIn


Operation = Generator[Step, Any, T]


@dataclass(frozen=True, slots=True)
class Done:
    """An operation that finished without a statement (e.g. nothing to save)."""

    value: Any


def first_step(op: Operation[Any]) -> Step | Done:
    """Start an operation: its first step, or Done. Input is validated here, before any
    connection or transaction is used."""
    try:
        return next(op)
    except StopIteration as done:
        return Done(done.value)


def one_statement(first: Step, *, read: bool, autocommit_idle: bool) -> bool:
    """True when the operation may run without a transaction around it: on an idle
    autocommit connection, a read (each statement sees committed data), or a write whose
    first statement is the whole of it (``Fetch.whole``: one round trip, no BEGIN and
    COMMIT). The driver then reports a lost connection of a write as "may have been
    committed", as it would a COMMIT in flight."""
    return autocommit_idle and (read or (isinstance(first, Fetch) and first.whole))


def fetch(
    statement: Statement,
    mode: Mode,
    row: BaseRowFactory[Any] | None = None,
    *,
    custom_plan: bool = False,
) -> Fetch:
    if isinstance(row, RecordRow):  # records of this statement's columns: the maker kept
        row = row.of(statement.sql)
    return Fetch(statement.sql, statement.params, mode, row, False if custom_plan else None)
