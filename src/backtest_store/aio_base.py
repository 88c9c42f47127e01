"""The async store's base: how a call gets its connection and its transaction, and runs an
operation's steps on it (the driver). The store's methods are in ``aio.py``; both files
are the async side that ``tools/async_to_sync.py`` generates the sync store from
(``store_base.py`` and ``store.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self, TypeVar

import psycopg

from backtest_store.aio_driver import Connection, commits, drive, idle, scope
from backtest_store.convert import NonFinite
from backtest_store.errors import connect_error, translate
from backtest_store.json_policy import fast_json
from backtest_store.operations import catalog
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.steps import Done, Operation, Stream, first_step, one_statement
from backtest_store.urls import conninfo, redact

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")


class AsyncStoreBase:
    """A store's connection (a psycopg ``AsyncConnection`` or ``AsyncConnectionPool``), its
    validation settings (``StoreSettings``) and its schema check; ``AsyncBacktestStore`` adds the
    methods."""

    def __init__(
        self,
        source: Connection | AsyncConnectionPool[Any],
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self._source = source
        self._settings = StoreSettings(nonfinite, fill, defaults)
        self._schema_checked = not check_schema
        if True:  # ASYNC
            pass  # a constructor cannot await: checked before the first call
        else:
            if check_schema:
                self.check_schema()

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
        defaults: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Self]:
        """Open an autocommit connection to ``url`` (postgresql:// or postgres://) for the block."""
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True)
        except psycopg.Error as exc:
            raise connect_error(exc, redact(url)) from exc
        async with conn:
            store = cls(conn, check_schema=False, nonfinite=nonfinite, fill=fill,
                        defaults=defaults)  # fmt: skip
            if check_schema:
                await store.check_schema()
            yield store

    # -- plumbing ----------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """The caller's connection, or one of the pool's for the call (its transaction is
        the call's own: ``scope`` commits it)."""
        if isinstance(self._source, psycopg.AsyncConnection):
            yield self._source
            return
        try:
            conn = await self._source.getconn()
        except psycopg.Error as exc:  # PoolTimeout: no connection could be had in time
            raise connect_error(exc, "the pool's database") from exc
        try:
            yield conn
        finally:
            await self._source.putconn(conn)

    async def _ready(self) -> None:
        if not self._schema_checked:
            await self.check_schema()

    async def _run(
        self,
        op: Operation[T],
        doing: str | None = None,
        *,
        read: bool = False,
        checked: bool = False,
    ) -> T:
        """Run ``op`` on a connection of the store's, in a transaction unless it is one
        statement; a database error becomes the store's own, naming ``doing``: the method
        that called, by default (a store method's name is written once, as its name)."""
        doing = doing if doing is not None else sys._getframe(1).f_code.co_name
        if not checked:  # the schema check itself runs before the flag is set
            await self._ready()
        async with self._connection() as conn:
            committing = False  # True once a COMMIT may be in flight: the outcome is unknown
            try:
                first = first_step(op)
                if isinstance(first, Done):
                    return first.value  # type: ignore[no-any-return]
                alone = conn.autocommit and idle(conn)
                if one_statement(first, read=read, autocommit_idle=alone):
                    committing = not read  # one statement: its own transaction
                    return await drive(conn, op, first)
                owned = conn is not self._source
                will_commit = not read and commits(conn, owned)
                async with scope(conn, owned):
                    value = await drive(conn, op, first)
                    committing = will_commit  # COMMIT goes out as the block ends
                return value
            except psycopg.Error as exc:
                raise translate(exc, doing, committing=committing) from exc

    async def _run_each(
        self, batches: Generator[Operation[Any], Any, T], doing: str | None = None
    ) -> T:
        """Run the operations ``batches`` yields one after another, each its own
        transaction, sending each one's value back, until it returns."""
        doing = doing if doing is not None else sys._getframe(1).f_code.co_name
        try:
            op = next(batches)
            while True:
                op = batches.send(await self._run(op, doing))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _stream(self, stream: Stream, doing: str | None = None) -> AsyncIterator[Any]:
        """The rows of ``stream`` as they come; errors name ``doing``, by default the
        method that called."""
        return self._streamed(stream, doing or sys._getframe(1).f_code.co_name)

    async def _streamed(self, stream: Stream, doing: str) -> AsyncIterator[Any]:
        await self._ready()
        async with self._connection() as conn:
            try:
                async with (
                    scope(conn, conn is not self._source),
                    conn.cursor(name=stream.name, row_factory=stream.row) as cur,
                ):
                    fast_json(cur)
                    cur.itersize = stream.batch_size
                    await cur.execute(stream.statement, stream.params)
                    async for row in cur:
                        yield row
            except psycopg.Error as exc:
                raise translate(exc, doing) from exc

    def _bound(self, conn: Connection) -> Self:
        store = object.__new__(type(self))
        store._source = conn
        store._settings = self._settings
        store._schema_checked = True
        return store

    async def _computed(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A computation over what a call read (a curve of a year of minutes, CSCV over
        a hundred runs): the async store runs it in a worker thread, so that the event
        loop goes on meanwhile; the sync store, in the calling thread."""
        if True:  # ASYNC
            return await asyncio.to_thread(work, *args, **kwargs)
        else:
            return work(*args, **kwargs)

    async def check_schema(self) -> None:
        """Raise SchemaVersionError unless the database is at this package's migration."""
        await self._run(catalog.check_schema(), read=True, checked=True)
        self._schema_checked = True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        """Group calls into one atomic unit: ``with store.transaction() as tx: tx.save_...``.

        The store yielded works on one connection inside one transaction
        (a savepoint if the caller's connection is already in one); it
        commits when the block ends and rolls back if it raises.
        """
        await self._ready()
        async with self._connection() as conn:
            owned = conn is not self._source
            will_commit = commits(conn, owned)
            committing = False
            try:
                async with scope(conn, owned):
                    yield self._bound(conn)
                    committing = will_commit  # COMMIT goes out as the block ends
            except psycopg.Error as exc:
                raise translate(exc, "transaction", committing=committing) from exc
