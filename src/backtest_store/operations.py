"""The store's operations, written once for the sync and the async store.

Each operation is a generator (sans-I/O, like psycopg's own generators): it
validates its input, yields the statements to run (``Fetch`` or ``CopyIn``),
receives each result, and returns the operation's value. ``store.py`` and
``aio.py`` only drive these generators, inside one transaction each, and
differ in nothing but ``await``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache, partial
from typing import Any, Literal, TypeGuard, TypeVar
from uuid import UUID, uuid4

from psycopg import errors as pg
from psycopg import sql
from psycopg.rows import BaseRowFactory, dict_row

from backtest_store import columnar, migrations, queries
from backtest_store.columns import Column
from backtest_store.errors import ConflictError, NotFoundError, ValidationError
from backtest_store.queries import METRICS, Outcome, Statement
from backtest_store.records import (
    NOT_LOADED,
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    Record,
    WalkForwardTest,
)
from backtest_store.reports import BacktestComparison, PerformanceSummary, SummaryStats
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)
from backtest_store.validation import NonFinite, Refused, RowPreparer, converter, not_finite
from backtest_store.values import is_missing, plain_scalar

T = TypeVar("T")
R = TypeVar("R", bound=Record)

MAX_LIMIT = 10_000


Mode = Literal["one", "all", "value", "rowcount"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """Run one statement; hand back one row, all rows, one value or the row count."""

    statement: str | sql.Composed
    params: Any
    mode: Mode
    row: BaseRowFactory[Any] | None = None
    # False: plan with the actual values every time. For filters whose best plan depends
    # on the value (a rare jsonb key, a small symbol), a prepared statement's generic plan
    # can be orders of magnitude slower.
    prepare: bool | None = None
    # True: this statement is all the operation does (a read, or one atomic write such as
    # a result saved with its trades), so on an idle autocommit connection it runs as its
    # own transaction: one round trip, no BEGIN and COMMIT around it.
    whole: bool = False


@dataclass(frozen=True, slots=True)
class CopyIn:
    """COPY rows into a table (binary); hand back the number of rows. With ``encoded``
    (the row count), ``rows`` is the binary COPY stream itself, in chunks of bytes."""

    statement: sql.Composed
    types: tuple[str, ...]
    rows: Iterable[Any]
    encoded: int | None = None


Step = Fetch | CopyIn
Operation = Generator[Step, Any, T]

SMALL_SAVE = 100
"""Up to this many trades a result and its trades are saved by one statement (one round
trip, the trades as one INSERT from arrays); more go through binary COPY, which cannot
share a round trip. Set from ``python -m bench --only small-save``."""


@dataclass(frozen=True, slots=True)
class Done:
    """An operation that finished without a statement (e.g. nothing to save)."""

    value: Any


def first_step(op: Operation[Any]) -> Step | Done:
    """Start an operation: its first step, or Done. Input is validated here, before any
    connection or transaction is used."""
    try:
        return next(op)
    except StopIteration as done:
        return Done(done.value)


def _fetch(
    statement: Statement,
    mode: Mode,
    row: BaseRowFactory[Any] | None = None,
    *,
    custom_plan: bool = False,
) -> Fetch:
    return Fetch(statement.sql, statement.params, mode, row, False if custom_plan else None)


def record_row(spec: TableSpec[Any]) -> BaseRowFactory[Any]:
    """Rows to records; series a query left out become NOT_LOADED."""

    def factory(cursor: Any) -> Any:
        # the names straight from the result: ``cursor.description`` would build a
        # Column object per column on every call, a third of a one-row read's cost
        res = cursor.pgresult
        names = tuple(res.fname(i).decode() for i in range(res.nfields)) if res else ()
        return _record_maker(spec, names)

    return factory


@lru_cache(maxsize=256)
def _record_maker(spec: TableSpec[Any], names: tuple[str, ...]) -> Callable[[Any], Any]:
    """A compiled ``values -> record`` for one column list (see ``slots_maker``). Fields
    the query left out: series NOT_LOADED, the rest their default."""
    assert set(names) <= set(spec.columns), names  # column names come from the table facts
    position = {name: i for i, name in enumerate(names)}
    values: dict[str, str] = {}
    constants: dict[str, Any] = {}
    for field in dataclasses.fields(spec.record):
        if field.name in position:
            values[field.name] = f"v[{position[field.name]}]"
        elif field.name in spec.series:
            values[field.name] = "NOT_LOADED"
            constants["NOT_LOADED"] = NOT_LOADED
        elif field.default is not dataclasses.MISSING:
            values[field.name] = f"default_{field.name}"
            constants[f"default_{field.name}"] = field.default
        else:
            raise AssertionError(f"{spec.name}: a query left out required {field.name}")
    return slots_maker(spec.record, values, constants)


def slots_maker(
    cls: type[Any], values: dict[str, str], constants: dict[str, Any] | None = None
) -> Callable[[Any], Any]:
    """Compile ``make(v)``: an instance of the frozen slots dataclass ``cls`` whose each
    field is the expression ``values[field]`` (over ``v`` and ``constants``); ten times
    cheaper than ``cls.__init__`` (a trade: 3.8 against 0.4 us).

    ``__init__`` must store each field through ``object.__setattr__``, by name, because
    the class is frozen. Instead a plain twin class with the very same slots, in the same
    order, is filled by ordinary attribute stores, and the object then becomes a ``cls``
    by ``__class__`` assignment, which Python allows between classes of one layout (and
    refuses, with TypeError, otherwise). Only for classes whose ``__init__`` does nothing
    else (no ``__post_init__``); tests hold every maker's object equal to ``__init__``'s.
    """
    assert not hasattr(cls, "__post_init__"), cls
    fields = [f.name for f in dataclasses.fields(cls)]
    assert set(values) == set(fields), (cls, values)
    twin = type(f"{cls.__name__}Twin", (), {"__slots__": cls.__slots__})
    lines = ["def make(v):", "    o = new(Twin)"]
    lines += [f"    o.{name} = {values[name]}" for name in fields]
    lines += ["    o.__class__ = Cls", "    return o"]
    env = {**(constants or {}), "new": object.__new__, "Twin": twin, "Cls": cls}
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<{cls.__name__} maker>", "exec"), env, namespace)
    return namespace["make"]  # type: ignore[no-any-return]


class Codec:
    """Validation settings of a store, with a cache of row preparers.

    ``fill=False`` stores records as given: None is NULL even where the column has a
    default, and no rank or data_points is computed (what ``import`` needs to copy rows
    exactly)."""

    def __init__(self, nonfinite: NonFinite, fill: bool = True) -> None:
        if nonfinite not in ("refuse", "null"):
            raise ValidationError("BacktestStore", "nonfinite", nonfinite, "'refuse' or 'null'")
        self.nonfinite: NonFinite = nonfinite
        self.fill = bool(fill)
        self._cache: dict[tuple[str, tuple[str, ...]], RowPreparer] = {}

    def preparer(self, spec: TableSpec[Any], columns: tuple[str, ...]) -> RowPreparer:
        key = (spec.name, columns)
        prep = self._cache.get(key)
        if prep is None:
            prep = self._cache[key] = RowPreparer(spec, columns, self.nonfinite, self.fill)
        return prep

    def argument(self, spec: TableSpec[Any], name: str, value: Any, *, method: str) -> Any:
        """Validate a filter argument like the column it is compared with (length aside)."""
        value = plain_scalar(value)  # numpy scalars; pandas.NA and NaT are None
        if value is None:
            return None
        column = spec.columns[name]
        if column.kind == "varchar":
            column = Column("text")  # a longer filter matches nothing; it is not an error
        try:
            return converter(column, "refuse")(value)
        except Refused as refused:
            limit = refused.limit or column.describe()
            raise ValidationError(method, name, value, limit, problem=refused.problem) from None


def _is_series(value: Any) -> TypeGuard[Sized]:
    """A sequence of points: a list or tuple (of values or [timestamp, value] pairs), a
    numpy array or a pandas Series; not a dict, a string or NOT_LOADED."""
    return isinstance(value, list | tuple) or (
        hasattr(value, "__len__") and hasattr(value, "dtype") and getattr(value, "ndim", 0) == 1
    )


def _unknown_metric(method: str, name: str, metric: Any) -> ValidationError:
    allowed = "one of " + ", ".join(sorted(METRICS))
    return ValidationError(method, name, metric, allowed, problem="is not a rankable metric")


def _check_limit(method: str, limit: Any, name: str = "limit") -> int:
    limit = plain_scalar(limit)
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(method, name, limit, f"an int from 1 to {MAX_LIMIT}")
    return limit


def _check_id(method: str, name: str, value: Any) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(method, name, value, "a uuid.UUID", problem="is not a UUID")
    return value


def _check_aware(method: str, name: str, value: Any) -> datetime | None:
    value = plain_scalar(value)
    if value is None:
        return None
    if type(value) is date:
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError(
            method, name, value, "a timezone-aware datetime (or a date, read as UTC midnight)"
        )
    return value


def _page_key(method: str, after: Any, record: type[Any], key: str) -> tuple[datetime, UUID] | None:
    if after is None:
        return None
    if type(after) is not record or after.backtest_date is None or getattr(after, key) is None:
        raise ValidationError(
            method, "after", after, f"the last {record.__name__} of the previous page, as returned"
        )
    return (after.backtest_date, getattr(after, key))


# -- writes ---------------------------------------------------------------------


def _field(record: Any, name: str) -> Any:
    """A record's field, None when it is missing (None, pandas.NA, pandas.NaT)."""
    value = getattr(record, name, None)
    return None if value is None or is_missing(value) else value


