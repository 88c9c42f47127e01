"""The five tables: pypika Table objects and their column facts, read off the records."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

from pypika import Table

from backtest_store.columns import Column
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    Record,
    WalkForwardTest,
)

R = TypeVar("R", bound=Record)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one instance per table
class TableSpec(Generic[R]):
    """A table, its record type and the facts the DAO needs about it."""

    name: str
    record: type[R]
    key: str  # primary key column
    parent_key: str | None  # foreign key to mcp_backtest_results, if a child
    series: tuple[str, ...]  # heavy time-series columns that lists leave out
    columns: dict[str, Column]  # in column order

    @property
    def table(self) -> Table:
        return Table(self.name)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    @cached_property
    def db_filled(self) -> tuple[str, ...]:
        """The columns the database computes when a row leaves them out (ids, times)."""
        return tuple(n for n, c in self.columns.items() if c.db_fills)

    @cached_property
    def numeric(self) -> frozenset[str]:
        """The numeric(p, s) columns."""
        return frozenset(n for n, c in self.columns.items() if c.kind == "numeric")

    @property
    def light_columns(self) -> tuple[str, ...]:
        """Every column but the time series."""
        return tuple(c for c in self.columns if c not in self.series)


def _columns(record: type[Record]) -> dict[str, Column]:
    hints = typing.get_type_hints(record, include_extras=True)
    out: dict[str, Column] = {}
    for field in dataclasses.fields(record):
        (fact,) = (m for m in hints[field.name].__metadata__ if isinstance(m, Column))
        out[field.name] = fact
    return out


def _spec(
    name: str,
    record: type[R],
    key: str,
    parent_key: str | None = None,
    series: tuple[str, ...] = (),
) -> TableSpec[R]:
    return TableSpec(name, record, key, parent_key, series, _columns(record))  # type: ignore[arg-type]


RESULTS = _spec(
    "mcp_backtest_results",
    BacktestResult,
    "backtest_id",
    series=("equity_curve", "drawdown_series", "benchmark_curve"),
)
TRADES = _spec("mcp_backtest_trades", BacktestTrade, "trade_id", "backtest_id")
OPTIMIZATIONS = _spec(
    "mcp_optimization_results", OptimizationResult, "optimization_id", "backtest_id"
)
WALK_FORWARD = _spec(
    "mcp_walk_forward_tests", WalkForwardTest, "walk_forward_id", "parent_backtest_id"
)
PORTFOLIOS = _spec(
    "mcp_backtest_portfolios",
    BacktestPortfolio,
    "portfolio_backtest_id",
    series=("portfolio_equity_curve", "portfolio_weights_history"),
)

ALL: tuple[TableSpec[typing.Any], ...] = (RESULTS, TRADES, OPTIMIZATIONS, WALK_FORWARD, PORTFOLIOS)


def spec_for(record_type: type[typing.Any]) -> TableSpec[typing.Any]:
    """The table of a record type."""
    for spec in ALL:
        if spec.record is record_type:
            return spec
    raise TypeError(f"not a record type: {record_type.__name__}")
