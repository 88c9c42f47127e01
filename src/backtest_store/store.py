# Generated from aio.py by tools/async_to_sync.py: edit aio.py, not this file.
"""BacktestStore: the synchronous DAO over a psycopg Connection or ConnectionPool.

Generated from aio.py (AsyncBacktestStore), so the two stores cannot drift: the same
methods, the same transactions, the same errors. Run ``python tools/async_to_sync.py``
after changing aio.py; CI runs it with ``--check``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import psycopg

from backtest_store.analytics import BacktestComparison, PerformanceSummary
from backtest_store.convert import NonFinite
from backtest_store.driver import Connection, commits, drive, idle, scope
from backtest_store.errors import connect_error, translate
from backtest_store.json_policy import fast_json
from backtest_store.operations import browse, reads, retention, writes
from backtest_store.operations.arguments import Codec
from backtest_store.operations.browse import Cursor
from backtest_store.operations.steps import (
    Done,
    Operation,
    Stream,
    first_step,
    one_statement,
)
from backtest_store.queries.common import Outcome
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.tables import OPTIMIZATIONS, PORTFOLIOS, RESULTS, WALK_FORWARD
from backtest_store.urls import conninfo, redact

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

T = TypeVar("T")


class BacktestStore:
    """Save and query backtest results. Every method is one transaction.

    ``source`` is a psycopg ``Connection`` (autocommit or not) or a
    ``psycopg_pool.ConnectionPool``. A method never commits a transaction the
    caller owns: inside one it works in a savepoint, and on a connection that
    is not autocommit it leaves the commit to the caller (DB-API style). ``check_schema``
    checks that the database is at this package's migration: the sync store when it is
    made, the async store before its first call. ``nonfinite="null"`` stores
    NaN/Infinity metrics as NULL instead of refusing them. ``fill=False`` stores records
    exactly as given: a None is NULL even where the column has a default, and no rank or
    ``data_points`` is computed (``import`` copies rows this way).

    Id arguments are typed ``UUID | None`` so that ``saved.backtest_id`` of a
    returned record can be passed as it is; None is refused (ValidationError).
    """

    def __init__(
        self,
        source: Connection | ConnectionPool[Any],
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
    ) -> None:
        self._source = source
        self._codec = Codec(nonfinite, fill)
        self._schema_checked = not check_schema
        if check_schema:
            self.check_schema()

    @classmethod
    @contextmanager
    def connect(
        cls,
        url: str,
        *,
        check_schema: bool = True,
        nonfinite: NonFinite = "refuse",
        fill: bool = True,
    ) -> Iterator[BacktestStore]:
        """Open an autocommit connection to ``url`` (postgresql:// or postgres://) for the block."""
        try:
            conn = psycopg.Connection.connect(conninfo(url), autocommit=True)
        except psycopg.Error as exc:
            raise connect_error(exc, redact(url)) from exc
        with conn:
            store = cls(conn, check_schema=False, nonfinite=nonfinite, fill=fill)
            if check_schema:
                store.check_schema()
            yield store

    # -- plumbing ----------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The caller's connection, or one of the pool's for the call (its transaction is
        the call's own: ``scope`` commits it)."""
        if isinstance(self._source, psycopg.Connection):
            yield self._source
            return
        try:
            conn = self._source.getconn()
        except psycopg.Error as exc:  # PoolTimeout: no connection could be had in time
            raise connect_error(exc, "the pool's database") from exc
        try:
            yield conn
        finally:
            self._source.putconn(conn)

    def _ready(self) -> None:
        if not self._schema_checked:
            self.check_schema()

    def _run(self, op: Operation[T], doing: str, *, read: bool = False, checked: bool = False) -> T:
        if not checked:  # the schema check itself runs before the flag is set
            self._ready()
        with self._connection() as conn:
            committing = False  # True once a COMMIT may be in flight: the outcome is unknown
            try:
                first = first_step(op)
                if isinstance(first, Done):
                    return first.value  # type: ignore[no-any-return]
                alone = conn.autocommit and idle(conn)
                if one_statement(first, read=read, autocommit_idle=alone):
                    committing = not read  # one statement: its own transaction
                    return drive(conn, op, first)
                owned = conn is not self._source
                will_commit = not read and commits(conn, owned)
                with scope(conn, owned):
                    value = drive(conn, op, first)
                    committing = will_commit  # COMMIT goes out as the block ends
                return value
            except psycopg.Error as exc:
                raise translate(exc, doing, committing=committing) from exc

    def _run_each(self, batches: Generator[Operation[Any], Any, T], doing: str) -> T:
        """Run the operations ``batches`` yields one after another, each its own
        transaction, sending each one's value back, until it returns."""
        try:
            op = next(batches)
            while True:
                op = batches.send(self._run(op, doing))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _stream(self, stream: Stream, doing: str) -> Iterator[Any]:
        self._ready()
        with self._connection() as conn:
            try:
                with (
                    scope(conn, conn is not self._source),
                    conn.cursor(name=stream.name, row_factory=stream.row) as cur,
                ):
                    fast_json(cur)
                    cur.itersize = stream.batch_size
                    cur.execute(stream.statement, stream.params)
                    for row in cur:
                        yield row
            except psycopg.Error as exc:
                raise translate(exc, doing) from exc

    def _bound(self, conn: Connection) -> BacktestStore:
        store = object.__new__(type(self))
        store._source = conn
        store._codec = self._codec
        store._schema_checked = True
        return store

    def check_schema(self) -> None:
        """Raise SchemaVersionError unless the database is at this package's migration."""
        self._run(reads.check_schema(), "check_schema", read=True, checked=True)
        self._schema_checked = True

    @contextmanager
    def transaction(self) -> Iterator[BacktestStore]:
        """Group calls into one atomic unit: ``with store.transaction() as tx: tx.save_...``.

        The store yielded works on one connection inside one transaction
        (a savepoint if the caller's connection is already in one); it
        commits when the block ends and rolls back if it raises.
        """
        self._ready()
        with self._connection() as conn:
            owned = conn is not self._source
            will_commit = commits(conn, owned)
            committing = False
            try:
                with scope(conn, owned):
                    yield self._bound(conn)
                    committing = will_commit  # COMMIT goes out as the block ends
            except psycopg.Error as exc:
                raise translate(exc, "transaction", committing=committing) from exc

    # -- backtests ---------------------------------------------------------------

    def save_backtest(
        self, result: BacktestResult, trades: Iterable[BacktestTrade] = ()
    ) -> BacktestResult:
        """Save a result and all its trades in one transaction; return it as stored.

        Trades are records or a pandas DataFrame (columns named as the table's; see
        columnar.py). Up to ``writes.SMALL_SAVE`` records go in with the result as one
        statement (one round trip); more, and DataFrames, through binary COPY.

        Absent ``trade_number`` s are filled 1..n; an absent ``data_points`` is
        the length of the equity curve.
        """
        return self._run(writes.save_backtest(self._codec, result, trades), "save_backtest")

    def save_trades(self, backtest_id: UUID | None, trades: Iterable[BacktestTrade]) -> int:
        """Append trades (records, or a pandas DataFrame) to a backtest through binary COPY;
        return how many were saved."""
        return self._run(writes.save_trades(self._codec, backtest_id, trades), "save_trades")

    def get_backtest(self, backtest_id: UUID | None) -> BacktestResult | None:
        """The backtest with every column, series included; None if there is none."""
        op = reads.get_one(RESULTS, backtest_id, "get_backtest")
        return self._run(op, "get_backtest", read=True)

    def list_backtests(
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
        op = reads.list_backtests(
            self._codec, symbol=symbol, strategy_type=strategy_type, status=status,
            since=since, until=until, limit=limit, after=after, with_series=with_series,
        )  # fmt: skip
        return self._run(op, "list_backtests", read=True)

    def top_backtests(
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
        """Best first by a whitelisted metric (queries.common.METRICS); rows without it are
        left out. ``parameters``: only backtests whose parameters contain these (jsonb @>)."""
        op = reads.top_backtests(
            self._codec, metric=metric, symbol=symbol, strategy_type=strategy_type,
            min_trades=min_trades, status=status, limit=limit, with_series=with_series,
            parameters=parameters,
        )  # fmt: skip
        return self._run(op, "top_backtests", read=True)

    def find_backtests(
        self,
        *,
        parameters: dict[str, Any],
        symbol: str | None = None,
        strategy_type: str | None = None,
        limit: int = 50,
        with_series: bool = False,
    ) -> list[BacktestResult]:
        """Backtests whose parameters contain the given key/values (jsonb @>), newest first."""
        op = reads.find_backtests(
            self._codec, parameters=parameters, symbol=symbol, strategy_type=strategy_type,
            limit=limit, with_series=with_series,
        )  # fmt: skip
        return self._run(op, "find_backtests", read=True)

    def browse_backtests(
        self,
        *,
        symbols: Sequence[str] | None = None,
        strategy_type: str | None = None,
        status: str | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        min_trades: int = 0,
        parameters_any: Sequence[dict[str, Any]] | None = None,
        ranges: Sequence[tuple[str, str, Any]] | None = None,
        sort: str = "backtest_date",
        descending: bool = True,
        after: Cursor | None = None,
        before: Cursor | None = None,
        limit: int = 50,
        with_series: bool = False,
    ) -> list[BacktestResult]:
        """A page of backtests, for browsing: any of ``symbols``, parameters containing
        any one of ``parameters_any`` (jsonb @>), ``ranges`` such as
        ``("sharpe_ratio", ">=", 1)``; sorted by ``backtest_date`` or a rankable metric
        (rows without it last), keyset pages: ``after=cursor_of(last row, sort)`` for the
        next page, ``before=cursor_of(first row, sort)`` for the previous one."""
        op = browse.browse_backtests(
            self._codec, symbols=symbols, strategy_type=strategy_type, status=status,
            since=since, until=until, min_trades=min_trades, parameters_any=parameters_any,
            ranges=ranges, sort=sort, descending=descending, after=after, before=before,
            limit=limit, with_series=with_series,
        )  # fmt: skip
        return self._run(op, "browse_backtests", read=True)

    def backtest_ids(self, prefix: str, *, limit: int = 10) -> list[UUID]:
        """The ids of the backtests whose id starts with ``prefix`` (hex digits, as git
        takes a short hash; dashes ignored), at most ``limit``, in order."""
        return self._run(reads.backtest_ids(prefix, limit), "backtest_ids", read=True)

    def delete_backtest(self, backtest_id: UUID | None) -> bool:
        """Delete a backtest and, by cascade, its trades, optimizations and walk-forward tests."""
        return self._run(writes.delete_backtest(backtest_id), "delete_backtest")

    def count_backtests(
        self,
        *,
        older_than: datetime | date,
        symbol: str | None = None,
        strategy_type: str | None = None,
    ) -> dict[str, int]:
        """What ``delete_backtests`` with the same arguments would delete: backtests and,
        by cascade, trades, optimizations and walk_forward windows, counted in one query."""
        op = reads.count_backtests(
            self._codec, older_than=older_than, symbol=symbol, strategy_type=strategy_type
        )
        return self._run(op, "count_backtests", read=True)

    def delete_backtests(
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
        batches = retention.delete_backtests(
            self._codec, older_than=older_than, symbol=symbol, strategy_type=strategy_type,
            batch_size=batch_size, progress=progress,
        )  # fmt: skip
        return self._run_each(batches, "delete_backtests")

    # -- trades --------------------------------------------------------------

    def get_trades(
        self, backtest_id: UUID | None, *, outcome: Outcome = "all"
    ) -> list[BacktestTrade]:
        """Trades by entry date, then trade number; ``winning``: pnl > 0, ``losing``: pnl < 0."""
        return self._run(reads.get_trades(backtest_id, outcome), "get_trades", read=True)

    def iter_trades(
        self, backtest_id: UUID | None, *, batch_size: int = 2000
    ) -> Iterator[BacktestTrade]:
        """Stream a backtest's trades through a server-side cursor, with bounded memory.

        The connection is held (in a transaction) until the iterator is
        exhausted or closed.
        """
        return self._stream(reads.iter_trades(backtest_id, batch_size), "iter_trades")

    # -- optimizations and walk-forward tests -----------------------------------------

    def save_optimization_results(
        self, backtest_id: UUID | None, results: Iterable[OptimizationResult]
    ) -> list[OptimizationResult]:
        """Bulk-save (binary COPY) parameter sets of an optimization; return them as stored.

        Absent ``parameter_set`` s are numbered 1..n; absent ranks are computed
        in SQL from ``objective_value`` (1 = highest, ties share a rank).
        """
        op = writes.save_optimization_results(self._codec, backtest_id, results)
        return self._run(op, "save_optimization_results")

    def best_parameters(
        self, backtest_id: UUID | None, *, limit: int = 5
    ) -> list[OptimizationResult]:
        """The best-ranked parameter sets of a backtest's optimization."""
        op = reads.best_parameters(backtest_id, limit)
        return self._run(op, "best_parameters", read=True)

    def optimization_results(self, backtest_id: UUID | None) -> list[OptimizationResult]:
        """Every parameter set of a backtest's optimization, ranked or not, by parameter_set."""
        op = reads.children(
            OPTIMIZATIONS, backtest_id, ("parameter_set", "optimization_id"),
            "optimization_results",
        )  # fmt: skip
        return self._run(op, "optimization_results", read=True)

    def save_walk_forward_tests(
        self, parent_backtest_id: UUID | None, windows: Iterable[WalkForwardTest]
    ) -> list[WalkForwardTest]:
        """Save walk-forward windows of a backtest; return them as stored, in input order."""
        op = writes.save_walk_forward_tests(self._codec, parent_backtest_id, windows)
        return self._run(op, "save_walk_forward_tests")

    def walk_forward_tests(self, parent_backtest_id: UUID | None) -> list[WalkForwardTest]:
        """A backtest's walk-forward windows by test period start."""
        op = reads.children(
            WALK_FORWARD, parent_backtest_id, ("test_period_start", "walk_forward_id"),
            "walk_forward_tests",
        )  # fmt: skip
        return self._run(op, "walk_forward_tests", read=True)

    # -- portfolios ---------------------------------------------------------------

    def save_portfolio(self, portfolio: BacktestPortfolio) -> BacktestPortfolio:
        """Save a portfolio backtest; return it as stored."""
        return self._run(writes.save_portfolio(self._codec, portfolio), "save_portfolio")

    def get_portfolio(self, portfolio_backtest_id: UUID | None) -> BacktestPortfolio | None:
        """The portfolio backtest with every column, series included."""
        op = reads.get_one(PORTFOLIOS, portfolio_backtest_id, "get_portfolio")
        return self._run(op, "get_portfolio", read=True)

    def list_portfolios(
        self,
        *,
        portfolio_name: str | None = None,
        limit: int = 50,
        after: BacktestPortfolio | None = None,
        with_series: bool = False,
    ) -> list[BacktestPortfolio]:
        """Newest backtest_date first, keyset-paginated like list_backtests."""
        op = reads.list_portfolios(
            self._codec, portfolio_name=portfolio_name, limit=limit, after=after,
            with_series=with_series,
        )  # fmt: skip
        return self._run(op, "list_portfolios", read=True)

    # -- analytics (computed in SQL) --------------------------------------------

    def compare_backtests(
        self, backtest_ids: Iterable[UUID | None], *, metrics: Iterable[str] | None = None
    ) -> list[BacktestComparison]:
        """Each backtest's metrics with per-metric ranks (window functions), best first
        by the first metric. Unknown ids are left out."""
        op = reads.compare_backtests(backtest_ids, metrics)
        return self._run(op, "compare_backtests", read=True)

    def performance_summary(
        self,
        *,
        since: datetime | date | None = None,
        symbol: str | None = None,
        strategy_type: str | None = None,
        status: str | None = None,
    ) -> PerformanceSummary:
        """Count and mean/best/worst return, mean Sharpe and win rate: overall, per strategy,
        per symbol, aggregated in SQL (in one read of the table)."""
        op = reads.performance_summary(
            self._codec, since=since, symbol=symbol, strategy_type=strategy_type, status=status
        )
        return self._run(op, "performance_summary", read=True)
