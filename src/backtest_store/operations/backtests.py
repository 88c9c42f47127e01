"""The backtests read: one by its id, ids by their prefix, pages newest first, the best
by a metric, parameter searches; and the schema version every store checks first. Each
operation checks its arguments, then yields its statement, built here."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from uuid import UUID

from pypika import Order, PostgreSQLQuery
from pypika.terms import Function

from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import (
    HEX,
    StoreSettings,
    check_aware,
    check_id,
    check_limit,
    check_min_trades,
    page_key,
    parameters_filter,
    unknown_metric,
)
from backtest_store.operations.arguments import origin as check_origin
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import (
    METRICS,
    NAN,
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
from backtest_store.operations.steps import Operation, R, fetch
from backtest_store.records import (
    BacktestResult,
)
from backtest_store.tables import (
    RESULTS,
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


@lru_cache(maxsize=16)
def _get_by_key_sql(spec: TableSpec[Any], with_series: bool) -> str:
    columns = columns_for(spec, with_series)
    return render(select(spec, columns).where(column_of(spec.table, spec.key) == param("key")))


def get_by_key(spec: TableSpec[Any], key: Any, *, with_series: bool = True) -> Statement:
    return Statement(_get_by_key_sql(spec, with_series), {"key": key})


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


@lru_cache(maxsize=512)
def _top_backtests_sql(metric: str, present: frozenset[str], with_series: bool) -> str:
    if metric not in METRICS:  # an identifier in the SQL: only from the whitelist, even under -O
        raise ValueError(f"top_backtests: {metric!r} is not one of METRICS")
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


@lru_cache(maxsize=16)
def _find_backtests_sql(present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    query = select(RESULTS, columns_for(RESULTS, with_series)).where(contains_parameters(t))
    query = equal_filters(RESULTS, query, present, ("symbol", "strategy_type"))
    return render(newest_first(RESULTS, query, False).limit(param("limit")))


def backtest_ids(prefix: Any, limit: int) -> Operation[list[UUID]]:
    """The backtest ids that start with ``prefix`` (hex digits, dashes ignored), in order;
    a range scan of the primary key."""
    digits = prefix.replace("-", "").lower() if isinstance(prefix, str) else None
    if digits is None or not 1 <= len(digits) <= 32 or any(c not in HEX for c in digits):
        raise ValidationError("backtest_ids", "prefix", prefix, "1 to 32 hex digits",
                              problem="is not the start of a backtest id")  # fmt: skip
    low, high = UUID(digits.ljust(32, "0")), UUID(digits.ljust(32, "f"))
    rows = yield fetch(ids_between(low, high, check_limit("backtest_ids", limit)), "all")
    return [row[0] for row in rows]


def get_one(
    spec: TableSpec[R], key: UUID | None, method: str, *, with_series: bool = True
) -> Operation[R | None]:
    check_id(method, spec.key, key)
    row = yield fetch(get_by_key(spec, key, with_series=with_series), "one", record_row(spec))
    return row  # type: ignore[no-any-return]


def list_backtests(
    settings: StoreSettings,
    *,
    symbol: str | None,
    strategy_type: str | None,
    status: str | None,
    since: Any,
    until: Any,
    limit: int,
    after: BacktestResult | None,
    with_series: bool,
    origin: Mapping[str, Any] | None = None,
) -> Operation[list[BacktestResult]]:
    m = "list_backtests"
    origin = check_origin(settings, m, **(origin or {}))
    params = given(
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=settings.argument(RESULTS, "status", status, method=m),
        since=check_aware(m, "since", since),
        until=check_aware(m, "until", until),
        limit=check_limit(m, limit),
        **paging(page_key(m, after, BacktestResult, "backtest_id")),
        **origin,
    )  # fmt: skip
    statement = Statement(_list_backtests_sql(frozenset(params), bool(with_series)), params)
    rows = yield fetch(statement, "all", record_row(RESULTS), custom_plan="tags" in origin)
    return list(rows)


def top_backtests(
    settings: StoreSettings,
    *,
    metric: str,
    symbol: str | None,
    strategy_type: str | None,
    min_trades: int,
    status: str | None,
    limit: int,
    with_series: bool,
    parameters: dict[str, Any] | None = None,
    origin: Mapping[str, Any] | None = None,
) -> Operation[list[BacktestResult]]:
    m = "top_backtests"
    origin = check_origin(settings, m, **(origin or {}))
    if metric not in METRICS:
        raise unknown_metric(m, "metric", metric)
    min_trades = check_min_trades(m, min_trades)
    params = given(
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=settings.argument(RESULTS, "status", status, method=m),
        min_trades=min_trades if min_trades > 0 else None,
        limit=check_limit(m, limit),
        parameters=None if parameters is None else parameters_filter(settings, m, parameters),
        **origin,
    )  # fmt: skip
    sql_text = _top_backtests_sql(metric, frozenset(params), bool(with_series))
    statement = Statement(sql_text, params)
    custom = parameters is not None or "tags" in origin  # a plan for the values: GIN
    rows = yield fetch(statement, "all", record_row(RESULTS), custom_plan=custom)
    return list(rows)


def find_backtests(
    settings: StoreSettings,
    *,
    parameters: dict[str, Any],
    symbol: str | None,
    strategy_type: str | None,
    limit: int,
    with_series: bool,
) -> Operation[list[BacktestResult]]:
    m = "find_backtests"
    params = given(
        parameters=parameters_filter(settings, m, parameters),
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        limit=check_limit(m, limit),
    )  # fmt: skip
    statement = Statement(_find_backtests_sql(frozenset(params), bool(with_series)), params)
    rows = yield fetch(statement, "all", record_row(RESULTS), custom_plan=True)
    return list(rows)
