"""backtest_store.frames: records from the store as DataFrames with proper dtypes, and
stored curves (pairs, the legacy timestamp-keyed object, plain lists) as Series."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import psycopg
import pytest
from devkit.records import optimization, result, trade, window

from backtest_store import BacktestStore, SeriesNotLoadedError, frames
from backtest_store.tables import ALL, RESULTS, TRADES

KIND_DTYPES = {
    "numeric": "float64",
    "integer": "Int64",
    "boolean": "boolean",
    "timestamptz": "datetime64[us, UTC]",
    "date": "datetime64[us]",
    "varchar": "string",
    "text": "string",
    "uuid": "object",
    "jsonb": "object",
}


def test_trades_frame_has_every_column_with_its_dtype_and_value(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(
            result(),
            [
                trade(
                    n,
                    entry_time=datetime(2024, 1, 2, 15, 30, tzinfo=UTC),
                    duration_days=n,
                    mae=None,
                )
                for n in range(5)
            ],
        )
        trades = store.get_trades(saved.backtest_id)
    df = frames.trades_frame(trades)
    assert list(df.columns) == list(TRADES.light_columns) == list(TRADES.columns)
    for name, column in TRADES.columns.items():
        assert str(df[name].dtype) == KIND_DTYPES[column.kind], name
    for i, t in enumerate(trades):
        row = df.iloc[i]
        assert row["trade_id"] == t.trade_id
        assert row["entry_price"] == float(t.entry_price)
        assert row["pnl"] == float(t.pnl)  # type: ignore[arg-type]
        assert pd.isna(row["mae"])
        assert row["duration_days"] == t.duration_days
        assert row["entry_date"] == pd.Timestamp(t.entry_date)
        assert row["entry_time"] == pd.Timestamp(t.entry_time)
        assert row["direction"] == t.direction
        assert row["created_at"] == pd.Timestamp(t.created_at)


def test_exact_keeps_the_decimals(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(total_return=Decimal("0.1235"), sharpe_ratio=None))
        (listed,) = store.list_backtests()
    df = frames.results_frame([listed], exact=True)
    assert df.loc[0, "total_return"] == Decimal("0.1235")
    assert isinstance(df.loc[0, "total_return"], Decimal)
    assert df.loc[0, "sharpe_ratio"] is None
    assert frames.results_frame([listed]).loc[0, "total_return"] == 0.1235
    assert df.loc[0, "backtest_id"] == saved.backtest_id


def test_results_frame_leaves_the_series_out_and_takes_list_records(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        for n in range(3):
            store.save_backtest(result(symbol=f"S{n}", equity_curve=[1, 2, 3], total_trades=n))
        listed = store.list_backtests()  # series NOT_LOADED
    df = frames.results_frame(listed)
    assert len(df) == 3
    assert list(df.columns) == list(RESULTS.light_columns)
    assert "equity_curve" not in df.columns
    assert sorted(df["symbol"]) == ["S0", "S1", "S2"]
    assert str(df["total_trades"].dtype) == "Int64"
    assert frames.results_frame([]).shape == (0, len(RESULTS.light_columns))


def test_frame_takes_any_record_type(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result())
        store.save_optimization_results(
            saved.backtest_id, [optimization(n, objective_value=n) for n in range(4)]
        )
        store.save_walk_forward_tests(
            saved.backtest_id, [window(n, is_profitable=n % 2 == 0) for n in range(2)]
        )
        opts = store.best_parameters(saved.backtest_id, limit=10)
        windows = store.walk_forward_tests(saved.backtest_id)
    df = frames.frame(opts)
    assert list(df["rank"]) == [1, 2, 3, 4]
    assert list(df["parameters"]) == [o.parameters for o in opts]
    wf = frames.frame(windows)
    assert str(wf["is_profitable"].dtype) == "boolean"
    assert list(wf["is_profitable"]) == [True, False]
    with pytest.raises(TypeError, match="record 1 is a WalkForwardTest"):
        frames.frame([opts[0], windows[0]])
    with pytest.raises(ValueError, match="at least one record"):
        frames.frame([])
    assert {spec.record for spec in ALL} >= {type(opts[0]), type(windows[0])}


def test_equity_frame_of_a_time_indexed_series_saved_from_pandas(db_url: str) -> None:
    index = pd.date_range("2024-01-01 09:30", periods=5, freq="h", tz="America/New_York")
    equity = pd.Series([100.0, 101.5, 99.0, 102.25, 103.0], index=index)
    drawdown = equity / equity.cummax() - 1
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(equity_curve=equity, drawdown_series=drawdown))
        loaded = store.get_backtest(saved.backtest_id)
    assert loaded is not None and saved.data_points == 5
    df = frames.equity_frame(loaded)
    assert list(df.columns) == ["equity", "drawdown"]
    assert str(df.index.dtype).startswith("datetime64") and str(df.index.tz) == "UTC"
    assert (df.index == index.tz_convert("UTC")).all()
    assert list(df["equity"]) == list(equity)
    assert list(df["drawdown"]) == pytest.approx(list(drawdown))


def test_equity_frame_reads_the_legacy_timestamp_keyed_object(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    """Adopted databases hold the replaced service's shape: {"2023-01-03 00:00:00": 10000.0}."""
    legacy = {
        "2023-01-04 00:00:00": 10100.0,
        "2023-01-03 00:00:00": 10000.0,
        "2023-01-05 00:00:00": 9950.5,
    }
    row = conn.execute(
        "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date, equity_curve)"
        " VALUES ('OLD', 'legacy', '2023-01-03', '2023-01-05', %s) RETURNING backtest_id",
        [json.dumps(legacy)],
    ).fetchone()
    assert row is not None
    with BacktestStore.connect(db_url) as store:
        loaded = store.get_backtest(row[0])
    assert loaded is not None
    df = frames.equity_frame(loaded)
    assert list(df.index) == [
        pd.Timestamp("2023-01-03"),
        pd.Timestamp("2023-01-04"),
        pd.Timestamp("2023-01-05"),
    ]
    assert list(df["equity"]) == [10000.0, 10100.0, 9950.5]
    assert df["drawdown"].isna().all()


def test_series_shapes() -> None:
    plain = frames.series([1, 2.5, 3])
    assert list(plain.index) == [0, 1, 2] and list(plain) == [1.0, 2.5, 3.0]
    pairs = frames.series([["2024-01-01T00:00:00Z", 1], ["2024-01-02T00:00:00Z", 2]])
    assert pairs.index[1] == pd.Timestamp("2024-01-02", tz="UTC")
    naive = frames.series([["2024-01-01T10:00:00", 1]])
    assert naive.index[0] == pd.Timestamp("2024-01-01 10:00")
    assert frames.series(None).empty
    assert frames.series([]).empty


def test_equity_frame_of_a_list_record_says_the_series_was_not_loaded(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        store.save_backtest(result(equity_curve=[1, 2]))
        (listed,) = store.list_backtests()
    with pytest.raises(SeriesNotLoadedError, match="get_backtest"):
        frames.equity_frame(listed)


def test_dates_at_the_ends_of_the_calendar(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(start_date=date(1, 1, 1), end_date=date(9999, 12, 31)))
    df = frames.results_frame([saved])
    assert df.loc[0, "start_date"].year == 1 and df.loc[0, "end_date"].year == 9999
