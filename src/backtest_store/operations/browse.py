"""The operation of ``browse_backtests``: its arguments checked (each error names the
argument and what it takes), then one statement of ``queries.browse``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

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
from backtest_store.operations.steps import Operation, fetch
from backtest_store.queries import browse as browse_sql
from backtest_store.queries.common import ORIGIN, given
from backtest_store.records import BacktestResult
from backtest_store.tables import RESULTS

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
    if sort not in browse_sql.SORTS:
        raise ValidationError(M, "sort", sort, "one of " + ", ".join(browse_sql.SORTS))
    if after is not None and before is not None:
        raise ValidationError(M, "before", before, "None when after is given")
    min_trades = check_min_trades(M, min_trades)
    alternatives = list(parameters_any or ())
    if len(alternatives) > browse_sql.MAX_ALTERNATIVES:
        raise ValidationError(M, "parameters_any", alternatives,
                              f"at most {browse_sql.MAX_ALTERNATIVES} alternatives")  # fmt: skip
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
    if len(ranges or ()) > browse_sql.MAX_RANGES:
        raise ValidationError(M, "ranges", ranges, f"at most {browse_sql.MAX_RANGES} ranges")
    for n, (metric, op, value) in enumerate(ranges or ()):
        if metric not in RANGED:
            raise ValidationError(M, "ranges", metric, "a metric: one of " + ", ".join(RANGED))
        if op not in browse_sql.RANGE_OPERATORS:
            raise ValidationError(M, "ranges", op, "one of " + " ".join(browse_sql.RANGE_OPERATORS))
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
    shape = browse_sql.Shape(
        sort=sort, descending=bool(descending),
        direction="" if edge is None else "after" if after is not None else "before",
        missing=bool(edge is not None and sort != "backtest_date" and edge[0] is None),
        filters=filters, alternatives=len(alternatives), ranges=tuple(shapes),
        symbols=len(params.get("symbols", ())),
    )  # fmt: skip
    statement = browse_sql.browse_backtests(shape, params, cursor, bool(with_series))
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
