"""The statement of ``browse_backtests``, the web view's list: filters that combine
(several symbols, parameter alternatives OR-ed, metric ranges), a sort by the run date
or any rankable metric either way, and keyset pages forward and back, never OFFSET.

A metric sort puts the rows that have the metric first, in the metric's order, and the
rows without it (NULL or NaN) last, by id. The two groups are two branches of one
UNION ALL, each read in its own index order and each limited to a page, so a page reads
at most two pages of rows, not the table. "< 'NaN'" keeps NULL and NaN out of the first
branch as one range condition on the metric's btree."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypika import Criterion, Field, Order, PostgreSQLQuery, Tuple
from pypika.queries import QueryBuilder
from pypika.terms import Function, Term, ValueWrapper

from backtest_store.queries.common import (
    METRICS,
    NAN,
    Statement,
    column_of,
    columns_for,
    contains_parameters,
    equal_filters,
    origin_filters,
    param,
    render,
    select,
)
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


def browse_backtests(
    shape: Shape, params: dict[str, Any], cursor: tuple[Any, ...], with_series: bool
) -> Statement:
    bound = dict(params)
    for n, value in enumerate(cursor):
        bound[f"cursor_{n}"] = value
    for n, value in enumerate(params.get("symbols") or (), start=1):
        bound[f"symbol_{n}"] = value  # each symbol's own page (_browse_sql)
    return Statement(_browse_sql(shape, with_series), bound)
