"""The operation of ``browse_backtests``: its arguments checked (each error names the
argument and what it takes), then one statement, built here (filters, sorts, keyset
pages both ways)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from pypika import Criterion, Field, Order, PostgreSQLQuery, Tuple
from pypika.queries import QueryBuilder
from pypika.terms import Function, Term, ValueWrapper

from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import (
    StoreSettings,
    check_aware,
    check_id,
    check_limit,
    check_min_trades,
    parameters_filter,
)
from backtest_store.operations.arguments import origin as check_origin
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import (
    METRICS,
    NAN,
    ORIGIN,
    Statement,
    column_of,
    columns_for,
    contains_parameters,
    equal_filters,
    given,
    origin_filters,
    param,
    render,
    select,
)
from backtest_store.operations.steps import Operation, fetch
from backtest_store.records import BacktestResult
from backtest_store.tables import RESULTS

SORTS = ("backtest_date", *METRICS)  # every one has a btree index (0002, 0008)
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}  # fmt: skip
RANGE_OPERATORS = tuple(COMPARE)
MAX_ALTERNATIVES = 10  # parameter containments OR-ed in one filter
MAX_RANGES = 20  # metric ranges AND-ed in one filter
# Up to this many symbols, a page by date reads a page of each symbol from the (symbol,
# backtest_date) index, the branches merged by UNION ALL; beyond, = ANY and a sort.
MAX_PER_SYMBOL = 20


@dataclass(frozen=True, slots=True)
class Shape:
    """What the SQL depends on (the values are bound): one prepared statement per shape."""

    sort: str
    descending: bool
    # "" (the first page), "after" or "before", and whether the cursor's row lacks the metric
    direction: str
    missing: bool
    filters: frozenset[str]
    alternatives: int
    ranges: tuple[tuple[str, str], ...]
    symbols: int = 0  # how many symbols the filter names


def _filtered(shape: Shape, with_series: bool, symbol: Any = None) -> QueryBuilder:
    """The page's filters; ``symbol``: one symbol's term in place of ``= ANY(symbols)``."""
    t = RESULTS.table
    query = select(RESULTS, columns_for(RESULTS, with_series))
    if symbol is not None:
        query = query.where(t.symbol == symbol)
    elif "symbols" in shape.filters:
        query = query.where(t.symbol == Function("ANY", param("symbols")))
    query = equal_filters(RESULTS, query, shape.filters, ("strategy_type", "status"))
    query = origin_filters(query, shape.filters)
    if "since" in shape.filters:
        query = query.where(t.backtest_date >= param("since"))
    if "until" in shape.filters:
        query = query.where(t.backtest_date < param("until"))
    if "min_trades" in shape.filters:
        query = query.where(t.total_trades >= param("min_trades"))
    if shape.alternatives:
        contains = [contains_parameters(t, f"parameters_{n}") for n in range(shape.alternatives)]
        query = query.where(Criterion.any(contains))
    for n, (metric, op) in enumerate(shape.ranges):
        column: Any = column_of(t, metric)
        bound = param(f"range_{n}")
        query = query.where(COMPARE[op](column, bound))
        if op in (">=", ">"):  # numeric's NaN is greater than every number: not in range
            query = query.where(column < NAN)
    return query


def _beyond(shape: Shape, keys: tuple[Any, ...], forwards: bool) -> Term:
    """The keyset condition: rows after the cursor in the page's order (or before it)."""
    later = shape.descending != forwards  # ascending and forwards: greater
    cursor: Any = Tuple(*(param(f"cursor_{n}") for n in range(len(keys))))
    row: Any = Tuple(*keys)
    return row > cursor if later else row < cursor  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def _browse_sql(shape: Shape, with_series: bool) -> str:
    t = RESULTS.table
    forwards = shape.direction != "before"
    # the page's own order; a page before the cursor is read backwards and turned round
    order = Order.desc if shape.descending == forwards else Order.asc
    key = t.backtest_id
    if shape.sort == "backtest_date":
        # Several symbols by date: a page of each from the (symbol, backtest_date) index,
        # merged. "= ANY" would fetch every row of the symbols and sort them, a cost that
        # grows with the table; this reads at most a page per symbol. UNION ALL rather
        # than a LATERAL join over unnest(symbols), which Citus cannot push down ("Limit
        # clause is currently unsupported when a lateral subquery references a column
        # from a table function"): on Citus each branch runs on every shard, limited there.
        per_symbol = 0 < shape.symbols <= MAX_PER_SYMBOL
        if not per_symbol:
            query = _filtered(shape, with_series)
            if shape.direction:
                query = query.where(_beyond(shape, (t.backtest_date, key), forwards))
            return render(query.orderby(t.backtest_date, key, order=order).limit(param("limit")))
        branches = []
        for n in range(1, shape.symbols + 1):
            query = _filtered(shape, with_series, param(f"symbol_{n}"))
            if shape.direction:
                query = query.where(_beyond(shape, (t.backtest_date, key), forwards))
            branches.append(query.orderby(t.backtest_date, key, order=order).limit(param("limit")))
        if len(branches) == 1:
            return render(branches[0])
        merged: Any = branches[0]  # a QueryBuilder, then pypika's _SetOperation
        for branch in branches[1:]:
            merged = merged.union_all(branch)
        return render(merged.orderby(Field("backtest_date"), Field("backtest_id"), order=order)
                      .limit(param("limit")))  # fmt: skip
    metric: Any = column_of(t, shape.sort)
    having = _filtered(shape, with_series).where(metric < NAN)
    lacking = _filtered(shape, with_series).where(metric.isnull() | (metric == NAN))
    if shape.direction and not shape.missing:
        having = having.where(_beyond(shape, (metric, key), forwards))
    if shape.direction and shape.missing:
        lacking = lacking.where(_beyond(shape, (key,), forwards))
    having = having.orderby(metric, key, order=order).limit(param("limit"))
    lacking = lacking.orderby(key, order=order).limit(param("limit"))
    if shape.direction == "after" and shape.missing:
        return render(lacking)  # past the rows with the metric
    if shape.direction == "before" and not shape.missing:
        return render(having)
    # Both groups: each branch is limited in its index order, then the page is the first
    # rows of the two in the page's order (the group, then the metric, then the id).
    having = having.select(ValueWrapper(0, alias="page_group"),
                           column_of(t, shape.sort).as_("page_sort"))  # fmt: skip
    lacking = lacking.select(ValueWrapper(1, alias="page_group"),
                             ValueWrapper(None, alias="page_sort"))  # fmt: skip
    page = having.union_all(lacking).as_("page")
    groups = Order.asc if forwards else Order.desc  # backwards: the rows without it first
    outer = (
        PostgreSQLQuery.from_(page)
        .select(*(Field(c, table=page) for c in columns_for(RESULTS, with_series)))
        .orderby(Field("page_group", table=page), order=groups)
        .orderby(Field("page_sort", table=page), Field("backtest_id", table=page), order=order)
    )
    return render(outer.limit(param("limit")))


