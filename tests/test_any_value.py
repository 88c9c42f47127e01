"""One property through the database: any record of any table is stored as sent (as its
column keeps it), or refused with a ValidationError, and a refusal writes nothing. Never a
driver error, never a partial write. Each example draws its record one of three ways:

- **full range**: every column over its whole range, within its CHECK rules
  (``devkit.strategies.records``). It must be stored: each field as sent, and what was
  left out holds the server's default;
- **numpy twin**: the same record in numpy and pandas values (every integer width,
  float32/16, NA, NaT, Timestamps, arrays and tuples in jsonb). It is stored, or refused,
  exactly as the record of plain Python values is;
- **any value**: any Python value in a few fields (``ANYTHING``), trades also as a pandas
  DataFrame. It is stored as the column keeps it, or refused cleanly.

Over the sync store and the async one. The cases a refusal must word are in
test_refused; the values a column rounds or converts, in test_stored.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest
from devkit.records import optimization, portfolio, result, row_counts, trade, window
from devkit.strategies import numpy_twins, records
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backtest_store import BacktestStoreError, ValidationError
from backtest_store.columns import Column
from backtest_store.operations.inserts import SET_BY_DATABASE
from backtest_store.tables import ALL, OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, TableSpec

Store = Any

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(),
    st.binary(max_size=20),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.uuids(),
    st.lists(st.one_of(st.integers(), st.floats(), st.text()), max_size=5),
    st.dictionaries(
        st.text(max_size=5), st.one_of(st.integers(), st.floats(), st.text()), max_size=5
    ),
    st.tuples(st.integers()),
    st.just(object()),
)

# A record each field of which is valid, for "any value" to change a few fields of.
VALID: dict[str, Callable[[], Any]] = {
    RESULTS.name: result,
    TRADES.name: lambda: trade(0),
    OPTIMIZATIONS.name: lambda: optimization(1),
    "mcp_walk_forward_tests": window,
    PORTFOLIOS.name: portfolio,
}

SOURCES = ("full range", "numpy twin", "any value")

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_any_record_is_stored_as_sent_or_refused_cleanly(
    store: Store, conn: psycopg.Connection[Any], spec: TableSpec[Any], data: st.DataObject
) -> None:
    source = data.draw(st.sampled_from(SOURCES), label="source")
    if source == "full range":
        sent = data.draw(st.lists(records(spec), min_size=1, max_size=1 if spec.parent_key
                                  is None else 3), label="records")  # fmt: skip
        if spec is OPTIMIZATIONS:  # ids drawn twice would collide: one given, the rest made
            sent = [dataclasses.replace(r, optimization_id=None) if i else r
                    for i, r in enumerate(sent)]  # fmt: skip
        trades = data.draw(st.lists(records(TRADES), max_size=3), label="trades") if (
            spec is RESULTS) else []  # fmt: skip
        kept = save(store, conn, spec, sent, trades)
        assert not isinstance(kept, ValidationError), kept
        stored, stored_trades = kept
        if spec is OPTIMIZATIONS:  # a rank left out is filled by objective_value
            sent = [dataclasses.replace(s, rank=k.rank if s.rank is None else s.rank)
                    for s, k in zip(sent, stored, strict=True)]  # fmt: skip
        if spec is TRADES:
            stored, sent = match_trades(sent, stored)
        for one, got in zip(sent, stored, strict=True):
            as_sent(spec, one, got)
        if spec is RESULTS:
            stored_trades, trades = match_trades(trades, stored_trades)
            for one, got in zip(trades, stored_trades, strict=True):
                as_sent(TRADES, one, got)
    elif source == "numpy twin":
        pytest.importorskip("pandas")
        twin, plain = data.draw(numpy_twins(spec), label="twin")
        as_plain = outcome(spec, save(store, conn, spec, [plain]))
        event(f"numpy twin: {'refused' if isinstance(as_plain, tuple) else 'stored'}")
        assert outcome(spec, save(store, conn, spec, [twin])) == as_plain
    else:
        fields = data.draw(
            st.dictionaries(st.sampled_from([n for n in spec.columns if n != spec.parent_key]),
                            ANYTHING, min_size=1, max_size=4), label="fields")  # fmt: skip
        frame = spec is TRADES and data.draw(st.booleans(), label="as a DataFrame")
        record = dataclasses.replace(VALID[spec.name](), **fields)
        kept = save(store, conn, spec, [record], frame=frame)
        event(f"any value: {'refused' if isinstance(kept, ValidationError) else 'stored'}")
        if isinstance(kept, ValidationError):
            return  # nothing was written: save() checked it
        ((got,), _) = kept
        stored_as_the_column_keeps(spec, fields, got, conn.info.user)


def save(
    store: Store, conn: psycopg.Connection[Any], spec: TableSpec[Any], sent: list[Any],
    trades: list[Any] | None = None, *, frame: bool = False,
) -> tuple[list[Any], list[Any]] | ValidationError:  # fmt: skip
    """Save ``sent`` (under a new parent for a child table; a result with ``trades``) on
    empty tables: what a read gives back (checked equal to what the save returned), and the
    result's trades; or the refusal, after checking that nothing was written."""
    conn.execute("DELETE FROM mcp_backtest_results")  # hypothesis replays the ids it drew
    conn.execute("DELETE FROM mcp_backtest_portfolios")
    parent = store.save_backtest(result()).backtest_id if spec.parent_key else None
    before = row_counts(conn)
    try:
        if spec is RESULTS:
            (record,) = sent
            saved = store.save_backtest(record, trades or [])
            assert store.get_backtest(saved.backtest_id) == saved
            return [saved], store.get_trades(saved.backtest_id)
        if spec is PORTFOLIOS:
            (record,) = sent
            saved = store.save_portfolio(record)
            assert store.get_portfolio(saved.portfolio_backtest_id) == saved
            return [saved], []
        if spec is TRADES:
            assert store.save_trades(parent, as_frame(sent) if frame else sent) == len(sent)
            return store.get_trades(parent), []
        if spec is OPTIMIZATIONS:
            many = store.save_optimization_results(parent, sent)
            read = store.optimization_results(parent)
        else:
            many = store.save_walk_forward_tests(parent, sent)
            read = store.walk_forward_tests(parent)
        assert sorted(read, key=lambda r: str(getattr(r, spec.key))) == sorted(
            many, key=lambda r: str(getattr(r, spec.key))
        )
        return many, []
    except ValidationError as refused:
        assert row_counts(conn) == before, "a refused save wrote rows"
        return refused
    except BacktestStoreError as exc:  # a typed error that is not about the input
        raise AssertionError(f"not a ValidationError: {exc!r}") from exc


