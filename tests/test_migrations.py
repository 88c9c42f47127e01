"""Migrations: apply, roll back, re-apply, concurrency, locks, edited files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from devkit.dbs import copy_of
from devkit.schema_dump import dump
from psycopg import sql

from backtest_store import migrations
from backtest_store.cli import main as cli
from backtest_store.errors import MigrationChecksumError, MigrationError, MigrationLockedError
from backtest_store.schema import files, runner, version

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def objects(url: str) -> list[tuple[str, str]]:
    """Every object of ours in the database: relations, functions, triggers, constraints, types."""
    bookkeeping = (
        "_yoyo_migration",
        "_yoyo_log",
        "_yoyo_version",
        "yoyo_lock",
        version.CHECKSUM_TABLE,
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT 'relation', c.relname FROM pg_class c
                 WHERE c.relnamespace = 'public'::regnamespace
                   AND NOT (c.relname = ANY(%(book)s) OR c.relname LIKE ANY(%(bookidx)s))
               UNION ALL
               SELECT 'function', proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
               UNION ALL
               SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal
               UNION ALL
               SELECT 'type', typname FROM pg_type t WHERE typnamespace = 'public'::regnamespace
                 AND typname <> ALL(%(booktypes)s)
               ORDER BY 1, 2""",
            {
                "book": list(bookkeeping),
                "bookidx": [f"{b}%" for b in bookkeeping],
                "booktypes": [*bookkeeping, *(f"_{b}" for b in bookkeeping)],
            },
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_checked_in_schema_dump_is_current(db_url: str) -> None:
    """schema.sql is what the migrations produce (regenerate with `make schema-dump`)."""
    assert dump(db_url) == (ROOT / "schema.sql").read_text(), (
        "run `make schema-dump` and review the diff"
    )


def test_rollback_of_everything_leaves_nothing_and_reapply_is_identical(db_url: str) -> None:
    before = dump(db_url)
    assert len(objects(db_url)) > 40
    done = migrations.rollback(db_url, steps=None)
    assert done == list(reversed(migrations.migration_ids()))
    assert objects(db_url) == []
    assert migrations.status(db_url).applied == []
    assert migrations.apply(db_url) == migrations.migration_ids()
    assert dump(db_url) == before


def validated(url: str) -> str:
    """The dump of a copy of the database at ``url`` with every NOT VALID check validated."""
    with copy_of(url, "bt_validated") as copy, psycopg.connect(copy, autocommit=True) as conn:
        checks = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'c' AND NOT convalidated"
        ).fetchall()
        for table, name in checks:
            conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))  # fmt: skip
        return dump(copy)


def test_each_migration_rolls_back_to_the_previous_state_and_reapplies(empty_db_url: str) -> None:
    """sqitch-style: for every migration, apply it alone (``to``), roll it back, compare,
    re-apply, compare. A rollback leaves the checks its migration validated valid (a
    migration that validates an earlier one's NOT VALID checks, as 0012 does 0011's, does
    not make them unchecked again): only that may differ from the state before."""
    before = dump(empty_db_url)
    for mid in migrations.migration_ids():
        validates = "VALIDATE CONSTRAINT" in (files.migrations_dir() / f"{mid}.sql").read_text()
        expected = validated(empty_db_url) if validates else before
        assert migrations.apply(empty_db_url, to=mid) == [mid]
        after = dump(empty_db_url)
        assert migrations.rollback(empty_db_url, steps=1) == [mid]
        assert dump(empty_db_url) == expected, f"rollback of {mid} left something behind"
        assert migrations.apply(empty_db_url, to=mid) == [mid]
        assert dump(empty_db_url) == after, f"re-applying {mid} differs"
        before = after
    assert migrations.status(empty_db_url).pending == []


