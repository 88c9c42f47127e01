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
from pypika.functions import Cast
from pypika.queries import QueryBuilder
from pypika.terms import BasicCriterion, Function, Term, ValueWrapper

from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)
from backtest_store.values import plain_scalar

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


def _p(name: str) -> Any:
    """The placeholder of a named parameter (typed Any: pypika renders it wherever a term goes)."""
    return Parameter(f"%({name})s")


def _given(**values: Any) -> dict[str, Any]:
    """The parameters a call binds: the values that are not None (nor pandas.NA/NaT),
    numpy and pandas scalars as their plain values."""
    plain = {name: plain_scalar(value) for name, value in values.items()}
    return {name: value for name, value in plain.items() if value is not None}


# Every builder below is split in two: the public function binds the values, and a cached
# function renders the SQL for the statement's shape (which filters are present). pypika
# then runs once per shape, not once per call, and each shape is one prepared statement.


def _col(table: Table, name: str) -> Field:
    return Field(name, table=table)


# numeric's NaN: sorts above every number and equals itself. Reads treat it as NULL.
_NAN: Any = ValueWrapper("NaN")


def _number(column: Term) -> Term:
    """NULLIF(column, 'NaN'): a NaN metric counts as unknown in ranks and aggregates."""
    return fn.NullIf(column, _NAN)  # type: ignore[no-untyped-call]


def _columns(spec: TableSpec[Any], with_series: bool) -> tuple[str, ...]:
    return spec.column_names if with_series else spec.light_columns


def _select(spec: TableSpec[Any], columns: tuple[str, ...]) -> QueryBuilder:
    t = spec.table
    return PostgreSQLQuery.from_(t).select(*(_col(t, c) for c in columns))


def _render(query: QueryBuilder) -> str:
    return str(query.get_sql())


# -- writes -------------------------------------------------------------------


@lru_cache(maxsize=64)
def insert_returning(
    spec: TableSpec[Any],
    columns: tuple[str, ...],
    *,
    retry: bool = False,
    returning: tuple[str, ...] | None = None,
) -> str:
    """INSERT one row of ``columns`` (positional %s) RETURNING ``returning`` (default: all).

    ``retry``: ON CONFLICT (key) DO NOTHING, for a caller-chosen key that an earlier,
    unacknowledged attempt may have saved; no row comes back if it did.
    """
    t = spec.table
    query: Any = (  # PostgreSQLQueryBuilder: pypika's hints know only the base class
        PostgreSQLQuery.into(t)
        .columns(*(_col(t, c) for c in columns))
        .insert(*(Parameter("%s") for _ in columns))
    )
    if retry:
        query = query.on_conflict(_col(t, spec.key)).do_nothing()
    back = spec.column_names if returning is None else returning
    return _render(query.returning(*(_col(t, c) for c in back)))


class _NotDistinct(Term):
    """<left> IS NOT DISTINCT FROM <right>: equality where NULL equals NULL."""

    def __init__(self, left: Term, right: Term, alias: str | None = None) -> None:
        super().__init__(alias=alias)
        self.left, self.right = left, right

    def get_sql(self, **kwargs: Any) -> str:
        sql_ = f"{self.left.get_sql(**kwargs)} IS NOT DISTINCT FROM {self.right.get_sql(**kwargs)}"
        return f'{sql_} "{self.alias}"' if kwargs.get("with_alias") and self.alias else sql_


@lru_cache(maxsize=64)
def same_as_stored(spec: TableSpec[Any], columns: tuple[str, ...]) -> str:
    """For each of ``columns``: is the stored value the one these parameters would store?

    Positional %s: the row's values (as for insert_returning), then the key. Each value is
    cast to its column's type, so PostgreSQL rounds it as it did when it stored the row.
    """
    t = spec.table
    cast: Any = Cast  # untyped in pypika
    checks = [
        _NotDistinct(cast(Parameter("%s"), spec.columns[c].sql_type), _col(t, c)).as_(c)
        for c in columns
    ]
    query = PostgreSQLQuery.from_(t).select(*checks).where(_col(t, spec.key) == Parameter("%s"))
    return _render(query)