def browse_statement(
    shape: Shape, params: dict[str, Any], cursor: tuple[Any, ...], with_series: bool
) -> Statement:
    bound = dict(params)
    for n, value in enumerate(cursor):
        bound[f"cursor_{n}"] = value
    for n, value in enumerate(params.get("symbols") or (), start=1):
        bound[f"symbol_{n}"] = value  # each symbol's own page (_browse_sql)
    return Statement(_browse_sql(shape, with_series), bound)


M = "browse_backtests"
Cursor = tuple[Any, UUID]  # a page's edge: (its row's sort value, or None, backtest_id)
RANGED = tuple(name for name, c in RESULTS.columns.items() if c.kind in ("numeric", "integer"))


def cursor_of(record: BacktestResult, sort: str) -> Cursor:
    """The cursor after (or before) ``record`` in a page sorted by ``sort``."""
    value = getattr(record, sort)
    if isinstance(value, float | Decimal) and value != value:  # NaN: the group without it
        value = None
    return (value, record.backtest_id)  # type: ignore[return-value]


def browse_backtests(
    settings: StoreSettings,
    *,
    symbols: Sequence[str] | None,
    strategy_type: str | None,
    status: str | None,
    since: Any,
    until: Any,
    min_trades: int,
    parameters_any: Sequence[dict[str, Any]] | None,
    ranges: Sequence[tuple[str, str, Any]] | None,
    sort: str,
    descending: bool,
    after: Cursor | None,
    before: Cursor | None,
    limit: int,
    with_series: bool,
    origin: Mapping[str, Any] | None = None,
) -> Operation[list[BacktestResult]]:
    if sort not in SORTS:
        raise ValidationError(M, "sort", sort, "one of " + ", ".join(SORTS))
    if after is not None and before is not None:
        raise ValidationError(M, "before", before, "None when after is given")
    min_trades = check_min_trades(M, min_trades)
    alternatives = list(parameters_any or ())
    if len(alternatives) > MAX_ALTERNATIVES:
        raise ValidationError(M, "parameters_any", alternatives,
                              f"at most {MAX_ALTERNATIVES} alternatives")  # fmt: skip
    params: dict[str, Any] = given(
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=M),
        status=settings.argument(RESULTS, "status", status, method=M),
        since=check_aware(M, "since", since),
        until=check_aware(M, "until", until),
        min_trades=min_trades or None,
        limit=check_limit(M, limit),
    )
    params.update(check_origin(settings, M, **(origin or {})))
    if symbols:
        wanted = [settings.argument(RESULTS, "symbol", s, method=M) for s in symbols]
        params["symbols"] = list(dict.fromkeys(wanted))  # each once
    for n, alternative in enumerate(alternatives):
        params[f"parameters_{n}"] = parameters_filter(settings, M, alternative)
    shapes: list[tuple[str, str]] = []
    if len(ranges or ()) > MAX_RANGES:
        raise ValidationError(M, "ranges", ranges, f"at most {MAX_RANGES} ranges")
    for n, (metric, op, value) in enumerate(ranges or ()):
        if metric not in RANGED:
            raise ValidationError(M, "ranges", metric, "a metric: one of " + ", ".join(RANGED))
        if op not in RANGE_OPERATORS:
            raise ValidationError(M, "ranges", op, "one of " + " ".join(RANGE_OPERATORS))
        params[f"range_{n}"] = settings.argument(RESULTS, metric, value, method=M)
        if params[f"range_{n}"] is None:
            raise ValidationError(M, "ranges", value, f"a number to compare {metric} with")
        shapes.append((metric, op))
    edge = after if after is not None else before
    cursor: tuple[Any, ...] = ()
    if edge is not None:
        cursor = _cursor(settings, edge, sort, "after" if after is not None else "before")
    filtered = ("symbols", "strategy_type", "status", "since", "until", "min_trades", *ORIGIN,
                "tags")  # fmt: skip
    filters = frozenset(k for k in params if k in filtered)
    shape = Shape(
        sort=sort, descending=bool(descending),
        direction="" if edge is None else "after" if after is not None else "before",
        missing=bool(edge is not None and sort != "backtest_date" and edge[0] is None),
        filters=filters, alternatives=len(alternatives), ranges=tuple(shapes),
        symbols=len(params.get("symbols", ())),
    )  # fmt: skip
    statement = browse_statement(shape, params, cursor, bool(with_series))
    custom = bool(filters or alternatives or shapes)  # a plan for the values: GIN and ANY
    rows = yield fetch(statement, "all", record_row(RESULTS), custom_plan=custom)
    page = list(rows)
    return page[::-1] if before is not None else page


def _cursor(settings: StoreSettings, edge: Any, sort: str, name: str) -> tuple[Any, ...]:
    if not (isinstance(edge, tuple) and len(edge) == 2):
        raise ValidationError(M, name, edge, "a (sort value, backtest_id) pair (cursor_of)")
    value, key = edge
    check_id(M, name, key)
    if sort == "backtest_date":
        when = check_aware(M, name, value)
        if when is None:
            raise ValidationError(M, name, edge, "a backtest_date and a backtest_id")
        return (when, key)
    if value is None:
        return (key,)
    return (settings.argument(RESULTS, sort, value, method=M), key)
