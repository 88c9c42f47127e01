# Generated from aio.py by tools/async_to_sync.py: edit aio.py, not this file.
"""BacktestStore: the synchronous DAO over a psycopg Connection or ConnectionPool.

Generated from aio.py (AsyncBacktestStore), so the two stores cannot drift: the same
methods, the same transactions, the same errors. Run ``python tools/async_to_sync.py``
after changing aio.py; CI runs it with ``--check``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Unpack
from uuid import UUID

from backtest_store import assessment as judge
from backtest_store.analytics import BacktestComparison, ExperimentSummary, PerformanceSummary
from backtest_store.assessment import Assessment, ExperimentAssessment
from backtest_store.operations import (
    analytics,
    assessment,
    backtests,
    browse,
    children,
    duplicates,
    experiments,
    portfolios,
    retention,
    writes,
)
from backtest_store.operations.browse import Cursor
from backtest_store.operations.children import ChildKind
from backtest_store.operations.duplicates import DuplicateGroup
from backtest_store.operations.sql import Outcome
from backtest_store.provenance import Origin
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.store_base import StoreBase
from backtest_store.tables import PORTFOLIOS, RESULTS


class BacktestStore(StoreBase):
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
    ``defaults``: where every save of the session came from (``{"experiment": "momentum",
    "tags": {"universe": "sp500"}}``), for the fields a record leaves ``AUTO``; who ran it
    and the git commit are detected once (provenance.py). An explicit value wins.

    Id arguments are typed ``UUID | None`` so that ``saved.backtest_id`` of a
    returned record can be passed as it is; None is refused (ValidationError).
    """

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
        return self._run(writes.save_backtest(self._settings, result, trades))

    def save_trades(self, backtest_id: UUID | None, trades: Iterable[BacktestTrade]) -> int:
        """Append trades (records, or a pandas DataFrame) to a backtest through binary COPY;
        return how many were saved."""
        return self._run(writes.save_trades(self._settings, backtest_id, trades))

    def get_backtest(
        self, backtest_id: UUID | None, *, with_series: bool = True
    ) -> BacktestResult | None:
        """The backtest with every column, series included (NOT_LOADED under
        ``with_series=False``: its figures without a 19 MB curve); None if there is none."""
        op = backtests.get_one(RESULTS, backtest_id, "get_backtest", with_series=with_series)
        return self._run(op, read=True)

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
        **origin: Unpack[Origin],
    ) -> list[BacktestResult]:
        """Newest backtest_date first; pass the last record as ``after`` for the next page.

        ``since`` is inclusive, ``until`` exclusive. Series are NOT_LOADED unless
        ``with_series=True``. ``origin``: where the runs came from (provenance.Origin).
        """
        op = backtests.list_backtests(
            self._settings, symbol=symbol, strategy_type=strategy_type, status=status,
            since=since, until=until, limit=limit, after=after, with_series=with_series,
            origin=origin,
        )  # fmt: skip
        return self._run(op, read=True)

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
        **origin: Unpack[Origin],
    ) -> list[BacktestResult]:
        """Best first by a whitelisted metric (operations/sql.py: METRICS); rows without it are
        left out. ``parameters``: parameters containing these (jsonb @>); ``origin``: too."""
        op = backtests.top_backtests(
            self._settings, metric=metric, symbol=symbol, strategy_type=strategy_type,
            min_trades=min_trades, status=status, limit=limit, with_series=with_series,
            parameters=parameters,
            origin=origin,
        )  # fmt: skip
        return self._run(op, read=True)

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
        op = backtests.find_backtests(
            self._settings, parameters=parameters, symbol=symbol, strategy_type=strategy_type,
            limit=limit, with_series=with_series,
        )  # fmt: skip
        return self._run(op, read=True)

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
        **origin: Unpack[Origin],
    ) -> list[BacktestResult]:
        """A page of backtests, for browsing: any of ``symbols``, parameters containing
        any one of ``parameters_any`` (jsonb @>), ``ranges`` such as
        ``("sharpe_ratio", ">=", 1)``; sorted by ``backtest_date`` or a rankable metric
        (rows without it last), keyset pages: ``after=cursor_of(last row, sort)`` for the
        next page, ``before=cursor_of(first row, sort)`` for the previous; ``origin`` too."""
        op = browse.browse_backtests(
            self._settings, symbols=symbols, strategy_type=strategy_type, status=status,
            since=since, until=until, min_trades=min_trades, parameters_any=parameters_any,
            ranges=ranges, sort=sort, descending=descending, after=after, before=before,
            limit=limit, with_series=with_series,
            origin=origin,
        )  # fmt: skip
        return self._run(op, read=True)

    def list_experiments(
        self, *, experiment: str | None = None, limit: int = 50
    ) -> list[ExperimentSummary]:
        """The experiments, the newest run's first: each one's runs, first and last run, and
        its runs by who ran them and by code version; ``experiment``: that one alone."""
        op = experiments.list_experiments(self._settings, experiment=experiment, limit=limit)
        return self._run(op, read=True)

    def duplicate_counts(self, results: Iterable[BacktestResult]) -> dict[UUID, int]:
        """How many other runs are the same run as each of these (operations/duplicates.py)."""
        op = duplicates.duplicate_counts(results)
        return self._run(op, read=True)

    def list_duplicates(self, *, limit: int = 50) -> list[DuplicateGroup]:
        """The runs repeated: each group of the same run, the newest group first."""
        return self._run(duplicates.list_duplicates(limit), read=True)

    def assess(self, backtest_id: UUID | None, *, alpha: float = 0.05) -> Assessment:
        """Skill or selection: the run's Sharpe ratio deflated by its grid's trials
        (PSR, SR0, DSR and its p-value, significant at ``alpha``), and its walk-forward
        windows judged (assessment.py says how trials are counted)."""
        op = assessment.backtest_inputs(backtest_id, alpha)
        result, grid, windows, alpha = self._run(op, read=True)
        return self._computed(judge.assess_backtest, result, grid, windows, alpha)

    def record_assessment(
        self, backtest_id: UUID | None, *, alpha: float = 0.05, overwrite: bool = False
    ) -> dict[str, int]:
        """Write ``assess``'s figures into the seed's columns of the backtest's grid rows
        and walk-forward windows (only NULLs unless ``overwrite``); how many of each."""
        op = assessment.record_assessment(backtest_id, alpha=alpha, overwrite=overwrite)
        return self._run(op)

    def assess_experiment(
        self, name: str, *, blocks: int = 16, alpha: float = 0.05
    ) -> ExperimentAssessment:
        """An experiment's runs judged together: the best run's DSR over every trial, and
        the probability of backtest overfitting by CSCV in ``blocks`` blocks."""
        op = assessment.experiment_inputs(self._settings, name, blocks=blocks, alpha=alpha)
        experiment, runs, grids = self._run(op, read=True)
        return self._computed(judge.assess_runs, experiment, runs, grids, blocks=blocks,
                                    alpha=alpha)  # fmt: skip

    def backtest_ids(self, prefix: str, *, limit: int = 10) -> list[UUID]:
        """The ids of the backtests whose id starts with ``prefix`` (hex digits, as git
        takes a short hash; dashes ignored), at most ``limit``, in order."""
        return self._run(backtests.backtest_ids(prefix, limit), read=True)

    def delete_backtest(self, backtest_id: UUID | None) -> bool:
        """Delete a backtest and, by cascade, its trades, optimizations and walk-forward tests."""
        return self._run(writes.delete_backtest(backtest_id))

    def count_backtests(
        self,
        *,
        older_than: datetime | date,
        symbol: str | None = None,
        strategy_type: str | None = None,
    ) -> dict[str, int]:
        """What ``delete_backtests`` with the same arguments would delete: backtests and,
        by cascade, trades, optimizations and walk_forward windows, counted in one query."""
        op = retention.count_backtests(
            self._settings, older_than=older_than, symbol=symbol, strategy_type=strategy_type
        )
        return self._run(op, read=True)

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
            self._settings, older_than=older_than, symbol=symbol, strategy_type=strategy_type,
            batch_size=batch_size, progress=progress,
        )  # fmt: skip
        return self._run_each(batches)

    # -- trades --------------------------------------------------------------

    def get_trades(
        self, backtest_id: UUID | None, *, outcome: Outcome = "all"
    ) -> list[BacktestTrade]:
        """Trades by entry date, then trade number; ``winning``: pnl > 0, ``losing``: pnl < 0."""
        return self._run(children.get_trades(backtest_id, outcome), read=True)

    def iter_trades(
        self, backtest_id: UUID | None, *, batch_size: int = 2000
    ) -> Iterator[BacktestTrade]:
        """Stream a backtest's trades through a server-side cursor, with bounded memory.

        The connection is held (in a transaction) until the iterator is
        exhausted or closed.
        """
        return self._stream(children.iter_trades(backtest_id, batch_size))

    def iter_children(
        self, backtest_id: UUID | None, kind: ChildKind, *, batch_size: int = 2000
    ) -> Iterator[Any]:
        """Stream every row of one of a backtest's child tables (``"trades"``,
        ``"optimizations"`` or ``"walk_forward"``) in a total order that ends in the key,
        through a server-side cursor, with bounded memory (what ``export`` writes: the
        same rows give the same bytes). The connection is held until the iterator is
        exhausted or closed."""
        return self._stream(children.iter_children(backtest_id, kind, batch_size))

    # -- optimizations and walk-forward tests -----------------------------------------

    def save_optimization_results(
        self, backtest_id: UUID | None, results: Iterable[OptimizationResult]
    ) -> list[OptimizationResult]:
        """Bulk-save (binary COPY) parameter sets of an optimization; return them as stored.

        Absent ``parameter_set`` s are numbered 1..n; absent ranks are computed
        in SQL from ``objective_value`` (1 = highest, ties share a rank).
        """
        op = writes.save_optimization_results(self._settings, backtest_id, results)
        return self._run(op)

    def best_parameters(
        self, backtest_id: UUID | None, *, limit: int = 5
    ) -> list[OptimizationResult]:
        """The best-ranked parameter sets of a backtest's optimization."""
        op = children.best_parameters(backtest_id, limit)
        return self._run(op, read=True)

    def optimization_results(self, backtest_id: UUID | None) -> list[OptimizationResult]:
        """Every parameter set of a backtest's optimization, ranked or not, by parameter_set."""
        op = children.children("optimizations", backtest_id, "optimization_results")
        return self._run(op, read=True)

    def save_walk_forward_tests(
        self, parent_backtest_id: UUID | None, windows: Iterable[WalkForwardTest]
    ) -> list[WalkForwardTest]:
        """Save walk-forward windows of a backtest; return them as stored, in input order."""
        op = writes.save_walk_forward_tests(self._settings, parent_backtest_id, windows)
        return self._run(op)

    def walk_forward_tests(self, parent_backtest_id: UUID | None) -> list[WalkForwardTest]:
        """A backtest's walk-forward windows by test period start."""
        op = children.children("walk_forward", parent_backtest_id, "walk_forward_tests")
        return self._run(op, read=True)

    # -- portfolios ---------------------------------------------------------------

    def save_portfolio(self, portfolio: BacktestPortfolio) -> BacktestPortfolio:
        """Save a portfolio backtest; return it as stored."""
        return self._run(writes.save_portfolio(self._settings, portfolio))

    def get_portfolio(self, portfolio_backtest_id: UUID | None) -> BacktestPortfolio | None:
        """The portfolio backtest with every column, series included."""
        op = backtests.get_one(PORTFOLIOS, portfolio_backtest_id, "get_portfolio")
        return self._run(op, read=True)

    def list_portfolios(
        self,
        *,
        portfolio_name: str | None = None,
        limit: int = 50,
        after: BacktestPortfolio | None = None,
        with_series: bool = False,
    ) -> list[BacktestPortfolio]:
        """Newest backtest_date first, keyset-paginated like list_backtests."""
        op = portfolios.list_portfolios(
            self._settings, portfolio_name=portfolio_name, limit=limit, after=after,
            with_series=with_series,
        )  # fmt: skip
        return self._run(op, read=True)

    # -- analytics (computed in SQL) --------------------------------------------

    def compare_backtests(
        self, backtest_ids: Iterable[UUID | None], *, metrics: Iterable[str] | None = None
    ) -> list[BacktestComparison]:
        """Each backtest's metrics with per-metric ranks (window functions), best first
        by the first metric. Unknown ids are left out."""
        op = analytics.compare_backtests(backtest_ids, metrics)
        return self._run(op, read=True)

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
        op = analytics.performance_summary(
            self._settings, since=since, symbol=symbol, strategy_type=strategy_type, status=status
        )
        return self._run(op, read=True)
