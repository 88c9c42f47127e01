"""Defaults, the updated_at trigger, ON DELETE CASCADE and every ck_ constraint, on a server."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

# A valid minimal row of each table; children get their parent id filled in.
VALID: dict[str, dict[str, Any]] = {
    "mcp_backtest_results": {
        "symbol": "AAPL",
        "strategy_type": "sma_cross",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
    },
    "mcp_backtest_trades": {
        "trade_number": 1,
        "entry_date": date(2024, 1, 2),
        "entry_price": 100,
        "direction": "long",
    },
    "mcp_optimization_results": {"parameter_set": 1, "parameters": Jsonb({"fast": 10})},
    "mcp_walk_forward_tests": {
        "window_size_months": 12,
        "step_size_months": 3,
        "training_start": date(2022, 1, 1),
        "training_end": date(2022, 12, 31),
        "test_period_start": date(2023, 1, 1),
        "test_period_end": date(2023, 3, 31),
    },
    "mcp_backtest_portfolios": {
        "portfolio_name": "tech",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
        "symbols": Jsonb(["AAPL", "MSFT"]),
    },
}
PARENT_KEY = {
    "mcp_backtest_trades": "backtest_id",
    "mcp_optimization_results": "backtest_id",
    "mcp_walk_forward_tests": "parent_backtest_id",
}
KEY = {
    "mcp_backtest_results": "backtest_id",
    "mcp_backtest_trades": "trade_id",
    "mcp_optimization_results": "optimization_id",
    "mcp_walk_forward_tests": "walk_forward_id",
    "mcp_backtest_portfolios": "portfolio_backtest_id",
}


def insert(conn: psycopg.Connection[Any], table: str, **override: Any) -> dict[str, Any]:
    """Insert a valid row (with overrides) and return it as stored."""
    row = {**VALID[table], **override}
    if table in PARENT_KEY and PARENT_KEY[table] not in row:
        row[PARENT_KEY[table]] = insert(conn, "mcp_backtest_results")["backtest_id"]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    result = cur.execute(query, list(row.values())).fetchone()
    assert result is not None
    return result


@pytest.mark.parametrize("table", list(VALID))
def test_defaults_fill_keys_timestamps_and_server_defaults(
    conn: psycopg.Connection[Any], table: str
) -> None:
    row = insert(conn, table)
    assert isinstance(row[KEY[table]], UUID) and row[KEY[table]].version == 4
    (now,) = conn.execute("SELECT now()").fetchone()  # type: ignore[misc]
    for ts in ("created_at", "updated_at", "backtest_date", "optimization_date", "test_date"):
        if ts in row:
            assert row[ts] is not None and abs((row[ts] - now).total_seconds()) < 60, ts
    if table == "mcp_backtest_results":
        assert (row["initial_capital"], row["fees"], row["slippage"]) == (
            Decimal("10000.00"),
            Decimal("0.0010"),
            Decimal("0.0010"),
        )
        assert (row["total_trades"], row["winning_trades"], row["losing_trades"]) == (0, 0, 0)
        assert row["status"] == "completed"
    if table == "mcp_backtest_portfolios":
        assert row["initial_capital"] == 100000 and row["status"] == "completed"
    if table == "mcp_backtest_trades":
        assert row["fees_paid"] == 0 and row["slippage_cost"] == 0
    if table in ("mcp_optimization_results", "mcp_walk_forward_tests"):
        assert row["is_statistically_significant"] is False


@pytest.mark.parametrize("table", list(VALID))
def test_updated_at_trigger_moves_and_created_at_never_changes(
    conn: psycopg.Connection[Any], table: str
) -> None:
    row = insert(conn, table)
    time.sleep(0.01)
    query = sql.SQL(
        "UPDATE {t} SET created_at = '2000-01-01', updated_at = '2000-01-01' WHERE {k} = %s "
        "RETURNING created_at, updated_at"
    ).format(t=sql.Identifier(table), k=sql.Identifier(KEY[table]))
    created, updated = conn.execute(query, (row[KEY[table]],)).fetchone()  # type: ignore[misc]
    assert created == row["created_at"]
    assert updated > row["updated_at"]


def test_deleting_a_result_cascades_to_its_children(conn: psycopg.Connection[Any]) -> None:
    parent = insert(conn, "mcp_backtest_results")["backtest_id"]
    other = insert(conn, "mcp_backtest_results")["backtest_id"]
    for child in PARENT_KEY:
        for owner in (parent, other):
            insert(conn, child, **{PARENT_KEY[child]: owner})
    insert(conn, "mcp_backtest_portfolios")
    conn.execute("DELETE FROM mcp_backtest_results WHERE backtest_id = %s", (parent,))
    for child, fk in PARENT_KEY.items():
        counts = conn.execute(
            sql.SQL("SELECT count(*) FILTER (WHERE {fk} = %s), count(*) FROM {t}").format(
                fk=sql.Identifier(fk), t=sql.Identifier(child)
            ),
            (parent,),
        ).fetchone()
        assert counts == (0, 1), child  # the parent's rows went, the other's stayed
    assert conn.execute("SELECT count(*) FROM mcp_backtest_portfolios").fetchone() == (1,)


# One violating row per constraint: (constraint, table, overrides).
VIOLATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "ck_mcp_backtest_results_date_range",
        "mcp_backtest_results",
        {"end_date": date(2023, 12, 31)},
    ),
    ("ck_mcp_backtest_results_status", "mcp_backtest_results", {"status": "done"}),
    ("ck_mcp_backtest_results_trade_counts", "mcp_backtest_results", {"total_trades": -1}),
    (
        "ck_mcp_backtest_results_trades_add_up",
        "mcp_backtest_results",
        {"total_trades": 3, "winning_trades": 2, "losing_trades": 2},
    ),
    ("ck_mcp_backtest_results_win_rate", "mcp_backtest_results", {"win_rate": 1.5}),
    ("ck_mcp_backtest_results_max_drawdown", "mcp_backtest_results", {"max_drawdown": 0.2}),
    ("ck_mcp_backtest_results_volatility", "mcp_backtest_results", {"downside_volatility": -0.1}),
    ("ck_mcp_backtest_results_durations", "mcp_backtest_results", {"data_points": -5}),
    ("ck_mcp_backtest_results_tags", "mcp_backtest_results", {"tags": Jsonb({"k": 1})}),
    ("ck_mcp_backtest_results_tags", "mcp_backtest_results", {"tags": Jsonb(["a"])}),
    (
        "ck_mcp_backtest_results_extra_metrics",
        "mcp_backtest_results",
        {"extra_metrics": Jsonb({"sqn": "high"})},
    ),
    ("ck_mcp_backtest_results_bars_per_year", "mcp_backtest_results", {"bars_per_year": 0}),
    ("ck_mcp_backtest_trades_direction", "mcp_backtest_trades", {"direction": "buy"}),
    (
        "ck_mcp_backtest_trades_exit_after_entry",
        "mcp_backtest_trades",
        {"exit_date": date(2024, 1, 1)},
    ),
    ("ck_mcp_backtest_trades_trade_number", "mcp_backtest_trades", {"trade_number": -1}),
    ("ck_mcp_backtest_trades_durations", "mcp_backtest_trades", {"duration_hours": -1}),
    (
        "ck_mcp_optimization_results_parameter_set",
        "mcp_optimization_results",
        {"parameter_set": -1},
    ),
    ("ck_mcp_optimization_results_rank", "mcp_optimization_results", {"rank": 0}),
    ("ck_mcp_optimization_results_total_trades", "mcp_optimization_results", {"total_trades": -1}),
    ("ck_mcp_optimization_results_win_rate", "mcp_optimization_results", {"win_rate": -0.1}),
    (
        "ck_mcp_optimization_results_max_drawdown",
        "mcp_optimization_results",
        {"max_drawdown": 0.01},
    ),
    ("ck_mcp_optimization_results_p_value", "mcp_optimization_results", {"p_value": 1.5}),
    (
        "ck_mcp_walk_forward_tests_training_period",
        "mcp_walk_forward_tests",
        {"training_end": date(2021, 1, 1)},
    ),
    (
        "ck_mcp_walk_forward_tests_test_period",
        "mcp_walk_forward_tests",
        {"test_period_end": date(2022, 12, 1)},
    ),
    ("ck_mcp_walk_forward_tests_window", "mcp_walk_forward_tests", {"step_size_months": 0}),
    ("ck_mcp_walk_forward_tests_trades", "mcp_walk_forward_tests", {"out_of_sample_trades": -1}),
    (
        "ck_mcp_walk_forward_tests_drawdown",
        "mcp_walk_forward_tests",
        {"out_of_sample_drawdown": 0.5},
    ),
    (
        "ck_mcp_backtest_portfolios_date_range",
        "mcp_backtest_portfolios",
        {"end_date": date(2023, 1, 1)},
    ),
    ("ck_mcp_backtest_portfolios_status", "mcp_backtest_portfolios", {"status": "COMPLETED"}),
    ("ck_mcp_backtest_portfolios_max_positions", "mcp_backtest_portfolios", {"max_positions": -1}),
    ("ck_mcp_backtest_portfolios_max_drawdown", "mcp_backtest_portfolios", {"max_drawdown": 0.3}),
    ("ck_mcp_backtest_portfolios_volatility", "mcp_backtest_portfolios", {"volatility": -0.3}),
    (
        "ck_mcp_backtest_portfolios_max_sector_allocation",
        "mcp_backtest_portfolios",
        {"max_sector_allocation": 1.01},
    ),
    (
        "ck_mcp_backtest_portfolios_symbols_array",
        "mcp_backtest_portfolios",
        {"symbols": Jsonb({"a": 1})},
    ),
]


def test_every_check_constraint_has_a_violation_case(conn: psycopg.Connection[Any]) -> None:
    """Every ck_ check but 0009's ck_*_not_nan, which tests/test_nan.py violates one by one."""
    rows = conn.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'c' AND conname LIKE 'ck\\_%%'"
        " AND conname NOT LIKE '%%\\_not\\_nan'"
    ).fetchall()
    assert {r[0] for r in rows} == {v[0] for v in VIOLATIONS}


