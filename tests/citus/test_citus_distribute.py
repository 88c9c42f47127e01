"""`backtest-store distribute` on a real Citus cluster: what it changes (the child keys),
what it keeps (every other line of the schema), where the rows go (the shards, none left
on the coordinator), and how it behaves run twice, dry, refused or killed part-way."""

from __future__ import annotations

import difflib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from devkit import citus
from devkit.records import optimization, portfolio, result, trade, window
from devkit.schema_dump import dump
from psycopg import sql

from backtest_store import BacktestStore, migrations
from backtest_store.cli.main import main
from backtest_store.distribution import DistributionError, distribute
from backtest_store.errors import SchemaVersionError
from backtest_store.tables import ALL
from tests.citus.conftest import SHARDS

ROOT = Path(__file__).resolve().parents[2]


def fill(url: str, backtests: int = 12) -> None:
    with BacktestStore.connect(url) as store:
        for i in range(backtests):
            saved = store.save_backtest(
                result(symbol=f"S{i % 3}", sharpe_ratio=i / 10), [trade(n) for n in range(5)]
            )
            store.save_optimization_results(saved.backtest_id, [optimization(n) for n in range(3)])
            store.save_walk_forward_tests(saved.backtest_id, [window(n) for n in range(2)])
        store.save_portfolio(portfolio())


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            s.name: conn.execute(f"SELECT * FROM {s.name} ORDER BY {s.key}").fetchall()  # noqa: S608
            for s in ALL
        }