def _key_or_new(record: Any, name: str) -> Any:
    """The key the caller chose, or a new one: only a missing key is replaced (a falsy
    wrong value, such as False or 0, goes on to be refused as not a UUID)."""
    key = _field(record, name)
    return uuid4() if key is None else key


def _columns_given(spec: TableSpec[Any], record: Any, override: dict[str, Any]) -> tuple[str, ...]:
    """Every column but those the database fills and the caller left out."""
    return tuple(
        name
        for name, column in spec.columns.items()
        if not (column.db_fills and name not in override and _field(record, name) is None)
    )


def _insert_one(
    codec: Codec,
    spec: TableSpec[R],
    record: Any,
    override: dict[str, Any],
    *,
    children: tuple[TableSpec[Any], tuple[str, ...], list[list[Any]]] | None = None,
    whole: bool = False,
) -> Operation[R]:
    """INSERT one record RETURNING it as stored; with ``children`` (a table, its columns
    and one array per column) their rows go in by the same statement."""
    columns = _columns_given(spec, record, override)
    values = codec.preparer(spec, columns).row(record, None, override)
    # A series that comes back from jsonb exactly as sent is not sent back: a year of
    # minutes is ~9 MB each way. Any other series is returned as PostgreSQL stored it.
    echoed = {s: getattr(record, s) for s in spec.series if _reads_back_equal(getattr(record, s))}
    returning = tuple(c for c in spec.column_names if c not in echoed)
    if children is None:
        statement: str = queries.insert_returning(spec, columns, returning=returning)
        params: tuple[Any, ...] = values
    else:
        child, child_columns, arrays = children
        statement = queries.insert_with_children(spec, columns, returning, child, child_columns)
        params = (*values, *arrays)
    try:
        row = yield Fetch(statement, params, "one", record_row(spec), whole=whole)
    except pg.CheckViolation as exc:  # a rule of the result's own: name its values
        if exc.diag.table_name == spec.name:
            explain_check(exc, spec, dict(zip(columns, values, strict=True)))
        else:
            explain_check(exc, children[0] if children else spec, {})
        raise
    assert row is not None
    return dataclasses.replace(row, **echoed) if echoed else row  # type: ignore[no-any-return]


