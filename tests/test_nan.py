"""numeric's NaN from writers other than the store: refused by 0009's checks, and harmless
to every read where those checks are missing (a database rolled back to 0008, or one
that another writer filled before adoption)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from devkit.records import result, trade
from psycopg import sql

from backtest_store import BacktestStore, migrations
from backtest_store.tables import ALL

NAN_MIGRATION = "0009.refuse-numeric-nan"


def numeric_columns() -> set[tuple[str, str]]:
    return {
        (spec.name, name) for spec in ALL for name, c in spec.columns.items() if c.kind == "numeric"
    }


def test_the_nan_checks_cover_exactly_the_numeric_columns(conn: psycopg.Connection[Any]) -> None:
    """One source of truth: 0009 names a check for each numeric column the records declare,
    and the catalog's numeric columns are those."""
    checks = conn.execute(
        """SELECT c.relname, con.conname, pg_get_constraintdef(con.oid), con.convalidated
           FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
           WHERE con.conname LIKE 'ck\\_%\\_not\\_nan'"""
    ).fetchall()
    catalog = conn.execute(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND data_type = 'numeric'
             AND table_name LIKE 'mcp\\_%'"""
    ).fetchall()
    assert {(t, c) for t, c in catalog} == numeric_columns()
    covered = set()
    for table, name, definition, validated in checks:
        column = name.removeprefix(f"ck_{table}_").removesuffix("_not_nan")
        assert definition == f"CHECK (({column} <> 'NaN'::numeric))", name
        assert validated, name
        covered.add((table, column))
    assert covered == numeric_columns()
    assert len(checks) == len(covered)


@pytest.mark.parametrize(("table", "column"), sorted(numeric_columns()))
def test_nan_written_by_another_writer_is_refused_naming_the_column(
    conn: psycopg.Connection[Any], table: str, column: str
) -> None:
    with BacktestStore.connect(_url(conn)) as store:
        saved = store.save_backtest(result(), [trade()])
    _fill_every_table(conn, saved.backtest_id)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute(
            sql.SQL("UPDATE {} SET {} = 'NaN'").format(
                sql.Identifier(table), sql.Identifier(column)
            )
        )
    # The NaN check, or a check of 0007 on the same column that NaN fails as well
    # (max_drawdown <= 0 is false for NaN): either way the check names the column.
    name = caught.value.diag.constraint_name
    row = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", (name,)
    ).fetchone()
    assert row is not None and name is not None and name.startswith(f"ck_{table}_")
    assert name == f"ck_{table}_{column}_not_nan" or f"({column} " in row[0], (name, row)


def _url(conn: psycopg.Connection[Any]) -> str:
    from devkit.dbs import url_for

    return url_for(conn.info.dbname)


def _fill_every_table(conn: psycopg.Connection[Any], backtest_id: Any) -> None:
    """One row in each of the other tables, so every UPDATE meets a row."""
    for statement in (
        """INSERT INTO mcp_optimization_results (backtest_id, parameter_set, parameters,
               objective_function, objective_value, rank)
           VALUES (%(id)s, 1, '{}', 'sharpe_ratio', 1, 1)""",
        """INSERT INTO mcp_walk_forward_tests (parent_backtest_id, window_size_months,
               step_size_months, training_start, training_end, test_period_start,
               test_period_end)
           VALUES (%(id)s, 12, 3, '2022-01-01', '2022-12-31', '2023-01-01', '2023-03-31')""",
        """INSERT INTO mcp_backtest_portfolios (portfolio_name, start_date, end_date, symbols)
           VALUES ('p', '2023-01-01', '2023-12-31', '["A"]')""",
    ):
        conn.execute(statement, {"id": backtest_id})


@pytest.fixture
def without_checks(db_url: str) -> str:
    """A database whose numeric columns take NaN again, as one 0009 has not reached: its
    not-NaN checks dropped (the schema is otherwise this package's, for the store)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        checks = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE conname LIKE 'ck\\_%\\_not\\_nan'"
        ).fetchall()
        assert checks
        for table, name in checks:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))  # fmt: skip
    return db_url


@pytest.fixture
def at_0008(db_url: str) -> str:
    """A database rolled back to before 0009: numeric columns take NaN again."""
    ids = migrations.migration_ids()
    migrations.rollback(db_url, steps=len(ids) - ids.index(NAN_MIGRATION))
    return db_url


