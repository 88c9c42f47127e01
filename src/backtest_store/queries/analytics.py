"""The statements computed in SQL: the comparison (a rank per metric, window functions)
and the summary (GROUPING SETS)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pypika import Order, PostgreSQLQuery
from pypika import analytics as an
from pypika import functions as fn
from pypika.terms import Function, Term

from backtest_store.queries.common import (
    METRICS,
    Statement,
    column_of,
    equal_filters,
    given,
    nan_as_null,
    param,
    render,
)
from backtest_store.tables import (
    RESULTS,
)


def compare_backtests(backtest_ids: list[Any], metrics: tuple[str, ...]) -> Statement:
    """Each metric's value and its rank (1 = best, NULL when the value is NULL)."""
    return Statement(_compare_backtests_sql(metrics), {"ids": backtest_ids})


@lru_cache(maxsize=64)
def _compare_backtests_sql(metrics: tuple[str, ...]) -> str:
    t = RESULTS.table
    terms: list[Term] = [t.backtest_id, t.symbol, t.strategy_type]
    for metric in metrics:
        column = nan_as_null(column_of(t, metric))
        rank = an.Rank().over()  # type: ignore[no-untyped-call]
        # NULLs rank last in the window, and are blanked out below.
        rank = rank.orderby(column.isnull())
        rank = rank.orderby(column, order=Order.desc if METRICS[metric] == "desc" else Order.asc)
        terms.append(column.as_(metric))
        terms.append(_CaseNull(column, rank).as_(f"{metric}_rank"))
    query = (
        PostgreSQLQuery.from_(t)
        .select(*terms)
        .where(t.backtest_id == Function("ANY", param("ids")))
    )
    return render(query)


class _CaseNull(Term):
    """CASE WHEN <column> IS NULL THEN NULL ELSE <value> END."""

    def __init__(self, column: Term, value: Term, alias: str | None = None) -> None:
        super().__init__(alias=alias)
        self.column = column
        self.value = value

    def get_sql(self, **kwargs: Any) -> str:
        inner = (
            f"CASE WHEN {self.column.get_sql(**kwargs)} IS NULL THEN NULL "
            f"ELSE {self.value.get_sql(**kwargs)} END"
        )
        alias = kwargs.get("with_alias") and self.alias
        return f'{inner} "{self.alias}"' if alias else inner


class _GroupingSets(Term):
    """GROUPING SETS ((), (a), (b), ...)."""

    def __init__(self, *columns: Term) -> None:
        super().__init__()
        self.columns = columns

    def get_sql(self, **kwargs: Any) -> str:
        sets = ", ".join(["()", *(f"({c.get_sql(**kwargs)})" for c in self.columns)])
        return f"GROUPING SETS ({sets})"


def performance_summary(
    *,
    since: datetime | None,
    symbol: str | None,
    strategy_type: str | None,
    status: str | None,
) -> Statement:
    """Count and return/Sharpe/win-rate statistics: overall, per strategy, per symbol."""
    params = given(since=since, symbol=symbol, strategy_type=strategy_type, status=status)
    return Statement(_performance_summary_sql(frozenset(params)), params)


@lru_cache(maxsize=16)
def _performance_summary_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    query = PostgreSQLQuery.from_(t).select(
        Function("GROUPING", t.strategy_type).as_("by_strategy"),
        Function("GROUPING", t.symbol).as_("by_symbol"),
        t.strategy_type,
        t.symbol,
        fn.Count("*").as_("count"),
        fn.Avg(nan_as_null(t.total_return)).as_("mean_return"),
        fn.Max(nan_as_null(t.total_return)).as_("best_return"),
        fn.Min(nan_as_null(t.total_return)).as_("worst_return"),
        fn.Avg(nan_as_null(t.sharpe_ratio)).as_("mean_sharpe"),
        fn.Avg(nan_as_null(t.win_rate)).as_("mean_win_rate"),
    )
    if "since" in present:
        query = query.where(t.backtest_date >= param("since"))
    query = equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    return render(query.groupby(_GroupingSets(t.strategy_type, t.symbol)))