def as_frame(trades: list[Any]) -> Any:
    import pandas as pd

    names = [n for n in TRADES.columns if n != TRADES.parent_key]
    return pd.DataFrame(
        {n: pd.Series([getattr(t, n) for t in trades], dtype=object) for n in names}
    )


def match_trades(sent: list[Any], got: list[Any]) -> tuple[list[Any], list[Any]]:
    """The stored trades beside the trades sent, matched by the id given, else by a
    trade_number that only one stored trade has (the store numbers absent ones by place)."""
    assert len(got) == len(sent)
    by_id = {t.trade_id: t for t in got}
    numbers = [t.trade_number for t in got]
    pairs = []
    for place, one in enumerate(sent, start=1):
        number = one.trade_number if one.trade_number is not None else place
        if one.trade_id is not None:
            pairs.append((by_id[one.trade_id], one))
        elif numbers.count(number) == 1:  # unambiguous
            pairs.append((next(t for t in got if t.trade_number == number), one))
    return [g for g, _ in pairs], [s for _, s in pairs]


def as_sent(spec: TableSpec[Any], sent: Any, stored: Any) -> None:
    """What was given is what was stored, of the same type; what was left out holds the
    server's default."""
    for name, column in spec.columns.items():
        given, got = getattr(sent, name), getattr(stored, name)
        if given is None:
            if column.default is not None:
                assert got == column.default, name
            elif not (column.db_fills or name in (spec.parent_key, "trade_number",
                                                  "parameter_set", "data_points", "saved_by")):  # fmt: skip
                assert got is None, name  # else filled by the database or the store
        elif column.kind == "timestamptz":
            # the same instant; == between zones is False for times in a DST gap (PEP 495)
            assert got.astimezone(UTC) == given.astimezone(UTC), name
        else:
            assert got == given, name
            assert type(got) is type(given) or column.kind == "jsonb", name