@lru_cache(maxsize=64)
@lru_cache(maxsize=16)
def insert_with_children(
    spec: TableSpec[Any],
    columns: tuple[str, ...],
    returning: tuple[str, ...],
    child: TableSpec[Any],
    child_columns: tuple[str, ...],
) -> str:
    """INSERT one row of ``spec`` (positional %s) and, in the same statement, the rows of
    ``child`` given as one array per column (positional %s after the parent's), RETURNING
    the parent's ``returning``: one statement, one round trip, atomic by itself. pypika
    cannot express a data-modifying WITH over unnest, so it is composed like COPY, and
    rendered once (psycopg caches the parsing of a str, not of a Composed)."""
    parent = sql.SQL(insert_returning(spec, columns, returning=returning))  # trusted text
    arrays = sql.SQL(", ").join(
        sql.SQL("%b::{}[]").format(sql.SQL(child.columns[c].pg_type)) for c in child_columns
    )
    children = sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(child.name), sql.SQL(", ").join(map(sql.Identifier, child_columns)), arrays
    )
    return (
        sql.SQL("WITH saved AS ({}), children AS ({}) SELECT * FROM saved")
        .format(parent, children)
        .as_string(None)
    )


def copy_rows(spec: TableSpec[Any], columns: tuple[str, ...]) -> sql.Composed:
    """COPY ``columns`` of a table FROM STDIN in binary format."""
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(spec.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


@lru_cache(maxsize=1)
def _lock_backtest_sql() -> str:
    t = RESULTS.table
    query = PostgreSQLQuery.from_(t).select(t.backtest_id).where(t.backtest_id == _p("backtest_id"))
    return _render(query.for_update())


def lock_backtest(backtest_id: Any) -> Statement:
    """Lock a backtest row against concurrent appends and deletes; no row if it does not exist."""
    return Statement(_lock_backtest_sql(), {"backtest_id": backtest_id})


@lru_cache(maxsize=1)
def _last_trade_number_sql() -> str:
    t = TRADES.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(fn.Coalesce(fn.Max(t.trade_number), 0))  # type: ignore[no-untyped-call]
        .where(t.backtest_id == _p("backtest_id"))
    )
    return _render(query)


@lru_cache(maxsize=1)
def _trade_count_sql() -> str:
    t = TRADES.table
    query = PostgreSQLQuery.from_(t).select(fn.Count("*")).where(t.backtest_id == _p("backtest_id"))
    return _render(query)


@lru_cache(maxsize=1)
def _ids_between_sql() -> str:
    t = RESULTS.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_id[_p("low") : _p("high")])  # BETWEEN: a range of the primary key
        .orderby(t.backtest_id)
        .limit(_p("limit"))
    )
    return _render(query)


def ids_between(low: Any, high: Any, limit: int) -> Statement:
    return Statement(_ids_between_sql(), {"low": low, "high": high, "limit": limit})


def trade_count(backtest_id: Any) -> Statement:
    return Statement(_trade_count_sql(), {"backtest_id": backtest_id})


def last_trade_number(backtest_id: Any) -> Statement:
    return Statement(_last_trade_number_sql(), {"backtest_id": backtest_id})


@lru_cache(maxsize=8)
def _delete_by_key_sql(spec: TableSpec[Any]) -> str:
    t = spec.table
    return _render(PostgreSQLQuery.from_(t).delete().where(_col(t, spec.key) == _p("key")))


def delete_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    return Statement(_delete_by_key_sql(spec), {"key": key})


