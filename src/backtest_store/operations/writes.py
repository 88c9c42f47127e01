"""The operations that write: saves of every table (one statement for a small save, binary
COPY for more and for DataFrames, idempotent retries of a chosen id), deletes and the
retention batches."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from psycopg import errors as pg
from psycopg.rows import dict_row

from backtest_store import columnar, provenance
from backtest_store.convert import Refused, converter, not_finite
from backtest_store.errors import ConflictError, NotFoundError, ValidationError
from backtest_store.operations.arguments import StoreSettings, check_id, is_series
from backtest_store.operations.backtests import get_by_key, get_by_keys
from backtest_store.operations.rows import record_row
from backtest_store.operations.steps import CopyIn, Fetch, Operation, R, fetch
from backtest_store.queries import writes as write_sql
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.rules import CHECKS
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)
from backtest_store.values import is_missing, plain_scalar, ranks

SMALL_SAVE = 100


"""Up to this many trades a result and its trades are saved by one statement (one round
trip, the trades as one INSERT from arrays); more go through binary COPY, which cannot
share a round trip. Set from ``python -m bench --only small-save``."""


def _field(record: Any, name: str) -> Any:
    """A record's field, None when it is missing (None, pandas.NA, pandas.NaT)."""
    value = getattr(record, name, None)
    return None if value is None or is_missing(value) else value


def _key_or_new(record: Any, name: str) -> Any:
    """The key the caller chose, or a new one: only a missing key is replaced (a falsy
    wrong value, such as False or 0, goes on to be refused as not a UUID)."""
    key = _field(record, name)
    return uuid4() if key is None else key


# Columns the database sets whatever a client sends (0011's trigger): never sent.
SET_BY_DATABASE = frozenset({"saved_by"})


def _columns_given(spec: TableSpec[Any], record: Any, override: dict[str, Any]) -> tuple[str, ...]:
    """Every column but those the database fills and the caller left out, and those the
    database sets itself."""
    left = [n for n in spec.db_filled if n not in override and _field(record, n) is None]
    key = (spec.name, *left)
    columns = _GIVEN.get(key)
    if columns is None:
        dropped = SET_BY_DATABASE.union(left)
        columns = _GIVEN[key] = tuple(n for n in spec.column_names if n not in dropped)
    return columns


_GIVEN: dict[tuple[str, ...], tuple[str, ...]] = {}  # (table, columns left out): columns sent


def _insert_one(
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
    columns = _columns_given(spec, record, override)
    values = settings.preparer(spec, columns).row(record, None, override)
    # A series that comes back from jsonb exactly as sent is not sent back: a year of
    # minutes is ~9 MB each way. Any other series is returned as PostgreSQL stored it.
    echoed = {s: getattr(record, s) for s in spec.series if _reads_back_equal(getattr(record, s))}
    returning = tuple(c for c in spec.column_names if c not in echoed)
    if children is None:
        statement: str = write_sql.insert_returning(spec, columns, returning=returning)
        params: tuple[Any, ...] = values
    else:
        child, child_columns, arrays = children
        statement = write_sql.insert_with_children(spec, columns, returning, child, child_columns)
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
    settings: StoreSettings, spec: TableSpec[R], record: Any, override: dict[str, Any]
) -> Operation[tuple[R, bool]]:
    """Insert a record whose key the caller chose; if that key is stored already (an
    earlier attempt committed but its acknowledgement was lost), return the stored row
    when it is the same record, else raise ConflictError. The flag says it was inserted."""
    columns = _columns_given(spec, record, override)
    values = settings.preparer(spec, columns).row(record, None, override)
    statement = write_sql.insert_returning(spec, columns, retry=True)
    row = yield Fetch(statement, values, "one", record_row(spec))
    if row is not None:
        return row, True
    key = getattr(record, spec.key)
    same = yield Fetch(write_sql.same_as_stored(spec, columns), (*values, key), "one", dict_row)
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


