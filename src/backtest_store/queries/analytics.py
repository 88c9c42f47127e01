"""The statements computed in SQL: the comparison (a rank per metric, window functions)
and the summary (one aggregate per strategy and symbol, rolled up)."""

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


# The summary's three groupings (overall, per strategy, per symbol) are rolled up from one
# aggregate per (strategy, symbol) pair rather than by GROUPING SETS, which Citus cannot
# run on a distributed table ("could not run distributed query with GROUPING"). The pairs
# are few (strategies times symbols); each table row is read once, as with GROUPING SETS,
# and on Citus the pairs are aggregated on the workers. A mean is the sum of the values
# over their count, which is how PostgreSQL's avg(numeric) computes it (numeric_avg
# divides the same sum by the same count), so the figures are the same to the last digit.
_MEANS = ("total_return", "sharpe_ratio", "win_rate")
_ROLL_UP = """
SELECT {by_strategy} AS by_strategy, {by_symbol} AS by_symbol, {strategy} AS strategy_type,
       {symbol} AS symbol, COALESCE(sum(n), 0)::bigint AS count,
       sum(sum_total_return) / NULLIF(sum(n_total_return), 0) AS mean_return,
       max(best_return) AS best_return, min(worst_return) AS worst_return,
       sum(sum_sharpe_ratio) / NULLIF(sum(n_sharpe_ratio), 0) AS mean_sharpe,
       sum(sum_win_rate) / NULLIF(sum(n_win_rate), 0) AS mean_win_rate
FROM pairs{group}"""


@lru_cache(maxsize=16)
def _performance_summary_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    terms: list[Term] = [t.strategy_type, t.symbol, fn.Count("*").as_("n")]
    for name in _MEANS:
        value = nan_as_null(column_of(t, name))
        terms += [fn.Sum(value).as_(f"sum_{name}"), fn.Count(value).as_(f"n_{name}")]
    returns = nan_as_null(t.total_return)
    terms += [fn.Max(returns).as_("best_return"), fn.Min(returns).as_("worst_return")]
    pairs = PostgreSQLQuery.from_(t).select(*terms)
    if "since" in present:
        pairs = pairs.where(t.backtest_date >= param("since"))
    pairs = equal_filters(RESULTS, pairs, present, ("symbol", "strategy_type", "status"))
    pairs = pairs.groupby(t.strategy_type, t.symbol)
    groupings = (
        _ROLL_UP.format(by_strategy=1, by_symbol=1, strategy="NULL", symbol="NULL", group=""),
        _ROLL_UP.format(
            by_strategy=0, by_symbol=1, strategy="strategy_type", symbol="NULL",
            group=" GROUP BY strategy_type",
        ),
        _ROLL_UP.format(
            by_strategy=1, by_symbol=0, strategy="NULL", symbol="symbol",
            group=" GROUP BY symbol",
        ),
    )  # fmt: skip
    return f"WITH pairs AS ({render(pairs)})" + "\nUNION ALL".join(groupings)
