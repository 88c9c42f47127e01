"""A backtest's children read: its trades (all, winning or losing), its best
parameters, every row of a child table in a total order, and the same streamed through a
server-side cursor for export. Each operation checks its arguments, then yields its
statement, built here."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal
from uuid import UUID

from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import (
    check_id,
    check_limit,
)
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import (
    NAN,
    Outcome,
    Statement,
    column_of,
    param,
    render,
    select,
)
from backtest_store.operations.steps import Operation, Stream, fetch
from backtest_store.records import (
    BacktestTrade,
    OptimizationResult,
)
from backtest_store.tables import (
    OPTIMIZATIONS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)


@lru_cache(maxsize=4)
def _trades_sql(outcome: Outcome) -> str:
    t = TRADES.table
    query = select(TRADES, TRADES.column_names).where(t.backtest_id == param("backtest_id"))
    if outcome == "winning":  # numeric's NaN is greater than every number: not a win
        query = query.where(t.pnl > 0).where(t.pnl < NAN)
    elif outcome == "losing":
        query = query.where(t.pnl < 0)
    return render(query.orderby(t.entry_date, t.trade_number))


def trades_statement(backtest_id: Any, outcome: Outcome) -> Statement:
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


def children_statement(
    spec: TableSpec[Any], parent_id: Any, order_by: tuple[str, ...]
) -> Statement:
    return Statement(_children_sql(spec, order_by), {"parent": parent_id})


def get_trades(backtest_id: UUID | None, outcome: Outcome) -> Operation[list[BacktestTrade]]:
    if outcome not in ("all", "winning", "losing"):
        raise ValidationError("get_trades", "outcome", outcome, "'all', 'winning' or 'losing'")
    check_id("get_trades", "backtest_id", backtest_id)
    rows = yield fetch(trades_statement(backtest_id, outcome), "all", record_row(TRADES))
    return list(rows)


def best_parameters(backtest_id: UUID | None, limit: int) -> Operation[list[OptimizationResult]]:
    check_id("best_parameters", "backtest_id", backtest_id)
    limit = check_limit("best_parameters", limit)
    statement = Statement(_best_parameters_sql(), {"backtest_id": backtest_id, "limit": limit})
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
    rows = yield fetch(children_statement(spec, parent_id, order_by), "all", record_row(spec))
    return list(rows)


def iter_trades(backtest_id: UUID | None, batch_size: int) -> Stream:
    """A backtest's trades in the order of ``get_trades``, through a server-side cursor."""
    check_id("iter_trades", "backtest_id", backtest_id)
    batch_size = check_limit("iter_trades", batch_size, "batch_size")
    statement = trades_statement(backtest_id, "all")
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
    statement = children_statement(spec, the_id, order_by)
    return Stream(statement.sql, statement.params, record_row(spec), batch_size)