def _reads_back_equal(series: Any) -> bool:
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


def _insert_or_recognise(
    codec: Codec, spec: TableSpec[R], record: Any, override: dict[str, Any]
) -> Operation[tuple[R, bool]]:
    """Insert a record whose key the caller chose; if that key is stored already (an
    earlier attempt committed but its acknowledgement was lost), return the stored row
    when it is the same record, else raise ConflictError. The flag says it was inserted."""
    columns = _columns_given(spec, record, override)
    values = codec.preparer(spec, columns).row(record, None, override)
    statement = queries.insert_returning(spec, columns, retry=True)
    row = yield Fetch(statement, values, "one", record_row(spec))
    if row is not None:
        return row, True
    key = getattr(record, spec.key)
    same = yield Fetch(queries.same_as_stored(spec, columns), (*values, key), "one", dict_row)
    differing = sorted(name for name, equal in (same or {}).items() if not equal)
    if same is None or differing:
        raise ConflictError(
            f"{spec.record.__name__} {key} is stored already with other values "
            f"({', '.join(differing) or 'deleted meanwhile'}): a retry must send the same record"
        )
    stored = yield _fetch(queries.get_by_key(spec, key), "one", record_row(spec))
    return stored, False


def explain_check(exc: Exception, spec: TableSpec[Any], row: dict[str, Any], *,
                  index: int | None = None) -> None:  # fmt: skip
    """Add to a CHECK violation the rule it broke, as the migration writes it, and the
    values of the row that broke it (when known)."""
    name = getattr(getattr(exc, "diag", None), "constraint_name", None) or ""
    rule = migrations.check_rules().get(name)
    if rule is None:
        return
    named = [c for c in spec.columns if re.search(rf"\b{c}\b", rule) and c in row]
    values = ", ".join(f"{c} = {row[c]}" for c in named)
    where = f"{spec.record.__name__}[{index}] " if index is not None else ""
    note = f"the rule is {rule}" + (f"; {where}has {values}" if values else "")
    if " IN (" in rule:
        note += " (exactly one of these, case-sensitive)"
    exc.add_note(note)


