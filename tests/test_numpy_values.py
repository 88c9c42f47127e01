"""numpy and pandas values go in as their plain Python equivalents, in every field.

One matrix of values per column kind runs through every numeric, integer, boolean, date,
timestamptz and jsonb field of every record: the row stored from the numpy/pandas value
must equal the row stored from its plain equivalent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import psycopg
import pytest
from devkit.records import optimization, portfolio, result, trade, window
from devkit.strategies import numpy_twins
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from backtest_store import BacktestStore, ValidationError
from backtest_store.tables import ALL, OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, WALK_FORWARD
from tests.test_every_field_round_trips import rolled_back

NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def numbers(column: str) -> list[tuple[Any, Any]]:
    if column == "bars_per_year":  # ck_mcp_backtest_results_bars_per_year: positive
        return [(np.float64(252), 252), (np.float32(365.25), 365.25), (np.int64(8760), 8760),
                (np.uint16(52), 52)]  # fmt: skip
    x = -0.25 if "drawdown" in column and "duration" not in column else 0.25
    return [
        (np.float64(x), x),
        (np.float32(x), x),
        (np.float16(x), x),
        (np.longdouble(x), x),
        (np.int8(0), 0),
        (np.int64(0), 0),
        (np.uint64(0), 0),
    ]


def integers(column: str) -> list[tuple[Any, Any]]:
    k = 1 if column in ("rank", "window_size_months", "step_size_months") else 0
    kinds = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
    return [(kind(k), k) for kind in kinds] + [(float(k), k), (np.float64(k), k)]


MATRIX: dict[str, Any] = {
    "numeric": numbers,
    "integer": integers,
    "boolean": lambda _: [(np.bool_(True), True), (np.bool_(False), False)],
    "timestamptz": lambda _: [
        (pd.Timestamp("2024-03-01 12:00", tz="UTC"), NOON),
        (pd.Timestamp("2024-03-01 13:00", tz="Europe/Berlin"), NOON),
    ],
    "date": lambda _: [],  # dates refuse datetimes (pandas Timestamps too): tested below
    "jsonb": lambda column: (
        [({"universe": np.str_("sp500")}, {"universe": "sp500"})]  # an object of strings
        if column == "tags"
        else [({"sqn": np.float64(1.5), "n": np.int64(3)}, {"sqn": 1.5, "n": 3})]
        if column == "extra_metrics"  # an object of numbers
        else [
            (np.array(["AAPL", "MSFT"]), ["AAPL", "MSFT"]),
            (("AAPL", "MSFT"), ["AAPL", "MSFT"]),
            (pd.Series(["AAPL", "MSFT"]), ["AAPL", "MSFT"]),
            (pd.Index(["AAPL", "MSFT"]), ["AAPL", "MSFT"]),
        ]
        + (
            []
            if column == "symbols"  # ck_mcp_backtest_portfolios_symbols_array: an array of names
            else [
                (np.array([1.5, 2.5]), [1.5, 2.5]),
                (pd.Series([np.int64(1), np.int64(2)]), [1, 2]),
                (
                    {"fast": np.int64(3), "w": [np.float32(0.5), np.bool_(True)]},
                    {"fast": 3, "w": [0.5, True]},
                ),
                (
                    pd.Series(
                        [100.0, 101.5], index=pd.date_range("2023-01-03", periods=2, tz="UTC")
                    ),
                    [["2023-01-03T00:00:00Z", 100.0], ["2023-01-04T00:00:00Z", 101.5]],
                ),
                (
                    pd.Series([1.0], index=pd.DatetimeIndex(["2023-01-03 09:30"])),
                    [["2023-01-03T09:30:00", 1.0]],
                ),
            ]
        )
    ),
}


def save(store: BacktestStore, table: str, parent: UUID, **field: Any) -> UUID:
    """Save one record of ``table`` with ``field`` set; its primary key."""
    if table == RESULTS.name:
        saved = store.save_backtest(result(**field))
        assert saved.backtest_id is not None
        return saved.backtest_id
    if table == TRADES.name:
        store.save_trades(parent, [trade(**field)])
        trades = store.get_trades(parent)
        assert trades[-1].trade_id is not None
        return trades[-1].trade_id
    if table == OPTIMIZATIONS.name:
        (opt,) = store.save_optimization_results(parent, [optimization(**field)])
        assert opt.optimization_id is not None
        return opt.optimization_id
    if table == WALK_FORWARD.name:
        (win,) = store.save_walk_forward_tests(parent, [window(**field)])
        assert win.walk_forward_id is not None
        return win.walk_forward_id
    saved_portfolio = store.save_portfolio(portfolio(**field))
    assert saved_portfolio.portfolio_backtest_id is not None
    return saved_portfolio.portfolio_backtest_id


def stored(conn: psycopg.Connection[Any], table: str, key: str, column: str, id_: UUID) -> Any:
    query = sql.SQL("SELECT {} FROM {} WHERE {} = %s").format(
        sql.Identifier(column), sql.Identifier(table), sql.Identifier(key)
    )
    row = conn.execute(query, (id_,)).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_numpy_and_pandas_values_store_as_their_plain_equivalents(
    db_url: str, conn: psycopg.Connection[Any], spec: Any
) -> None:
    tried = 0
    with BacktestStore.connect(db_url) as store:
        parent = save(store, RESULTS.name, UUID(int=0))
        for name, column in spec.columns.items():
            if column.kind not in MATRIX or name in (spec.key, spec.parent_key):
                continue
            for given, plain in MATRIX[column.kind](name):
                expected = stored(
                    conn, spec.name, spec.key, name, save(store, spec.name, parent, **{name: plain})
                )
                got = stored(
                    conn, spec.name, spec.key, name, save(store, spec.name, parent, **{name: given})
                )
                assert got == expected, (name, given)
                tried += 1
            if not column.not_null and column.default is None:
                for missing in (pd.NA, pd.NaT):
                    id_ = save(store, spec.name, parent, **{name: missing})
                    assert stored(conn, spec.name, spec.key, name, id_) is None, (name, missing)
                    tried += 1
    assert tried > 20


def test_missing_values_take_the_default_or_are_required(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(fees=pd.NA, total_trades=pd.NA))
        assert saved.fees is not None and saved.total_trades == 0  # the server defaults
        with pytest.raises(ValidationError, match=r"symbol.*is required"):
            store.save_backtest(result(symbol=pd.NA))


def test_what_stays_refused_is_named(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        with pytest.raises(ValidationError, match=r"total_trades.*not a whole number"):
            store.save_backtest(result(total_trades=3.5))
        with pytest.raises(ValidationError, match=r"total_trades.*not a whole number"):
            store.save_backtest(result(total_trades=np.float64(2.5)))
        with pytest.raises(ValidationError, match=r"sharpe_ratio.*str, not a number"):
            store.save_backtest(result(sharpe_ratio="1.5"))
        with pytest.raises(ValidationError, match=r"sharpe_ratio.*finite"):
            store.save_backtest(result(sharpe_ratio=np.float64("nan")))
        with pytest.raises(ValidationError, match=r"start_date.*pass value.date\(\)"):
            store.save_backtest(result(start_date=pd.Timestamp("2024-01-01")))
        with pytest.raises(ValidationError, match=r"backtest_date.*tz_localize\('UTC'\)"):
            store.save_backtest(result(backtest_date=pd.Timestamp("2024-01-01 10:00")))
        with pytest.raises(ValidationError, match=r"sharpe_ratio.*is a bool, not a number"):
            store.save_backtest(result(sharpe_ratio=np.bool_(True)))


def test_a_pandas_int_column_with_a_gap_stores_null_under_nonfinite_null(db_url: str) -> None:
    counts = pd.Series([3, None], dtype="float64")  # what pandas makes of ints with a gap
    with BacktestStore.connect(db_url, nonfinite="null") as store:
        first = store.save_backtest(result(max_drawdown_duration=counts[0]))
        second = store.save_backtest(result(max_drawdown_duration=counts[1]))
    assert (first.max_drawdown_duration, second.max_drawdown_duration) == (3, None)


def test_filters_take_numpy_and_pandas_values(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(sharpe_ratio=np.float64(1.2), total_trades=np.int64(4)))
        top = store.top_backtests(min_trades=np.int64(2), limit=np.int32(5))  # type: ignore[arg-type]
        assert [r.backtest_id for r in top] == [saved.backtest_id]
        since = pd.Timestamp("2000-01-01", tz="UTC")
        listed = store.list_backtests(symbol=np.str_("AAPL"), since=since, limit=np.int64(10))  # type: ignore[arg-type]
        assert [r.backtest_id for r in listed] == [saved.backtest_id]
        assert store.list_backtests(strategy_type=pd.NA, limit=10)[0].backtest_id == (
            saved.backtest_id
        )


def test_an_equity_curve_series_counts_its_points(db_url: str) -> None:
    curve = pd.Series(
        np.linspace(10_000, 11_000, 252), index=pd.date_range("2023-01-02", periods=252, tz="UTC")
    )
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(equity_curve=curve))
        assert saved.data_points == 252
        full = store.get_backtest(saved.backtest_id)
    assert full is not None and isinstance(full.equity_curve, list)
    assert full.equity_curve[0] == ["2023-01-02T00:00:00Z", 10_000.0]
    assert full.equity_curve[-1][1] == 11_000.0


def test_dates_still_refuse_timestamps_but_take_plain_dates(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(start_date=date(2024, 1, 1)))
        assert saved.start_date == date(2024, 1, 1)


def _save_one(tx: Any, spec: Any, record: Any) -> Any:
    """Save ``record`` (under a fresh parent when it is a child); what the store kept."""
    if spec is RESULTS:
        return tx.save_backtest(record)
    if spec is PORTFOLIOS:
        return tx.save_portfolio(record)
    parent = tx.save_backtest(result()).backtest_id
    if spec is TRADES:
        tx.save_trades(parent, [record])
        return tx.get_trades(parent)[0]
    if spec is OPTIMIZATIONS:
        return tx.save_optimization_results(parent, [record])[0]
    return tx.save_walk_forward_tests(parent, [record])[0]


def _outcome(tx: Any, spec: Any, record: Any) -> Any:
    """The stored values the caller chose (not ids, parents or when-stored times), or the
    field and problem a refusal named; the save is rolled back either way."""
    skip = {spec.key, spec.parent_key} | {n for n, c in spec.columns.items() if c.db_fills}
    try:
        with rolled_back(tx) as inner:
            saved = _save_one(inner, spec, record)
            return {n: getattr(saved, n) for n in spec.columns if n not in skip}
    except ValidationError as error:
        return ("refused", error.field, error.limit)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_numpy_twins_of_any_record_store_as_their_plain_values(
    db_url: str, spec: Any, data: st.DataObject
) -> None:
    """Property: a record of numpy/pandas values (every integer width, float32/16, NA, NaT,
    Timestamps, arrays and tuples in jsonb) is stored, or refused, exactly as the same
    record of plain Python values."""
    twin, plain = data.draw(numpy_twins(spec))
    with BacktestStore.connect(db_url) as store, rolled_back(store) as tx:
        assert _outcome(tx, spec, twin) == _outcome(tx, spec, plain)