def outcome(spec: TableSpec[Any], kept: tuple[list[Any], list[Any]] | ValidationError) -> Any:
    """The values the caller chose (not ids, parents or when-stored times), or the field
    and the limit a refusal named."""
    if isinstance(kept, ValidationError):
        return ("refused", kept.field, kept.limit)
    skip = {spec.key, spec.parent_key} | {n for n, c in spec.columns.items() if c.db_fills}
    ((got,), _) = kept
    return {n: getattr(got, n) for n in spec.columns if n not in skip}


def stored_as_the_column_keeps(
    spec: TableSpec[Any], sent: dict[str, Any], got: Any, user: str
) -> None:
    """Each field sent is stored as its column keeps it. What the store or the database
    puts in the place of a None, or sets whatever is sent, is its own value."""
    filled: dict[str, Any] = {"saved_by": user, "trade_number": 1, "parameter_set": 1}
    if spec is RESULTS:
        curve = sent.get("equity_curve", VALID[spec.name]().equity_curve)
        filled["data_points"] = len(curve) if isinstance(curve, list | tuple) else None
    if spec is OPTIMIZATIONS:  # one record: ranked 1 when it has an objective
        filled["rank"] = None if got.objective_value is None else 1
    for name, value in sent.items():
        if name in filled and (value is None or name in SET_BY_DATABASE):
            assert getattr(got, name) == filled[name], name
            continue
        assert equal(spec.columns[name], value, getattr(got, name)), (
            f"{spec.record.__name__}.{name}: sent {value!r}, stored {getattr(got, name)!r}"
        )


def equal(column: Column, sent: Any, got: Any) -> bool:
    """Whether ``got`` (read back) is what the column keeps of ``sent``."""
    if sent is None or (isinstance(sent, float) and not math.isfinite(sent)):
        if sent is not None:
            return False  # a non-finite number must have been refused
        if column.db_fills:
            return got is not None
        return bool(got == column.default) if column.default is not None else got is None
    if column.kind == "numeric":
        assert column.scale is not None
        exact = Decimal(repr(sent)) if isinstance(sent, float) else Decimal(sent)
        return bool(got == exact.quantize(Decimal(10) ** -column.scale, ROUND_HALF_UP))
    if column.kind == "integer":
        return bool(got == int(sent)) and float(sent) == int(sent)
    if column.kind == "jsonb":
        return _json_equal(json.loads(json.dumps(sent)), got)
    if column.kind == "date":
        return type(sent) is date and got == sent
    if column.kind == "timestamptz":
        return isinstance(sent, datetime) and got == sent
    return bool(got == sent)


def _json_equal(sent: Any, got: Any) -> bool:
    """jsonb keeps values, not their Python types: numbers compare by value."""
    if isinstance(sent, bool) or isinstance(got, bool):
        return sent is got
    if isinstance(sent, int | float) and isinstance(got, int | float):
        return float(sent) == float(got)
    if isinstance(sent, list | tuple) and isinstance(got, list):
        return len(sent) == len(got) and all(map(_json_equal, sent, got))
    if isinstance(sent, dict) and isinstance(got, dict):
        return sent.keys() == got.keys() and all(_json_equal(sent[k], got[k]) for k in sent)
    return bool(sent == got)


def test_a_wrong_oracle_fails() -> None:
    """The oracle can fail: a value stored other than as its column keeps it is caught."""
    price = TRADES.columns["entry_price"]
    assert equal(price, 1.123456785, Decimal("1.12345679"))
    assert not equal(price, 1.123456785, Decimal("1.12345678"))
    assert not equal(price, math.inf, None)  # must have been refused
    assert not equal(RESULTS.columns["start_date"], datetime(2024, 1, 1), date(2024, 1, 1))
    assert not _json_equal([1, True], [1, 1])
