"""What every statement builder uses: the rankable metrics, the Statement, placeholders,
columns and the filters and ordering the reads share.

Every builder is split in two: the public function binds the values, and a cached
function renders the SQL for the statement's shape (which filters are present). pypika
then runs once per shape, not once per call, and each shape is one prepared statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pypika import Field, Order, Parameter, PostgreSQLQuery, Table, Tuple
from pypika import functions as fn
from pypika.enums import JSONOperators
from pypika.queries import QueryBuilder
from pypika.terms import BasicCriterion, Term, ValueWrapper

from backtest_store.tables import (
    RESULTS,
    TableSpec,
)
from backtest_store.values import plain_scalar

# top_backtests / compare_backtests: the metric columns one may rank by, and
# which direction is better. Drawdowns are stored as negative fractions, so
# "closer to zero" is descending; volatilities are >= 0, so it is ascending.
METRICS: dict[str, Literal["desc", "asc"]] = {
    "total_return": "desc",
    "annualized_return": "desc",
    "sharpe_ratio": "desc",
    "sortino_ratio": "desc",
    "calmar_ratio": "desc",
    "alpha": "desc",
    "max_drawdown": "desc",
    "volatility": "asc",
    "downside_volatility": "asc",
    "win_rate": "desc",
    "profit_factor": "desc",
}


Outcome = Literal["all", "winning", "losing"]


@dataclass(frozen=True)
class Statement:
    """SQL text with named placeholders, and the values bound to them."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def param(name: str) -> Any:
    """The placeholder of a named parameter (typed Any: pypika renders it wherever a term goes)."""
    return Parameter(f"%({name})s")


def given(**values: Any) -> dict[str, Any]:
    """The parameters a call binds: the values that are not None (nor pandas.NA/NaT),
    numpy and pandas scalars as their plain values."""
    plain = {name: plain_scalar(value) for name, value in values.items()}
    return {name: value for name, value in plain.items() if value is not None}


def column_of(table: Table, name: str) -> Field:
    return Field(name, table=table)


# numeric's NaN: sorts above every number and equals itself. Reads treat it as NULL.
NAN: Any = ValueWrapper("NaN")


def nan_as_null(column: Term) -> Term:
    """NULLIF(column, 'NaN'): a NaN metric counts as unknown in ranks and aggregates."""
    return fn.NullIf(column, NAN)  # type: ignore[no-untyped-call]


def columns_for(spec: TableSpec[Any], with_series: bool) -> tuple[str, ...]:
    return spec.column_names if with_series else spec.light_columns


def select(spec: TableSpec[Any], columns: tuple[str, ...]) -> QueryBuilder:
    t = spec.table
    return PostgreSQLQuery.from_(t).select(*(column_of(t, c) for c in columns))


def render(query: QueryBuilder) -> str:
    return str(query.get_sql())


def newest_first(spec: TableSpec[Any], query: QueryBuilder, paged: bool) -> QueryBuilder:
    """Keyset pagination on (backtest_date, key), newest first."""
    t = spec.table
    if paged:
        query = query.where(
            Tuple(t.backtest_date, column_of(t, spec.key))
            < Tuple(param("after_date"), param("after_key"))
        )
    return query.orderby(t.backtest_date, column_of(t, spec.key), order=Order.desc)


def equal_filters(
    spec: TableSpec[Any], query: QueryBuilder, present: frozenset[str], names: tuple[str, ...]
) -> QueryBuilder:
    t = spec.table
    for name in names:
        if name in present:
            query = query.where(column_of(t, name) == param(name))
    return query


def paging(after: tuple[datetime, Any] | None) -> dict[str, Any]:
    return {} if after is None else {"after_date": after[0], "after_key": after[1]}


def contains_parameters(t: Table, name: str = "parameters", column: str = "parameters") -> Term:
    """parameters @> %(name)s: jsonb containment, served by the GIN index (0008; tags:
    0012)."""
    return BasicCriterion(
        JSONOperators.CONTAINS,  # type: ignore[arg-type]  # pypika types it too narrowly
        column_of(t, column),
        param(name),
    )


# Where a result came from (0011): equal to a value, each served by its index (0012);
# tags by containment.
ORIGIN = ("experiment", "run_by", "code_version", "data_fingerprint")


def origin_filters(query: QueryBuilder, present: frozenset[str]) -> QueryBuilder:
    """The provenance filters among ``present``: experiment, run_by, code_version,
    data_fingerprint (equal), tags (containment)."""
    query = equal_filters(RESULTS, query, present, ORIGIN)
    if "tags" in present:
        query = query.where(contains_parameters(RESULTS.table, "tags", "tags"))
    return query
