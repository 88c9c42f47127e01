"""compare_backtests and performance_summary, computed in SQL: the comparison (a rank per
metric, window functions) and the summary (one aggregate per strategy and symbol, rolled
up), their arguments checked first."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from uuid import UUID

from pypika import AliasedQuery, Field, Order, PostgreSQLQuery
from pypika import analytics as an
from pypika import functions as fn
from pypika.queries import QueryBuilder
from pypika.terms import Case, Function, NullValue, Star, Term, ValueWrapper

from backtest_store.analytics import BacktestComparison, PerformanceSummary, SummaryStats
from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import StoreSettings, check_aware, check_id, unknown_metric
from backtest_store.operations.rows import _stats_maker
from backtest_store.operations.sql import (
    METRICS,
    Statement,
    column_of,
    equal_filters,
    given,
    nan_as_null,
    param,
    render,
)
from backtest_store.operations.steps import Operation, fetch
from backtest_store.tables import (
    RESULTS,
)


@lru_cache(maxsize=64)
def _compare_backtests_sql(metrics: tuple[str, ...]) -> str:
    """Each metric's value and its rank (1 = best, NULL when the value is NULL)."""
    t = RESULTS.table
    terms: list[Term] = [t.backtest_id, t.symbol, t.strategy_type]
    for metric in metrics:
        column = nan_as_null(column_of(t, metric))
        rank = an.Rank().over()  # type: ignore[no-untyped-call]
        # NULLs rank last in the window, and are blanked out below.
        rank = rank.orderby(column.isnull())
        rank = rank.orderby(column, order=Order.desc if METRICS[metric] == "desc" else Order.asc)
        terms.append(column.as_(metric))
        terms.append(Case().when(column.isnull(), NullValue()).else_(rank).as_(f"{metric}_rank"))
    query = (
        PostgreSQLQuery.from_(t)
        .select(*terms)
        .where(t.backtest_id == Function("ANY", param("ids")))
    )
    return render(query)


# The summary's three groupings (overall, per strategy, per symbol) are rolled up from one
# aggregate per (strategy, symbol) pair rather than by GROUPING SETS, which Citus cannot
# run on a distributed table ("could not run distributed query with GROUPING"). The pairs
# are few (strategies times symbols); each table row is read once, as with GROUPING SETS,
# and on Citus the pairs are aggregated on the workers. A mean is the sum of the values
# over their count, which is how PostgreSQL's avg(numeric) computes it (numeric_avg
# divides the same sum by the same count), so the figures are the same to the last digit.
_MEANS = ("total_return", "sharpe_ratio", "win_rate")


def _rolled_up(pairs: AliasedQuery, strategy: bool, symbol: bool) -> QueryBuilder:
    """One grouping of the summary, rolled up from the pairs: per strategy, per symbol, or
    overall (neither)."""
    cast: Any = fn.Cast  # untyped in pypika
    coalesce: Any = fn.Coalesce

    def mean(name: str) -> Term:
        return fn.Sum(Field(f"sum_{name}", table=pairs)) / fn.NullIf(  # type: ignore[no-untyped-call]
            fn.Sum(Field(f"n_{name}", table=pairs)), 0)  # fmt: skip

    by_strategy, by_symbol = Field("strategy_type", table=pairs), Field("symbol", table=pairs)
    query = PostgreSQLQuery.from_(pairs).select(
        ValueWrapper(0 if strategy else 1).as_("by_strategy"),
        ValueWrapper(0 if symbol else 1).as_("by_symbol"),
        (by_strategy if strategy else NullValue()).as_("strategy_type"),
        (by_symbol if symbol else NullValue()).as_("symbol"),
        cast(coalesce(fn.Sum(Field("n", table=pairs)), 0), "bigint").as_("count"),
        mean("total_return").as_("mean_return"),
        fn.Max(Field("best_return", table=pairs)).as_("best_return"),
        fn.Min(Field("worst_return", table=pairs)).as_("worst_return"),
        mean("sharpe_ratio").as_("mean_sharpe"),
        mean("win_rate").as_("mean_win_rate"),
    )
    if strategy:
        query = query.groupby(by_strategy)
    if symbol:
        query = query.groupby(by_symbol)
    return query


@lru_cache(maxsize=16)
def _performance_summary_sql(present: frozenset[str]) -> str:
    """Count and return/Sharpe/win-rate statistics: overall, per strategy, per symbol,
    with the filters ``present`` names."""
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
    named = AliasedQuery("pairs")
    groupings = (
        _rolled_up(named, strategy=False, symbol=False)
        .union_all(_rolled_up(named, strategy=True, symbol=False))
        .union_all(_rolled_up(named, strategy=False, symbol=True))
    )
    return render(PostgreSQLQuery.with_(pairs, "pairs").from_(groupings).select(Star()))


def compare_backtests(
    backtest_ids: Iterable[UUID | None], metrics: Iterable[str] | None
) -> Operation[list[BacktestComparison]]:
    m = "compare_backtests"
    ids = [check_id(m, "backtest_ids", i) for i in backtest_ids]
    chosen = tuple(METRICS) if metrics is None else tuple(metrics)
    for metric in chosen:
        if metric not in METRICS:
            raise unknown_metric(m, "metrics", metric)
    if not chosen:
        raise ValidationError(m, "metrics", metrics, "at least one metric")
    if not ids:
        return []
    statement = Statement(_compare_backtests_sql(chosen), {"ids": ids})
    rows = yield fetch(statement, "all")
    out = []
    for row in rows:
        values = {metric: row[3 + 2 * k] for k, metric in enumerate(chosen)}
        ranks = {metric: row[4 + 2 * k] for k, metric in enumerate(chosen)}
        out.append(BacktestComparison(row[0], row[1], row[2], values, ranks))
    first = chosen[0]
    out.sort(key=lambda c: (c.ranks[first] is None, c.ranks[first] or 0, str(c.backtest_id)))
    return out


def performance_summary(
    settings: StoreSettings,
    *,
    since: Any,
    symbol: str | None,
    strategy_type: str | None,
    status: str | None,
) -> Operation[PerformanceSummary]:
    m = "performance_summary"
    params = given(
        since=check_aware(m, "since", since),
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=settings.argument(RESULTS, "status", status, method=m),
    )
    statement = Statement(_performance_summary_sql(frozenset(params)), params)
    rows = yield fetch(statement, "all", custom_plan=True)
    overall = SummaryStats(0, None, None, None, None, None)
    by_strategy: dict[str, SummaryStats] = {}
    by_symbol: dict[str, SummaryStats] = {}
    stats = _stats_maker()
    for row in rows:
        g_strategy, g_symbol, strategy, symbol_ = row[:4]
        summary = stats(row)
        if g_strategy and g_symbol:
            overall = summary
        elif not g_strategy:
            by_strategy[strategy] = summary
        else:
            by_symbol[symbol_] = summary
    return PerformanceSummary(overall, _by_count(by_strategy), _by_count(by_symbol))


def _by_count(groups: dict[str, SummaryStats]) -> dict[str, SummaryStats]:
    """Groups by count, largest first, then by name."""
    return dict(sorted(groups.items(), key=lambda item: (-item[1].count, item[0])))
