"""What every benchmark section shares: the server, fresh databases, percentiles."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import psycopg
from psycopg import sql

from backtest_store import migrations, urls

ROOT = Path(__file__).resolve().parents[1]
SERVER = urls.libpq_url(
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/backtest_store")
)


def url_for(dbname: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + dbname


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
