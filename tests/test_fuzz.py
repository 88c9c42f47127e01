"""Property-based fuzzing: arbitrary values in any field give a stored record or a
ValidationError, never a raw driver error, never a partial write."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest_store import BacktestStoreError, ValidationError
from backtest_store.tables import RESULTS, TRADES
from tests.support import result, row_counts, trade

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


def fields(spec: Any) -> st.SearchStrategy[dict[str, Any]]:
    names = [n for n in spec.columns if n != spec.parent_key]
    return st.dictionaries(st.sampled_from(names), ANYTHING, min_size=1, max_size=4)


def equal(sent: Any, got: Any) -> bool:
    if isinstance(sent, float) and math.isnan(sent):
        return got is None
    return True  # exact round trips are test_roundtrip's job; here: stored or refused


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(result_fields=fields(RESULTS), trade_fields=fields(TRADES))
def test_any_values_are_stored_or_refused_cleanly(
    db_url: str,
    conn: psycopg.Connection[Any],
    result_fields: dict[str, Any],
    trade_fields: dict[str, Any],
) -> None:
    from backtest_store import BacktestStore

    before = row_counts(conn)
    try:
        record = dataclasses.replace(result(), **result_fields)
        trades = [trade(0), dataclasses.replace(trade(1), **trade_fields)]
    except (TypeError, ValueError):
        return  # the dataclass itself refused (never happens for frozen kw-only fields)
    with BacktestStore.connect(db_url) as store:
        try:
            saved = store.save_backtest(record, trades)
        except ValidationError:
            assert row_counts(conn) == before  # nothing half-written
            return
        except BacktestStoreError as exc:  # a typed error that is not about the input
            raise AssertionError(f"not a ValidationError: {exc!r}") from exc
        stored = store.get_backtest(saved.backtest_id)
        assert stored == saved
        assert len(store.get_trades(saved.backtest_id)) == 2
    store.delete_backtest  # noqa: B018 (the store was used; nothing else to check)
