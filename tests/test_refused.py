"""A value refused: each validation rule with its message, refused before anything is
written, by the store's own checks (``CASES``, numpy and pandas values among them) or by the
database's CHECK rules (``CHECKED``), in tables of cases; then the refusals a table cannot
hold (a batch's position, a non-finite figure in a parameter grid, a query's arguments).
What is stored instead: test_stored; any value at all: test_any_value."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import numpy as np
import pandas as pd
import psycopg
import pytest
from devkit.records import optimization, portfolio, result, row_counts, trade

from backtest_store import (
    BacktestStore,
    ConstraintViolation,
    ValidationError,
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
    # numpy and pandas values are refused as their plain twins are, and say how to mend them
    ("result", {"total_trades": 3.5}, "total_trades", "is not a whole number", "integer"),
    ("result", {"total_trades": np.float64(2.5)}, "total_trades", "is not a whole number",
     "integer"),
    ("result", {"sharpe_ratio": "1.5"}, "sharpe_ratio", "is a str, not a number", "numeric"),
    ("result", {"sharpe_ratio": np.float64("nan")}, "sharpe_ratio", "not a finite number",
     "numeric(8,4)"),
    ("result", {"sharpe_ratio": np.bool_(True)}, "sharpe_ratio", "is a bool, not a number",
     "numeric(8,4)"),
    ("result", {"start_date": pd.Timestamp("2024-01-01")}, "start_date", "pass value.date()",
     "date"),
    ("result", {"backtest_date": pd.Timestamp("2024-01-01 10:00")}, "backtest_date",
     "tz_localize('UTC')", "timezone-aware"),
    ("result", {"symbol": pd.NA}, "symbol", "is required", "NOT NULL"),
]  # fmt: skip


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


@pytest.mark.parametrize("wrong", [False, 0, ""])
def test_a_falsy_wrong_id_is_refused_not_replaced(store: Any, wrong: Any) -> None:
    """Found by the fuzz test: backtest_id=False was taken for "no id" and a new one made."""
    with pytest.raises(ValidationError, match="backtest_id"):
        store.save_backtest(result(backtest_id=wrong))
    parent = store.save_backtest(result()).backtest_id
    with pytest.raises(ValidationError, match="optimization_id"):
        store.save_optimization_results(parent, [optimization(1, optimization_id=wrong)])


# -- a parameter grid that never traded -----------------------------------------------------


def test_the_refusal_names_every_nonfinite_field_and_the_way_out(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store, pytest.raises(ValidationError) as refused:
        store.save_backtest(result(sharpe_ratio=math.nan, sortino_ratio=math.inf, calmar_ratio=1))
    message = str(refused.value)
    assert "sharpe_ratio = nan is not a finite number" in message
    assert "so are sortino_ratio = inf" in message and "calmar_ratio" not in message
    assert 'nonfinite="null"' in message
    assert refused.value.field == "sharpe_ratio"


@pytest.mark.parametrize("policy", ["refuse", "null"])
def test_a_nonfinite_objective_gets_no_rank(db_url: str, policy: Any) -> None:
    records = [
        optimization(1, objective_value=math.inf, rank=1),  # ranked by a caller: dropped
        optimization(2, objective_value=1.5),
        optimization(3, objective_value=0.5),
    ]
    with BacktestStore.connect(db_url, nonfinite=policy) as store:
        parent = store.save_backtest(result()).backtest_id
        if policy == "refuse":
            with pytest.raises(ValidationError, match=r'objective_value = inf.*nonfinite="null"'):
                store.save_optimization_results(parent, records)
            assert store.optimization_results(parent) == []
            return
        saved = store.save_optimization_results(parent, records)
        assert [(r.objective_value, r.rank) for r in saved] == [(None, None), (1.5, 1), (0.5, 2)]
        (best,) = store.best_parameters(parent, limit=1)
        assert best.parameters == {"fast": 2, "slow": 50}
