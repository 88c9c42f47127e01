"""Fixtures of the Citus tests: the cluster (CITUS_URL; without it every test here skips,
and says why), a distributed store in a schema of its own per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from devkit import citus

from backtest_store import migrations
from backtest_store.distribution import distribute

SHARDS = 4  # per table: enough to show routing, few enough to build fast


@pytest.fixture(autouse=True, scope="session")
def cluster() -> Iterator[None]:
    """The coordinator is there, with the citus extension and active workers."""
    if citus.CITUS_URL is None:
        pytest.skip(citus.SKIP_REASON)
    with citus.admin() as conn:
        has = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()
        assert has and has[0], f"CITUS_URL={citus.CITUS_URL} has no citus extension"
        workers = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()
        assert workers and workers[0] >= 1, "the Citus coordinator has no active workers"
    yield


@pytest.fixture
def citus_url() -> Iterator[str]:
    """A migrated (not distributed) store in a new schema on the cluster."""
    with citus.schema() as url:
        migrations.apply(url)
        yield url


@pytest.fixture
def distributed_url(citus_url: str) -> str:
    """A migrated store, distributed in SHARDS shards per table."""
    distribute(citus_url, shard_count=SHARDS)
    return citus_url


@pytest.fixture
def citus_conn(distributed_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(distributed_url, autocommit=True) as conn:
        yield conn
