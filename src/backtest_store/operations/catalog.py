"""The catalog questions, asked one way wherever they are asked: does a relation exist,
is Citus installed, does Citus distribute a table. The migration runner asks them over
its connection (``relation_exists``, ``citus_installed``), the store's operations as
statements (``is_citus``, ``is_distributed``); and the operations that ask them:
whether the results table is distributed, and the schema version every store checks
first (``check_schema``)."""

from __future__ import annotations

from typing import Any

import psycopg

from backtest_store.operations.sql import Statement
from backtest_store.operations.steps import Fetch, Operation, fetch
from backtest_store.schema.version import APPLIED_SQL, YOYO_MIGRATION_TABLE, verify_applied
from backtest_store.tables import RESULTS, TableSpec

RELATION_EXISTS = "SELECT to_regclass(%(name)s) IS NOT NULL"
CITUS_INSTALLED = "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')"
DISTRIBUTED = (
    "SELECT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = to_regclass(%(name)s))"
)


def relation_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute(RELATION_EXISTS, {"name": name}).fetchone()
    return bool(row and row[0])


def citus_installed(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(CITUS_INSTALLED).fetchone()
    return bool(row and row[0])


def is_citus() -> Statement:
    return Statement(CITUS_INSTALLED, {})


def is_distributed(spec: TableSpec[Any]) -> Statement:
    """Whether Citus distributes the table (ask only where the citus extension is)."""
    return Statement(DISTRIBUTED, {"name": spec.name})


def results_distributed() -> Operation[bool]:
    """Whether mcp_backtest_results is a distributed table (a Citus coordinator)."""
    has_citus = yield fetch(is_citus(), "value")
    if not has_citus:
        return False
    return bool((yield fetch(is_distributed(RESULTS), "value")))


def check_schema() -> Operation[None]:
    """Raise SchemaVersionError unless the database is at this package's last migration."""
    exists = yield Fetch(RELATION_EXISTS, {"name": YOYO_MIGRATION_TABLE}, "value")
    applied: set[str] = set()
    if exists:
        rows = yield Fetch(APPLIED_SQL, None, "all")
        applied = {row[0] for row in rows}
    verify_applied(applied)
