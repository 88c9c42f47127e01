"""The statements that read: by key, by id prefix, pages newest first, the best by a
metric, parameter containment, trades and children."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pypika import Order, PostgreSQLQuery
from pypika.terms import Function

from backtest_store.queries.common import (
    METRICS,
    NAN,
    Outcome,
    Statement,
    column_of,
    columns_for,
    contains_parameters,
    equal_filters,
    given,
    newest_first,
    origin_filters,
    paging,
    param,
    render,
    select,
)
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    TableSpec,
)


@lru_cache(maxsize=1)
def _ids_between_sql() -> str:
    t = RESULTS.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_id[param("low") : param("high")])  # BETWEEN: a range of the primary key
        .orderby(t.backtest_id)
        .limit(param("limit"))
    )
    return render(query)


def ids_between(low: Any, high: Any, limit: int) -> Statement:
    return Statement(_ids_between_sql(), {"low": low, "high": high, "limit": limit})


@lru_cache(maxsize=8)
def _get_by_key_sql(spec: TableSpec[Any]) -> str:
    return render(
        select(spec, spec.column_names).where(column_of(spec.table, spec.key) == param("key"))
    )


def get_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    return Statement(_get_by_key_sql(spec), {"key": key})


@lru_cache(maxsize=16)
def _get_by_keys_sql(spec: TableSpec[Any], order_by: tuple[str, ...], of_parent: bool) -> str:
    t = spec.table
    query = (
        select(spec, spec.column_names)
        .where(column_of(t, spec.key) == Function("ANY", param("keys")))
        .orderby(*(column_of(t, c) for c in order_by))
    )
    if of_parent and spec.parent_key:
        query = query.where(column_of(t, spec.parent_key) == param("parent"))
    return render(query)


def get_by_keys(
    spec: TableSpec[Any], keys: list[Any], order_by: tuple[str, ...], *, parent: Any = None
) -> Statement:
    """Rows by their keys; with ``parent``, a child's rows of that parent only (the parent
    id is the distribution column on Citus: the read goes to that parent's shard alone)."""
    if parent is None:
        return Statement(_get_by_keys_sql(spec, order_by, False), {"keys": keys})
    return Statement(_get_by_keys_sql(spec, order_by, True), {"keys": keys, "parent": parent})


@lru_cache(maxsize=256)
def _list_backtests_sql(present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    query = select(RESULTS, columns_for(RESULTS, with_series))
    query = equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    query = origin_filters(query, present)
    if "since" in present:
        query = query.where(t.backtest_date >= param("since"))
    if "until" in present:
        query = query.where(t.backtest_date < param("until"))
    query = newest_first(RESULTS, query, "after_date" in present)
    return render(query.limit(param("limit")))


def list_backtests(
    *,
    symbol: str | None,
    strategy_type: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, Any] | None,
    limit: int,
    with_series: bool,
    origin: dict[str, Any] | None = None,
) -> Statement:
    params = given(
        symbol=symbol, strategy_type=strategy_type, status=status, since=since, until=until,
        limit=limit, **paging(after), **(origin or {}),
    )  # fmt: skip
    return Statement(_list_backtests_sql(frozenset(params), with_series), params)