@lru_cache(maxsize=8)
def _delete_batch_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    pick = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_date < _p("older_than"))
        .orderby(t.backtest_date)  # oldest first, read off the date indexes
        .limit(_p("limit"))
        .for_update(skip_locked=True)  # type: ignore[call-arg]  # pypika's hints lag its code
    )
    for name in ("symbol", "strategy_type"):
        if name in present:
            pick = pick.where(_col(t, name) == _p(name))
    # = ANY(ARRAY(...)) rather than IN (...): the outer DELETE then finds the picked rows by
    # primary key instead of joining against a scan of the table.
    picked = Function("ANY", Function("ARRAY", pick))
    return _render(PostgreSQLQuery.from_(t).delete().where(t.backtest_id == picked))


def delete_batch(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None, batch_size: int
) -> Statement:
    """Delete up to batch_size of the oldest backtests before older_than, skipping rows
    other transactions hold (a save in progress is never waited for)."""
    params = _given(
        older_than=older_than, symbol=symbol, strategy_type=strategy_type, limit=batch_size
    )
    return Statement(_delete_batch_sql(frozenset(params)), params)


@lru_cache(maxsize=4)
def _prune_counts_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    doomed = PostgreSQLQuery.from_(t).where(t.backtest_date < _p("older_than"))
    for name in ("symbol", "strategy_type"):
        if name in present:
            doomed = doomed.where(_col(t, name) == _p(name))
    counts: list[Any] = [doomed.select(fn.Count("*")).as_("backtests")]
    for label, spec in (("trades", TRADES), ("optimizations", OPTIMIZATIONS),
                        ("walk_forward", WALK_FORWARD)):  # fmt: skip
        child = spec.table
        assert spec.parent_key is not None
        ids = doomed.select(t.backtest_id)
        counts.append(
            PostgreSQLQuery.from_(child).select(fn.Count("*"))
            .where(_col(child, spec.parent_key).isin(ids)).as_(label)
        )  # fmt: skip
    return _render(PostgreSQLQuery.select(*counts))


def prune_counts(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None
) -> Statement:
    """What deleting the backtests before older_than would remove, children included."""
    params = _given(older_than=older_than, symbol=symbol, strategy_type=strategy_type)
    return Statement(_prune_counts_sql(frozenset(params)), params)


# -- reads --------------------------------------------------------------------


@lru_cache(maxsize=8)
def _get_by_key_sql(spec: TableSpec[Any]) -> str:
    return _render(_select(spec, spec.column_names).where(_col(spec.table, spec.key) == _p("key")))


def get_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    return Statement(_get_by_key_sql(spec), {"key": key})


@lru_cache(maxsize=16)
def _get_by_keys_sql(spec: TableSpec[Any], order_by: tuple[str, ...]) -> str:
    t = spec.table
    query = (
        _select(spec, spec.column_names)
        .where(_col(t, spec.key) == Function("ANY", _p("keys")))
        .orderby(*(_col(t, c) for c in order_by))
    )
    return _render(query)


def get_by_keys(spec: TableSpec[Any], keys: list[Any], order_by: tuple[str, ...]) -> Statement:
    return Statement(_get_by_keys_sql(spec, order_by), {"keys": keys})


def _newest_first(spec: TableSpec[Any], query: QueryBuilder, paged: bool) -> QueryBuilder:
    """Keyset pagination on (backtest_date, key), newest first."""
    t = spec.table
    if paged:
        query = query.where(
            Tuple(t.backtest_date, _col(t, spec.key)) < Tuple(_p("after_date"), _p("after_key"))
        )
    return query.orderby(t.backtest_date, _col(t, spec.key), order=Order.desc)


def _equal_filters(
    spec: TableSpec[Any], query: QueryBuilder, present: frozenset[str], names: tuple[str, ...]
) -> QueryBuilder:
    t = spec.table
    for name in names:
        if name in present:
            query = query.where(_col(t, name) == _p(name))
    return query


def _paging(after: tuple[datetime, Any] | None) -> dict[str, Any]:
    return {} if after is None else {"after_date": after[0], "after_key": after[1]}


