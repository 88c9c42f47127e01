"""AsyncBacktestStore: the asyncio DAO over a psycopg AsyncConnection or AsyncConnectionPool.

The same operations (operations.py) as BacktestStore, driven with ``await``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

import psycopg
from psycopg import errors as pg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from backtest_store import migrations
from backtest_store import operations as ops
from backtest_store.errors import connect_error, translate
from backtest_store.operations import Codec, CopyIn, Fetch, Operation, Step
from backtest_store.queries import Outcome
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.reports import BacktestComparison, PerformanceSummary
from backtest_store.tables import OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, WALK_FORWARD
from backtest_store.validation import NonFinite, fast_json

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]


async def execute(conn: Connection, step: Step) -> Any:
    """Run one step of an operation."""
    if isinstance(step, CopyIn) and step.encoded is not None:
        # sent as encoded: a queued writer would gain nothing on one event loop (the
        # encoding does not yield) and would hold the whole stream in its queue
        async with conn.cursor() as cur, cur.copy(step.statement) as copy:
            for chunk in step.rows:
                await copy.write(chunk)
        return step.encoded
    if isinstance(step, CopyIn):
        count = 0
        async with conn.cursor() as cur, cur.copy(step.statement) as copy:
            copy.set_types(list(step.types))
            for row in step.rows:
                await copy.write_row(row)
                count += 1
        return count
    async with conn.cursor(row_factory=step.row or tuple_row) as cur:
        fast_json(cur)
        await cur.execute(step.statement, step.params, prepare=step.prepare)
        return await _result(cur, step)


async def _result(cur: Any, step: Fetch) -> Any:
    if step.mode == "one":
        return await cur.fetchone()
    if step.mode == "all":
        return await cur.fetchall()
    if step.mode == "value":
        row = await cur.fetchone()
        return None if row is None else row[0]
    return cur.rowcount


def _alone(conn: Connection) -> bool:
    """Autocommit and idle: a single statement is its own transaction."""
    return conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE


def _commits(conn: Connection, owned: bool) -> bool:
    """True when ``_scope`` commits a transaction of its own; see store._commits."""
    return (conn.autocommit or owned) and conn.info.transaction_status == TransactionStatus.IDLE


@asynccontextmanager
async def _scope(conn: Connection, owned: bool = False) -> AsyncIterator[None]:
    """The transaction an operation runs in; see store._scope."""
    if owned or conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
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


class AsyncBacktestStore:
    """BacktestStore for asyncio: the same methods, as coroutines.

    ``source`` is a psycopg ``Connection`` (autocommit or not) or a
    ``psycopg_pool.AsyncConnectionPool``. A method never commits a transaction the
    caller owns: inside one it works in a savepoint, and on a connection that
    is not autocommit it leaves the commit to the caller (DB-API style). ``check_schema`` checks,
    before the first call, that the database is at this package's migration.
    ``nonfinite="null"`` stores NaN/Infinity metrics as NULL instead of
    refusing them. ``fill=False`` stores records exactly as given: a None is NULL even
    where the column has a default, and no rank or ``data_points`` is computed (``import``
    copies rows this way).
    """

    def __init__(
        self,
        source: Connection | AsyncConnectionPool[Any],
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
    ) -> None:
        self._source = source
        self._codec = Codec(nonfinite, fill)
        self._schema_checked = not check_schema

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
    ) -> AsyncIterator[AsyncBacktestStore]:
        """Open an autocommit connection to ``url`` (postgresql:// or postgres://) for the block."""
        try:
            conn = await psycopg.AsyncConnection.connect(migrations.conninfo(url), autocommit=True)
        except psycopg.Error as exc:
            raise connect_error(exc, migrations.redact(url)) from exc
        async with conn:
            store = cls(conn, check_schema=False, nonfinite=nonfinite, fill=fill)
            if check_schema:
                await store.check_schema()
            yield store

    # -- plumbing ----------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """The caller's connection, or one of the pool's for the call (its transaction is
        the call's own: ``_scope`` commits it)."""
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

    async def _run(self, op: Operation[T], doing: str, *, read: bool = False) -> T:
        if not self._schema_checked:
            await self.check_schema()
        async with self._connection() as conn:
            committing = False  # True once a COMMIT may be in flight: the outcome is unknown
            try:
                first = ops.first_step(op)
                if isinstance(first, ops.Done):
                    return first.value  # type: ignore[no-any-return]
                if _alone(conn) and (read or (isinstance(first, Fetch) and first.whole)):
                    committing = not read  # one statement: its own transaction
                    return await drive(conn, op, first)
                owned = conn is not self._source
                commits = not read and _commits(conn, owned)
                async with _scope(conn, owned):
                    value = await drive(conn, op, first)
                    committing = commits  # COMMIT goes out as the block ends
                return value
            except psycopg.Error as exc:
                raise translate(exc, doing, committing=committing) from exc

    def _bound(self, conn: Connection) -> AsyncBacktestStore:
        store = object.__new__(type(self))
        store._source = conn
        store._codec = self._codec
        store._schema_checked = True
        return store

    async def check_schema(self) -> None:
        """Raise SchemaVersionError unless the database is at this package's migration."""
        async with self._connection() as conn:
            try:
                async with _scope(conn, conn is not self._source):
                    cur = await conn.execute(migrations.CHECK_TABLE_SQL)
                    row = await cur.fetchone()
                    applied: set[str] = set()
                    if row and row[0]:
                        cur = await conn.execute(migrations.APPLIED_SQL)
                        applied = {r[0] for r in await cur.fetchall()}
            except psycopg.Error as exc:
                raise translate(exc, "check_schema") from exc
        migrations.verify_applied(applied)
        self._schema_checked = True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncBacktestStore]:
        """Group calls into one atomic unit: ``with store.transaction() as tx: tx.save_...``.

        The store yielded works on one connection inside one transaction
        (a savepoint if the caller's connection is already in one); it
        commits when the block ends and rolls back if it raises.
        """
        if not self._schema_checked:
            await self.check_schema()
        async with self._connection() as conn:
            owned = conn is not self._source
            commits = _commits(conn, owned)
            committing = False
            try:
                async with _scope(conn, owned):
                    yield self._bound(conn)
                    committing = commits  # COMMIT goes out as the block ends
            except psycopg.Error as exc:
                raise translate(exc, "transaction", committing=committing) from exc

    # -- backtests ---------------------------------------------------------------

    async def save_backtest(
        self, result: BacktestResult, trades: Iterable[BacktestTrade] = ()
    ) -> BacktestResult:
        """Save a result and all its trades in one transaction; return it as stored.

        Trades are records or a pandas DataFrame (columns named as the table's; see
        columnar.py). Up to ``operations.SMALL_SAVE`` records go in with the result as one
        statement (one round trip); more, and DataFrames, through binary COPY.

        Absent ``trade_number`` s are filled 1..n; an absent ``data_points`` is
        the length of the equity curve.
        """
        return await self._run(ops.save_backtest(self._codec, result, trades), "save_backtest")

    async def save_trades(self, backtest_id: UUID | None, trades: Iterable[BacktestTrade]) -> int:
        """Append trades (records, or a pandas DataFrame) to a backtest through binary COPY;
        return how many were saved."""
        return await self._run(ops.save_trades(self._codec, backtest_id, trades), "save_trades")

    async def get_backtest(self, backtest_id: UUID | None) -> BacktestResult | None:
        """The backtest with every column, series included; None if there is none."""
        return await self._run(
            ops.get_one(RESULTS, backtest_id, "get_backtest"), "get_backtest", read=True
        )

    async def list_backtests(
        self,
        *,
        symbol: str | None = None,
        strategy_type: str | None = None,
        status: str | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        limit: int = 50,
        after: BacktestResult | None = None,
        with_series: bool = False,
    ) -> list[BacktestResult]:
        """Newest backtest_date first; pass the last record as ``after`` for the next page.

        ``since`` is inclusive, ``until`` exclusive. Series are NOT_LOADED unless
        ``with_series=True``.
        """
        op = ops.list_backtests(
            self._codec, symbol=symbol, strategy_type=strategy_type, status=status,
            since=since, until=until, limit=limit, after=after, with_series=with_series,
        )  # fmt: skip
        return await self._run(op, "list_backtests", read=True)

    async def top_backtests(
        self,
        *,
        metric: str = "sharpe_ratio",
        symbol: str | None = None,
        strategy_type: str | None = None,
        min_trades: int = 0,
        status: str | None = "completed",
        limit: int = 20,
        with_series: bool = False,
        parameters: dict[str, Any] | None = None,
    ) -> list[BacktestResult]:
        """Best first by a whitelisted metric (queries.METRICS); rows without it are left out.
        ``parameters``: only backtests whose parameters contain these (jsonb @>)."""
        op = ops.top_backtests(
            self._codec, metric=metric, symbol=symbol, strategy_type=strategy_type,
            min_trades=min_trades, status=status, limit=limit, with_series=with_series,
            parameters=parameters,
        )  # fmt: skip
        return await self._run(op, "top_backtests", read=True)

    async def find_backtests(
        self,
        *,
        parameters: dict[str, Any],
        symbol: str | None = None,
        strategy_type: str | None = None,
        limit: int = 50,
        with_series: bool = False,
    ) -> list[BacktestResult]:
        """Backtests whose parameters contain the given key/values (jsonb @>), newest first."""
        op = ops.find_backtests(
            self._codec, parameters=parameters, symbol=symbol, strategy_type=strategy_type,
            limit=limit, with_series=with_series,
        )  # fmt: skip
        return await self._run(op, "find_backtests", read=True)

    async def backtest_ids(self, prefix: str, *, limit: int = 10) -> list[UUID]:
        """The ids of the backtests whose id starts with ``prefix`` (hex digits, as git
        takes a short hash; dashes ignored), at most ``limit``, in order."""
        return await self._run(ops.backtest_ids(prefix, limit), "backtest_ids", read=True)

    async def delete_backtest(self, backtest_id: UUID | None) -> bool:
        """Delete a backtest and, by cascade, its trades, optimizations and walk-forward tests."""
        return await self._run(ops.delete_backtest(backtest_id), "delete_backtest")

    async def count_backtests(
        self,
        *,
        older_than: datetime | date,
        symbol: str | None = None,
        strategy_type: str | None = None,
    ) -> dict[str, int]:
        """What ``delete_backtests`` with the same arguments would delete: backtests and,
        by cascade, trades, optimizations and walk_forward windows, counted in one query."""
        op = ops.count_backtests(
            self._codec, older_than=older_than, symbol=symbol, strategy_type=strategy_type
        )
        return await self._run(op, "count_backtests", read=True)

    async def delete_backtests(
        self,
        *,
        older_than: datetime | date,
        symbol: str | None = None,
        strategy_type: str | None = None,
        batch_size: int = 500,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Retention: delete backtests run before ``older_than``, batch by batch.

        Each batch is its own short transaction (on an autocommit connection or a
        pool) and skips rows that other transactions hold, so saves are never
        blocked for longer than a batch. Inside a caller's transaction the batches
        commit with it. Returns how many were deleted; ``progress`` is called with
        each batch's count.
        """
        total = 0
        while True:
            op = ops.delete_batch(
                self._codec, older_than=older_than, symbol=symbol,
                strategy_type=strategy_type, batch_size=batch_size,
            )  # fmt: skip
            deleted = await self._run(op, "delete_backtests")
            total += deleted
            if progress is not None:
                progress(deleted)
            if deleted < batch_size:
                return total

    # -- trades --------------------------------------------------------------

    async def get_trades(
        self, backtest_id: UUID | None, *, outcome: Outcome = "all"
    ) -> list[BacktestTrade]:
        """Trades by entry date, then trade number; ``winning``: pnl > 0, ``losing``: pnl < 0."""
        return await self._run(ops.get_trades(backtest_id, outcome), "get_trades", read=True)

    def iter_trades(
        self, backtest_id: UUID | None, *, batch_size: int = 2000
    ) -> AsyncIterator[BacktestTrade]:
        """Stream a backtest's trades through a server-side cursor, with bounded memory.

        The connection is held (in a transaction) until the iterator is
        exhausted or closed.
        """
        statement = ops.iter_trades_statement(backtest_id)
        ops._check_limit("iter_trades", batch_size, "batch_size")
        return self._stream(statement.sql, statement.params, batch_size)

    async def _stream(
        self, query: str, params: dict[str, Any], batch_size: int
    ) -> AsyncIterator[BacktestTrade]:
        if not self._schema_checked:
            await self.check_schema()
        async with self._connection() as conn:
            try:
                async with (
                    _scope(conn, conn is not self._source),
                    conn.cursor(
                        name=f"backtest_store_{uuid4().hex}", row_factory=ops.record_row(TRADES)
                    ) as cur,
                ):
                    fast_json(cur)
                    cur.itersize = batch_size
                    await cur.execute(query, params)
                    async for trade in cur:
                        yield trade
            except psycopg.Error as exc:
                raise translate(exc, "iter_trades") from exc

    # -- optimizations and walk-forward tests -----------------------------------------

    async def save_optimization_results(
        self, backtest_id: UUID | None, results: Iterable[OptimizationResult]
    ) -> list[OptimizationResult]:
        """Bulk-save (binary COPY) parameter sets of an optimization; return them as stored.

        Absent ``parameter_set`` s are numbered 1..n; absent ranks are computed
        in SQL from ``objective_value`` (1 = highest, ties share a rank).
        """
        op = ops.save_optimization_results(self._codec, backtest_id, results)
        return await self._run(op, "save_optimization_results")

    async def best_parameters(
        self, backtest_id: UUID | None, *, limit: int = 5
    ) -> list[OptimizationResult]:
        """The best-ranked parameter sets of a backtest's optimization."""
        return await self._run(
            ops.best_parameters(backtest_id, limit), "best_parameters", read=True
        )

    async def optimization_results(self, backtest_id: UUID | None) -> list[OptimizationResult]:
        """Every parameter set of a backtest's optimization, ranked or not, by parameter_set."""
        op = ops.children(
            OPTIMIZATIONS, backtest_id, ("parameter_set", "optimization_id"),
            "optimization_results",
        )  # fmt: skip
        return await self._run(op, "optimization_results", read=True)

    async def save_walk_forward_tests(
        self, parent_backtest_id: UUID | None, windows: Iterable[WalkForwardTest]
    ) -> list[WalkForwardTest]:
        """Save walk-forward windows of a backtest; return them as stored, in input order."""
        op = ops.save_walk_forward_tests(self._codec, parent_backtest_id, windows)
        return await self._run(op, "save_walk_forward_tests")

    async def walk_forward_tests(self, parent_backtest_id: UUID | None) -> list[WalkForwardTest]:
        """A backtest's walk-forward windows by test period start."""
        op = ops.children(
            WALK_FORWARD, parent_backtest_id, ("test_period_start", "walk_forward_id"),
            "walk_forward_tests",
        )  # fmt: skip
        return await self._run(op, "walk_forward_tests", read=True)

    # -- portfolios ---------------------------------------------------------------

    async def save_portfolio(self, portfolio: BacktestPortfolio) -> BacktestPortfolio:
        """Save a portfolio backtest; return it as stored."""
        return await self._run(ops.save_portfolio(self._codec, portfolio), "save_portfolio")

    async def get_portfolio(self, portfolio_backtest_id: UUID | None) -> BacktestPortfolio | None:
        """The portfolio backtest with every column, series included."""
        op = ops.get_one(PORTFOLIOS, portfolio_backtest_id, "get_portfolio")
        return await self._run(op, "get_portfolio", read=True)

    async def list_portfolios(
        self,
        *,
        portfolio_name: str | None = None,
        limit: int = 50,
        after: BacktestPortfolio | None = None,
        with_series: bool = False,
    ) -> list[BacktestPortfolio]:
        """Newest backtest_date first, keyset-paginated like list_backtests."""
        op = ops.list_portfolios(
            self._codec, portfolio_name=portfolio_name, limit=limit, after=after,
            with_series=with_series,
        )  # fmt: skip
        return await self._run(op, "list_portfolios", read=True)

    # -- analytics (computed in SQL) --------------------------------------------

    async def compare_backtests(
        self, backtest_ids: Iterable[UUID | None], *, metrics: Iterable[str] | None = None
    ) -> list[BacktestComparison]:
        """Each backtest's metrics with per-metric ranks (window functions), best first
        by the first metric. Unknown ids are left out."""
        return await self._run(
            ops.compare_backtests(backtest_ids, metrics), "compare_backtests", read=True
        )

    async def performance_summary(
        self,
        *,
        since: datetime | date | None = None,
        symbol: str | None = None,
        strategy_type: str | None = None,
        status: str | None = None,
    ) -> PerformanceSummary:
        """Count and mean/best/worst return, mean Sharpe and win rate: overall, per strategy,
        per symbol, aggregated in SQL (GROUPING SETS)."""
        op = ops.performance_summary(
            self._codec, since=since, symbol=symbol, strategy_type=strategy_type, status=status
        )
        return await self._run(op, "performance_summary", read=True)