def distribution_of(url: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT c.relname, column_to_column_name(p.logicalrelid, p.partkey), p.colocationid
               FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
               WHERE c.relnamespace = current_schema()::regnamespace"""
        ).fetchall()
    return {name: (column, colocation) for name, column, colocation in rows}


def test_distribute_changes_the_child_keys_and_nothing_else(
    citus_url: str, migrated_dump: str
) -> None:
    schema = citus.schema_of(citus_url)
    assert dump(citus_url, schema=schema) == migrated_dump  # migrate made the usual schema
    distribute(citus_url, shard_count=SHARDS)
    diff = [
        line
        for line in difflib.unified_diff(
            migrated_dump.splitlines(), dump(citus_url, schema=schema).splitlines(), n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    removed = [line for line in diff if line.startswith("-") and line != "-"]
    added = [line for line in diff if line.startswith("+") and line not in ("+", "+--")]
    assert removed == [
        "-    ADD CONSTRAINT mcp_backtest_trades_pkey PRIMARY KEY (trade_id);",
        "-    ADD CONSTRAINT mcp_optimization_results_pkey PRIMARY KEY (optimization_id);",
        "-    ADD CONSTRAINT mcp_walk_forward_tests_pkey PRIMARY KEY (walk_forward_id);",
    ]
    own_ids = [
        ("mcp_backtest_trades", "trade_id"),
        ("mcp_optimization_results", "optimization_id"),
        ("mcp_walk_forward_tests", "walk_forward_id"),
    ]
    assert sorted(added) == sorted(
        [
            "+    ADD CONSTRAINT mcp_backtest_trades_pkey PRIMARY KEY (backtest_id, trade_id);",
            "+    ADD CONSTRAINT mcp_optimization_results_pkey"
            " PRIMARY KEY (backtest_id, optimization_id);",
            "+    ADD CONSTRAINT mcp_walk_forward_tests_pkey"
            " PRIMARY KEY (parent_backtest_id, walk_forward_id);",
        ]
        + [f"+-- Name: {t}_{c}_idx; Type: INDEX; Schema: public; Owner: -" for t, c in own_ids]
        + [f"+CREATE INDEX {t}_{c}_idx ON public.{t} USING btree ({c});" for t, c in own_ids]
    )


def test_all_five_tables_hash_distributed_in_one_colocation_group(distributed_url: str) -> None:
    tables = distribution_of(distributed_url)
    assert {name: column for name, (column, _) in tables.items()} == {
        "mcp_backtest_results": "backtest_id",
        "mcp_backtest_trades": "backtest_id",
        "mcp_optimization_results": "backtest_id",
        "mcp_walk_forward_tests": "parent_backtest_id",
        "mcp_backtest_portfolios": "portfolio_backtest_id",
    }
    assert len({colocation for _, colocation in tables.values()}) == 1
    with psycopg.connect(distributed_url) as conn:
        shards = conn.execute(
            "SELECT logicalrelid::regclass::text, count(*) FROM pg_dist_shard"
            " WHERE logicalrelid = ANY(%s::regclass[]) GROUP BY 1",
            ([s.name for s in ALL],),
        ).fetchall()
    assert {n for _, n in shards} == {SHARDS}


def test_existing_rows_move_to_the_shards_and_none_stay_behind(citus_url: str) -> None:
    fill(citus_url)
    before = every_row(citus_url)
    assert all(before.values())
    distribute(citus_url, shard_count=SHARDS)
    assert every_row(citus_url) == before
    with psycopg.connect(citus_url) as conn:
        for spec in ALL:
            # the coordinator's own table (the shell the shards hang from) holds nothing
            row = conn.execute("SELECT pg_relation_size(%s::regclass)", (spec.name,)).fetchone()
            assert row == (0,), spec.name
            placements = conn.execute(
                """SELECT count(DISTINCT p.groupid) FROM pg_dist_shard s
                   JOIN pg_dist_placement p USING (shardid)
                   WHERE s.logicalrelid = %s::regclass""",
                (spec.name,),
            ).fetchone()
            assert placements and placements[0] >= 2, f"{spec.name} is not spread over workers"


def test_the_updated_at_trigger_fires_on_the_shards(distributed_url: str) -> None:
    with BacktestStore.connect(distributed_url) as store:
        saved = store.save_backtest(result(), [trade(0)])
    with psycopg.connect(distributed_url, autocommit=True) as conn:
        for table in ("mcp_backtest_results", "mcp_backtest_trades"):
            where = sql.SQL("FROM {} WHERE backtest_id = %s").format(sql.Identifier(table))
            before = conn.execute(
                sql.SQL("SELECT updated_at {}").format(where), (saved.backtest_id,)
            ).fetchone()
            time.sleep(0.01)
            after = conn.execute(
                sql.SQL("UPDATE {} SET created_at = created_at WHERE backtest_id = %s"
                        " RETURNING updated_at").format(sql.Identifier(table)),
                (saved.backtest_id,),
            ).fetchone()  # fmt: skip
            assert before and after and after[0] > before[0], table
        counts = conn.execute(
            """SELECT result FROM run_command_on_shards('mcp_backtest_trades',
               $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass
                 AND tgname LIKE 'mcp_backtest_trades_set_updated_at%%'$$)"""
        ).fetchall()
        assert [c for (c,) in counts] == ["1"] * SHARDS
        unsafe = conn.execute("SHOW citus.enable_unsafe_triggers").fetchone()
        assert unsafe == ("off",)  # set for the distributing transaction only


def test_checks_foreign_keys_and_nan_refusals_hold_on_the_shards(distributed_url: str) -> None:
    from backtest_store.errors import ConstraintViolation

    with BacktestStore.connect(distributed_url) as store:
        saved = store.save_backtest(result(), [trade(0)])
        with psycopg.connect(distributed_url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.CheckViolation, match="sharpe_ratio_not_nan"):
                conn.execute(
                    "UPDATE mcp_backtest_results SET sharpe_ratio = 'NaN' WHERE backtest_id = %s",
                    (saved.backtest_id,),
                )
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute(
                    "INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date,"
                    " entry_price, direction) VALUES (gen_random_uuid(), 1, now(), 1, 'long')"
                )
        with pytest.raises(ConstraintViolation, match="direction"):
            store.save_trades(saved.backtest_id, [trade(1, direction="buy")])
        assert store.delete_backtest(saved.backtest_id)
        assert store.get_trades(saved.backtest_id) == []  # the cascade, on the shard


def test_a_second_run_changes_nothing_and_status_says_distributed(
    distributed_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = citus.schema_of(distributed_url)
    before = dump(distributed_url, schema=schema)
    plan = distribute(distributed_url)
    assert plan.nothing_to_do
    assert dump(distributed_url, schema=schema) == before
    assert main(["distribute", "--database", distributed_url]) == 0
    assert "distributed already; nothing to do" in capsys.readouterr().out
    assert main(["status", "--database", distributed_url]) == 0
    out = capsys.readouterr().out
    assert f"distributed on Citus: 5 tables, {SHARDS} shards" in out.splitlines()


def test_dry_run_prints_each_statement_with_its_lock_and_changes_nothing(
    citus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = citus.schema_of(citus_url)
    before = dump(citus_url, schema=schema)
    assert main(["distribute", "--database", citus_url, "--dry-run", "--shard-count", "6"]) == 0
    out = capsys.readouterr().out
    statements = [line for line in out.splitlines() if not line.startswith("--")]
    locks = [line for line in out.splitlines() if line.startswith("-- lock: ")]
    assert statements[0] == "BEGIN;" and statements[-1] == "COMMIT;"
    assert len(locks) == len(statements) - 2  # one lock line above every statement
    assert sum("create_distributed_table" in s for s in statements) == 5
    assert "shard_count => 6" in out
    assert "SET LOCAL citus.enable_unsafe_triggers = on;" in statements
    assert dump(citus_url, schema=schema) == before
    assert distribution_of(citus_url) == {}


def test_preflight_refuses_an_unmigrated_database(capsys: pytest.CaptureFixture[str]) -> None:
    with citus.schema() as url:
        with pytest.raises(SchemaVersionError):
            distribute(url)
        assert main(["distribute", "--database", url]) == 3
        assert "backtest-store migrate" in capsys.readouterr().err
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
            ).fetchone()
        assert tables == (0,)


def test_a_bad_shard_count_is_refused(citus_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["distribute", "--database", citus_url, "--shard-count", "0"]) == 2
    assert "shard_count must be between 1 and 64000, got 0" in capsys.readouterr().err
    assert distribution_of(citus_url) == {}


def test_killed_part_way_it_is_as_it_was_and_a_second_run_finishes(citus_url: str) -> None:
    fill(citus_url, backtests=4)
    schema = citus.schema_of(citus_url)
    before_schema, before_rows = dump(citus_url, schema=schema), every_row(citus_url)
    with psycopg.connect(citus_url) as blocker, citus.admin() as watch:
        # an open transaction that is writing a portfolio: distribute gets as far as it
        # (the child keys changed, four tables distributed) and waits for its lock
        blocker.execute("LOCK TABLE mcp_backtest_portfolios IN ROW EXCLUSIVE MODE")
        run = subprocess.Popen(
            [sys.executable, "-m", "backtest_store.cli", "distribute", "--database", citus_url],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        waiting = None
        for _ in range(80):  # within distribute's lock_timeout (5 s)
            waiting = watch.execute(
                """SELECT pid, query FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                   AND query LIKE '%%create_distributed_table(''mcp_backtest_portfolios''%%'"""
            ).fetchone()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "distribute never reached the portfolios"
        run.send_signal(signal.SIGKILL)
        run.wait()
        with citus.admin() as admin:  # the server side of the killed client goes too
            admin.execute("SELECT pg_terminate_backend(%s::int)", (waiting[0],))
        blocker.rollback()
    for _ in range(50):
        with citus.admin() as admin:
            gone = admin.execute(
                "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s::int)",
                (waiting[0],),
            ).fetchone()
        if gone and gone[0]:
            break
        time.sleep(0.1)
    assert distribution_of(citus_url) == {}
    assert dump(citus_url, schema=schema) == before_schema
    assert every_row(citus_url) == before_rows
    distribute(citus_url, shard_count=SHARDS)
    assert len(distribution_of(citus_url)) == 5
    assert every_row(citus_url) == before_rows


def test_preflight_refuses_a_coordinator_without_workers_and_a_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A database with the citus extension but no workers registered (a new database on
    the coordinator), and a worker's own database: both refused, nothing changed."""
    assert citus.CITUS_URL is not None
    name = f"bt_citus_alone_{uuid.uuid4().hex[:8]}"
    with citus.admin() as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("CITUS_URL's role may not create a database: the no-workers case needs one")
        host, port = admin.execute(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    alone = citus.CITUS_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(alone, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute("CREATE EXTENSION citus")
        migrations.apply(alone)
        assert main(["distribute", "--database", alone]) == 2
        assert "has no active primary worker nodes" in capsys.readouterr().err
        assert distribution_of(alone) == {}
    finally:
        with citus.admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    parts = urlsplit(citus.CITUS_URL)
    worker = parts._replace(netloc=f"{parts.username}@{host}:{port}").geturl()
    with pytest.raises(DistributionError, match="is a Citus worker, not the coordinator"):
        distribute(worker)


def test_preflight_refuses_shard_replication(citus_url: str) -> None:
    """Foreign keys between distributed tables need citus.shard_replication_factor = 1."""
    replicated = citus_url.replace(
        "search_path%3D", "citus.shard_replication_factor%3D2%20-csearch_path%3D"
    )
    with pytest.raises(DistributionError, match=r"citus\.shard_replication_factor is 2"):
        distribute(replicated)
    assert distribution_of(citus_url) == {}


def test_behind_a_long_transaction_it_gives_up_changing_nothing(
    citus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """lock_timeout: a save that holds its table longer than 5 s makes distribute fail
    fast (exit 4, busy), rolled back, rather than queue every session behind it."""
    schema = citus.schema_of(citus_url)
    before = dump(citus_url, schema=schema)
    with psycopg.connect(citus_url) as blocker:
        blocker.execute("LOCK TABLE mcp_backtest_portfolios IN ROW EXCLUSIVE MODE")
        assert main(["distribute", "--database", citus_url]) == 4
        blocker.rollback()
    err = capsys.readouterr().err
    assert "lock timeout" in err and "run distribute again" in err
    assert distribution_of(citus_url) == {}
    assert dump(citus_url, schema=schema) == before
