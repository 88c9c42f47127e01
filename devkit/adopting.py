"""What the adoption tests share: the application's other tables, the state of a database
(schema and rows) to compare before and after, and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from backtest_store.schema import runner
from backtest_store.tables import ALL
from devkit import legacy
from devkit.schema_dump import dump

BIN = Path(sys.executable).parent
# The application's other tables (and their sequences) beside ours: never touched.
OTHER = (
    "alembic_version",
    "mcp_users",
    "mcp_users_user_id_seq",
    "mcp_users_email_key",
    "mcp_watchlists",
    "mcp_watchlists_id_seq",
)
OTHER_TABLES = (
    ("alembic_version", "version_num"),
    ("mcp_users", "user_id"),
    ("mcp_watchlists", "id"),
)
SHAPES = ("revision", "models")


def snapshot(url: str, *, as_jsonb: bool = True) -> dict[str, Any]:
    """Every row of every table, ours and the application's; json compared as jsonb, or
    as text when the json may hold what jsonb refuses."""
    keys = [(spec.name, spec.key) for spec in ALL]
    out: dict[str, Any] = {}
    for table, key in (*keys, *OTHER_TABLES):
        if migrations_table_exists(url, table):
            out[table] = legacy.table_rows(url, table, key, as_jsonb=as_jsonb)
    return out


def kept(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every row of ``before`` is in ``after`` with every value as it was; a column that
    a migration added since (0011's provenance) is NULL in each of them."""
    assert after.keys() == before.keys()
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table], strict=True):
            assert {k: new[k] for k in old} == old, table
            assert all(new[k] is None for k in new.keys() - old.keys()), (table, new)


def migrations_table_exists(url: str, table: str) -> bool:
    with psycopg.connect(url) as conn:
        return runner.table_exists(conn, table)


def whole_state(url: str) -> tuple[str, dict[str, Any], list[Any]]:
    """Schema, rows, and what yoyo records as applied: all that a refusal must not change."""
    with psycopg.connect(url) as conn:
        applied = (
            conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
            if runner.table_exists(conn, "_yoyo_migration")
            else []
        )
    return dump(url), snapshot(url, as_jsonb=False), applied


def cli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "backtest-store"), *args], capture_output=True, text=True, check=check
    )


def execute(url: str, statement: str, params: Any = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


# -- the happy path, both shapes --------------------------------------------------------
