# Generated from aio_driver.py by tools/async_to_sync.py: edit aio_driver.py, not this file.
"""The sync driver: run an operation's steps on a psycopg Connection, in the transaction
the store chooses. Generated from aio_driver.py; COPY of an encoded DataFrame is sent
from a writer thread while the next chunk is encoded (copy_writer.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from backtest_store.copy_writer import BoundedQueuedWriter
from backtest_store.json_policy import fast_json
from backtest_store.operations.steps import CopyIn, Fetch, Operation, Step

T = TypeVar("T")
Connection = psycopg.Connection[Any]


def execute(conn: Connection, step: Step) -> Any:
    """Run one step of an operation."""
    if isinstance(step, CopyIn) and step.encoded is not None:
        # a writer thread sends one chunk while the next is encoded
        with (
            conn.cursor() as cur,
            cur.copy(step.statement, writer=BoundedQueuedWriter(cur)) as copy,
        ):
            for chunk in step.rows:
                copy.write(chunk)
        return step.encoded
    if isinstance(step, CopyIn):
        count = 0
        with conn.cursor() as cur, cur.copy(step.statement) as copy:
            copy.set_types(list(step.types))
            write = copy.write_row
            for row in step.rows:
                write(row)
                count += 1
        return count
    made = step.row or tuple_row
    cursor: psycopg.Cursor[Any]
    if step.raw:  # $n placeholders: sent as it is, never parsed here
        cursor = psycopg.RawCursor(conn, row_factory=made)
    else:
        cursor = conn.cursor(row_factory=made)
    with cursor as cur:
        fast_json(cur)
        cur.execute(step.statement, step.params, prepare=step.prepare)
        return _result(cur, step)


def _result(cur: Any, step: Fetch) -> Any:
    if step.mode == "one":
        return cur.fetchone()
    if step.mode == "all":
        return cur.fetchall()
    if step.mode == "value":
        row = cur.fetchone()
        return None if row is None else row[0]
    return cur.rowcount


def idle(conn: Connection) -> bool:
    return conn.info.transaction_status == TransactionStatus.IDLE


def commits(conn: Connection, owned: bool) -> bool:
    """True when ``scope`` commits a transaction of its own (rather than a savepoint, or
    leaving the commit to the caller)."""
    return (conn.autocommit or owned) and idle(conn)


@contextmanager
def scope(conn: Connection, owned: bool = False) -> Iterator[None]:
    """The transaction an operation runs in, never committing one the caller owns.

    Autocommit and idle, or a pool's connection (``owned``: the call has it to itself): a
    transaction of our own, committed at the end, so that a failed COMMIT is ours to
    report. In a transaction already: a savepoint inside it. The caller's connection, not
    autocommit and idle: the DB-API way, the caller commits; the statements run in the
    transaction psycopg begins, which is rolled back if the operation fails (it held only
    the operation's own work).
    """
    if owned or conn.autocommit or not idle(conn):
        with conn.transaction():
            yield
        return
    try:
        yield
    except BaseException:
        conn.rollback()
        raise


def drive(conn: Connection, op: Operation[T], step: Step) -> T:
    """Run an operation's steps on a connection, from its first ``step``, until it returns."""
    try:
        while True:
            try:
                value = execute(conn, step)
            except pg.CheckViolation as exc:  # the operation knows the row: it may say more
                step = op.throw(exc)
                continue
            step = op.send(value)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
