"""How a record goes in, for every save: the columns it gives, one INSERT returning it as
stored (its children by the same statement when few), a retried save recognised as the
row already stored, child rows by binary COPY, and a CHECK violation explained by the
values that broke it; and the statements they run."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any
from uuid import UUID, uuid4

from psycopg import errors as pg
from psycopg import sql
from psycopg.rows import dict_row
from pypika import Parameter, PostgreSQLQuery
from pypika.enums import Comparator
from pypika.functions import Cast
from pypika.terms import BasicCriterion, Term

from backtest_store.codegen import unset_finder
from backtest_store.columns import Column
from backtest_store.errors import ConflictError, ValidationError
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.backtests import get_by_key
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import column_of, render
from backtest_store.operations.steps import CopyIn, Fetch, Operation, R, fetch
from backtest_store.rules import CHECKS
from backtest_store.tables import (
    TableSpec,
)
from backtest_store.values import is_missing


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


def field(record: Any, name: str) -> Any:
    """A record's field, None when it is missing (None, pandas.NA, pandas.NaT)."""
    value = getattr(record, name, None)
    return None if value is None or is_missing(value) else value


def key_or_new(record: Any, name: str) -> Any:
    """The key the caller chose, or a new one: only a missing key is replaced (a falsy
    wrong value, such as False or 0, goes on to be refused as not a UUID)."""
    key = field(record, name)
    return uuid4() if key is None else key


# Columns the database sets whatever a client sends (0011's trigger): never sent.
SET_BY_DATABASE = frozenset({"saved_by"})


def columns_given(spec: TableSpec[Any], record: Any, override: dict[str, Any]) -> tuple[str, ...]:
    """Every column but those the database fills and the caller left out, and those the
    database sets itself."""
    left = [n for n in spec.db_filled if n not in override and field(record, n) is None]
    key = (spec.name, *left)
    columns = _GIVEN.get(key)
    if columns is None:
        dropped = SET_BY_DATABASE.union(left)
        columns = _GIVEN[key] = tuple(n for n in spec.column_names if n not in dropped)
    return columns


_GIVEN: dict[tuple[str, ...], tuple[str, ...]] = {}  # (table, columns left out): columns sent


def insert_one(
    settings: StoreSettings,
    spec: TableSpec[R],
    record: Any,
    override: dict[str, Any],
    *,
    children: tuple[TableSpec[Any], tuple[str, ...], list[list[Any]]] | None = None,
    whole: bool = False,
) -> Operation[R]:
    """INSERT one record RETURNING it as stored; with ``children`` (a table, its columns
    and one array per column) their rows go in by the same statement."""
    columns = columns_given(spec, record, override)
    values = settings.preparer(spec, columns).row(record, None, override)
    # A series that comes back from jsonb exactly as sent is not sent back: a year of
    # minutes is ~9 MB each way. Any other series is returned as PostgreSQL stored it.
    echoed = {s: getattr(record, s) for s in spec.series if reads_back_equal(getattr(record, s))}
    returning = tuple(c for c in spec.column_names if c not in echoed)
    if children is None:
        statement: str = insert_returning(spec, columns, returning=returning)
        params: tuple[Any, ...] = values
    else:
        child, child_columns, arrays = children
        statement = insert_with_children(spec, columns, returning, child, child_columns)
        params = (*values, *arrays)
    try:
        row = yield Fetch(statement, params, "one", record_row(spec), whole=whole,
                          raw=children is not None)  # fmt: skip
    except pg.CheckViolation as exc:  # a rule of the result's own: name its values
        if exc.diag.table_name == spec.name:
            explain_check(exc, spec, dict(zip(columns, values, strict=True)))
        else:
            explain_check(exc, children[0] if children else spec, {})
        raise
    assert row is not None
    return dataclasses.replace(row, **echoed) if echoed else row  # type: ignore[no-any-return]


def reads_back_equal(series: Any) -> bool:
    """True when jsonb gives this list back equal: a flat list of finite ints and floats
    below 2**53 (jsonb keeps the digits; larger floats come back as ints). Cheap: C loops."""
    if type(series) is not list or not series:
        return False
    try:
        total = sum(series)
        low, high = min(series), max(series)
    except TypeError:  # strings, pairs, objects: not a flat list of numbers
        return False
    limit = 2.0**53
    return isinstance(total, int | float) and math.isfinite(total) and -limit < low and high < limit


def insert_or_recognise(
    settings: StoreSettings, spec: TableSpec[R], record: Any, override: dict[str, Any]
) -> Operation[tuple[R, bool]]:
    """Insert a record whose key the caller chose; if that key is stored already (an
    earlier attempt committed but its acknowledgement was lost), return the stored row
    when it is the same record, else raise ConflictError. The flag says it was inserted."""
    columns = columns_given(spec, record, override)
    values = settings.preparer(spec, columns).row(record, None, override)
    statement = insert_returning(spec, columns, retry=True)
    row = yield Fetch(statement, values, "one", record_row(spec))
    if row is not None:
        return row, True
    key = getattr(record, spec.key)
    same = yield Fetch(same_as_stored(spec, columns), (*values, key), "one", dict_row)
    differing = sorted(name for name, equal in (same or {}).items() if not equal)
    if same is None or differing:
        raise ConflictError(
            f"{spec.record.__name__} {key} is stored already with other values "
            f"({', '.join(differing) or 'deleted meanwhile'}): a retry must send the same record"
        )
    stored = yield fetch(get_by_key(spec, key), "one", record_row(spec))
    return stored, False


