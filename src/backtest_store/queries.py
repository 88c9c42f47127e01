"""Statement builders: pure functions from typed arguments to SQL text and parameters.

pypika builds every statement; no value ever reaches the SQL text. Values
become named placeholders (``%(name)s``) bound by psycopg, and identifiers
that vary (metric names) come only from the whitelists below. COPY, which
pypika cannot express, is composed with ``psycopg.sql.Identifier`` from the
table facts. Nothing here touches a connection, so every statement can be
inspected (and EXPLAINed) in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from psycopg import sql
from pypika import Field, Order, Parameter, PostgreSQLQuery, Table, Tuple
from pypika import analytics as an
from pypika import functions as fn
from pypika.enums import JSONOperators
from pypika.queries import QueryBuilder
from pypika.terms import BasicCriterion, Criterion, Function, Term

from backtest_store.tables import PORTFOLIOS, RESULTS, TRADES, TableSpec

# top_backtests / compare_backtests: the metric columns one may rank by, and
# which direction is better. Drawdowns are stored as negative fractions, so
# "closer to zero" is descending; volatilities are >= 0, so it is ascending.
METRICS: dict[str, Literal["desc", "asc"]] = {
    "total_return": "desc",
    "annualized_return": "desc",
    "sharpe_ratio": "desc",
    "sortino_ratio": "desc",
    "calmar_ratio": "desc",
    "alpha": "desc",
    "max_drawdown": "desc",
    "volatility": "asc",
    "downside_volatility": "asc",
    "win_rate": "desc",
    "profit_factor": "desc",
}

Outcome = Literal["all", "winning", "losing"]


@dataclass(frozen=True)
class Statement:
    """SQL text with named placeholders, and the values bound to them."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


