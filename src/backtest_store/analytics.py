"""Typed results of the analytics methods (computed in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True, slots=True)
class SummaryStats:
    """Aggregates over a set of backtests; means and extremes skip NULL metrics."""

    count: int
    mean_return: Decimal | None
    best_return: Decimal | None
    worst_return: Decimal | None
    mean_sharpe: Decimal | None
    mean_win_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """performance_summary(): overall, per strategy_type and per symbol; the groups in
    order of their count, largest first, then by name."""

    overall: SummaryStats
    by_strategy: dict[str, SummaryStats]
    by_symbol: dict[str, SummaryStats]


@dataclass(frozen=True, slots=True)
class BacktestComparison:
    """One backtest in compare_backtests(): each metric's value and rank (1 = best)."""

    backtest_id: UUID
    symbol: str
    strategy_type: str
    values: dict[str, Decimal | None]
    ranks: dict[str, int | None]  # None where the value is None


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    """One experiment in list_experiments(): how many runs, when, who ran them and from
    which code versions (each with its count of runs; "" for runs that did not say)."""

    experiment: str
    runs: int
    first_run: datetime
    last_run: datetime
    run_by: dict[str, int]
    code_versions: dict[str, int]
