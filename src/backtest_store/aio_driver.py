"""The async driver: run an operation's steps on a psycopg AsyncConnection, in the
transaction the store chooses. ``driver.py`` is generated from it (tools/async_to_sync.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from backtest_store.copy_writer import BoundedQueuedWriter
from backtest_store.json_policy import deferrals, deferred, deferring, fast_json, resolve
from backtest_store.operations.steps import CopyIn, Fetch, Operation, Step

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]


async def execute(conn: Connection, step: Step) -> Any:
    """Run one step of an operation."""
    if isinstance(step, CopyIn) and step.encoded is not None:
        if True:  # ASYNC
            # each chunk of the frame is encoded in a worker thread: the event loop goes on
            # while it is made, and the stream is sent as it comes (a few MB at a time)
            async with conn.cursor() as cur, cur.copy(step.statement) as copy:
                chunks = iter(step.rows)
                while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                    await copy.write(chunk)
        else:
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
        async with conn.cursor() as cur, cur.copy(step.statement) as copy:
            copy.set_types(list(step.types))
            write = copy.write_row
            for row in step.rows:
                await write(row)
                count += 1
        return count
    made = step.row or tuple_row
    cursor: psycopg.AsyncCursor[Any]
    if step.raw:  # $n placeholders: sent as it is, never parsed here
        cursor = psycopg.AsyncRawCursor(conn, row_factory=made)
    else:
        cursor = conn.cursor(row_factory=made)
    async with cursor as cur:
        if True:  # ASYNC
            # a large series (a year of minutes) is parsed in a worker thread, in pieces:
            # the event loop answers other requests meanwhile
            deferring(cur)
            since = deferrals()
            await cur.execute(step.statement, step.params, prepare=step.prepare)
            result = await _result(cur, step)
            return await asyncio.to_thread(resolve, result) if deferred(result, since) else result
        else:
            fast_json(cur)
            cur.execute(step.statement, step.params, prepare=step.prepare)
            return _result(cur, step)


async def _result(cur: Any, step: Fetch) -> Any:
    if step.mode == "one":
        return await cur.fetchone()
    if step.mode == "all":
        return await cur.fetchall()
    if step.mode == "value":
        row = await cur.fetchone()
        return None if row is None else row[0]
    return cur.rowcount


def idle(conn: Connection) -> bool:
    return conn.info.transaction_status == TransactionStatus.IDLE


def commits(conn: Connection, owned: bool) -> bool:
    """True when ``scope`` commits a transaction of its own (rather than a savepoint, or
    leaving the commit to the caller)."""
    return (conn.autocommit or owned) and idle(conn)


@asynccontextmanager
async def scope(conn: Connection, owned: bool = False) -> AsyncIterator[None]:
    """The transaction an operation runs in, never committing one the caller owns.

    Autocommit and idle, or a pool's connection (``owned``: the call has it to itself): a
    transaction of our own, committed at the end, so that a failed COMMIT is ours to
    report. In a transaction already: a savepoint inside it. The caller's connection, not
    autocommit and idle: the DB-API way, the caller commits; the statements run in the
    transaction psycopg begins, which is rolled back if the operation fails (it held only
    the operation's own work).
    """
    if owned or conn.autocommit or not idle(conn):
        async with conn.transaction():
            yield
        return
    try:
        yield
    except BaseException:
        await conn.rollback()
        raise


async def drive(conn: Connection, op: Operation[T], step: Step) -> T:
    """Run an operation's steps on a connection, from its first ``step``, until it returns."""
    try:
        while True:
            try:
                value = await execute(conn, step)
            except pg.CheckViolation as exc:  # the operation knows the row: it may say more
                step = op.throw(exc)
                continue
            step = op.send(value)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