class _Binder:
    """Collects values and hands out their placeholders."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, name: str, value: Any) -> Parameter:
        self.params[name] = value
        return Parameter(f"%({name})s")

    def limit(self, value: int) -> int:
        """LIMIT as a placeholder too (pypika types limit() as int; it renders any term)."""
        return self("limit", value)  # type: ignore[return-value]

    def statement(self, query: QueryBuilder) -> Statement:
        return Statement(query.get_sql(), self.params)


def _col(table: Table, name: str) -> Field:
    return Field(name, table=table)


def _columns(spec: TableSpec[Any], with_series: bool) -> tuple[str, ...]:
    return spec.column_names if with_series else spec.light_columns


def _select(spec: TableSpec[Any], columns: tuple[str, ...]) -> QueryBuilder:
    t = spec.table
    return PostgreSQLQuery.from_(t).select(*(_col(t, c) for c in columns))


# -- writes -------------------------------------------------------------------


@lru_cache(maxsize=64)
def insert_returning(spec: TableSpec[Any], columns: tuple[str, ...]) -> str:
    """INSERT one row of ``columns`` (positional %s) RETURNING every column."""
    t = spec.table
    query = (
        PostgreSQLQuery.into(t)
        .columns(*(_col(t, c) for c in columns))
        .insert(*(Parameter("%s") for _ in columns))  # type: ignore[operator]
        .returning(*(_col(t, c) for c in spec.column_names))
    )
    return str(query.get_sql())


@lru_cache(maxsize=64)
def copy_rows(spec: TableSpec[Any], columns: tuple[str, ...]) -> sql.Composed:
    """COPY ``columns`` of a table FROM STDIN in binary format."""
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(spec.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def lock_backtest(backtest_id: Any) -> Statement:
    """Lock a backtest row against concurrent appends and deletes; no row if it does not exist."""
    b = _Binder()
    t = RESULTS.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_id == b("backtest_id", backtest_id))
        .for_update()
    )
    return b.statement(query)


def last_trade_number(backtest_id: Any) -> Statement:
    b = _Binder()
    t = TRADES.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(fn.Coalesce(fn.Max(t.trade_number), 0))  # type: ignore[no-untyped-call]
        .where(t.backtest_id == b("backtest_id", backtest_id))
    )
    return b.statement(query)


def delete_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    b = _Binder()
    t = spec.table
    query = PostgreSQLQuery.from_(t).delete().where(_col(t, spec.key) == b("key", key))
    return b.statement(query)


def delete_batch(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None, batch_size: int
) -> Statement:
    """Delete up to batch_size of the oldest backtests before older_than, skipping rows
    other transactions hold (a save in progress is never waited for)."""
    b = _Binder()
    t = RESULTS.table
    pick = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_date < b("older_than", older_than))
        .orderby(t.backtest_date)  # oldest first, read off the date indexes
        .limit(b.limit(batch_size))
        .for_update(skip_locked=True)  # type: ignore[call-arg]  # pypika's hints lag its code
    )
    if symbol is not None:
        pick = pick.where(t.symbol == b("symbol", symbol))
    if strategy_type is not None:
        pick = pick.where(t.strategy_type == b("strategy_type", strategy_type))
    # = ANY(ARRAY(...)) rather than IN (...): the outer DELETE then finds the picked rows by
    # primary key instead of joining against a scan of the table.
    picked = Function("ANY", Function("ARRAY", pick))
    return b.statement(PostgreSQLQuery.from_(t).delete().where(t.backtest_id == picked))


# -- reads --------------------------------------------------------------------


def get_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    b = _Binder()
    query = _select(spec, spec.column_names).where(_col(spec.table, spec.key) == b("key", key))
    return b.statement(query)


def get_by_keys(spec: TableSpec[Any], keys: list[Any], order_by: tuple[str, ...]) -> Statement:
    b = _Binder()
    t = spec.table
    query = (
        _select(spec, spec.column_names)
        .where(_col(t, spec.key) == Function("ANY", b("keys", keys)))
        .orderby(*(_col(t, c) for c in order_by))
    )
    return b.statement(query)


def _newest_first(
    spec: TableSpec[Any], query: QueryBuilder, b: _Binder, after: tuple[datetime, Any] | None
) -> QueryBuilder:
    """Keyset pagination on (backtest_date, key), newest first."""
    t = spec.table
    if after is not None:
        query = query.where(
            Tuple(t.backtest_date, _col(t, spec.key))
            < Tuple(b("after_date", after[0]), b("after_key", after[1]))
        )
    return query.orderby(t.backtest_date, _col(t, spec.key), order=Order.desc)


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
) -> Statement:
    b = _Binder()
    t = RESULTS.table
    query = _select(RESULTS, _columns(RESULTS, with_series))
    if symbol is not None:
        query = query.where(t.symbol == b("symbol", symbol))
    if strategy_type is not None:
        query = query.where(t.strategy_type == b("strategy_type", strategy_type))
    if status is not None:
        query = query.where(t.status == b("status", status))
    if since is not None:
        query = query.where(t.backtest_date >= b("since", since))
    if until is not None:
        query = query.where(t.backtest_date < b("until", until))
    query = _newest_first(RESULTS, query, b, after).limit(b.limit(limit))
    return b.statement(query)


def top_backtests(
    *,
    metric: str,
    symbol: str | None,
    strategy_type: str | None,
    min_trades: int,
    status: str | None,
    limit: int,
    with_series: bool,
) -> Statement:
    direction = METRICS[metric]  # the caller has checked the whitelist
    b = _Binder()
    t = RESULTS.table
    column = _col(t, metric)
    query = _select(RESULTS, _columns(RESULTS, with_series)).where(column.notnull())
    if symbol is not None:
        query = query.where(t.symbol == b("symbol", symbol))
    if strategy_type is not None:
        query = query.where(t.strategy_type == b("strategy_type", strategy_type))
    if status is not None:
        query = query.where(t.status == b("status", status))
    if min_trades > 0:
        query = query.where(t.total_trades >= b("min_trades", min_trades))
    # NULLs are filtered out above, and the default NULL placement of each
    # direction matches a plain ascending btree read forwards or backwards.
    order = Order.desc if direction == "desc" else Order.asc
    query = query.orderby(column, order=order).orderby(t.backtest_id).limit(b.limit(limit))
    return b.statement(query)


def find_backtests(
    *,
    parameters: Any,
    symbol: str | None,
    strategy_type: str | None,
    limit: int,
    with_series: bool,
) -> Statement:
    b = _Binder()
    t = RESULTS.table
    query = _select(RESULTS, _columns(RESULTS, with_series)).where(
        BasicCriterion(
            JSONOperators.CONTAINS,  # type: ignore[arg-type]  # pypika types it too narrowly
            t.parameters,
            b("parameters", parameters),
        )
    )
    if symbol is not None:
        query = query.where(t.symbol == b("symbol", symbol))
    if strategy_type is not None:
        query = query.where(t.strategy_type == b("strategy_type", strategy_type))
    query = _newest_first(RESULTS, query, b, None).limit(b.limit(limit))
    return b.statement(query)


def trades(backtest_id: Any, outcome: Outcome) -> Statement:
    b = _Binder()
    t = TRADES.table
    query = _select(TRADES, TRADES.column_names).where(
        t.backtest_id == b("backtest_id", backtest_id)
    )
    if outcome == "winning":
        query = query.where(t.pnl > 0)
    elif outcome == "losing":
        query = query.where(t.pnl < 0)
    return b.statement(query.orderby(t.entry_date, t.trade_number))


def best_parameters(spec: TableSpec[Any], backtest_id: Any, limit: int) -> Statement:
    b = _Binder()
    t = spec.table
    query = (
        _select(spec, spec.column_names)
        .where(t.backtest_id == b("backtest_id", backtest_id))
        .where(t.rank.notnull())
        .orderby(t.rank, t.parameter_set)
        .limit(b.limit(limit))
    )
    return b.statement(query)


def children(spec: TableSpec[Any], parent_id: Any, order_by: tuple[str, ...]) -> Statement:
    assert spec.parent_key is not None
    b = _Binder()
    t = spec.table
    query = (
        _select(spec, spec.column_names)
        .where(_col(t, spec.parent_key) == b("parent", parent_id))
        .orderby(*(_col(t, c) for c in order_by))
    )
    return b.statement(query)


def list_portfolios(
    *,
    portfolio_name: str | None,
    after: tuple[datetime, Any] | None,
    limit: int,
    with_series: bool,
) -> Statement:
    b = _Binder()
    t = PORTFOLIOS.table
    query = _select(PORTFOLIOS, _columns(PORTFOLIOS, with_series))
    if portfolio_name is not None:
        query = query.where(t.portfolio_name == b("portfolio_name", portfolio_name))
    query = _newest_first(PORTFOLIOS, query, b, after).limit(b.limit(limit))
    return b.statement(query)


# -- analytics, computed in SQL -------------------------------------------------


def compare_backtests(backtest_ids: list[Any], metrics: tuple[str, ...]) -> Statement:
    """Each metric's value and its rank (1 = best, NULL when the value is NULL)."""
    b = _Binder()
    t = RESULTS.table
    terms: list[Term] = [t.backtest_id, t.symbol, t.strategy_type]
    for metric in metrics:
        column = _col(t, metric)
        rank = an.Rank().over()  # type: ignore[no-untyped-call]
        # NULLs rank last in the window, and are blanked out below.
        rank = rank.orderby(column.isnull())
        rank = rank.orderby(column, order=Order.desc if METRICS[metric] == "desc" else Order.asc)
        terms.append(column)
        terms.append(_CaseNull(column, rank).as_(f"{metric}_rank"))
    query = (
        PostgreSQLQuery.from_(t)
        .select(*terms)
        .where(t.backtest_id == Function("ANY", b("ids", backtest_ids)))
    )
    return b.statement(query)


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
    b = _Binder()
    t = RESULTS.table
    query = PostgreSQLQuery.from_(t).select(
        Function("GROUPING", t.strategy_type).as_("by_strategy"),
        Function("GROUPING", t.symbol).as_("by_symbol"),
        t.strategy_type,
        t.symbol,
        fn.Count("*").as_("count"),
        fn.Avg(t.total_return).as_("mean_return"),
        fn.Max(t.total_return).as_("best_return"),
        fn.Min(t.total_return).as_("worst_return"),
        fn.Avg(t.sharpe_ratio).as_("mean_sharpe"),
        fn.Avg(t.win_rate).as_("mean_win_rate"),
    )
    conditions: list[Criterion] = []
    if since is not None:
        conditions.append(t.backtest_date >= b("since", since))
    if symbol is not None:
        conditions.append(t.symbol == b("symbol", symbol))
    if strategy_type is not None:
        conditions.append(t.strategy_type == b("strategy_type", strategy_type))
    if status is not None:
        conditions.append(t.status == b("status", status))
    for condition in conditions:
        query = query.where(condition)
    query = query.groupby(_GroupingSets(t.strategy_type, t.symbol))
    return b.statement(query)
