"""Trades from a pandas DataFrame: the columnar path stores exactly the rows the record
path stores, takes the dtypes backtest libraries hand over, and refuses bad values with
the record path's words plus the row's position and index label, writing nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from devkit.records import result, row_counts, trade

from backtest_store import BacktestStore, QueryTimeoutError, ValidationError, columnar
from backtest_store.operations import writes
from backtest_store.tables import TRADES

GENERATED = {"trade_id", "backtest_id", "created_at", "updated_at"}


def stored(store: Any, backtest_id: Any) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in dataclasses.asdict(t).items() if k not in GENERATED}
        for t in store.get_trades(backtest_id)
    ]


def records_and_frame(n: int) -> tuple[list[Any], Any]:
    trades = [
        trade(
            i,
            exit_date=date(2024, 1, 2) + timedelta(days=i + 5),
            entry_time=datetime(2024, 1, 2, 14, 30, 15, 123456, tzinfo=UTC),
            exit_reason=["signal", "stop_loss", None][i % 3],
            position_size=100.5 + i,
            mae=-0.012345 if i % 2 else None,  # rounds to -0.0123 either way
            pnl=[1.00005, -2.5, 0.0, 12345678.12344][i % 4],  # a near-tie, negative, zero, big
            duration_days=i if i % 5 else None,
            duration_hours=1.25 * i,
            fees_paid=None if i % 2 else 0.5,
        )
        for i in range(n)
    ]
    frame = pd.DataFrame(
        {
            "entry_date": pd.to_datetime([t.entry_date for t in trades]),
            "entry_price": np.array([float(t.entry_price) for t in trades], dtype="float32").astype(
                "float64"
            ),
            "entry_time": pd.to_datetime([t.entry_time for t in trades], utc=True),
            "exit_date": pd.to_datetime([t.exit_date for t in trades]),
            "position_size": [t.position_size for t in trades],
            "direction": pd.array([t.direction for t in trades], dtype="string"),
            "pnl": [t.pnl for t in trades],
            "mae": [t.mae for t in trades],
            "duration_days": pd.array([t.duration_days for t in trades], dtype="Int64"),
            "duration_hours": np.array([t.duration_hours for t in trades], dtype="float32"),
            "exit_reason": [t.exit_reason for t in trades],
            "fees_paid": pd.array([t.fees_paid for t in trades], dtype="Float64"),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    return trades, frame


@pytest.mark.parametrize("n", [7, 700])  # one chunk, and five of the 160 rows set here
def test_the_frame_path_stores_what_the_record_path_stores(
    db_url: str, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    trades, frame = records_and_frame(n)
    monkeypatch.setattr(writes, "SMALL_SAVE", 0)
    monkeypatch.setattr(columnar, "CHUNK", 160)  # 16,384 in use: the boundaries are the same
    encode, chunks = columnar._rows, []

    def counted(*args: Any) -> Any:
        chunks.append(args)
        return encode(*args)

    monkeypatch.setattr(columnar, "_rows", counted)
    with BacktestStore.connect(db_url) as store:
        by_frame = store.save_backtest(result(), frame)
        assert len(chunks) == -(-n // 160)
        by_records = store.save_backtest(result(), trades)
        assert stored(store, by_frame.backtest_id) == stored(store, by_records.backtest_id)
        appended = store.save_trades(by_frame.backtest_id, frame.iloc[:3])
        assert appended == 3
        numbers = [t.trade_number or 0 for t in store.get_trades(by_frame.backtest_id)]
    assert sorted(numbers) == list(range(1, n + 4))  # appended after the last, as records are


def test_missing_columns_get_their_defaults_and_numbers(db_url: str) -> None:
    frame = pd.DataFrame({"entry_date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
                          "entry_price": [10, 11], "direction": ["long", "short"]})  # fmt: skip
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(), frame)
        (first, second) = store.get_trades(saved.backtest_id)
    assert (first.trade_number, second.trade_number) == (1, 2)
    assert first.fees_paid == Decimal("0.0000") and first.slippage_cost == Decimal("0.0000")
    assert first.exit_date is None and first.entry_price == Decimal("10.0000")


def test_nonfinite_policy_applies_column_wise(db_url: str) -> None:
    frame = pd.DataFrame({"entry_date": pd.to_datetime(["2024-01-02"] * 2), "entry_price": [10.0, 11.0],
                          "direction": ["long", "long"], "pnl": [1.0, np.inf]})  # fmt: skip
    with (
        BacktestStore.connect(db_url) as store,
        pytest.raises(
            ValidationError, match=r"BacktestTrade\[1\]\.pnl = inf is not a finite number"
        ),
    ):
        store.save_backtest(result(), frame)
    with BacktestStore.connect(db_url, nonfinite="null") as store:
        saved = store.save_backtest(result(), frame)
        assert [t.pnl for t in store.get_trades(saved.backtest_id)] == [Decimal("1.0000"), None]


BAD = [
    (
        "entry_price",
        [1.0, 1e10],
        r"BacktestTrade\[1\]\.entry_price = 10000000000\.0 overflows the column \(index label 'b'\); allowed: numeric\(18,8\)",
    ),
    (
        "duration_days",
        [1.0, 2.5],
        r"BacktestTrade\[1\]\.duration_days = 2\.5 is not a whole number \(index label 'b'\)",
    ),
    (
        "duration_days",
        [1, 2**31],
        r"BacktestTrade\[1\]\.duration_days = 2147483648 does not fit in an integer column",
    ),
    (
        "direction",
        ["long", "sideways"],
        r"BacktestTrade\[1\]\.direction = 'sideways' has 8 characters \(index label 'b'\); allowed: varchar\(5\)",
    ),
    (
        "exit_reason",
        ["x", "a\x00b"],
        r"contains a NUL character, which PostgreSQL text cannot store \(index label 'b'\)",
    ),
    ("pnl", [1.0, "3"], r"BacktestTrade\[1\]\.pnl = '3' is a str, not a number"),
    (
        "entry_time",
        pd.to_datetime(["2024-01-02 10:00", "2024-01-02 11:00"]),
        r"BacktestTrade\[0\]\.entry_time = .* is a naive datetime: localize it",
    ),
    (
        "exit_date",
        pd.to_datetime(["2024-02-01", "2024-02-01 12:00"], format="ISO8601"),
        r"BacktestTrade\[1\]\.exit_date = .* is a datetime, not a datetime\.date \(pass value\.date\(\)\) \(index label 'b'\)",
    ),
    (
        "entry_price",
        [1.0, None],
        r"BacktestTrade\[1\]\.entry_price = None is required \(index label 'b'\)",
    ),
    (
        "nonsense",
        [1, 2],
        r"BacktestTrade\.nonsense = '\(a DataFrame column\)' is not a column of the table",
    ),
    ("backtest_id", [1, 2], r"is set by the store from the parent"),
    # numbers are not times since the epoch (pandas would read 0 as 1970-01-01)
    ("entry_date", [0, 1], r"BacktestTrade\[0\]\.entry_date = 0 .*\(index label 'a'\)"),
    ("exit_time", [1.5, None], r"BacktestTrade\[0\]\.exit_time = 1\.5 .*\(index label 'a'\)"),
    (
        "exit_date",
        [date(2024, 2, 1), 7],
        r"BacktestTrade\[1\]\.exit_date = 7 .*\(index label 'b'\)",
    ),
    # pandas counts a Decimal NaN as missing (and a signaling NaN raises): refused, as a
    # record's is, not stored NULL (found by the fuzz test)
    (
        "exit_price",
        [Decimal("1.5"), Decimal("NaN")],
        r"BacktestTrade\[1\]\.exit_price = Decimal\('NaN'\) is not a finite number",
    ),
    ("trade_number", [Decimal("NaN"), 2], r"BacktestTrade\[0\]\.trade_number = Decimal\('NaN'\)"),
    ("trade_id", [Decimal("sNaN"), None], r"BacktestTrade\[0\]\.trade_id = Decimal\('sNaN'\)"),
    # a list in a text column is not text, and pandas cannot even group it (found by the
    # fuzz test: a TypeError from pandas.factorize before)
    (
        "direction",
        ["long", []],
        r"BacktestTrade\[1\]\.direction = \[\] is a list, not a str \(index label 'b'\)",
    ),
]


@pytest.mark.parametrize(
    ("column", "values", "message"), BAD, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD)]
)
def test_bad_values_are_refused_with_the_record_paths_words(
    db_url: str, conn: psycopg.Connection[Any], column: str, values: Any, message: str
) -> None:
    frame = pd.DataFrame({"entry_date": pd.to_datetime(["2024-01-02"] * 2), "entry_price": [10.0, 11.0],
                          "direction": ["long", "short"]}, index=["a", "b"])  # fmt: skip
    frame[column] = values
    before = row_counts(conn)
    with BacktestStore.connect(db_url) as store:
        with pytest.raises(ValidationError, match=message):
            store.save_backtest(result(), frame)
        parent = store.save_backtest(result())
        with pytest.raises(ValidationError, match=message):
            store.save_trades(parent.backtest_id, frame)
        store.delete_backtest(parent.backtest_id)
    assert row_counts(conn) == before  # nothing half-written


def test_a_required_column_that_is_absent_is_named(db_url: str) -> None:
    with (
        BacktestStore.connect(db_url) as store,
        pytest.raises(ValidationError, match="direction = None is required"),
    ):
        store.save_backtest(
            result(),
            pd.DataFrame({"entry_date": pd.to_datetime(["2024-01-02"]), "entry_price": [1.0]}),
        )
    assert set(TRADES.columns) > {"direction"}


def test_both_stores_take_a_frame(store: Any) -> None:
    trades, frame = records_and_frame(5)
    saved = store.save_backtest(result(), frame)
    assert store.save_trades(saved.backtest_id, frame) == 5
    numbers = sorted(t.trade_number or 0 for t in store.get_trades(saved.backtest_id))
    assert numbers == list(range(1, 11)) and len(numbers) == 2 * len(trades)


def test_a_server_error_while_the_writer_thread_sends_is_raised_and_nothing_stays(
    db_url: str,
) -> None:
    """Frames go out from a writer thread, a few chunks ahead of the encoder: an error the
    server raises mid-stream (here statement_timeout cancelling the COPY) reaches the
    caller, the encoder does not wait on a full queue for ever, and nothing stays."""
    n = 8 * columnar.CHUNK
    frame = pd.DataFrame(
        {
            "entry_date": pd.Timestamp("2024-01-02"),
            "entry_price": np.full(n, 1.5),
            "position_size": 1.0,
            "direction": "long",
        }
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        store = BacktestStore(conn)
        saved = store.save_backtest(result())
        before = row_counts(conn)
        conn.execute("SET statement_timeout = '100ms'")
        with pytest.raises(QueryTimeoutError, match="save_trades failed"):
            store.save_trades(saved.backtest_id, frame)
        conn.execute("RESET statement_timeout")
        assert row_counts(conn) == before
        assert store.save_trades(saved.backtest_id, frame) == n  # the connection is usable


def test_under_fill_false_a_frame_is_refused_naming_the_method_called(db_url: str) -> None:
    """A frame's gaps are its missing values, which take the defaults: a store that must
    store exactly what it is given refuses a frame, in the words of the method called."""
    frame = pd.DataFrame({"entry_date": [datetime(2024, 1, 2, tzinfo=UTC)],
                          "entry_price": [10.0], "direction": ["long"]})  # fmt: skip
    with BacktestStore.connect(db_url, fill=False) as store:
        with pytest.raises(ValidationError, match=r"^save_backtest\.trades = "):
            store.save_backtest(result(total_trades=1), frame)
        with BacktestStore.connect(db_url) as filling:
            saved = filling.save_backtest(result())
        with pytest.raises(ValidationError, match=r"^save_trades\.trades = "):
            store.save_trades(saved.backtest_id, frame)
    with psycopg.connect(db_url) as conn:
        counts = row_counts(conn)
    assert counts["mcp_backtest_results"] == 1 and counts["mcp_backtest_trades"] == 0


@pytest.mark.parametrize(
    "value",
    ["", date(2000, 1, 1), "2000-01-01T00:00:00Z", datetime(2000, 1, 1)],
    ids=["empty text", "a date", "ISO text", "naive"],
)
def test_a_time_column_of_objects_takes_aware_datetimes_only(db_url: str, value: Any) -> None:
    """As the record path: "" was read by pandas as NaT and stored as year 294247 (which
    no read could load again), a date as midnight UTC. Each is refused, naming the row."""
    frame = pd.DataFrame({"entry_date": [date(2024, 1, 2)] * 2,
                          "entry_time": [datetime(2024, 1, 2, 9, tzinfo=UTC), value],
                          "entry_price": [10.0, 11.0], "direction": ["long", "long"]})  # fmt: skip
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result())
        with pytest.raises(ValidationError, match=r"^BacktestTrade\[1\]\.entry_time = "):
            store.save_trades(saved.backtest_id, frame)
        assert store.get_trades(saved.backtest_id) == []