@pytest.mark.parametrize(
    ("constraint", "table", "override"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS]
)
def test_check_constraint_rejects_a_violating_row_by_name(
    conn: psycopg.Connection[Any], constraint: str, table: str, override: dict[str, Any]
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        insert(conn, table, **override)
    assert caught.value.diag.constraint_name == constraint


def test_valid_edge_values_pass_every_check(conn: psycopg.Connection[Any]) -> None:
    """Valid data never trips a check: boundaries, NULLs, break-even trades."""
    insert(
        conn,
        "mcp_backtest_results",
        end_date=date(2024, 1, 1),
        win_rate=0,
        max_drawdown=0,
        total_trades=3,
        winning_trades=1,
        losing_trades=1,
        status="in_progress",
    )
    insert(
        conn, "mcp_backtest_results", win_rate=1, max_drawdown=-1, status=None, total_trades=None
    )
    insert(
        conn, "mcp_backtest_trades", direction="short", exit_date=date(2024, 1, 2), trade_number=0
    )
    insert(conn, "mcp_optimization_results", rank=1, p_value=0, win_rate=1)
    insert(conn, "mcp_walk_forward_tests", training_end=date(2022, 1, 1), step_size_months=1)
    insert(
        conn, "mcp_backtest_portfolios", status="failed", symbols=Jsonb([]), max_sector_allocation=1
    )