def _child_rows(
    codec: Codec,
    spec: TableSpec[Any],
    records: Sequence[Any],
    parent_id: UUID | None,
    *,
    number: str | None,
    first_number: int = 1,
) -> tuple[tuple[str, ...], Iterator[tuple[Any, ...]]]:
    """The columns and the validated rows (lazily) of child records under parent_id;
    absent numbers are filled from first_number."""
    assert spec.parent_key is not None
    # Database-filled columns go in only if some record sets them;
    # the records that do not get a fresh value.
    fill: dict[str, Callable[[], Any]] = {}
    for name, column in spec.columns.items():
        if column.db_fills and any(_field(r, name) is not None for r in records):
            fill[name] = uuid4 if column.kind == "uuid" else partial(datetime.now, UTC)
    columns = tuple(n for n, c in spec.columns.items() if not c.db_fills or n in fill)
    prep = codec.preparer(spec, columns)
    parent_key = spec.parent_key

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, record in enumerate(records):
            own = _field(record, parent_key)
            if own is not None and own != parent_id:
                raise ValidationError(
                    spec.record.__name__, parent_key, own, f"None or {parent_id}", index=i,
                    problem="names another parent than the one it is saved under",
                )  # fmt: skip
            override: dict[str, Any] = {parent_key: parent_id}
            if number is not None and _field(record, number) is None:
                override[number] = first_number + i
            for name, make in fill.items():
                if _field(record, name) is None:
                    override[name] = make()
            yield prep.row(record, i, override)

    return columns, rows()


def _copy_children(
    codec: Codec,
    spec: TableSpec[Any],
    records: Sequence[Any],
    parent_id: UUID | None,
    *,
    number: str | None,
    first_number: int = 1,
) -> Operation[int]:
    """COPY child records under parent_id; fill absent numbers from first_number."""
    columns, rows = _child_rows(
        codec, spec, records, parent_id, number=number, first_number=first_number
    )
    types = tuple(spec.columns[c].pg_type for c in columns)
    try:
        count = yield CopyIn(queries.copy_rows(spec, columns), types, rows)
    except pg.CheckViolation as exc:  # COPY says the line: the record at that position
        line = re.search(r"\bline (\d+)", exc.diag.context or "")
        index = int(line.group(1)) - 1 if line else -1
        record = records[index] if 0 <= index < len(records) else None
        fields = {n: getattr(record, n) for n in spec.columns} if record is not None else {}
        explain_check(exc, spec, fields, index=index if record is not None else None)
        raise
    return int(count)


def save_backtest(
    codec: Codec, result: BacktestResult, trades: Iterable[BacktestTrade]
) -> Operation[BacktestResult]:
    if type(result) is not BacktestResult:
        raise ValidationError(
            "BacktestResult",
            "(record)",
            result,
            "a BacktestResult",
            problem="is not of the right type",
        )
    frame: Any = trades if columnar.is_frame(trades) else None
    trade_list: list[Any] = [] if frame is not None else list(trades)
    n_trades = len(frame) if frame is not None else len(trade_list)
    override: dict[str, Any] = {"backtest_id": _key_or_new(result, "backtest_id")}
    curve = result.equity_curve
    if codec.fill and _field(result, "data_points") is None and _is_series(curve):  # a series
        override["data_points"] = len(curve)
    if _field(result, "backtest_id") is None and frame is None and n_trades <= SMALL_SAVE:
        return (yield from _insert_with_trades(codec, result, trade_list, override))
    if _field(result, "backtest_id") is None:
        saved = yield from _insert_one(codec, RESULTS, result, override)
    else:  # the caller chose the id: this may be the retry of a save that did commit
        saved, inserted = yield from _insert_or_recognise(codec, RESULTS, result, override)
        if not inserted:
            stored_trades = yield _fetch(queries.trade_count(result.backtest_id), "value")
            if stored_trades != n_trades:
                raise ConflictError(
                    f"BacktestResult {result.backtest_id} is stored already with "
                    f"{stored_trades} trades, not {n_trades}: a retry must send the "
                    "same record and trades"
                )
            return saved
    if frame is not None:
        if n_trades:
            yield from _copy_frame(codec, TRADES, frame, override["backtest_id"], "trade_number", 1)
    elif trade_list:
        yield from _copy_children(
            codec, TRADES, trade_list, override["backtest_id"], number="trade_number"
        )
    return saved


