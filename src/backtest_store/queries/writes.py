"""The statements that write: INSERT ... RETURNING (with a result's trades in one
statement), the retry check of a chosen key, COPY, the locks and counts of an append,
and the deletes of retention."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from psycopg import sql
from pypika import Parameter, PostgreSQLQuery
from pypika import functions as fn
from pypika.enums import Comparator
from pypika.functions import Cast
from pypika.terms import BasicCriterion, Term

from backtest_store.operations.sql import Statement, column_of, param, render
from backtest_store.tables import (
    RESULTS,
    TRADES,
    TableSpec,
)


@lru_cache(maxsize=64)
def insert_returning(
    spec: TableSpec[Any],
    columns: tuple[str, ...],
    *,
    retry: bool = False,
    returning: tuple[str, ...] | None = None,
    numbered: bool = False,
) -> str:
    """INSERT one row of ``columns`` (positional %s) RETURNING ``returning`` (default: all).

    ``retry``: ON CONFLICT (key) DO NOTHING, for a caller-chosen key that an earlier,
    unacknowledged attempt may have saved; no row comes back if it did. ``numbered``:
    PostgreSQL's own placeholders $1, $2, ... (for ``Fetch(raw=True)``).
    """
    t = spec.table
    marks = (f"${n}" if numbered else "%s" for n in range(1, len(columns) + 1))
    query: Any = (  # PostgreSQLQueryBuilder: pypika's hints know only the base class
        PostgreSQLQuery.into(t)
        .columns(*(column_of(t, c) for c in columns))
        .insert(*(Parameter(mark) for mark in marks))
    )
    if retry:
        query = query.on_conflict(column_of(t, spec.key)).do_nothing()
    back = spec.column_names if returning is None else returning
    return render(query.returning(*(column_of(t, c) for c in back)))


class _Distinctness(Comparator):
    """pypika's comparison for equality where NULL equals NULL."""

    not_distinct = " IS NOT DISTINCT FROM "


def _not_distinct(left: Term, right: Term) -> Term:
    """<left> IS NOT DISTINCT FROM <right>."""
    return BasicCriterion(_Distinctness.not_distinct, left, right)


@lru_cache(maxsize=64)
def same_as_stored(spec: TableSpec[Any], columns: tuple[str, ...]) -> str:
    """For each of ``columns``: is the stored value the one these parameters would store?

    Positional %s: the row's values (as for insert_returning), then the key. Each value is
    cast to its column's type, so PostgreSQL rounds it as it did when it stored the row.
    """
    t = spec.table
    cast: Any = Cast  # untyped in pypika
    checks = [
        _not_distinct(cast(Parameter("%s"), spec.columns[c].sql_type), column_of(t, c)).as_(c)
        for c in columns
    ]
    query = (
        PostgreSQLQuery.from_(t).select(*checks).where(column_of(t, spec.key) == Parameter("%s"))
    )
    return render(query)


@lru_cache(maxsize=16)
def insert_with_children(
    spec: TableSpec[Any],
    columns: tuple[str, ...],
    returning: tuple[str, ...],
    child: TableSpec[Any],
    child_columns: tuple[str, ...],
) -> str:
    """INSERT one row of ``spec`` and, in the same statement, the rows of ``child`` given
    as one array per column, RETURNING the parent's ``returning``: one statement, one
    round trip, atomic by itself. Its placeholders are PostgreSQL's own ($1 .. $n: the
    parent's values, then the arrays), so that it is sent as it is (``Fetch(raw=True)``):
    with more than 50 parameters psycopg would parse a %s statement afresh on every call.
    pypika cannot express a data-modifying WITH over unnest, so it is composed like COPY,
    and rendered once."""
    parent = sql.SQL(insert_returning(spec, columns, returning=returning, numbered=True))
    first = len(columns) + 1
    arrays = sql.SQL(", ").join(
        sql.SQL("{}::{}[]").format(sql.SQL(f"${n}"), sql.SQL(child.columns[c].pg_type))
        for n, c in enumerate(child_columns, start=first)
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
    query = (
        PostgreSQLQuery.from_(t).select(t.backtest_id).where(t.backtest_id == param("backtest_id"))
    )
    return render(query.for_update())


def lock_backtest(backtest_id: Any) -> Statement:
    """Lock a backtest row against concurrent appends and deletes; no row if it does not exist."""
    return Statement(_lock_backtest_sql(), {"backtest_id": backtest_id})


@lru_cache(maxsize=1)
def _last_trade_number_sql() -> str:
    t = TRADES.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(fn.Coalesce(fn.Max(t.trade_number), 0))  # type: ignore[no-untyped-call]
        .where(t.backtest_id == param("backtest_id"))
    )
    return render(query)


@lru_cache(maxsize=1)
def _trade_count_sql() -> str:
    t = TRADES.table
    query = (
        PostgreSQLQuery.from_(t).select(fn.Count("*")).where(t.backtest_id == param("backtest_id"))
    )
    return render(query)


def trade_count(backtest_id: Any) -> Statement:
    return Statement(_trade_count_sql(), {"backtest_id": backtest_id})


def last_trade_number(backtest_id: Any) -> Statement:
    return Statement(_last_trade_number_sql(), {"backtest_id": backtest_id})


@lru_cache(maxsize=8)
def _delete_by_key_sql(spec: TableSpec[Any]) -> str:
    t = spec.table
    return render(PostgreSQLQuery.from_(t).delete().where(column_of(t, spec.key) == param("key")))


def delete_by_key(spec: TableSpec[Any], key: Any) -> Statement:
    return Statement(_delete_by_key_sql(spec), {"key": key})
