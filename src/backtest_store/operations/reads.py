"""The operations that read: one record, pages, the best by a metric, parameter searches,
children, the comparison and the summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID

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
from backtest_store.operations.steps import Fetch, Operation, R, Stream, fetch
from backtest_store.queries import catalog
from backtest_store.queries import reads as read_sql
from backtest_store.queries.common import METRICS, Outcome
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
)
from backtest_store.schema.version import APPLIED_SQL, YOYO_MIGRATION_TABLE, verify_applied
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)


def backtest_ids(prefix: Any, limit: int) -> Operation[list[UUID]]:
    """The backtest ids that start with ``prefix`` (hex digits, dashes ignored), in order;
    a range scan of the primary key."""
    digits = prefix.replace("-", "").lower() if isinstance(prefix, str) else None
    if digits is None or not 1 <= len(digits) <= 32 or any(c not in HEX for c in digits):
        raise ValidationError("backtest_ids", "prefix", prefix, "1 to 32 hex digits",
                              problem="is not the start of a backtest id")  # fmt: skip
    low, high = UUID(digits.ljust(32, "0")), UUID(digits.ljust(32, "f"))
    rows = yield fetch(read_sql.ids_between(low, high, check_limit("backtest_ids", limit)), "all")
    return [row[0] for row in rows]


def get_one(spec: TableSpec[R], key: UUID | None, method: str) -> Operation[R | None]:
    check_id(method, spec.key, key)
    row = yield fetch(read_sql.get_by_key(spec, key), "one", record_row(spec))
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
    statement = read_sql.list_backtests(
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=settings.argument(RESULTS, "status", status, method=m),
        since=check_aware(m, "since", since),
        until=check_aware(m, "until", until),
        after=page_key(m, after, BacktestResult, "backtest_id"),
        limit=check_limit(m, limit),
        with_series=bool(with_series),
        origin=origin,
    )
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
    statement = read_sql.top_backtests(
        metric=metric,
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        min_trades=min_trades,
        status=settings.argument(RESULTS, "status", status, method=m),
        limit=check_limit(m, limit),
        with_series=bool(with_series),
        parameters=None if parameters is None else parameters_filter(settings, m, parameters),
        origin=origin,
    )
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
    statement = read_sql.find_backtests(
        parameters=parameters_filter(settings, m, parameters),
        symbol=settings.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=settings.argument(RESULTS, "strategy_type", strategy_type, method=m),
        limit=check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield fetch(statement, "all", record_row(RESULTS), custom_plan=True)
    return list(rows)


def get_trades(backtest_id: UUID | None, outcome: Outcome) -> Operation[list[BacktestTrade]]:
    if outcome not in ("all", "winning", "losing"):
        raise ValidationError("get_trades", "outcome", outcome, "'all', 'winning' or 'losing'")
    check_id("get_trades", "backtest_id", backtest_id)
    rows = yield fetch(read_sql.trades(backtest_id, outcome), "all", record_row(TRADES))
    return list(rows)


def best_parameters(backtest_id: UUID | None, limit: int) -> Operation[list[OptimizationResult]]:
    check_id("best_parameters", "backtest_id", backtest_id)
    statement = read_sql.best_parameters(backtest_id, check_limit("best_parameters", limit))
    rows = yield fetch(statement, "all", record_row(OPTIMIZATIONS))
    return list(rows)


ChildKind = Literal["trades", "optimizations", "walk_forward"]

# Each child table of a backtest as ``iter_children`` names it, with a total order on its
# rows (ending in the key): exporting the same rows writes the same bytes.
CHILDREN: dict[str, tuple[TableSpec[Any], tuple[str, ...]]] = {
    "trades": (TRADES, ("entry_date", "trade_number", "trade_id")),
    "optimizations": (OPTIMIZATIONS, ("parameter_set", "optimization_id")),
    "walk_forward": (WALK_FORWARD, ("test_period_start", "walk_forward_id")),
}


def children(kind: ChildKind, parent_id: UUID | None, method: str) -> Operation[list[Any]]:
    """Every row of one child table of a backtest, in its total order (``CHILDREN``)."""
    spec, order_by = CHILDREN[kind]
    check_id(method, spec.parent_key or "", parent_id)
    rows = yield fetch(read_sql.children(spec, parent_id, order_by), "all", record_row(spec))
    return list(rows)


def list_portfolios(
    settings: StoreSettings,
    *,
    portfolio_name: str | None,
    limit: int,
    after: BacktestPortfolio | None,
    with_series: bool,
) -> Operation[list[BacktestPortfolio]]:
    m = "list_portfolios"
    statement = read_sql.list_portfolios(
        portfolio_name=settings.argument(PORTFOLIOS, "portfolio_name", portfolio_name, method=m),
        after=page_key(m, after, BacktestPortfolio, "portfolio_backtest_id"),
        limit=check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield fetch(statement, "all", record_row(PORTFOLIOS))
    return list(rows)


def iter_trades(backtest_id: UUID | None, batch_size: int) -> Stream:
    """A backtest's trades in the order of ``get_trades``, through a server-side cursor."""
    check_id("iter_trades", "backtest_id", backtest_id)
    batch_size = check_limit("iter_trades", batch_size, "batch_size")
    statement = read_sql.trades(backtest_id, "all")
    return Stream(statement.sql, statement.params, record_row(TRADES), batch_size)


def iter_children(backtest_id: UUID | None, kind: str, batch_size: int) -> Stream:
    """Every row of one child table of a backtest (``CHILDREN``), in its total order,
    through a server-side cursor."""
    m = "iter_children"
    the_id = check_id(m, "backtest_id", backtest_id)
    if kind not in CHILDREN:
        raise ValidationError(m, "kind", kind, ", ".join(CHILDREN))
    batch_size = check_limit(m, batch_size, "batch_size")
    spec, order_by = CHILDREN[kind]
    statement = read_sql.children(spec, the_id, order_by)
    return Stream(statement.sql, statement.params, record_row(spec), batch_size)


def check_schema() -> Operation[None]:
    """Raise SchemaVersionError unless the database is at this package's last migration."""
    exists = yield Fetch(catalog.RELATION_EXISTS, {"name": YOYO_MIGRATION_TABLE}, "value")
    applied: set[str] = set()
    if exists:
        rows = yield Fetch(APPLIED_SQL, None, "all")
        applied = {row[0] for row in rows}
    verify_applied(applied)
