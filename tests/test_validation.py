"""Each validation rule, with its message: refused before anything is written, by the
store's own checks (``CASES``) or by the database's CHECK rules (``CHECKED``), in tables of
cases."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from devkit.records import optimization, portfolio, result, row_counts, trade

from backtest_store import (
    BacktestStore,
    ConstraintViolation,
    ValidationError,
    convert,
    json_policy,
)

Store = Any


def nothing_written(conn: psycopg.Connection[Any]) -> bool:
    return not any(row_counts(conn).values())


# (record factory, field, value, problem in the message, limit in the message)
CASES: list[tuple[str, Any, str, str, str]] = [
    (
        "result",
        {"symbol": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"},
        "symbol",
        "has 33 characters",
        "varchar(32): at most 32 characters",
    ),
    ("result", {"strategy_type": "x" * 51}, "strategy_type", "has 51 characters", "varchar(50)"),
    (
        "result",
        {"sharpe_ratio": 10_000},
        "sharpe_ratio",
        "overflows the column",
        "numeric(8,4): absolute value below 9999.99995",
    ),
    ("result", {"sharpe_ratio": 9999.99995}, "sharpe_ratio", "overflows", "numeric(8,4)"),
    ("result", {"total_return": Decimal("-1E+6")}, "total_return", "overflows", "numeric(14,8)"),
    ("result", {"profit_factor": math.inf}, "profit_factor", "not a finite number", "numeric(8,4)"),
    ("result", {"sharpe_ratio": math.nan}, "sharpe_ratio", "not a finite number", "numeric(8,4)"),
    ("result", {"win_rate": Decimal("NaN")}, "win_rate", "not a finite number", "numeric(9,8)"),
    ("result", {"equity_curve": [1.0, math.nan]}, "equity_curve", "NaN or Infinity", "jsonb"),
    ("result", {"parameters": {"x": -math.inf}}, "parameters", "NaN or Infinity", "jsonb"),
    ("result", {"parameters": {"at": datetime(2024, 1, 1)}}, "parameters", "is not JSON", "jsonb"),
    ("result", {"parameters": "fast=10"}, "parameters", "not a list or dict", "jsonb"),
    ("result", {"notes": "a\x00b"}, "notes", "NUL character", "text"),
    ("result", {"parameters": {"k": "a\x00b"}}, "parameters", "NUL character", "jsonb"),
    ("result", {"notes": "bad \ud800 surrogate"}, "notes", "lone surrogate", "text"),
    (
        "result",
        {"total_trades": 2**31},
        "total_trades",
        "does not fit",
        "integer: -2147483648 to 2147483647",
    ),
    ("result", {"total_trades": 1.5}, "total_trades", "is not a whole number", "integer"),
    ("result", {"total_trades": True}, "total_trades", "is a bool, not an int", "integer"),
    ("result", {"sharpe_ratio": "1.2"}, "sharpe_ratio", "is a str, not a number", "numeric(8,4)"),
    ("result", {"start_date": datetime(2024, 1, 1)}, "start_date", "pass value.date()", "date"),
    (
        "result",
        {"backtest_date": datetime(2024, 1, 1)},
        "backtest_date",
        "naive datetime",
        "timezone-aware",
    ),
    ("result", {"symbol": None}, "symbol", "is required", "NOT NULL"),
    ("result", {"backtest_id": "not-a-uuid"}, "backtest_id", "not a uuid.UUID", "uuid"),
    (
        "portfolio",
        {"portfolio_name": "p" * 101},
        "portfolio_name",
        "has 101 characters",
        "varchar(100)",
    ),
    ("portfolio", {"symbols": None}, "symbols", "is required", "NOT NULL"),
    (
        "portfolio",
        {"max_sector_allocation": 10},
        "max_sector_allocation",
        "overflows",
        "numeric(5,4)",
    ),
    # a fraction given in percent says so
    ("result", {"win_rate": 52}, "win_rate", "win_rate = 52 overflows", "0.52 = 52 %"),
]


@pytest.mark.parametrize(
    ("factory", "override", "field", "problem", "limit"),
    CASES,
    ids=[f"{c[2]}-{c[3]}" for c in CASES],
)
def test_each_rule_is_refused_with_a_message_naming_record_field_value_and_limit(
    store: Store,
    conn: psycopg.Connection[Any],
    factory: str,
    override: dict[str, Any],
    field: str,
    problem: str,
    limit: str,
) -> None:
    record = (result if factory == "result" else portfolio)(**override)
    save = store.save_backtest if factory == "result" else store.save_portfolio
    with pytest.raises(ValidationError) as caught:
        save(record)
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.field == field and err.record == type(record).__name__
    message = str(err)
    assert f"{type(record).__name__}.{field} = " in message
    assert problem in message and limit in message
    assert nothing_written(conn)


# Refused by a CHECK rule of the database: the message names the rule (as ``rules.CHECKS``
# words it, proven the catalog's) and the row's values; an allowed-values list says it is
# case-sensitive; a row sent by COPY is named by its place. (the backtest's fields, how
# many trades, the last trade's fields, what the message says)
CHECKED: list[tuple[dict[str, Any], int, dict[str, Any], list[str]]] = [
    ({"start_date": date(2024, 6, 30), "end_date": date(2024, 1, 1)}, 0, {},
     ["ck_mcp_backtest_results_date_range", "the rule is end_date >= start_date",
      "start_date = 2024-06-30", "end_date = 2024-01-01"]),
    # 0011 writes its checks over several lines: the rule is named all the same
    ({"bars_per_year": -252}, 0, {},
     ["ck_mcp_backtest_results_bars_per_year", "the rule is bars_per_year > 0",
      "bars_per_year = -252"]),
    ({}, 1, {"direction": "LONG"}, ["direction IN ('long', 'short')", "case-sensitive"]),
    ({}, 150, {"direction": "LONG"},
     ["direction IN ('long', 'short')", "case-sensitive",
      "BacktestTrade[149] has direction = LONG"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "trades", "last", "said"),
    CHECKED,
    ids=["date-range", "bars-per-year", "direction", "direction-by-copy"],
)
def test_each_check_refuses_naming_its_rule_and_the_row_s_values(
    store: Store,
    conn: psycopg.Connection[Any],
    fields: dict[str, Any],
    trades: int,
    last: dict[str, Any],
    said: list[str],
) -> None:
    rows = [trade(i) for i in range(trades)]
    if last:
        rows[-1] = trade(trades - 1, **last)
    with pytest.raises(ConstraintViolation) as refused:
        store.save_backtest(result(**fields), rows)
    message = str(refused.value)
    assert [s for s in said if s not in message] == [], message
    assert nothing_written(conn)


def test_bulk_errors_name_the_position(store: Store, conn: psycopg.Connection[Any]) -> None:
    trades = [trade(i) for i in range(10)]
    trades[7] = trade(7, exit_reason="r" * 51)
    with pytest.raises(ValidationError, match=r"BacktestTrade\[7\]\.exit_reason = 'rrr"):
        store.save_backtest(result(), trades)
    assert nothing_written(conn)


def test_wrong_record_types_are_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="is not of the right type"):
        store.save_backtest(portfolio())
    with pytest.raises(ValidationError, match=r"BacktestTrade\[1\]"):
        store.save_backtest(result(), [trade(0), optimization(0)])
    with pytest.raises(ValidationError, match="backtest_id"):
        store.save_trades("not a uuid", [trade(0)])


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


def test_query_arguments_are_validated(store: Store) -> None:
    with pytest.raises(ValidationError, match="limit"):
        store.list_backtests(limit=0)
    with pytest.raises(ValidationError, match="limit"):
        store.top_backtests(limit=10**9)
    with pytest.raises(ValidationError, match="since"):
        store.list_backtests(since=datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="after"):
        store.list_backtests(after=result())
    with pytest.raises(ValidationError, match="NUL"):
        store.list_backtests(symbol="A\x00")
    with pytest.raises(ValidationError, match="min_trades"):
        store.top_backtests(min_trades=-1)
    assert store.list_backtests(since=date(2000, 1, 1)) == []  # a date means UTC midnight
    assert store.list_backtests(symbol="longer than any symbol can be") == []
    assert store.get_backtest(uuid4()) is None


def test_a_child_naming_another_parent_is_refused(
    store: Store, conn: psycopg.Connection[Any]
) -> None:
    parent = store.save_backtest(result())
    other = uuid4()
    with pytest.raises(ValidationError, match=r"BacktestTrade\[1\]\.backtest_id .* another parent"):
        store.save_trades(parent.backtest_id, [trade(0), trade(1, backtest_id=other)])
    same = store.save_trades(parent.backtest_id, [trade(0, backtest_id=parent.backtest_id)])
    assert same == 1


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


@pytest.mark.parametrize("wrong", [False, 0, ""])
def test_a_falsy_wrong_id_is_refused_not_replaced(store: Any, wrong: Any) -> None:
    """Found by the fuzz test: backtest_id=False was taken for "no id" and a new one made."""
    with pytest.raises(ValidationError, match="backtest_id"):
        store.save_backtest(result(backtest_id=wrong))
    parent = store.save_backtest(result()).backtest_id
    with pytest.raises(ValidationError, match="optimization_id"):
        store.save_optimization_results(parent, [optimization(1, optimization_id=wrong)])