@lru_cache(maxsize=256)
def _list_backtests_sql(present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    query = _select(RESULTS, _columns(RESULTS, with_series))
    query = _equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    if "since" in present:
        query = query.where(t.backtest_date >= _p("since"))
    if "until" in present:
        query = query.where(t.backtest_date < _p("until"))
    query = _newest_first(RESULTS, query, "after_date" in present)
    return _render(query.limit(_p("limit")))


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
    params = _given(
        symbol=symbol, strategy_type=strategy_type, status=status, since=since, until=until,
        limit=limit, **_paging(after),
    )  # fmt: skip
    return Statement(_list_backtests_sql(frozenset(params), with_series), params)


@lru_cache(maxsize=512)
def _top_backtests_sql(metric: str, present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    column = _col(t, metric)
    # "< 'NaN'" leaves out NULL and NaN alike, as one range condition on the metric's
    # btree: numeric sorts NaN above every number, so on a database without the
    # ck_*_not_nan checks (0009) a NaN written by another writer would otherwise rank first.
    query = _select(RESULTS, _columns(RESULTS, with_series)).where(column < _NAN)
    query = _equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    if "min_trades" in present:
        query = query.where(t.total_trades >= _p("min_trades"))
    if "parameters" in present:
        query = query.where(_contains_parameters(t))
    # With NULLs filtered out above, either direction is a plain ascending btree read
    # forwards or backwards.
    order = Order.desc if METRICS[metric] == "desc" else Order.asc
    query = query.orderby(column, order=order).orderby(t.backtest_id)
    return _render(query.limit(_p("limit")))


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
) -> Statement:
    assert metric in METRICS  # the caller has checked the whitelist; identifiers come from it
    params = _given(
        symbol=symbol, strategy_type=strategy_type, status=status,
        min_trades=min_trades if min_trades > 0 else None, limit=limit, parameters=parameters,
    )  # fmt: skip
    return Statement(_top_backtests_sql(metric, frozenset(params), with_series), params)


def _contains_parameters(t: Table) -> Term:
    """parameters @> %(parameters)s: jsonb containment, served by the GIN index (0008)."""
    return BasicCriterion(
        JSONOperators.CONTAINS,  # type: ignore[arg-type]  # pypika types it too narrowly
        t.parameters,
        _p("parameters"),
    )


@lru_cache(maxsize=16)
def _find_backtests_sql(present: frozenset[str], with_series: bool) -> str:
    t = RESULTS.table
    query = _select(RESULTS, _columns(RESULTS, with_series)).where(_contains_parameters(t))
    query = _equal_filters(RESULTS, query, present, ("symbol", "strategy_type"))
    return _render(_newest_first(RESULTS, query, False).limit(_p("limit")))


def find_backtests(
    *,
    parameters: Any,
    symbol: str | None,
    strategy_type: str | None,
    limit: int,
    with_series: bool,
) -> Statement:
    params = _given(parameters=parameters, symbol=symbol, strategy_type=strategy_type, limit=limit)
    return Statement(_find_backtests_sql(frozenset(params), with_series), params)


@lru_cache(maxsize=4)
def _trades_sql(outcome: Outcome) -> str:
    t = TRADES.table
    query = _select(TRADES, TRADES.column_names).where(t.backtest_id == _p("backtest_id"))
    if outcome == "winning":  # numeric's NaN is greater than every number: not a win
        query = query.where(t.pnl > 0).where(t.pnl < _NAN)
    elif outcome == "losing":
        query = query.where(t.pnl < 0)
    return _render(query.orderby(t.entry_date, t.trade_number))


def trades(backtest_id: Any, outcome: Outcome) -> Statement:
    return Statement(_trades_sql(outcome), {"backtest_id": backtest_id})


@lru_cache(maxsize=1)
def _best_parameters_sql() -> str:
    t = OPTIMIZATIONS.table
    query = (
        _select(OPTIMIZATIONS, OPTIMIZATIONS.column_names)
        .where(t.backtest_id == _p("backtest_id"))
        .where(t.rank.notnull())
        .orderby(t.rank, t.parameter_set)
        .limit(_p("limit"))
    )
    return _render(query)


def best_parameters(backtest_id: Any, limit: int) -> Statement:
    return Statement(_best_parameters_sql(), {"backtest_id": backtest_id, "limit": limit})


@lru_cache(maxsize=8)
def _children_sql(spec: TableSpec[Any], order_by: tuple[str, ...]) -> str:
    assert spec.parent_key is not None
    t = spec.table
    query = (
        _select(spec, spec.column_names)
        .where(_col(t, spec.parent_key) == _p("parent"))
        .orderby(*(_col(t, c) for c in order_by))
    )
    return _render(query)


def children(spec: TableSpec[Any], parent_id: Any, order_by: tuple[str, ...]) -> Statement:
    return Statement(_children_sql(spec, order_by), {"parent": parent_id})


@lru_cache(maxsize=16)
def _list_portfolios_sql(present: frozenset[str], with_series: bool) -> str:
    query = _select(PORTFOLIOS, _columns(PORTFOLIOS, with_series))
    query = _equal_filters(PORTFOLIOS, query, present, ("portfolio_name",))
    query = _newest_first(PORTFOLIOS, query, "after_date" in present)
    return _render(query.limit(_p("limit")))


def list_portfolios(
    *,
    portfolio_name: str | None,
    after: tuple[datetime, Any] | None,
    limit: int,
    with_series: bool,
) -> Statement:
    params = _given(portfolio_name=portfolio_name, limit=limit, **_paging(after))
    return Statement(_list_portfolios_sql(frozenset(params), with_series), params)


# -- analytics, computed in SQL -------------------------------------------------


def compare_backtests(backtest_ids: list[Any], metrics: tuple[str, ...]) -> Statement:
    """Each metric's value and its rank (1 = best, NULL when the value is NULL)."""
    return Statement(_compare_backtests_sql(metrics), {"ids": backtest_ids})


@lru_cache(maxsize=64)
def _compare_backtests_sql(metrics: tuple[str, ...]) -> str:
    t = RESULTS.table
    terms: list[Term] = [t.backtest_id, t.symbol, t.strategy_type]
    for metric in metrics:
        column = _number(_col(t, metric))
        rank = an.Rank().over()  # type: ignore[no-untyped-call]
        # NULLs rank last in the window, and are blanked out below.
        rank = rank.orderby(column.isnull())
        rank = rank.orderby(column, order=Order.desc if METRICS[metric] == "desc" else Order.asc)
        terms.append(column.as_(metric))
        terms.append(_CaseNull(column, rank).as_(f"{metric}_rank"))
    query = (
        PostgreSQLQuery.from_(t).select(*terms).where(t.backtest_id == Function("ANY", _p("ids")))
    )
    return _render(query)


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
    params = _given(since=since, symbol=symbol, strategy_type=strategy_type, status=status)
    return Statement(_performance_summary_sql(frozenset(params)), params)


@lru_cache(maxsize=16)
def _performance_summary_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    query = PostgreSQLQuery.from_(t).select(
        Function("GROUPING", t.strategy_type).as_("by_strategy"),
        Function("GROUPING", t.symbol).as_("by_symbol"),
        t.strategy_type,
        t.symbol,
        fn.Count("*").as_("count"),
        fn.Avg(_number(t.total_return)).as_("mean_return"),
        fn.Max(_number(t.total_return)).as_("best_return"),
        fn.Min(_number(t.total_return)).as_("worst_return"),
        fn.Avg(_number(t.sharpe_ratio)).as_("mean_sharpe"),
        fn.Avg(_number(t.win_rate)).as_("mean_win_rate"),
    )
    if "since" in present:
        query = query.where(t.backtest_date >= _p("since"))
    query = _equal_filters(RESULTS, query, present, ("symbol", "strategy_type", "status"))
    return _render(query.groupby(_GroupingSets(t.strategy_type, t.symbol)))