def explain_check(exc: Exception, spec: TableSpec[Any], row: dict[str, Any], *,
                  index: int | None = None) -> None:  # fmt: skip
    """Add to a CHECK violation the rule it broke, as the migration writes it, and the
    values of the row that broke it (when known)."""
    name = getattr(getattr(exc, "diag", None), "constraint_name", None) or ""
    rule = CHECKS.get(name)
    if rule is None:
        return
    named = [c for c in spec.columns if re.search(rf"\b{c}\b", rule) and c in row]
    values = ", ".join(f"{c} = {row[c]}" for c in named)
    where = f"{spec.record.__name__}[{index}] " if index is not None else ""
    note = f"the rule is {rule}" + (f"; {where}has {values}" if values else "")
    if " IN (" in rule:
        note += " (exactly one of these, case-sensitive)"
    exc.add_note(note)


def child_rows(
    settings: StoreSettings,
    spec: TableSpec[Any],
    records: Sequence[Any],
    parent_id: UUID | None,
    *,
    number: str | None,
    first_number: int = 1,
) -> tuple[tuple[str, ...], Iterator[tuple[Any, ...]]]:
    """The columns and the validated rows (lazily) of child records under parent_id;
    absent numbers are filled from first_number."""
    parent_key = spec.parent_key
    assert parent_key is not None
    unset = _unset(records, spec.column_names)
    # Database-filled columns go in only if some record sets them;
    # the records that do not get a fresh value.
    fill: dict[str, Callable[[], Any]] = {}
    for name in spec.db_filled:
        if name not in unset:
            kind = spec.columns[name].kind
            fill[name] = uuid4 if kind == "uuid" else partial(datetime.now, UTC)
    columns = tuple(
        n
        for n in spec.column_names
        if (n not in spec.db_filled or n in fill)
        and (n in (parent_key, number) or n not in unset or _sent(settings, spec.columns[n]))
    )
    prep = settings.preparer(spec, columns)
    bulk = (
        not fill
        and parent_key in unset
        and type(parent_id) is UUID
        and (number is None or (number in unset and first_number + len(records) <= 2**31))
    )  # the numbers fit an integer column (a larger one is refused by the exact path)

    if bulk:  # each row is given its parent and its number, nothing else: one compiled loop

        def checked(record: Any, i: int) -> tuple[Any, ...]:
            override: dict[str, Any] = {parent_key: parent_id}
            if number is not None:
                override[number] = first_number + i
            return prep.checked_row(record, i, override)  # or raises, naming the field

        return columns, prep.bulk(parent_key, number)(records, parent_id, first_number, checked)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, record in enumerate(records):
            own = field(record, parent_key)
            if own is not None and own != parent_id:
                raise ValidationError(
                    spec.record.__name__, parent_key, own, f"None or {parent_id}", index=i,
                    problem="names another parent than the one it is saved under",
                )  # fmt: skip
            override: dict[str, Any] = {parent_key: parent_id}
            if number is not None and field(record, number) is None:
                override[number] = first_number + i
            for name, make in fill.items():
                if field(record, name) is None:
                    override[name] = make()
            yield prep.row(record, i, override)

    return columns, rows()


def _sent(settings: StoreSettings, column: Column) -> bool:
    """Whether a column that no record sets is sent all the same. It is not when the
    server stores what the preparer would send: NULL, or the column's default under
    ``fill`` (the catalog test proves the two defaults equal); a COPY of a million trades
    that give 10 of the 19 columns sends those 10. A required column is sent, for the
    preparer to refuse its None by name."""
    if column.default is None:
        return column.not_null
    return not settings.fill


def _unset(records: Sequence[Any], names: tuple[str, ...]) -> set[str]:
    """The fields that no record sets (None in every one), of those the first record
    leaves None. A record without the field (of another type) sets nothing here: the
    preparer refuses it by name."""
    if not records:
        return set()
    first = records[0]
    names = tuple(n for n in names if getattr(first, n, 0) is None)
    if not names:
        return set()
    try:
        return set(unset_finder(names)(records))
    except AttributeError:
        return set()


def copy_children(
    settings: StoreSettings,
    spec: TableSpec[Any],
    records: Sequence[Any],
    parent_id: UUID | None,
    *,
    number: str | None,
    first_number: int = 1,
) -> Operation[int]:
    """COPY child records under parent_id; fill absent numbers from first_number."""
    columns, rows = child_rows(
        settings, spec, records, parent_id, number=number, first_number=first_number
    )
    types = tuple(spec.columns[c].pg_type for c in columns)
    try:
        count = yield CopyIn(copy_rows(spec, columns), types, rows)
    except pg.CheckViolation as exc:  # COPY says the line: the record at that position
        line = re.search(r"\bline (\d+)", exc.diag.context or "")
        index = int(line.group(1)) - 1 if line else -1
        record = records[index] if 0 <= index < len(records) else None
        fields = {n: getattr(record, n) for n in spec.columns} if record is not None else {}
        explain_check(exc, spec, fields, index=index if record is not None else None)
        raise
    return int(count)
