"""A value stored: what a column keeps of what is given, in tables of cases. Digits beyond
a column's scale round as PostgreSQL rounds (``ROUNDED``); JSON takes what the standard
library takes (``JSON_EDGES``); numpy and pandas values store as their plain equivalents, in
every field of every record (``MATRIX``); non-finite numbers become NULL when asked; the
largest series and the emptiest round-trip. What is refused instead: test_refused; any
value at all: test_any_value."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import psycopg
import pytest
from devkit.records import optimization, portfolio, result, trade, window
from psycopg import sql

from backtest_store import BacktestStore, ValidationError, convert, json_policy
from backtest_store.tables import ALL, OPTIMIZATIONS, RESULTS, TRADES, WALK_FORWARD

Store = Any

# Beyond a column's scale a value is rounded half away from zero, as PostgreSQL rounds
# numeric, a float by its shortest repr; what save returns is what a read gives. (the
# field: a result's sharpe_ratio, numeric(8,4), or a trade's entry_price, 8 decimals since
# 0010; the value given; the value stored)
ROUNDED: list[tuple[str, Any, Decimal]] = [
    ("sharpe_ratio", 0.12345, Decimal("0.1235")),
    ("sharpe_ratio", Decimal("0.12345"), Decimal("0.1235")),
    ("sharpe_ratio", Decimal("-0.12345"), Decimal("-0.1235")),
    ("sharpe_ratio", Decimal("-0.00005"), Decimal("-0.0001")),
    ("sharpe_ratio", Decimal("9999.99994999"), Decimal("9999.9999")),
    ("sharpe_ratio", 0.1 + 0.2, Decimal("0.3000")),
    ("sharpe_ratio", 2, Decimal("2.0000")),
    ("sharpe_ratio", Decimal("1E-10"), Decimal("0.0000")),
    ("entry_price", Decimal("1.123456785"), Decimal("1.12345679")),  # a tie: away from zero
    ("entry_price", Decimal("-1.123456785"), Decimal("-1.12345679")),
    ("entry_price", Decimal("1.123456784999"), Decimal("1.12345678")),
    ("entry_price", 0.1 + 0.2, Decimal("0.30000000")),  # shortest repr 0.30000000000000004
    ("entry_price", 1.085155, Decimal("1.08515500")),
]


@pytest.mark.parametrize(("field", "value", "stored"), ROUNDED)
def test_extra_decimals_round_like_postgresql_and_save_equals_read(
    store: Store, field: str, value: Any, stored: Decimal
) -> None:
    if field == "sharpe_ratio":
        saved = store.save_backtest(result(sharpe_ratio=value))
        assert store.get_backtest(saved.backtest_id) == saved
        got = saved.sharpe_ratio
    else:
        saved = store.save_backtest(result(), [trade(0, entry_price=value)])
        (read,) = store.get_trades(saved.backtest_id)
        got = read.entry_price
        if isinstance(value, float):  # a DataFrame holds floats: the same rounding
            pd = pytest.importorskip("pandas")
            frame = pd.DataFrame({"entry_date": [trade(0).entry_date], "entry_price": [value],
                                  "direction": ["long"]})  # fmt: skip
            (framed,) = store.get_trades(store.save_backtest(result(), frame).backtest_id)
            assert framed.entry_price == stored
    assert got == stored and str(got) == str(stored)


def test_nonfinite_null_policy_stores_null_instead(db_url: str) -> None:
    with BacktestStore.connect(db_url, nonfinite="null") as store:
        saved = store.save_backtest(
            result(profit_factor=math.inf, sharpe_ratio=Decimal("NaN"), total_return=0.25,
                   equity_curve=[1.0, math.nan, {"v": -math.inf}]),
            [trade(0, pnl=math.nan)],
        )  # fmt: skip
        assert (saved.profit_factor, saved.sharpe_ratio) == (None, None)
        assert saved.total_return == Decimal("0.2500")
        assert saved.equity_curve == [1.0, None, {"v": None}]
        assert store.get_trades(saved.backtest_id)[0].pnl is None
        with pytest.raises(ValidationError, match="entry_price"):  # NOT NULL: still refused
            store.save_trades(saved.backtest_id, [trade(1, entry_price=math.inf)])
    with pytest.raises(ValidationError, match="nonfinite"):
        BacktestStore.connect(db_url, nonfinite="zero").__enter__()  # type: ignore[arg-type]


JSON_EDGES: list[Any] = [
    [1.0, None, 2],
    {"a": None},
    [math.nan],
    {"x": [1, {"y": math.inf}]},
    {1: "int key"},
    {"when": datetime(2024, 1, 1)},
    [UUID("a4baee2d-e2c9-4a2a-9bc0-0123456789ab")],
    [2**70, -(2**70)],
    ["lone \ud800"],
    ["nul \x00"],
    [Decimal("1.5")],
    [[0.1, 1e-300, 5e-324, 1e16]],
    {"nested": {"deep": [[[]]]}},
]


@pytest.mark.parametrize("value", JSON_EDGES, ids=[repr(v)[:30] for v in JSON_EDGES])
def test_json_fast_path_accepts_and_refuses_exactly_as_the_standard_library(
    monkeypatch: pytest.MonkeyPatch, value: Any
) -> None:
    from backtest_store.columns import jsonb

    def outcome() -> Any:
        try:
            wrapped = convert.converter(jsonb(), "refuse")(value)
        except convert.Refused as refused:
            return ("refused", refused.problem)
        return ("stored", json_policy.load_json(wrapped.obj))

    fast = outcome()
    monkeypatch.setattr(json_policy, "orjson", None)
    assert outcome() == fast


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


def test_missing_values_take_the_default(db_url: str) -> None:
    """(A required one is refused: test_refused's ``CASES``, symbol = pd.NA.)"""
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(fees=pd.NA, total_trades=pd.NA))
        assert saved.fees is not None and saved.total_trades == 0  # the server defaults


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


