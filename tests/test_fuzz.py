"""Property-based fuzzing: arbitrary values in any field give a stored record or a
ValidationError, never a raw driver error, never a partial write; and what is stored is
what was sent, as the column keeps it. Over the sync store, the async store, and trades
given as a pandas DataFrame."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from devkit.records import result, row_counts, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest_store import BacktestStoreError, ValidationError
from backtest_store.columns import Column
from backtest_store.operations.inserts import SET_BY_DATABASE
from backtest_store.tables import RESULTS, TRADES, TableSpec

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

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def fields(spec: Any) -> st.SearchStrategy[dict[str, Any]]:
    names = [n for n in spec.columns if n != spec.parent_key]
    return st.dictionaries(st.sampled_from(names), ANYTHING, min_size=1, max_size=4)


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


def equal(column: Column, sent: Any, got: Any, nonfinite_null: bool = False) -> bool:
    """Whether ``got`` (read back) is what the column keeps of ``sent``."""
    if sent is None or (isinstance(sent, float) and not math.isfinite(sent)):
        if sent is not None and not nonfinite_null:
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


def check_stored(
    spec: TableSpec[Any], sent: dict[str, Any], got: Any, filled: dict[str, Any]
) -> None:
    """Each field sent is stored as the column keeps it; ``filled``: what the store puts in
    the place of a None (a trade's number, a curve's data_points), and what the database
    sets whatever is sent (saved_by: the writing role)."""
    for name, value in sent.items():
        if name in filled and (value is None or name in SET_BY_DATABASE):
            assert getattr(got, name) == filled[name], name
            continue
        assert equal(spec.columns[name], value, getattr(got, name)), (
            f"{spec.record.__name__}.{name}: sent {value!r}, stored {getattr(got, name)!r}"
        )


def save_and_check(
    store: Any, conn: psycopg.Connection[Any], result_fields: dict[str, Any],
    trade_fields: dict[str, Any], *, frame: bool,
) -> None:  # fmt: skip
    # each example on empty tables: hypothesis draws the same ids again in later examples
    conn.execute("DELETE FROM mcp_backtest_results")
    before = row_counts(conn)
    record = dataclasses.replace(result(), **result_fields)
    first = uuid4()
    trades: Any = [trade(0, trade_id=first),
                   dataclasses.replace(trade(1, trade_id=uuid4()), **trade_fields)]  # fmt: skip
    if frame:
        import pandas as pd

        names = [n for n in TRADES.columns if n != TRADES.parent_key]
        trades = pd.DataFrame({n: pd.Series([getattr(t, n) for t in trades], dtype=object)
                               for n in names})  # fmt: skip
    try:
        saved = store.save_backtest(record, trades)
    except ValidationError:
        assert row_counts(conn) == before  # nothing half-written
        return
    except BacktestStoreError as exc:  # a typed error that is not about the input
        raise AssertionError(f"not a ValidationError: {exc!r}") from exc
    stored = store.get_backtest(saved.backtest_id)
    assert stored == saved
    curve = record.equity_curve
    points = len(curve) if isinstance(curve, list | tuple) else None
    check_stored(RESULTS, result_fields, stored,
                 {"data_points": points, "saved_by": conn.info.user})  # fmt: skip
    stored_trades = store.get_trades(saved.backtest_id)
    assert len(stored_trades) == 2
    (second,) = (t for t in stored_trades if t.trade_id != first)
    check_stored(TRADES, trade_fields, second, {"trade_number": 2})
    assert row_counts(conn)["mcp_backtest_results"] == before["mcp_backtest_results"] + 1


@FUZZ
@given(result_fields=fields(RESULTS), trade_fields=fields(TRADES))
def test_any_values_are_stored_as_sent_or_refused_cleanly(
    store: Any,
    conn: psycopg.Connection[Any],
    result_fields: dict[str, Any],
    trade_fields: dict[str, Any],
) -> None:
    save_and_check(store, conn, result_fields, trade_fields, frame=False)


@FUZZ
@given(result_fields=fields(RESULTS), trade_fields=fields(TRADES))
def test_any_values_in_a_dataframe_are_stored_as_sent_or_refused_cleanly(
    db_url: str,
    conn: psycopg.Connection[Any],
    result_fields: dict[str, Any],
    trade_fields: dict[str, Any],
) -> None:
    pytest.importorskip("pandas")
    from backtest_store import BacktestStore

    with BacktestStore.connect(db_url) as store:
        save_and_check(store, conn, result_fields, trade_fields, frame=True)
