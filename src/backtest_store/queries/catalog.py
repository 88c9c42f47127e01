"""The catalog questions, asked one way wherever they are asked: does a relation exist,
is Citus installed, does Citus distribute a table. The migration runner asks them over
its connection (``relation_exists``, ``citus_installed``), the store's operations as
statements (``is_citus``, ``is_distributed``)."""

from __future__ import annotations

from typing import Any

import psycopg

from backtest_store.queries.common import Statement
from backtest_store.tables import TableSpec

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