def _copy_frame(
    codec: Codec,
    spec: TableSpec[Any],
    frame: Any,
    parent_id: UUID,
    number: str | None,
    first_number: int,
) -> Operation[int]:
    """COPY a DataFrame of child rows, validated and encoded column by column."""
    assert spec.parent_key is not None
    if not codec.fill:  # a frame's gaps are its missing values: they take the defaults
        raise ValidationError("save_trades", "trades", "a DataFrame", "records, under fill=False",
                              problem="cannot be stored exactly as given")  # fmt: skip
    fixed = {spec.parent_key: parent_id}
    columns = columnar.plan(spec, frame, fixed, number)
    stream = columnar.chunks(spec, frame, columns, fixed, number, first_number, codec.nonfinite)
    count = yield CopyIn(queries.copy_rows(spec, columns), (), stream, encoded=len(frame))
    return int(count)


def _insert_with_trades(
    codec: Codec, result: BacktestResult, trades: list[BacktestTrade], override: dict[str, Any]
) -> Operation[BacktestResult]:
    """A result and its trades in one statement: every row is validated first, then one
    round trip inserts both (a data-modifying CTE, atomic on its own)."""
    if not trades:
        return (yield from _insert_one(codec, RESULTS, result, override, whole=True))
    trade_columns, rows = _child_rows(
        codec, TRADES, trades, override["backtest_id"], number="trade_number"
    )
    arrays = [list(column) for column in zip(*rows, strict=True)]
    for i, name in enumerate(trade_columns):  # one element type per array: ints as Decimal
        if TRADES.columns[name].kind == "numeric":
            arrays[i] = [v if v is None or type(v) is Decimal else Decimal(v) for v in arrays[i]]
    children = (TRADES, trade_columns, arrays)
    return (yield from _insert_one(codec, RESULTS, result, override, children=children, whole=True))


def save_trades(
    codec: Codec, backtest_id: UUID | None, trades: Iterable[BacktestTrade]
) -> Operation[int]:
    backtest_id = _check_id("save_trades", "backtest_id", backtest_id)
    frame: Any = trades if columnar.is_frame(trades) else None
    trade_list: list[Any] = [] if frame is not None else list(trades)
    if not (len(frame) if frame is not None else trade_list):
        return 0
    # Lock the backtest: appends to one backtest number their trades one after
    # another, and a concurrent delete either waits or wins before we start.
    locked = yield _fetch(queries.lock_backtest(backtest_id), "one")
    if locked is None:
        raise NotFoundError(f"save_trades failed: backtest {backtest_id} does not exist")
    last = yield _fetch(queries.last_trade_number(backtest_id), "value")
    if frame is not None:
        return (
            yield from _copy_frame(codec, TRADES, frame, backtest_id, "trade_number", int(last) + 1)
        )
    return (
        yield from _copy_children(
            codec,
            TRADES,
            trade_list,
            backtest_id,
            number="trade_number",
            first_number=int(last) + 1,
        )
    )


def _ranked(codec: Codec, records: list[OptimizationResult]) -> list[OptimizationResult]:
    """Fill absent ranks by objective_value (1 = highest, ties share a rank), comparing the
    values as PostgreSQL will store them (rounded half away from zero to the column's scale).
    A non-finite objective has no rank, given or not: it is stored NULL (nonfinite="null")
    or refused."""
    column = OPTIMIZATIONS.columns["objective_value"]
    convert = converter(column, codec.nonfinite)
    step = Decimal(10) ** -(column.scale or 0)

    def stored(value: Any) -> Decimal | None:
        try:
            value = plain_scalar(value)  # pandas.NA: no value, no rank
            converted = None if value is None else convert(value)
        except Refused:
            return None  # the preparer refuses the record with a clear message
        return None if converted is None else Decimal(converted).quantize(step, ROUND_HALF_UP)

    values = [stored(r.objective_value) for r in records]
    ordered = sorted((v for v in values if v is not None), reverse=True)
    first_rank: dict[Decimal, int] = {}
    for position, value in enumerate(ordered, start=1):
        first_rank.setdefault(value, position)
    out = []
    for r, v in zip(records, values, strict=True):
        if v is None and not_finite(r.objective_value):
            r = dataclasses.replace(r, rank=None)  # stored NULL (or refused): no rank
        elif _field(r, "rank") is None and v is not None:
            r = dataclasses.replace(r, rank=first_rank[v])
        out.append(r)
    return out


