"""The compiled row makers build the same objects as the dataclasses' own __init__.

Reads build records by filling a twin class's slots and assigning ``__class__``
(codegen.slots_maker); these tests hold that to ``__init__`` field by field, for
every table, for column lists with series left out, and for SummaryStats.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from devkit.strategies import records
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest_store import NOT_LOADED
from backtest_store.analytics import SummaryStats
from backtest_store.operations import rows
from backtest_store.tables import ALL, TableSpec


def _values(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_column_makes_the_record_init_makes(
    spec: TableSpec[Any], data: st.DataObject
) -> None:
    record = data.draw(records(spec))
    names = tuple(data.draw(st.permutations(list(spec.columns))))  # any select order
    made = rows._record_maker(spec, names)(tuple(getattr(record, n) for n in names))
    assert type(made) is spec.record
    assert made == spec.record(**_values(record))
    assert _values(made) == _values(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(spec.key, None)  # still frozen


@pytest.mark.parametrize("spec", [s for s in ALL if s.series], ids=lambda s: s.name)
def test_columns_left_out_are_not_loaded_or_their_default(spec: TableSpec[Any]) -> None:
    names = tuple(n for n in spec.columns if n not in spec.series)
    row = tuple(f"value of {n}" for n in names)
    made = rows._record_maker(spec, names)(row)
    expected = spec.record(
        **dict(zip(names, row, strict=True)), **dict.fromkeys(spec.series, NOT_LOADED)
    )
    assert made == expected
    assert all(getattr(made, s) is NOT_LOADED for s in spec.series)


def test_a_required_column_left_out_is_a_programming_error() -> None:
    spec = ALL[0]
    required = next(
        f.name
        for f in dataclasses.fields(spec.record)
        if f.default is dataclasses.MISSING and f.name not in spec.series
    )
    with pytest.raises(AssertionError, match=required):
        rows._record_maker(spec, tuple(n for n in spec.columns if n != required))


def test_summary_rows_make_the_stats_init_makes() -> None:
    row = (0, 1, "sma", None, 7, Decimal("0.1"), Decimal("0.5"), None, Decimal("1.2"), None)
    made = rows._stats_maker()(row)
    assert type(made) is SummaryStats
    assert made == SummaryStats(7, Decimal("0.1"), Decimal("0.5"), None, Decimal("1.2"), None)


def test_generated_code_shows_its_source_in_tracebacks_and_its_guards_raise() -> None:
    """The compiled makers' source is in linecache: a traceback through one names the line
    it failed on. Its guards are checks that raise (python -O keeps them)."""
    import traceback

    from backtest_store import codegen

    @dataclasses.dataclass(frozen=True, slots=True)
    class Pair:
        first: int
        second: int

    make = codegen.slots_maker(Pair, {"first": "v[0]", "second": "v[5]"})
    assert make((1, 2, 3, 4, 5, 6)) == Pair(1, 6)
    with pytest.raises(IndexError) as failed:
        make((1, 2))
    shown = "".join(traceback.format_exception(failed.value))
    assert "o.second = v[5]" in shown and "Pair maker" in shown
    with pytest.raises(ValueError, match="second"):
        codegen.slots_maker(Pair, {"first": "v[0]"})


def test_a_statement_keeps_the_maker_of_its_columns(store: Any) -> None:
    """``RecordRow.of``: each statement's maker is read from its first result and kept;
    statements of other columns of the same table (a light list, a full one) keep their
    own, whichever ran first."""
    from devkit.records import result

    from backtest_store.tables import RESULTS

    store.save_backtest(result(equity_curve=[1, 2, 3]))
    for _ in range(3):
        (light,) = store.list_backtests(limit=1)
        (full,) = store.list_backtests(limit=1, with_series=True)
        assert light.equity_curve is NOT_LOADED and full.equity_curve == [1, 2, 3]
    kept = {sql: maker for (spec, sql), maker in rows._BY_STATEMENT.items() if spec is RESULTS}
    assert len(set(kept.values())) >= 2  # the light and the full column lists


def test_get_backtest_without_series_leaves_them_not_loaded(store: Any) -> None:
    from devkit.records import result

    from backtest_store.tables import RESULTS

    saved = store.save_backtest(result(equity_curve=[1.0, 2.0], drawdown_series=[0, -0.5]))
    light = store.get_backtest(saved.backtest_id, with_series=False)
    assert light.equity_curve is NOT_LOADED and light.drawdown_series is NOT_LOADED
    assert light.benchmark_curve is NOT_LOADED
    same = [f.name for f in dataclasses.fields(light) if f.name not in RESULTS.series]
    assert [getattr(light, n) for n in same] == [getattr(saved, n) for n in same]
    assert store.get_backtest(saved.backtest_id).equity_curve == [1.0, 2.0]
