"""The operations that write: saves of every table (one statement for a small save, binary
COPY for more and for DataFrames, idempotent retries of a chosen id), deletes and the
retention batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from pypika import PostgreSQLQuery
from pypika import functions as fn

from backtest_store import columnar, provenance
from backtest_store.convert import Refused, converter, not_finite
from backtest_store.errors import ConflictError, ParentNotFoundError, ValidationError
from backtest_store.operations.arguments import StoreSettings, check_id, is_series
from backtest_store.operations.backtests import get_by_keys
from backtest_store.operations.inserts import (
    child_rows,
    copy_children,
    copy_rows,
    field,
    insert_one,
    insert_or_recognise,
    key_or_new,
)
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import Statement, column_of, param, render
from backtest_store.operations.steps import CopyIn, Operation, R, fetch
from backtest_store.records import (
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)
from backtest_store.values import plain_scalar, ranks

SMALL_SAVE = 100


"""Up to this many trades a result and its trades are saved by one statement (one round
trip, the trades as one INSERT from arrays); more go through binary COPY, which cannot
share a round trip. Set from ``python -m bench --only small-save``."""


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
    override: dict[str, Any] = {"backtest_id": key_or_new(result, "backtest_id")}
    override.update(settings.provenance(result))
    provenance.check_tags("BacktestResult", override.get("tags", result.tags))
    provenance.check_extra_metrics("BacktestResult", result.extra_metrics)
    curve = result.equity_curve
    if settings.fill and field(result, "data_points") is None and is_series(curve):  # a series
        override["data_points"] = len(curve)
    if field(result, "backtest_id") is None and frame is None and n_trades <= SMALL_SAVE:
        return (yield from _insert_with_trades(settings, result, trade_list, override))
    if field(result, "backtest_id") is None:
        saved = yield from insert_one(settings, RESULTS, result, override)
    else:  # the caller chose the id: this may be the retry of a save that did commit
        saved, inserted = yield from insert_or_recognise(settings, RESULTS, result, override)
        if not inserted:
            stored_trades = yield fetch(trade_count(result.backtest_id), "value")
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
        yield from copy_children(
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
    count = yield CopyIn(copy_rows(spec, columns), (), stream, encoded=len(frame))
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
        return (yield from insert_one(settings, RESULTS, result, override, whole=True))
    trade_columns, rows = child_rows(
        settings, TRADES, trades, override["backtest_id"], number="trade_number"
    )
    arrays = [list(column) for column in zip(*rows, strict=True)]
    for i, name in enumerate(trade_columns):  # one element type per array: ints as Decimal
        if name in TRADES.numeric and int in set(map(type, arrays[i])):
            arrays[i] = [v if v is None or type(v) is Decimal else Decimal(v) for v in arrays[i]]
    children = (TRADES, trade_columns, arrays)
    return (
        yield from insert_one(settings, RESULTS, result, override, children=children, whole=True)
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
    locked = yield fetch(lock_backtest(backtest_id), "one")
    if locked is None:
        raise ParentNotFoundError(f"save_trades failed: backtest {backtest_id} does not exist")
    last = yield fetch(last_trade_number(backtest_id), "value")
    if frame is not None:
        return (
            yield from _copy_frame(
                "save_trades", settings, TRADES, frame, backtest_id, "trade_number", int(last) + 1
            )
        )
    return (
        yield from copy_children(
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
        elif field(r, "rank") is None and rank is not None:
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
    ids = [key_or_new(r, spec.key) for r in records]
    with_ids = [_replace_key(spec, r, i) for r, i in zip(records, ids, strict=True)]
    yield from copy_children(settings, spec, with_ids, parent_id, number=number)
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
    return (yield from insert_one(settings, PORTFOLIOS, portfolio, {}, whole=True))


def delete_backtest(backtest_id: UUID | None) -> Operation[bool]:
    check_id("delete_backtest", "backtest_id", backtest_id)
    count = yield fetch(delete_by_key(RESULTS, backtest_id), "rowcount")
    return bool(count)
