"""What every benchmark section shares: the server (the tests' own: devkit/dbs.py),
fresh databases and copies, timers, percentiles and the one spread of rounds."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from devkit.dbs import SERVER_URL, url_for
from psycopg import sql

from backtest_store import migrations

ROOT = Path(__file__).resolve().parents[1]
SERVER = SERVER_URL  # the tests' server: one definition, in devkit/dbs.py


def fresh_database(name: str) -> str:
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_for(name)
    migrations.apply(url)
    return url


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def spread(values: list[float]) -> list[float]:
    """[min, median, max] of the rounds."""
    return [min(values), statistics.median(values), max(values)]


@contextmanager
def timer(out: dict[str, float], key: str) -> Iterator[None]:
    gc.collect()
    start = time.perf_counter()
    yield
    out[key] = time.perf_counter() - start


def truncate(conn: psycopg.Connection[Any]) -> None:
    """Empty tables and quiet the machine: the dev cluster runs with fsync off, so the
    kernel's writeback of earlier scenarios' pages would otherwise land in later timings."""
    conn.execute("TRUNCATE mcp_backtest_results CASCADE")
    conn.execute("CHECKPOINT")
    os.sync()


def copy_database(source: str, name: str) -> str:
    """A fresh copy of a database (CREATE DATABASE ... TEMPLATE: a file copy)."""
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
    return url_for(name)
