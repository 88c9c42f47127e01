"""Adoption of the databases the Alembic revision 013 (or its models) made, with data.

Every legacy database here is made by running the revision itself through Alembic
(devkit/legacy.py), then filled the way the replaced SQLAlchemy writer filled it.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest
from devkit import legacy
from devkit.adopting import (
    BIN,
    OTHER,
    SHAPES,
    cli,
    execute,
    kept,
    snapshot,
    whole_state,
)
from devkit.dbs import copy_of, scratch_database
from devkit.records import result
from devkit.schema_dump import dump

from backtest_store import BacktestStore, BacktestTrade, migrations
from backtest_store.errors import AdoptionError, MigrationError, NotAdoptedError
from backtest_store.schema import files, runner
from backtest_store.schema.adoption import catalog
from backtest_store.schema.adoption import plan as adoption_plan


def test_adopt_makes_the_migrated_schema_and_keeps_every_row(
    legacy_url: str, migrated_dump: str
) -> None:
    before = snapshot(legacy_url)
    others_schema = dump(legacy_url, only=OTHER)

    plan = migrations.adopt(legacy_url)

    assert plan.applied == [m for m in migrations.migration_ids() if m not in catalog.ADOPTED]
    assert dump(legacy_url, exclude=OTHER) == migrated_dump
    kept(before, snapshot(legacy_url))  # every row, every value, the other tables too
    assert dump(legacy_url, only=OTHER) == others_schema
    status = migrations.status(legacy_url)
    assert (status.pending, status.unknown, status.edited, status.clashes) == ([], [], [], [])
    assert status.applied == migrations.migration_ids()


def test_the_shape_is_recognised_and_alembic_version_reported(legacy_url: str) -> None:
    plan = migrations.adopt(legacy_url, dry_run=True)
    with psycopg.connect(legacy_url) as conn:
        has_alembic = runner.table_exists(conn, "alembic_version")
    assert plan.shape == ("revision" if has_alembic else "models")
    assert plan.alembic_version == (legacy.REVISION if has_alembic else None)
    assert plan.differences == []
    assert plan.rows == {
        "mcp_backtest_results": 40,
        "mcp_backtest_trades": 160,
        "mcp_optimization_results": 15,
        "mcp_walk_forward_tests": 5,
        "mcp_backtest_portfolios": 3,
    }


def test_the_store_reads_adopted_rows_and_saves_new_ones(legacy_url: str) -> None:
    migrations.adopt(legacy_url)
    with BacktestStore.connect(legacy_url) as store:
        old = store.list_backtests(symbol="S0", limit=100)
        assert len(old) == 8 and {r.symbol for r in old} == {"S0"}
        full = store.get_backtest(old[0].backtest_id)
        assert full is not None and isinstance(full.parameters, dict)
        assert full.parameters["filters"]["name"] == "Ünïcødé ☃"
        trades = store.get_trades(old[0].backtest_id)
        assert [t.trade_number for t in trades] == [1, 2, 3, 4]
        assert trades[-1].exit_date is None  # the open trade
        best = store.top_backtests(limit=3)
        assert best[0].sharpe_ratio is not None
        assert best == sorted(best, key=lambda r: r.sharpe_ratio or 0, reverse=True)

        saved = store.save_backtest(
            result(symbol="NEW"),
            [
                BacktestTrade(
                    entry_date=date(2024, 1, 2), entry_price=10, position_size=1, direction="long"
                )
            ],
        )
        # The server defaults adopt added: id, timestamps, trade number.
        assert saved.backtest_id is not None and saved.created_at is not None
        assert store.get_trades(saved.backtest_id)[0].trade_number == 1
        # ON DELETE CASCADE, which the models' foreign keys lacked.
        assert store.delete_backtest(old[0].backtest_id)
        assert store.get_trades(old[0].backtest_id) == []
    with psycopg.connect(legacy_url, autocommit=True) as conn:
        # The updated_at trigger adopt added.
        row = conn.execute(
            "UPDATE mcp_backtest_results SET notes = 'x' WHERE symbol = 'NEW'"
            " RETURNING updated_at > created_at"
        ).fetchone()
        assert row == (True,)


def test_adopt_again_and_migrate_afterwards_have_nothing_left_to_do(legacy_url: str) -> None:
    migrations.adopt(legacy_url)
    again = migrations.adopt(legacy_url)
    assert again.already_adopted and again.applied == []
    assert migrations.apply(legacy_url) == []
    assert cli("status", "--database", legacy_url).returncode == 0


@pytest.mark.parametrize(
    "later", [m for m in migrations.migration_ids() if m not in catalog.ADOPTED]
)
def test_each_later_migration_upgrades_an_adopted_database_and_a_fresh_one(
    later: str, migrated_dump: str, templates: dict[tuple[str, str], str]
) -> None:
    """Every migration after the adopted ones is rolled back and re-applied on a database
    that adopt made (both shapes) and on a fresh one, each with data in it: same schema as
    a fresh migrate, same rows. A new migration file is covered by this test on its own."""
    steps = len(migrations.migration_ids()) - migrations.migration_ids().index(later)
    for origin in (*SHAPES, "fresh"):
        made = (
            scratch_database("bt_upgrade")
            if origin == "fresh"
            else copy_of(templates[origin, "adopted"], "bt_upgrade")
        )
        with made as url:
            if origin == "fresh":
                migrations.apply(url)
                with BacktestStore.connect(url) as store:
                    store.save_backtest(result(sharpe_ratio=1.5))
            migrations.rollback(url, steps=steps)
            before = snapshot(url)
            assert migrations.apply(url) == migrations.migration_ids()[-steps:]
            assert dump(url, exclude=OTHER) == migrated_dump, origin
            kept(before, snapshot(url))


def test_the_readme_adopt_commands_run_as_written(legacy_url: str) -> None:
    """The shell block of docs/operations.md's adoption section, line by line, on a legacy
    database."""
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    section = page.split("## Adopting a database the Alembic revision made", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    commands = [line.split("#", 1)[0].split() for line in block.group(1).splitlines()]
    assert [c[:2] for c in commands] == [["backtest-store", "adopt"]] * 2 + [
        ["backtest-store", "status"]
    ]
    env = {**os.environ, "DATABASE_URL": legacy_url}
    for command in commands:
        run = subprocess.run(
            [str(BIN / command[0]), *command[1:]], capture_output=True, text=True, env=env
        )
        assert run.returncode == 0, (command, run.stderr)
    assert "pending" not in run.stdout and migrations.status(legacy_url).pending == []


# -- what adopt reproduces -----------------------------------------------------------------


def test_every_statement_of_the_adopted_migrations_is_replayed_or_verified() -> None:
    """adopt re-runs what the legacy tables lack and verifies what they have: no statement
    of 0001-0007 may be neither (a new kind would silently be skipped)."""
    for migration_id in catalog.ADOPTED:
        for statement in files.statements(migration_id):
            assert adoption_plan.replayed(statement) != adoption_plan.verified(statement), statement


def test_the_expected_shapes_list_the_seed_revision_indexes() -> None:
    revision = catalog.expected_shape("revision")
    models = catalog.expected_shape("models")
    names = {i[0] for shape in revision.values() for i in shape.indexes}
    assert len(names) == 5 + 20  # five primary keys, the revision's twenty indexes
    extra = {i[0] for s in models.values() for i in s.indexes} - names
    assert extra == {"ix_mcp_backtest_results_symbol"}


# -- refusals: nothing changes ------------------------------------------------------------


def test_dirty_rows_are_refused_with_each_rule_named_and_nothing_changes(
    legacy_url: str,
) -> None:
    bad = {
        "ck_mcp_backtest_results_win_rate": "UPDATE mcp_backtest_results SET win_rate = 1.5"
        " WHERE symbol = 'S1'",
        "ck_mcp_backtest_results_date_range": "UPDATE mcp_backtest_results SET end_date ="
        " '2022-01-01' WHERE symbol = 'S2' AND strategy_type = 'rsi'",
        "ck_mcp_backtest_trades_direction": "UPDATE mcp_backtest_trades SET direction = 'flat'"
        " WHERE trade_number = 2",
        "ck_mcp_backtest_portfolios_symbols_array": "UPDATE mcp_backtest_portfolios"
        " SET symbols = '{\"S0\": 1}' WHERE portfolio_name LIKE '%1'",
        "sharpe_ratio: NaN": "UPDATE mcp_backtest_results SET sharpe_ratio = 'NaN'"
        " WHERE symbol = 'S3'",
        "parameters: json": 'UPDATE mcp_backtest_results SET parameters = \'{"a": "\\u0000"}\''
        " WHERE symbol = 'S4' AND strategy_type = 'rsi'",
    }
    for statement in bad.values():
        execute(legacy_url, statement)
    state = whole_state(legacy_url)

    with pytest.raises(AdoptionError) as caught:
        migrations.adopt(legacy_url, nan_to_null=True)

    found = {f.rule: f for f in caught.value.findings}
    assert set(found) == set(bad) - {"sharpe_ratio: NaN"}  # NaN was repairable
    assert found["ck_mcp_backtest_trades_direction"].count == 40
    assert len(found["ck_mcp_backtest_trades_direction"].keys) == 5  # up to five keys
    for rule in found:
        assert rule in str(caught.value)
    assert whole_state(legacy_url) == state

    result_cli = cli("adopt", "--database", legacy_url)
    assert result_cli.returncode == 1
    for rule in bad:
        assert rule in result_cli.stderr
    assert whole_state(legacy_url) == state


def test_nulls_where_the_package_requires_a_value_are_a_finding(
    templates: dict[tuple[str, str], str],
) -> None:
    with copy_of(templates["models", "filled"], "bt_legacy") as url:
        execute(
            url,
            "UPDATE mcp_optimization_results SET optimization_date = NULL WHERE parameter_set = 1",
        )
        with pytest.raises(AdoptionError) as caught:
            migrations.adopt(url)
        (finding,) = caught.value.findings
        assert (finding.table, finding.rule, finding.count) == (
            "mcp_optimization_results",
            "optimization_date: NULL",
            5,
        )


def test_nan_to_null_repairs_nan_and_nothing_else(legacy_url: str) -> None:
    execute(
        legacy_url,
        "UPDATE mcp_backtest_results SET sharpe_ratio = 'NaN', alpha = 'NaN' WHERE symbol = 'S3'",
    )
    execute(legacy_url, "UPDATE mcp_backtest_trades SET pnl = 'NaN' WHERE trade_number = 1")
    before = snapshot(legacy_url)

    with pytest.raises(AdoptionError) as caught:
        migrations.adopt(legacy_url)  # without the flag, NaN is a finding like any other
    assert {f.rule for f in caught.value.findings} == {
        "sharpe_ratio: NaN",
        "alpha: NaN",
        "pnl: NaN",
    }

    plan = migrations.adopt(legacy_url, nan_to_null=True)

    assert plan.nan_repairs == {
        "mcp_backtest_results.sharpe_ratio": 8,
        "mcp_backtest_results.alpha": 8,
        "mcp_backtest_trades.pnl": 40,
    }
    # each value is kept, except that NaN became NULL
    repaired = {t: [{k: None if v == legacy.NAN else v for k, v in row.items()} for row in rows]
                for t, rows in before.items()}  # fmt: skip
    kept(repaired, snapshot(legacy_url))


def test_nan_in_a_column_that_must_have_a_value_is_not_repaired(legacy_url: str) -> None:
    execute(legacy_url, "UPDATE mcp_backtest_trades SET entry_price = 'NaN' WHERE trade_number = 3")
    with pytest.raises(AdoptionError) as caught:
        migrations.adopt(legacy_url, nan_to_null=True)
    (finding,) = caught.value.findings
    assert (finding.rule, finding.repairable) == ("entry_price: NaN", False)


def test_tables_that_differ_from_both_shapes_are_listed_and_left_alone(legacy_url: str) -> None:
    execute(legacy_url, "ALTER TABLE mcp_backtest_results ADD COLUMN desk text")
    execute(legacy_url, "DROP INDEX mcp_backtest_trades_entry_date_idx")
    execute(
        legacy_url, "ALTER TABLE mcp_backtest_portfolios ALTER COLUMN description TYPE varchar(99)"
    )
    state = whole_state(legacy_url)
    with pytest.raises(AdoptionError) as caught:
        migrations.adopt(legacy_url)
    text = "\n".join(caught.value.differences)
    assert "mcp_backtest_results.desk: an extra column (text)" in text
    assert "missing index mcp_backtest_trades_entry_date_idx" in text
    assert "mcp_backtest_portfolios.description: is character varying(99), expected text" in text
    assert len(caught.value.differences) == 3
    assert whole_state(legacy_url) == state
    dry = cli("adopt", "--dry-run", "--database", legacy_url)
    assert dry.returncode == 1 and "an extra column" in dry.stdout + dry.stderr


def test_a_database_without_the_tables_is_not_adoptable(empty_db_url: str) -> None:
    with pytest.raises(AdoptionError, match="nothing to adopt"):
        migrations.adopt(empty_db_url)


def test_a_dry_run_prints_the_plan_and_changes_nothing(legacy_url: str) -> None:
    execute(legacy_url, "UPDATE mcp_backtest_results SET alpha = 'NaN' WHERE symbol = 'S1'")
    state = whole_state(legacy_url)

    run = cli("adopt", "--dry-run", "--nan-to-null", "--database", legacy_url)

    assert run.returncode == 0, run.stderr
    plan = run.stdout
    assert "mcp_backtest_results 40" in plan and "mcp_backtest_trades 160" in plan
    assert "alpha: NaN: 8 row(s)" in plan and "-> NULL (--nan-to-null)" in plan
    assert "[ACCESS EXCLUSIVE on the five tables] LOCK TABLE" in plan
    assert "[ACCESS EXCLUSIVE on mcp_backtest_results; rewrites 40 rows] ALTER TABLE" in plan
    assert "[ACCESS EXCLUSIVE on mcp_backtest_trades; reads 160 rows] ALTER TABLE" in plan
    assert "CREATE TRIGGER" in plan and "COMMENT ON" in plan
    assert "then, the normal way: 0008" in plan
    assert whole_state(legacy_url) == state
    with psycopg.connect(legacy_url) as conn:  # not even yoyo's tables
        assert not runner.table_exists(conn, "_yoyo_migration")


def test_migrate_and_status_on_an_unadopted_database_name_adopt_and_change_nothing(
    legacy_url: str,
) -> None:
    state = whole_state(legacy_url)
    for command in ("migrate", "status"):
        run = cli(command, "--database", legacy_url)
        assert run.returncode == 1, command
        assert f"backtest-store adopt --database '{legacy_url}'" in run.stderr, command
    with pytest.raises(NotAdoptedError):
        migrations.apply(legacy_url)
    assert whole_state(legacy_url) == state
    with psycopg.connect(legacy_url) as conn:
        assert not runner.table_exists(conn, "_yoyo_migration")


def test_migrate_refuses_objects_that_exist_already_before_changing_anything(
    empty_db_url: str,
) -> None:
    """Not only the legacy tables: any object a pending migration would create."""
    execute(empty_db_url, "CREATE TABLE mcp_backtest_portfolios (id int)")
    with pytest.raises(MigrationError, match="relation mcp_backtest_portfolios") as caught:
        migrations.apply(empty_db_url)
    assert not isinstance(caught.value, NotAdoptedError)
    with psycopg.connect(empty_db_url) as conn:
        assert not runner.table_exists(conn, "_yoyo_migration")
        assert not runner.table_exists(conn, "mcp_backtest_results")


# -- notes, locks, kills, progress ------------------------------------------------------------


def test_values_whose_meaning_jsonb_changes_are_reported(legacy_url: str) -> None:
    execute(
        legacy_url,
        """UPDATE mcp_backtest_results
        SET parameters = '{"fast": 5, "nested": {"k": 1, "k": 2}, "fast": 7}'
        WHERE symbol = 'S2' AND strategy_type = 'breakout'""",
    )
    plan = migrations.adopt(legacy_url)
    (note,) = plan.meaning_changes
    assert note.rule == "parameters: duplicate json keys (jsonb keeps the last)"
    assert note.count == 3  # rows 2, 17 and 32 have symbol S2 and strategy breakout
    with psycopg.connect(legacy_url) as conn:
        row = conn.execute(
            "SELECT parameters FROM mcp_backtest_results WHERE backtest_id = %s::uuid",
            (note.keys[0],),
        ).fetchone()
    assert row == ({"fast": 7, "nested": {"k": 2}},)
