"""Adoption interrupted: a busy table makes it give up, a kill at any point leaves the
database as it was (or adopted, once the later migrations run) and a rerun finishes, and
its progress shows on a terminal, at volume (20,000 results built once, in SQL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from devkit import legacy
from devkit.adopting import (
    BIN,
    OTHER,
    cli,
    kept,
    snapshot,
    whole_state,
)
from devkit.dbs import copy_of, scratch_database
from devkit.schema_dump import dump

from backtest_store import migrations
from backtest_store.errors import MigrationError
from backtest_store.schema.adoption import catalog


def test_a_busy_table_makes_adopt_give_up_and_roll_back(legacy_url: str) -> None:
    state = whole_state(legacy_url)
    with psycopg.connect(legacy_url) as reader:
        reader.execute("SELECT count(*) FROM mcp_backtest_trades")  # holds ACCESS SHARE
        with pytest.raises(MigrationError, match="gave up waiting 200ms for a lock"):
            migrations.adopt(legacy_url, lock_timeout="200ms")
        reader.rollback()
    after = whole_state(legacy_url)
    # Only yoyo's empty bookkeeping tables may have appeared: they record nothing.
    assert (after[0], after[1]) == (state[0], state[1]) and after[2] == []
    migrations.adopt(legacy_url)  # quiet again: it goes through
    assert migrations.status(legacy_url).pending == []


@pytest.fixture(scope="module")
def legacy_volume_template() -> Iterator[str]:
    """A legacy database with 20,000 results and 200,000 trades, built once (in SQL)."""
    with scratch_database("bt_legacy_volume") as url:
        legacy.make_legacy(url, "revision")
        legacy.fill_volume(url, results=20_000)
        yield url


def test_a_killed_adopt_leaves_the_database_as_it_was_and_a_rerun_finishes(
    legacy_volume_template: str, migrated_dump: str
) -> None:
    with copy_of(legacy_volume_template) as url:
        before = snapshot(url)
        schema = dump(url)

        _kill_adopt_during(url, "ALTER TABLE mcp_backtest_trades")

        assert dump(url) == schema
        assert snapshot(url) == before
        assert migrations.status(url).applied == []

        migrations.adopt(url)
        assert dump(url, exclude=OTHER) == migrated_dump
        kept(before, snapshot(url))


def test_an_adopt_killed_in_the_later_migrations_has_adopted_and_a_rerun_finishes(
    legacy_volume_template: str, migrated_dump: str
) -> None:
    """Killed while 0008 builds its indexes: the adoption itself is committed. What is
    left is what a killed `migrate` leaves (yoyo's lock row, perhaps an INVALID index):
    break-lock, as the message says, and adopt again finishes."""
    with copy_of(legacy_volume_template) as url:
        before = snapshot(url)
        _kill_adopt_during(url, "CREATE INDEX CONCURRENTLY")

        status = migrations.status(url)
        assert set(catalog.ADOPTED) <= set(status.applied) and status.pending
        with pytest.raises(MigrationError, match=f"backtest-store break-lock --database '{url}'"):
            migrations.adopt(url)
        assert cli("break-lock", "--database", url).returncode == 0
        migrations.adopt(url)
        assert dump(url, exclude=OTHER) == migrated_dump
        kept(before, snapshot(url))


def _kill_adopt_during(url: str, statement: str) -> None:
    """Run `backtest-store adopt`, SIGKILL it while the server runs ``statement``, and wait
    until the server has noticed (its backends gone: what was not committed rolled back)."""
    proc = subprocess.Popen(
        [str(BIN / "backtest-store"), "adopt", "--database", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    with psycopg.connect(url, autocommit=True) as watcher:
        _wait_for(watcher, statement)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_for(watcher, None)


def _wait_for(conn: psycopg.Connection[Any], statement: str | None, seconds: float = 60) -> None:
    """Until a backend of the database runs ``statement`` (None: until none runs anything)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'"
        ).fetchall()
        if statement is None and not rows:
            return
        if statement is not None and any(r[0].startswith(statement) for r in rows):
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {statement or 'the backends to end'}")


def test_progress_shows_each_table_on_a_terminal_and_nothing_in_a_pipe(
    legacy_url: str, templates: dict[tuple[str, str], str]
) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [str(BIN / "backtest-store"), "adopt", "--database", legacy_url],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        check=True,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0
    text = shown.decode()
    assert "mcp_backtest_results: json to jsonb, defaults, NOT NULL, 40 rows" in text
    rows = {"mcp_backtest_results": 40, "mcp_backtest_trades": 160,
            "mcp_optimization_results": 15, "mcp_walk_forward_tests": 5,
            "mcp_backtest_portfolios": 3}  # fmt: skip
    for table, count in rows.items():
        assert f"{table}: {count} rows adopted in" in text

    with copy_of(templates["revision", "bare"], "bt_legacy") as url:
        piped = cli("adopt", "--database", url, check=True)
        assert piped.stderr == ""