@pytest.mark.parametrize("own_number", [False, True], ids=["compiled loop", "exact path"])
@pytest.mark.parametrize("fill", [True, False])
@pytest.mark.parametrize("trades", [3, 300], ids=["in the statement", "by COPY"])
def test_a_column_no_child_sets_is_stored_as_if_it_were_sent(
    db_url: str, fill: bool, trades: int, own_number: bool
) -> None:
    """A column that no trade of a save sets is not sent (a bulk COPY sends the columns
    the trades give): the server stores what the store would have sent, its default under
    fill, NULL without. A column one trade sets (here as a numpy value) is sent for all.
    Trades numbered by the store run through one compiled loop; one that gives its own
    number sends them all the exact way."""
    rows = [trade(i) for i in range(trades)]
    number = trades + 10 if own_number else None
    rows[1] = trade(1, mae=np.float64(-0.5), trade_number=number)
    with BacktestStore.connect(db_url, fill=fill) as store:
        saved = store.save_backtest(result(), rows)
        got = store.get_trades(saved.backtest_id)
    second = trades + 10 if own_number else 2
    assert sorted(t.trade_number or 0 for t in got) == sorted([1, second, *range(3, trades + 1)])
    default = TRADES.columns["fees_paid"].default if fill else None
    assert {(t.fees_paid, t.slippage_cost) for t in got} == {(default, default)}
    assert {t.trade_number: t.mae for t in got if t.mae is not None} == {second: Decimal("-0.5")}
    assert all(t.mfe is None and t.entry_time is None for t in got)


def test_a_year_of_minutes_round_trips(db_url: str) -> None:
    """The largest realistic series: 525,600 points of equity and drawdown."""
    equity = [10_000 + i * 0.01 for i in range(525_600)]
    drawdown = [-(i % 1000) / 10_000 for i in range(525_600)]
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(equity_curve=equity, drawdown_series=drawdown))
        assert saved.data_points == 525_600
        again = store.get_backtest(saved.backtest_id)
        assert (
            again is not None and again.equity_curve == equity and again.drawdown_series == drawdown
        )


@pytest.mark.parametrize("size", [0, 1, 10_000])
def test_large_and_empty_jsonb(store: Store, size: int) -> None:
    params = {f"p{i}": {"nested": [i, str(i), None, True]} for i in range(size)}
    saved = store.save_backtest(result(parameters=params, equity_curve=[]))
    again = store.get_backtest(saved.backtest_id)
    assert again.parameters == params and again.equity_curve == [] and again.data_points == 0
