"""One frozen dataclass per table; fields are the columns, in column order.

Input and output use the same classes. Fields the database fills (ids,
``created_at``, ``updated_at``, when-recorded timestamps, server defaults) and
parent ids of child records default to ``None``; what a save returns has them
filled. Numeric fields accept ``int``, ``float`` or ``Decimal`` and read back
as ``Decimal``. jsonb fields take and return plain lists and dicts.

Time-series fields (equity and drawdown curves, portfolio curves and weights
history) hold ``NOT_LOADED`` in records read by list queries that did not ask
for them; ``NOT_LOADED`` is never mistaken for "no curve" (``None``): it is
not falsy, it refuses ``bool()``, ``len()`` and iteration, and a record that
holds it cannot be saved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, NoReturn, TypeAlias
from uuid import UUID

from backtest_store import columns as col
from backtest_store.errors import SeriesNotLoadedError

Number: TypeAlias = Decimal | float | int
"""What numeric fields accept; the store always returns ``Decimal``."""

Json: TypeAlias = dict[str, Any] | list[Any]
"""What jsonb fields take and return."""


class NotLoaded(enum.Enum):
    """Marks a time-series field that the query did not load."""

    NOT_LOADED = "NOT_LOADED"

    def __repr__(self) -> str:
        return "NOT_LOADED"

    __str__ = __repr__

    def _refuse(self, *_: object) -> NoReturn:
        raise SeriesNotLoadedError(
            "this time series was not loaded: list queries leave series out unless "
            "called with with_series=True; get_backtest/get_portfolio load them"
        )

    __bool__ = _refuse
    __len__ = _refuse
    __iter__ = _refuse
    __getitem__ = _refuse


NOT_LOADED = NotLoaded.NOT_LOADED

Series: TypeAlias = list[Any] | NotLoaded | None
"""A time-series jsonb field: a list, None (no series), or NOT_LOADED."""


class Auto(enum.Enum):
    """Marks a provenance field the caller left to the store (``provenance.py``)."""

    AUTO = "AUTO"

    def __repr__(self) -> str:
        return "AUTO"

    __str__ = __repr__


AUTO = Auto.AUTO
"""The default of ``experiment``, ``run_by``, ``code_version`` and ``tags``: a save fills
the field from the store's defaults or what it detects; None stores NULL."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestResult:
    """A row of ``mcp_backtest_results``: one backtest run."""

    backtest_id: Annotated[UUID | None, col.uuid(key=True)] = None
    symbol: Annotated[str, col.varchar(32, not_null=True)]
    strategy_type: Annotated[str, col.varchar(50, not_null=True)]
    backtest_date: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    start_date: Annotated[date, col.date(not_null=True)]
    end_date: Annotated[date, col.date(not_null=True)]
    initial_capital: Annotated[Number | None, col.numeric(21, 8, default="10000.0")] = None
    fees: Annotated[Number | None, col.numeric(8, 6, default="0.001")] = None
    slippage: Annotated[Number | None, col.numeric(8, 6, default="0.001")] = None
    parameters: Annotated[Json | None, col.jsonb()] = None
    total_return: Annotated[Number | None, col.numeric(14, 8)] = None
    annualized_return: Annotated[Number | None, col.numeric(14, 8)] = None
    sharpe_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    sortino_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    calmar_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    max_drawdown: Annotated[Number | None, col.numeric(12, 8)] = None
    max_drawdown_duration: Annotated[int | None, col.integer()] = None
    volatility: Annotated[Number | None, col.numeric(12, 8)] = None
    downside_volatility: Annotated[Number | None, col.numeric(12, 8)] = None
    total_trades: Annotated[int | None, col.integer(default=0)] = None
    winning_trades: Annotated[int | None, col.integer(default=0)] = None
    losing_trades: Annotated[int | None, col.integer(default=0)] = None
    win_rate: Annotated[Number | None, col.numeric(9, 8)] = None
    profit_factor: Annotated[Number | None, col.numeric(8, 4)] = None
    average_win: Annotated[Number | None, col.numeric(18, 8)] = None
    average_loss: Annotated[Number | None, col.numeric(18, 8)] = None
    largest_win: Annotated[Number | None, col.numeric(18, 8)] = None
    largest_loss: Annotated[Number | None, col.numeric(18, 8)] = None
    final_portfolio_value: Annotated[Number | None, col.numeric(21, 8)] = None
    peak_portfolio_value: Annotated[Number | None, col.numeric(21, 8)] = None
    beta: Annotated[Number | None, col.numeric(8, 4)] = None
    alpha: Annotated[Number | None, col.numeric(12, 8)] = None
    equity_curve: Annotated[Series, col.jsonb()] = None
    drawdown_series: Annotated[Series, col.jsonb()] = None
    execution_time_seconds: Annotated[Number | None, col.numeric(8, 3)] = None
    data_points: Annotated[int | None, col.integer()] = None
    status: Annotated[str | None, col.varchar(20, default="completed")] = None
    error_message: Annotated[str | None, col.text()] = None
    notes: Annotated[str | None, col.text()] = None
    created_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    updated_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    # where the result came from (migration 0011): after the seed's columns, nullable
    experiment: Annotated[str | Auto | None, col.varchar(200)] = AUTO
    run_by: Annotated[str | Auto | None, col.varchar(200)] = AUTO
    saved_by: Annotated[str | None, col.varchar(63)] = None  # the database sets it
    code_version: Annotated[str | Auto | None, col.varchar(80)] = AUTO
    engine: Annotated[str | None, col.varchar(100)] = None
    data_fingerprint: Annotated[str | None, col.varchar(100)] = None
    bars_per_year: Annotated[Number | None, col.numeric(12, 4)] = None
    benchmark_symbol: Annotated[str | None, col.varchar(32)] = None
    benchmark_return: Annotated[Number | None, col.numeric(14, 8)] = None
    benchmark_curve: Annotated[Series, col.jsonb()] = None
    tags: Annotated[dict[str, str] | Auto | None, col.jsonb()] = AUTO
    extra_metrics: Annotated[dict[str, Any] | None, col.jsonb()] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestTrade:
    """A row of ``mcp_backtest_trades``: one trade of a backtest."""

    trade_id: Annotated[UUID | None, col.uuid(key=True)] = None
    backtest_id: Annotated[UUID | None, col.uuid(not_null=True)] = None
    trade_number: Annotated[int | None, col.integer(not_null=True)] = None
    entry_date: Annotated[date, col.date(not_null=True)]
    entry_price: Annotated[Number, col.numeric(18, 8, not_null=True)]
    entry_time: Annotated[datetime | None, col.timestamptz()] = None
    exit_date: Annotated[date | None, col.date()] = None
    exit_price: Annotated[Number | None, col.numeric(18, 8)] = None
    exit_time: Annotated[datetime | None, col.timestamptz()] = None
    position_size: Annotated[Number | None, col.numeric(21, 8)] = None
    direction: Annotated[str, col.varchar(5, not_null=True)]
    pnl: Annotated[Number | None, col.numeric(18, 8)] = None
    pnl_percent: Annotated[Number | None, col.numeric(12, 8)] = None
    mae: Annotated[Number | None, col.numeric(12, 8)] = None
    mfe: Annotated[Number | None, col.numeric(12, 8)] = None
    duration_days: Annotated[int | None, col.integer()] = None
    duration_hours: Annotated[Number | None, col.numeric(12, 6)] = None
    exit_reason: Annotated[str | None, col.varchar(50)] = None
    fees_paid: Annotated[Number | None, col.numeric(14, 8, default="0")] = None
    slippage_cost: Annotated[Number | None, col.numeric(14, 8, default="0")] = None
    created_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    updated_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptimizationResult:
    """A row of ``mcp_optimization_results``: one parameter set of an optimization."""

    optimization_id: Annotated[UUID | None, col.uuid(key=True)] = None
    backtest_id: Annotated[UUID | None, col.uuid(not_null=True)] = None
    optimization_date: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    parameter_set: Annotated[int | None, col.integer(not_null=True)] = None
    parameters: Annotated[Json, col.jsonb(not_null=True)]
    objective_function: Annotated[str | None, col.varchar(50)] = None
    objective_value: Annotated[Number | None, col.numeric(16, 8)] = None
    total_return: Annotated[Number | None, col.numeric(14, 8)] = None
    sharpe_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    max_drawdown: Annotated[Number | None, col.numeric(12, 8)] = None
    win_rate: Annotated[Number | None, col.numeric(9, 8)] = None
    profit_factor: Annotated[Number | None, col.numeric(8, 4)] = None
    total_trades: Annotated[int | None, col.integer()] = None
    rank: Annotated[int | None, col.integer()] = None
    is_statistically_significant: Annotated[bool | None, col.boolean(default=False)] = None
    p_value: Annotated[Number | None, col.numeric(8, 6)] = None
    created_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    updated_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForwardTest:
    """A row of ``mcp_walk_forward_tests``: one walk-forward window."""

    walk_forward_id: Annotated[UUID | None, col.uuid(key=True)] = None
    parent_backtest_id: Annotated[UUID | None, col.uuid(not_null=True)] = None
    test_date: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    window_size_months: Annotated[int, col.integer(not_null=True)]
    step_size_months: Annotated[int, col.integer(not_null=True)]
    training_start: Annotated[date, col.date(not_null=True)]
    training_end: Annotated[date, col.date(not_null=True)]
    test_period_start: Annotated[date, col.date(not_null=True)]
    test_period_end: Annotated[date, col.date(not_null=True)]
    optimal_parameters: Annotated[Json | None, col.jsonb()] = None
    training_performance: Annotated[Number | None, col.numeric(14, 8)] = None
    out_of_sample_return: Annotated[Number | None, col.numeric(14, 8)] = None
    out_of_sample_sharpe: Annotated[Number | None, col.numeric(8, 4)] = None
    out_of_sample_drawdown: Annotated[Number | None, col.numeric(12, 8)] = None
    out_of_sample_trades: Annotated[int | None, col.integer()] = None
    performance_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    degradation_factor: Annotated[Number | None, col.numeric(8, 4)] = None
    is_profitable: Annotated[bool | None, col.boolean()] = None
    is_statistically_significant: Annotated[bool | None, col.boolean(default=False)] = None
    created_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    updated_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestPortfolio:
    """A row of ``mcp_backtest_portfolios``: one portfolio backtest."""

    portfolio_backtest_id: Annotated[UUID | None, col.uuid(key=True)] = None
    portfolio_name: Annotated[str, col.varchar(100, not_null=True)]
    description: Annotated[str | None, col.text()] = None
    backtest_date: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    start_date: Annotated[date, col.date(not_null=True)]
    end_date: Annotated[date, col.date(not_null=True)]
    symbols: Annotated[list[Any], col.jsonb(not_null=True)]
    weights: Annotated[Json | None, col.jsonb()] = None
    rebalance_frequency: Annotated[str | None, col.varchar(20)] = None
    initial_capital: Annotated[Number | None, col.numeric(21, 8, default="100000.0")] = None
    max_positions: Annotated[int | None, col.integer()] = None
    position_sizing_method: Annotated[str | None, col.varchar(50)] = None
    portfolio_stop_loss: Annotated[Number | None, col.numeric(6, 4)] = None
    max_sector_allocation: Annotated[Number | None, col.numeric(5, 4)] = None
    correlation_threshold: Annotated[Number | None, col.numeric(5, 4)] = None
    total_return: Annotated[Number | None, col.numeric(14, 8)] = None
    annualized_return: Annotated[Number | None, col.numeric(14, 8)] = None
    sharpe_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    sortino_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    max_drawdown: Annotated[Number | None, col.numeric(12, 8)] = None
    volatility: Annotated[Number | None, col.numeric(12, 8)] = None
    diversification_ratio: Annotated[Number | None, col.numeric(8, 4)] = None
    concentration_index: Annotated[Number | None, col.numeric(8, 4)] = None
    turnover_rate: Annotated[Number | None, col.numeric(8, 4)] = None
    component_backtest_ids: Annotated[Json | None, col.jsonb()] = None
    portfolio_equity_curve: Annotated[Series, col.jsonb()] = None
    portfolio_weights_history: Annotated[Series, col.jsonb()] = None
    status: Annotated[str | None, col.varchar(20, default="completed")] = None
    notes: Annotated[str | None, col.text()] = None
    created_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None
    updated_at: Annotated[datetime | None, col.timestamptz(not_null=True, now=True)] = None


Record: TypeAlias = (
    BacktestResult | BacktestTrade | OptimizationResult | WalkForwardTest | BacktestPortfolio
)