def _child_rows(
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
    assert spec.parent_key is not None
    # Database-filled columns go in only if some record sets them;
    # the records that do not get a fresh value.
    fill: dict[str, Callable[[], Any]] = {}
    for name in spec.db_filled:
        if any(_field(r, name) is not None for r in records):
            kind = spec.columns[name].kind
            fill[name] = uuid4 if kind == "uuid" else partial(datetime.now, UTC)
    columns = tuple(n for n in spec.column_names if n not in spec.db_filled or n in fill)
    prep = settings.preparer(spec, columns)
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
    settings: StoreSettings,
    spec: TableSpec[Any],
    records: Sequence[Any],
    parent_id: UUID | None,
    *,
    number: str | None,
    first_number: int = 1,
) -> Operation[int]:
    """COPY child records under parent_id; fill absent numbers from first_number."""
    columns, rows = _child_rows(
        settings, spec, records, parent_id, number=number, first_number=first_number
    )
    types = tuple(spec.columns[c].pg_type for c in columns)
    try:
        count = yield CopyIn(write_sql.copy_rows(spec, columns), types, rows)
    except pg.CheckViolation as exc:  # COPY says the line: the record at that position
        line = re.search(r"\bline (\d+)", exc.diag.context or "")
        index = int(line.group(1)) - 1 if line else -1
        record = records[index] if 0 <= index < len(records) else None
        fields = {n: getattr(record, n) for n in spec.columns} if record is not None else {}
        explain_check(exc, spec, fields, index=index if record is not None else None)
        raise
    return int(count)