@lru_cache(maxsize=512)
def _top_backtests_sql(metric: str, present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    column = column_of(t, metric)
    # "< 'NaN'" leaves out NULL and NaN alike, as one range condition on the metric's
    # btree: numeric sorts NaN above every number, so on a database without the
    # ck_*_not_nan checks (0009) a NaN written by another writer would otherwise rank first.
    query = select(RESULTS, columns_for(RESULTS, with_series)).where(column < NAN)
    query = equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    query = origin_filters(query, present)
    if "min_trades" in present:
        query = query.where(t.total_trades >= param("min_trades"))
    if "parameters" in present:
        query = query.where(contains_parameters(t))
    # With NULLs filtered out above, either direction is a plain ascending btree read
    # forwards or backwards.
    order = Order.desc if METRICS[metric] == "desc" else Order.asc
    query = query.orderby(column, order=order).orderby(t.backtest_id)
    return render(query.limit(param("limit")))


def top_backtests(
    *,
    metric: str,
    symbol: str | None,
    strategy_type: str | None,
    min_trades: int,
    status: str | None,
    limit: int,
    with_series: bool,
    parameters: Any = None,
    origin: dict[str, Any] | None = None,
) -> Statement:
    if metric not in METRICS:  # an identifier in the SQL: only from the whitelist, even under -O
        raise ValueError(f"top_backtests: {metric!r} is not one of METRICS")
    params = given(
        symbol=symbol, strategy_type=strategy_type, status=status,
        min_trades=min_trades if min_trades > 0 else None, limit=limit, parameters=parameters,
        **(origin or {}),
    )  # fmt: skip
    return Statement(_top_backtests_sql(metric, frozenset(params), with_series), params)


@lru_cache(maxsize=16)
def _find_backtests_sql(present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    query = select(RESULTS, columns_for(RESULTS, with_series)).where(contains_parameters(t))
    query = equal_filters(RESULTS, query, present, ("symbol", "strategy_type"))
    return render(newest_first(RESULTS, query, False).limit(param("limit")))


def find_backtests(
    *,
    parameters: Any,
    symbol: str | None,
    strategy_type: str | None,
    limit: int,
    with_series: bool,
) -> Statement:
    params = given(parameters=parameters, symbol=symbol, strategy_type=strategy_type, limit=limit)
    return Statement(_find_backtests_sql(frozenset(params), with_series), params)


@lru_cache(maxsize=4)
def _trades_sql(outcome: Outcome) -> str:
    t = TRADES.table
    query = select(TRADES, TRADES.column_names).where(t.backtest_id == param("backtest_id"))
    if outcome == "winning":  # numeric's NaN is greater than every number: not a win
        query = query.where(t.pnl > 0).where(t.pnl < NAN)
    elif outcome == "losing":
        query = query.where(t.pnl < 0)
    return render(query.orderby(t.entry_date, t.trade_number))


def trades(backtest_id: Any, outcome: Outcome) -> Statement:
    return Statement(_trades_sql(outcome), {"backtest_id": backtest_id})


@lru_cache(maxsize=1)
def _best_parameters_sql() -> str:
    t = OPTIMIZATIONS.table
    query = (
        select(OPTIMIZATIONS, OPTIMIZATIONS.column_names)
        .where(t.backtest_id == param("backtest_id"))
        .where(t.rank.notnull())
        .orderby(t.rank, t.parameter_set)
        .limit(param("limit"))
    )
    return render(query)


def best_parameters(backtest_id: Any, limit: int) -> Statement:
    return Statement(_best_parameters_sql(), {"backtest_id": backtest_id, "limit": limit})


@lru_cache(maxsize=8)
def _children_sql(spec: TableSpec[Any], order_by: tuple[str, ...]) -> str:
    assert spec.parent_key is not None
    t = spec.table
    query = (
        select(spec, spec.column_names)
        .where(column_of(t, spec.parent_key) == param("parent"))
        .orderby(*(column_of(t, c) for c in order_by))
    )
    return render(query)


def children(spec: TableSpec[Any], parent_id: Any, order_by: tuple[str, ...]) -> Statement:
    return Statement(_children_sql(spec, order_by), {"parent": parent_id})


@lru_cache(maxsize=16)
def _list_portfolios_sql(present: frozenset[str], with_series: bool) -> str:
    query = select(PORTFOLIOS, columns_for(PORTFOLIOS, with_series))
    query = equal_filters(PORTFOLIOS, query, present, ("portfolio_name",))
    query = newest_first(PORTFOLIOS, query, "after_date" in present)
    return render(query.limit(param("limit")))


def list_portfolios(
    *,
    portfolio_name: str | None,
    after: tuple[datetime, Any] | None,
    limit: int,
    with_series: bool,
) -> Statement:
    params = given(portfolio_name=portfolio_name, limit=limit, **paging(after))
    return Statement(_list_portfolios_sql(frozenset(params), with_series), params)
