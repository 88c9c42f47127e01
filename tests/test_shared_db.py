"""The database the tests share (devkit/shared_db.py): a test's rows and sizes leave no
trace for the next, and a test that changed anything else leaves a new clone to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from devkit.records import result, trade
from devkit.schema_dump import dump
from devkit.shared_db import SharedDatabase

from backtest_store import BacktestStore, migrations

SIZES = ("SELECT relname, relpages, reltuples, relallvisible FROM pg_class"
         " WHERE relnamespace = 'public'::regnamespace ORDER BY relname")  # fmt: skip


@pytest.fixture
def shared(postgresql_server: Any) -> Iterator[SharedDatabase]:
    # a name of its own: xdist's workers run these tests at once
    database = SharedDatabase(postgresql_server.template_dbname, f"bt_shared_{uuid4().hex[:12]}")
    yield database
    database.drop()


def state(url: str) -> tuple[str, list[Any], list[Any]]:
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM mcp_backtest_results),"
            " (SELECT count(*) FROM mcp_backtest_trades)").fetchall()  # fmt: skip
        return dump(url), counts, conn.execute(SIZES).fetchall()


def test_a_test_s_rows_and_sizes_are_gone_and_the_same_clone_serves_the_next(
    shared: SharedDatabase,
) -> None:
    shared.checkout().close()
    fresh = state(shared.url)
    conn = shared.checkout()
    with BacktestStore.connect(shared.url) as store:
        store.save_backtest(result(), [trade(n) for n in range(50)])
    conn.autocommit = True
    conn.execute("VACUUM mcp_backtest_trades")  # sizes a new clone does not have
    assert state(shared.url) != fresh
    shared.checkin(conn)
    assert state(shared.url) == fresh and shared.clones == 1


@pytest.mark.parametrize(
    "change",
    [
        "COMMENT ON COLUMN mcp_backtest_trades.pnl IS 'changed'",
        "GRANT SELECT ON mcp_backtest_results TO PUBLIC",
        "ALTER TABLE mcp_backtest_trades DROP CONSTRAINT ck_mcp_backtest_trades_direction",
        "CREATE INDEX extra_idx ON mcp_backtest_results (notes)",
        "ALTER DATABASE {name} SET work_mem = '8MB'",
        "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
        " parameters) VALUES ('A', 's', '2024-01-01', '2024-02-01', '{}');"
        " ANALYZE mcp_backtest_results",
        "rollback",
    ],
)  # fmt: skip
def test_a_test_that_changed_anything_else_leaves_a_new_clone_to_the_next(
    shared: SharedDatabase, change: str
) -> None:
    shared.checkout().close()
    fresh = state(shared.url)
    conn = shared.checkout()
    conn.autocommit = True
    if change == "rollback":
        migrations.rollback(shared.url, steps=1)
    else:
        for statement in change.replace("{name}", shared.name).split("; "):
            conn.execute(statement)
    shared.checkin(conn)
    shared.checkout().close()
    assert shared.clones == 2 and state(shared.url) == fresh