def test_a_nan_metric_never_ranks_first_nor_spoils_a_summary(without_checks: str) -> None:
    with BacktestStore.connect(without_checks, check_schema=False) as store:
        good = [
            store.save_backtest(result(sharpe_ratio=s, total_return=r, win_rate=Decimal("0.5")))
            for s, r in ((Decimal("1.2"), Decimal("0.1")), (Decimal("0.4"), Decimal("-0.2")))
        ]
        spoiled = store.save_backtest(result(sharpe_ratio=Decimal("3"), total_return=0))
        with psycopg.connect(without_checks, autocommit=True) as conn:
            conn.execute(
                "UPDATE mcp_backtest_results SET sharpe_ratio = 'NaN', total_return = 'NaN'"
                " WHERE backtest_id = %s",
                (spoiled.backtest_id,),
            )

        top = store.top_backtests(metric="sharpe_ratio")
        assert [r.backtest_id for r in top] == [good[0].backtest_id, good[1].backtest_id]
        assert [r.backtest_id for r in store.top_backtests(metric="total_return")] == [
            good[0].backtest_id,
            good[1].backtest_id,
        ]

        ids = [spoiled.backtest_id, good[1].backtest_id, good[0].backtest_id]
        compared: dict[Any, Any] = {
            c.backtest_id: c for c in store.compare_backtests(ids, metrics=["sharpe_ratio"])
        }
        assert compared[good[0].backtest_id].ranks["sharpe_ratio"] == 1
        assert compared[good[1].backtest_id].ranks["sharpe_ratio"] == 2
        assert compared[spoiled.backtest_id].values["sharpe_ratio"] is None
        assert compared[spoiled.backtest_id].ranks["sharpe_ratio"] is None

        summary = store.performance_summary().overall
        assert summary.count == 3
        assert summary.mean_sharpe == Decimal("0.8")
        assert summary.mean_return == Decimal("-0.05")
        assert summary.best_return == Decimal("0.1")
        assert summary.worst_return == Decimal("-0.2")
        assert summary.mean_win_rate == Decimal("0.5")

        # The row itself still reads, NaN and all: nothing is hidden from get_backtest.
        read = store.get_backtest(spoiled.backtest_id)
        assert read is not None and read.sharpe_ratio is not None
        assert Decimal(read.sharpe_ratio).is_nan()


def test_a_nan_pnl_is_neither_a_winning_nor_a_losing_trade(without_checks: str) -> None:
    with BacktestStore.connect(without_checks, check_schema=False) as store:
        saved = store.save_backtest(result(), [trade(0, pnl=5), trade(1, pnl=-5), trade(2, pnl=1)])
        with psycopg.connect(without_checks, autocommit=True) as conn:
            conn.execute("UPDATE mcp_backtest_trades SET pnl = 'NaN' WHERE trade_number = 3")
        assert [t.trade_number for t in store.get_trades(saved.backtest_id)] == [1, 2, 3]
        assert [t.trade_number for t in store.get_trades(saved.backtest_id, outcome="winning")] == [
            1
        ]
        assert [t.trade_number for t in store.get_trades(saved.backtest_id, outcome="losing")] == [
            2
        ]


def test_0009_refuses_to_finish_over_nan_and_leaves_no_check_half_added(at_0008: str) -> None:
    """Validation of the NOT VALID checks finds the NaN rows: the migration fails, and
    applying it again after a fix (NULL) completes."""
    without_checks = at_0008
    with psycopg.connect(without_checks, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
            " sharpe_ratio) VALUES ('AAPL', 'sma', '2024-01-01', '2024-02-01', 'NaN')"
            " RETURNING backtest_id"
        ).fetchone()
        assert row is not None
    with pytest.raises(Exception, match="ck_mcp_backtest_results_sharpe_ratio_not_nan"):
        migrations.apply(without_checks)
    with psycopg.connect(without_checks, autocommit=True) as conn:
        conn.execute("UPDATE mcp_backtest_results SET sharpe_ratio = NULL")
    migrations.break_lock(without_checks)
    ids = migrations.migration_ids()
    assert migrations.apply(without_checks) == ids[ids.index(NAN_MIGRATION) :]  # 0009 on
    with BacktestStore.connect(without_checks, check_schema=False) as store:
        got = store.get_backtest(row[0])
        assert got is not None and got.sharpe_ratio is None