def _save_children(
    codec: Codec,
    spec: TableSpec[R],
    parent_id: UUID | None,
    records: Sequence[Any],
    *,
    number: str | None,
    method: str,
) -> Operation[list[R]]:
    """COPY children with ids chosen here, then read them back as stored, in input order."""
    _check_id(method, spec.parent_key or "", parent_id)
    ids = [_key_or_new(r, spec.key) for r in records]
    with_ids = [_replace_key(spec, r, i) for r, i in zip(records, ids, strict=True)]
    yield from _copy_children(codec, spec, with_ids, parent_id, number=number)
    rows = yield _fetch(queries.get_by_keys(spec, ids, (spec.key,)), "all", record_row(spec))
    by_key = {getattr(r, spec.key): r for r in rows}
    return [by_key[i] for i in ids]


def _replace_key(spec: TableSpec[Any], record: Any, key: UUID | None) -> Any:
    if type(record) is not spec.record:
        return record  # the preparer refuses it with a clear message
    return dataclasses.replace(record, **{spec.key: key})


def save_optimization_results(
    codec: Codec, backtest_id: UUID | None, results: Iterable[OptimizationResult]
) -> Operation[list[OptimizationResult]]:
    records = list(results)
    if not records:
        return []
    if codec.fill and all(type(r) is OptimizationResult for r in records):  # else refused
        records = _ranked(codec, records)
    return (
        yield from _save_children(
            codec,
            OPTIMIZATIONS,
            backtest_id,
            records,
            number="parameter_set",
            method="save_optimization_results",
        )
    )


def save_walk_forward_tests(
    codec: Codec, parent_backtest_id: UUID | None, windows: Iterable[WalkForwardTest]
) -> Operation[list[WalkForwardTest]]:
    records = list(windows)
    if not records:
        return []
    return (
        yield from _save_children(
            codec,
            WALK_FORWARD,
            parent_backtest_id,
            records,
            number=None,
            method="save_walk_forward_tests",
        )
    )


def save_portfolio(codec: Codec, portfolio: BacktestPortfolio) -> Operation[BacktestPortfolio]:
    return (yield from _insert_one(codec, PORTFOLIOS, portfolio, {}, whole=True))


def delete_backtest(backtest_id: UUID | None) -> Operation[bool]:
    _check_id("delete_backtest", "backtest_id", backtest_id)
    count = yield _fetch(queries.delete_by_key(RESULTS, backtest_id), "rowcount")
    return bool(count)


def _retention(
    method: str, codec: Codec, older_than: Any, symbol: str | None, strategy_type: str | None
) -> dict[str, Any]:
    """The checked arguments of a retention query: which backtests are old enough."""
    cutoff = _check_aware(method, "older_than", older_than)
    if cutoff is None:
        raise ValidationError(method, "older_than", None, "a timezone-aware datetime")
    return {
        "older_than": cutoff,
        "symbol": codec.argument(RESULTS, "symbol", symbol, method=method),
        "strategy_type": codec.argument(RESULTS, "strategy_type", strategy_type, method=method),
    }


def delete_batch(
    codec: Codec, *, older_than: Any, symbol: str | None, strategy_type: str | None, batch_size: int
) -> Operation[int]:
    statement = queries.delete_batch(
        **_retention("delete_backtests", codec, older_than, symbol, strategy_type),
        batch_size=_check_limit("delete_backtests", batch_size, "batch_size"),
    )
    count = yield _fetch(statement, "rowcount", custom_plan=True)
    return int(count)


def count_backtests(
    codec: Codec, *, older_than: Any, symbol: str | None, strategy_type: str | None
) -> Operation[dict[str, int]]:
    statement = queries.prune_counts(
        **_retention("count_backtests", codec, older_than, symbol, strategy_type)
    )
    row = yield _fetch(statement, "one", dict_row, custom_plan=True)
    return {k: int(v) for k, v in row.items()}