def test_apply_to_a_migration_and_migrate_to(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = migrations.migration_ids()
    assert migrations.apply(empty_db_url, to=ids[2]) == ids[:3]
    assert migrations.apply(empty_db_url, to=ids[1]) == []  # applied already
    assert migrations.status(empty_db_url).pending == ids[3:]
    with pytest.raises(MigrationError, match=r"no migration '9999\.nothing'"):
        migrations.apply(empty_db_url, to="9999.nothing")
    assert cli.main(["migrate", "--to", "9999.nothing", "--database", empty_db_url]) == 2
    assert "--to '9999.nothing' is no migration of this package" in capsys.readouterr().err
    assert cli.main(["migrate", "--to", ids[4], "--database", empty_db_url]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"  {m}" for m in ids[3:5]]
    assert cli.main(["migrate", "--to", ids[4], "--database", empty_db_url]) == 0
    assert f"{ids[4]} is applied already, nothing to do" in capsys.readouterr().out
    assert migrations.apply(empty_db_url) == ids[5:]


def test_apply_is_idempotent(db_url: str) -> None:
    assert migrations.apply(db_url) == []
    st = migrations.status(db_url)
    assert st.applied == migrations.migration_ids() and st.pending == [] and st.edited == []


def test_cli_accepts_postgres_and_postgresql_urls_and_database_url_env(
    empty_db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres_url = "postgres://" + empty_db_url.split("://", 1)[1]
    assert cli.main(["status", "--database", postgres_url]) == 0
    assert capsys.readouterr().out.count("pending") == len(migrations.migration_ids())
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert cli.main(["migrate"]) == 0
    assert f"applied {len(migrations.migration_ids())} migration(s)" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert f"up to date at {migrations.required_version()}" in capsys.readouterr().out
    assert cli.main(["rollback", "--steps", "2"]) == 0
    assert migrations.status(empty_db_url).pending == migrations.migration_ids()[-2:]
    assert cli.main(["rollback", "--all"]) == 0
    assert migrations.status(empty_db_url).applied == []


def test_no_database_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["status"]) == 1
    assert "pass --database URL or set DATABASE_URL" in capsys.readouterr().err


@pytest.mark.slow
def test_two_concurrent_migrate_processes_both_succeed(empty_db_url: str) -> None:
    cmd = [str(BIN / "backtest-store"), "migrate", "--database", empty_db_url]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    joined = sorted(o[0] for o in outs)
    applied = f"applied {len(migrations.migration_ids())} migration(s)"
    assert applied in joined[0] and "up to date" in joined[1], outs
    assert migrations.status(empty_db_url).pending == []


def test_a_lock_left_by_a_killed_run_is_reported_with_the_command_that_clears_it(
    empty_db_url: str,
) -> None:
    migrations.apply(empty_db_url)
    migrations.rollback(empty_db_url, steps=1)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:  # what a killed run leaves
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 999999)")
    with pytest.raises(MigrationLockedError) as caught:
        migrations.apply(empty_db_url, lock_wait_seconds=5)
    message = str(caught.value)
    assert "process 999999" in message
    assert f"backtest-store break-lock --database '{empty_db_url}'" in message
    assert cli.main(["break-lock", "--database", empty_db_url]) == 0
    assert migrations.apply(empty_db_url) == [migrations.migration_ids()[-1]]


def test_an_invalid_index_left_by_a_failed_concurrent_build_is_rebuilt(db_url: str) -> None:
    """A killed or failed CREATE INDEX CONCURRENTLY leaves an INVALID index of the same
    name, which IF NOT EXISTS would keep: the next run drops it and builds it again."""
    migrations.rollback(db_url, steps=len(migrations.migration_ids()) - 7)  # back to 0007
    with psycopg.connect(db_url, autocommit=True) as conn:
        for _ in range(2):
            conn.execute(
                "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date)"
                " VALUES ('A', 's', '2024-01-01', '2024-02-01')"
            )
        with pytest.raises(psycopg.errors.UniqueViolation):  # fails half-way: INVALID
            conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY mcp_backtest_results_volatility_idx"
                " ON mcp_backtest_results (symbol)"
            )
        valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass"
        assert conn.execute(valid, ("mcp_backtest_results_volatility_idx",)).fetchone() == (False,)
    migrations.apply(db_url)
    assert dump(db_url) == (ROOT / "schema.sql").read_text()