def save_backtest(
    settings: StoreSettings, result: BacktestResult, trades: Iterable[BacktestTrade]
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
    override.update(settings.provenance(result))
    provenance.check_tags("BacktestResult", override.get("tags", result.tags))
    provenance.check_extra_metrics("BacktestResult", result.extra_metrics)
    curve = result.equity_curve
    if settings.fill and _field(result, "data_points") is None and is_series(curve):  # a series
        override["data_points"] = len(curve)
    if _field(result, "backtest_id") is None and frame is None and n_trades <= SMALL_SAVE:
        return (yield from _insert_with_trades(settings, result, trade_list, override))
    if _field(result, "backtest_id") is None:
        saved = yield from _insert_one(settings, RESULTS, result, override)
    else:  # the caller chose the id: this may be the retry of a save that did commit
        saved, inserted = yield from _insert_or_recognise(settings, RESULTS, result, override)
        if not inserted:
            stored_trades = yield fetch(write_sql.trade_count(result.backtest_id), "value")
            if stored_trades != n_trades:
                raise ConflictError(
                    f"BacktestResult {result.backtest_id} is stored already with "
                    f"{stored_trades} trades, not {n_trades}: a retry must send the "
                    "same record and trades"
                )
            return saved
    if frame is not None:
        if n_trades:
            yield from _copy_frame(
                "save_backtest", settings, TRADES, frame, override["backtest_id"], "trade_number", 1
            )
    elif trade_list:
        yield from _copy_children(
            settings, TRADES, trade_list, override["backtest_id"], number="trade_number"
        )
    return saved


def _copy_frame(
    method: str,
    settings: StoreSettings,
    spec: TableSpec[Any],
    frame: Any,
    parent_id: UUID,
    number: str | None,
    first_number: int,
) -> Operation[int]:
    """COPY a DataFrame of child rows, validated and encoded column by column."""
    assert spec.parent_key is not None
    if not settings.fill:  # a frame's gaps are its missing values: they take the defaults
        raise ValidationError(method, "trades", "a DataFrame", "records, under fill=False",
                              problem="cannot be stored exactly as given")  # fmt: skip
    fixed = {spec.parent_key: parent_id}
    columns = columnar.plan(spec, frame, fixed, number, settings.nonfinite)
    stream = columnar.chunks(spec, frame, columns, fixed, number, first_number, settings.nonfinite)
    count = yield CopyIn(write_sql.copy_rows(spec, columns), (), stream, encoded=len(frame))
    return int(count)


def _insert_with_trades(
    settings: StoreSettings,
    result: BacktestResult,
    trades: list[BacktestTrade],
    override: dict[str, Any],
) -> Operation[BacktestResult]:
    """A result and its trades in one statement: every row is validated first, then one
    round trip inserts both (a data-modifying CTE, atomic on its own)."""
    if not trades:
        return (yield from _insert_one(settings, RESULTS, result, override, whole=True))
    trade_columns, rows = _child_rows(
        settings, TRADES, trades, override["backtest_id"], number="trade_number"
    )
    arrays = [list(column) for column in zip(*rows, strict=True)]
    for i, name in enumerate(trade_columns):  # one element type per array: ints as Decimal
        if name in TRADES.numeric and int in set(map(type, arrays[i])):
            arrays[i] = [v if v is None or type(v) is Decimal else Decimal(v) for v in arrays[i]]
    children = (TRADES, trade_columns, arrays)
    return (
        yield from _insert_one(settings, RESULTS, result, override, children=children, whole=True)
    )


def save_trades(
    settings: StoreSettings, backtest_id: UUID | None, trades: Iterable[BacktestTrade]
) -> Operation[int]:
    backtest_id = check_id("save_trades", "backtest_id", backtest_id)
    frame: Any = trades if columnar.is_frame(trades) else None
    trade_list: list[Any] = [] if frame is not None else list(trades)
    if not (len(frame) if frame is not None else trade_list):
        return 0
    # Lock the backtest: appends to one backtest number their trades one after
    # another, and a concurrent delete either waits or wins before we start.
    locked = yield fetch(write_sql.lock_backtest(backtest_id), "one")
    if locked is None:
        raise NotFoundError(f"save_trades failed: backtest {backtest_id} does not exist")
    last = yield fetch(write_sql.last_trade_number(backtest_id), "value")
    if frame is not None:
        return (
            yield from _copy_frame(
                "save_trades", settings, TRADES, frame, backtest_id, "trade_number", int(last) + 1
            )
        )
    return (
        yield from _copy_children(
            settings,
            TRADES,
            trade_list,
            backtest_id,
            number="trade_number",
            first_number=int(last) + 1,
        )
    )


def _ranked(settings: StoreSettings, records: list[OptimizationResult]) -> list[OptimizationResult]:
    """Fill absent ranks by objective_value (1 = highest, ties share a rank), comparing the
    values as PostgreSQL will store them (rounded half away from zero to the column's scale).
    A non-finite objective has no rank, given or not: it is stored NULL (nonfinite="null")
    or refused."""
    column = OPTIMIZATIONS.columns["objective_value"]
    convert = converter(column, settings.nonfinite)
    step = Decimal(10) ** -(column.scale or 0)

    def stored(value: Any) -> Decimal | None:
        try:
            value = plain_scalar(value)  # pandas.NA: no value, no rank
            converted = None if value is None else convert(value)
        except Refused:
            return None  # the preparer refuses the record with a clear message
        return None if converted is None else Decimal(converted).quantize(step, ROUND_HALF_UP)

    values = [stored(r.objective_value) for r in records]
    out = []
    for r, v, rank in zip(records, values, ranks(values), strict=True):
        if v is None and not_finite(r.objective_value):
            r = dataclasses.replace(r, rank=None)  # stored NULL (or refused): no rank
        elif _field(r, "rank") is None and rank is not None:
            r = dataclasses.replace(r, rank=rank)
        out.append(r)
    return out


def _save_children(
    settings: StoreSettings,
    spec: TableSpec[R],
    parent_id: UUID | None,
    records: Sequence[Any],
    *,
    number: str | None,
    method: str,
) -> Operation[list[R]]:
    """COPY children with ids chosen here, then read them back as stored, in input order."""
    check_id(method, spec.parent_key or "", parent_id)
    ids = [_key_or_new(r, spec.key) for r in records]
    with_ids = [_replace_key(spec, r, i) for r, i in zip(records, ids, strict=True)]
    yield from _copy_children(settings, spec, with_ids, parent_id, number=number)
    statement = get_by_keys(spec, ids, (spec.key,), parent=parent_id)
    rows = yield fetch(statement, "all", record_row(spec))
    by_key = {getattr(r, spec.key): r for r in rows}
    return [by_key[i] for i in ids]


def _replace_key(spec: TableSpec[Any], record: Any, key: UUID | None) -> Any:
    if type(record) is not spec.record:
        return record  # the preparer refuses it with a clear message
    return dataclasses.replace(record, **{spec.key: key})


def save_optimization_results(
    settings: StoreSettings, backtest_id: UUID | None, results: Iterable[OptimizationResult]
) -> Operation[list[OptimizationResult]]:
    records = list(results)
    if not records:
        return []
    if settings.fill and all(type(r) is OptimizationResult for r in records):  # else refused
        records = _ranked(settings, records)
    return (
        yield from _save_children(
            settings,
            OPTIMIZATIONS,
            backtest_id,
            records,
            number="parameter_set",
            method="save_optimization_results",
        )
    )


def save_walk_forward_tests(
    settings: StoreSettings, parent_backtest_id: UUID | None, windows: Iterable[WalkForwardTest]
) -> Operation[list[WalkForwardTest]]:
    records = list(windows)
    if not records:
        return []
    return (
        yield from _save_children(
            settings,
            WALK_FORWARD,
            parent_backtest_id,
            records,
            number=None,
            method="save_walk_forward_tests",
        )
    )


def save_portfolio(
    settings: StoreSettings, portfolio: BacktestPortfolio
) -> Operation[BacktestPortfolio]:
    return (yield from _insert_one(settings, PORTFOLIOS, portfolio, {}, whole=True))


def delete_backtest(backtest_id: UUID | None) -> Operation[bool]:
    check_id("delete_backtest", "backtest_id", backtest_id)
    count = yield fetch(write_sql.delete_by_key(RESULTS, backtest_id), "rowcount")
    return bool(count)