# -- reads ------------------------------------------------------------------------


def backtest_ids(prefix: Any, limit: int) -> Operation[list[UUID]]:
    """The backtest ids that start with ``prefix`` (hex digits, dashes ignored), in order;
    a range scan of the primary key."""
    digits = prefix.replace("-", "").lower() if isinstance(prefix, str) else None
    if digits is None or not 1 <= len(digits) <= 32 or any(c not in _HEX for c in digits):
        raise ValidationError("backtest_ids", "prefix", prefix, "1 to 32 hex digits",
                              problem="is not the start of a backtest id")  # fmt: skip
    low, high = UUID(digits.ljust(32, "0")), UUID(digits.ljust(32, "f"))
    rows = yield _fetch(queries.ids_between(low, high, _check_limit("backtest_ids", limit)), "all")
    return [row[0] for row in rows]


_HEX = frozenset("0123456789abcdef")


def get_one(spec: TableSpec[R], key: UUID | None, method: str) -> Operation[R | None]:
    _check_id(method, spec.key, key)
    row = yield _fetch(queries.get_by_key(spec, key), "one", record_row(spec))
    return row  # type: ignore[no-any-return]


def list_backtests(
    codec: Codec,
    *,
    symbol: str | None,
    strategy_type: str | None,
    status: str | None,
    since: Any,
    until: Any,
    limit: int,
    after: BacktestResult | None,
    with_series: bool,
) -> Operation[list[BacktestResult]]:
    m = "list_backtests"
    statement = queries.list_backtests(
        symbol=codec.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=codec.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=codec.argument(RESULTS, "status", status, method=m),
        since=_check_aware(m, "since", since),
        until=_check_aware(m, "until", until),
        after=_page_key(m, after, BacktestResult, "backtest_id"),
        limit=_check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield _fetch(statement, "all", record_row(RESULTS))
    return list(rows)


def top_backtests(
    codec: Codec,
    *,
    metric: str,
    symbol: str | None,
    strategy_type: str | None,
    min_trades: int,
    status: str | None,
    limit: int,
    with_series: bool,
    parameters: dict[str, Any] | None = None,
) -> Operation[list[BacktestResult]]:
    m = "top_backtests"
    if metric not in METRICS:
        raise _unknown_metric(m, "metric", metric)
    min_trades = plain_scalar(min_trades)
    if type(min_trades) is not int or min_trades < 0:
        raise ValidationError(m, "min_trades", min_trades, "an int >= 0")
    statement = queries.top_backtests(
        metric=metric,
        symbol=codec.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=codec.argument(RESULTS, "strategy_type", strategy_type, method=m),
        min_trades=min_trades,
        status=codec.argument(RESULTS, "status", status, method=m),
        limit=_check_limit(m, limit),
        with_series=bool(with_series),
        parameters=None if parameters is None else _parameters_filter(codec, m, parameters),
    )
    rows = yield _fetch(statement, "all", record_row(RESULTS), custom_plan=parameters is not None)
    return list(rows)


def _parameters_filter(codec: Codec, method: str, parameters: Any) -> Any:
    """A jsonb containment filter: a dict of parameter names to values."""
    if not isinstance(parameters, dict):
        raise ValidationError(method, "parameters", parameters,
                              "a dict of parameter names to values")  # fmt: skip
    return codec.argument(RESULTS, "parameters", parameters, method=method)


def find_backtests(
    codec: Codec,
    *,
    parameters: dict[str, Any],
    symbol: str | None,
    strategy_type: str | None,
    limit: int,
    with_series: bool,
) -> Operation[list[BacktestResult]]:
    m = "find_backtests"
    statement = queries.find_backtests(
        parameters=_parameters_filter(codec, m, parameters),
        symbol=codec.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=codec.argument(RESULTS, "strategy_type", strategy_type, method=m),
        limit=_check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield _fetch(statement, "all", record_row(RESULTS), custom_plan=True)
    return list(rows)


def get_trades(backtest_id: UUID | None, outcome: Outcome) -> Operation[list[BacktestTrade]]:
    if outcome not in ("all", "winning", "losing"):
        raise ValidationError("get_trades", "outcome", outcome, "'all', 'winning' or 'losing'")
    _check_id("get_trades", "backtest_id", backtest_id)
    rows = yield _fetch(queries.trades(backtest_id, outcome), "all", record_row(TRADES))
    return list(rows)


def best_parameters(backtest_id: UUID | None, limit: int) -> Operation[list[OptimizationResult]]:
    _check_id("best_parameters", "backtest_id", backtest_id)
    statement = queries.best_parameters(backtest_id, _check_limit("best_parameters", limit))
    rows = yield _fetch(statement, "all", record_row(OPTIMIZATIONS))
    return list(rows)


def children(
    spec: TableSpec[R], parent_id: UUID | None, order_by: tuple[str, ...], method: str
) -> Operation[list[R]]:
    _check_id(method, spec.parent_key or "", parent_id)
    rows = yield _fetch(queries.children(spec, parent_id, order_by), "all", record_row(spec))
    return list(rows)


def list_portfolios(
    codec: Codec,
    *,
    portfolio_name: str | None,
    limit: int,
    after: BacktestPortfolio | None,
    with_series: bool,
) -> Operation[list[BacktestPortfolio]]:
    m = "list_portfolios"
    statement = queries.list_portfolios(
        portfolio_name=codec.argument(PORTFOLIOS, "portfolio_name", portfolio_name, method=m),
        after=_page_key(m, after, BacktestPortfolio, "portfolio_backtest_id"),
        limit=_check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield _fetch(statement, "all", record_row(PORTFOLIOS))
    return list(rows)


def compare_backtests(
    backtest_ids: Iterable[UUID | None], metrics: Iterable[str] | None
) -> Operation[list[BacktestComparison]]:
    m = "compare_backtests"
    ids = [_check_id(m, "backtest_ids", i) for i in backtest_ids]
    chosen = tuple(METRICS) if metrics is None else tuple(metrics)
    for metric in chosen:
        if metric not in METRICS:
            raise _unknown_metric(m, "metrics", metric)
    if not chosen:
        raise ValidationError(m, "metrics", metrics, "at least one metric")
    if not ids:
        return []
    rows = yield _fetch(queries.compare_backtests(ids, chosen), "all")
    out = []
    for row in rows:
        values = {metric: row[3 + 2 * k] for k, metric in enumerate(chosen)}
        ranks = {metric: row[4 + 2 * k] for k, metric in enumerate(chosen)}
        out.append(BacktestComparison(row[0], row[1], row[2], values, ranks))
    first = chosen[0]
    out.sort(key=lambda c: (c.ranks[first] is None, c.ranks[first] or 0, str(c.backtest_id)))
    return out


def performance_summary(
    codec: Codec, *, since: Any, symbol: str | None, strategy_type: str | None, status: str | None
) -> Operation[PerformanceSummary]:
    m = "performance_summary"
    statement = queries.performance_summary(
        since=_check_aware(m, "since", since),
        symbol=codec.argument(RESULTS, "symbol", symbol, method=m),
        strategy_type=codec.argument(RESULTS, "strategy_type", strategy_type, method=m),
        status=codec.argument(RESULTS, "status", status, method=m),
    )
    rows = yield _fetch(statement, "all", custom_plan=True)
    overall = SummaryStats(0, None, None, None, None, None)
    by_strategy: dict[str, SummaryStats] = {}
    by_symbol: dict[str, SummaryStats] = {}
    stats = _stats_maker()
    for row in rows:
        g_strategy, g_symbol, strategy, symbol_ = row[:4]
        summary = stats(row)
        if g_strategy and g_symbol:
            overall = summary
        elif not g_strategy:
            by_strategy[strategy] = summary
        else:
            by_symbol[symbol_] = summary
    return PerformanceSummary(overall, _by_count(by_strategy), _by_count(by_symbol))


def _by_count(groups: dict[str, SummaryStats]) -> dict[str, SummaryStats]:
    """Groups by count, largest first, then by name."""
    return dict(sorted(groups.items(), key=lambda item: (-item[1].count, item[0])))


@lru_cache(maxsize=1)
def _stats_maker() -> Callable[[Any], SummaryStats]:
    """SummaryStats from a summary row (its fields after the four grouping columns); a
    summary by symbol has a row per symbol."""
    names = [f.name for f in dataclasses.fields(SummaryStats)]
    return slots_maker(SummaryStats, {name: f"v[{4 + i}]" for i, name in enumerate(names)})


def iter_trades_statement(backtest_id: UUID | None) -> Statement:
    _check_id("iter_trades", "backtest_id", backtest_id)
    return queries.trades(backtest_id, "all")