def test_a_running_migration_holds_others_back(empty_db_url: str) -> None:
    """While one run holds the advisory lock, another waits, then gives up clearly."""
    with psycopg.connect(empty_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (runner._ADVISORY_LOCK_KEY,))
        with pytest.raises(MigrationLockedError, match="another migration run"):
            migrations.apply(empty_db_url, lock_wait_seconds=0.5)
    assert migrations.apply(empty_db_url) == migrations.migration_ids()


@pytest.fixture
def editable_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the migrations that the package reads instead of its own."""
    copy = tmp_path / "sql"
    shutil.copytree(migrations.migrations_dir(), copy)
    monkeypatch.setattr(files, "migrations_dir", lambda: copy)  # what every reader of sql/ asks
    return copy


def test_an_edited_applied_file_is_caught(
    empty_db_url: str, editable_sql: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrations.apply(empty_db_url)
    edited = editable_sql / "0002.create-backtest-results.sql"
    edited.write_text(edited.read_text().replace("varchar(10)", "varchar(12)"))
    assert migrations.status(empty_db_url).edited == ["0002.create-backtest-results"]
    with pytest.raises(MigrationChecksumError, match=r"sql/0002\.create-backtest-results\.sql"):
        migrations.apply(empty_db_url)
    assert cli.main(["status", "--database", empty_db_url]) == 1
    captured = capsys.readouterr()
    assert "EDITED   0002.create-backtest-results" in captured.out
    assert "sql/0002.create-backtest-results.sql" in captured.err
    assert cli.main(["migrate", "--database", empty_db_url]) == 1


def test_schema_check_reports_behind_and_ahead(empty_db_url: str) -> None:
    from backtest_store.errors import SchemaVersionError

    ids = migrations.migration_ids()
    last = re.escape(ids[-1])
    with pytest.raises(
        SchemaVersionError,
        match=rf"no migration .* needs {last}: run `backtest-store migrate",
    ):
        version.verify_applied(set())
    with pytest.raises(
        SchemaVersionError,
        match=rf"at migration 0005\.create-walk-forward-tests; this package needs {last}",
    ):
        version.verify_applied(set(ids[:5]))
    with pytest.raises(SchemaVersionError, match="ahead of this package"):
        version.verify_applied({*ids, "0099.future"})
    version.verify_applied(set(ids))


def test_concurrent_first_calls_of_an_async_store_each_wait_for_the_schema_check(
    db_url: str,
) -> None:
    """On a database a migration behind, every first call of an async store on a pool is
    refused, the ones that start while the check is still running included."""
    import asyncio

    from psycopg_pool import AsyncConnectionPool

    from backtest_store import AsyncBacktestStore
    from backtest_store.errors import SchemaVersionError

    migrations.rollback(db_url, steps=1)

    async def main() -> list[BaseException | None]:
        async with AsyncConnectionPool(db_url, min_size=4, max_size=4, open=False) as pool:
            store = AsyncBacktestStore(pool)
            calls = [store.list_backtests(limit=1) for _ in range(4)]
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    outcomes = asyncio.run(main())
    assert all(isinstance(o, SchemaVersionError) for o in outcomes), outcomes


def test_apply_reports_each_migration_as_it_goes(empty_db_url: str) -> None:
    lines: list[str] = []
    done = migrations.apply(empty_db_url, progress=lines.append)
    assert done == migrations.migration_ids()
    assert lines[0::2] == [f"applying {m}" for m in done]
    assert all(
        line.startswith(f"applied {m} in ") for line, m in zip(lines[1::2], done, strict=True)
    )
    assert migrations.status(empty_db_url).pending == []
