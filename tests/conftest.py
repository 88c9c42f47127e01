"""Fixtures: a migrated template database, built once per run, and a clone of it that a
worker's tests share, made clean again between them (devkit/shared_db.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from devkit import legacy
from devkit.adopting import SHAPES
from devkit.dbs import SERVER, copy_of, kept_database, maintenance, url_for
from devkit.schema_dump import fresh_dump
from devkit.shared_db import SharedDatabase
from psycopg import sql
from pytest_postgresql import factories

from backtest_store import migrations


def load_schema(
    *, host: str, port: int, user: str, dbname: str, password: str | None, **_: Any
) -> None:
    """pytest-postgresql loader: migrate the template database with the package's migrations."""
    migrations.apply(url_for(dbname))


postgresql_server = factories.postgresql_noproc(
    host=SERVER.hostname,
    port=SERVER.port,
    user=SERVER.username,
    password=SERVER.password,
    # a run of the suite inside the suite (test_layout's python -O run) names its own, so
    # that neither drops the other's template
    dbname=os.environ.get("BACKTEST_STORE_TEST_DB", "bt_test"),
    load=[load_schema],
)


@pytest.fixture(scope="session")
def shared_database(postgresql_server: Any) -> Iterator[SharedDatabase]:
    """The worker's clone of the migrated template, shared by its tests."""
    shared = SharedDatabase(postgresql_server.template_dbname, postgresql_server.dbname)
    yield shared
    shared.drop()


@pytest.fixture
def postgresql(shared_database: SharedDatabase) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the shared database, as a new clone of the template is: no rows,
    and nothing else a test changed (``SharedDatabase.checkin``)."""
    conn = shared_database.checkout()
    try:
        yield conn
    finally:
        shared_database.checkin(conn)


@pytest.fixture
def conn(postgresql: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """An autocommit connection to a clean clone of the migrated template."""
    postgresql.autocommit = True
    return postgresql


@pytest.fixture
def db_url(postgresql: psycopg.Connection[Any]) -> str:
    """URL of the clean clone of the migrated template (shared, cleaned between tests)."""
    return url_for(postgresql.info.dbname)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """URL of a new, empty database (nothing migrated)."""
    from devkit.dbs import scratch_database

    with scratch_database() as url:
        yield url


@pytest.fixture(params=["sync", "async"])
def store(request: pytest.FixtureRequest, db_url: str) -> Iterator[Any]:
    """The sync BacktestStore, or the async one behind the same blocking interface."""
    from devkit.records import opened

    with opened(request.param, db_url) as either:
        yield either


ROLES_SQL = Path(__file__).resolve().parents[1] / "sql" / "extras" / "roles.sql"


@pytest.fixture
def logins(conn: psycopg.Connection[Any], db_url: str) -> Iterator[dict[str, str]]:
    """Run roles.sql as the owner, then make one login per role; yields their URLs."""
    conn.execute(ROLES_SQL.read_bytes())
    suffix = uuid.uuid4().hex[:8]
    names = {"app": f"bt_app_{suffix}", "readonly": f"bt_ro_{suffix}"}
    password = uuid.uuid4().hex
    with maintenance() as admin:
        for group, name in names.items():
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(name),
                    sql.Literal(password),
                    sql.Identifier(f"backtest_store_{group}"),
                )
            )
    dbname = db_url.rsplit("/", 1)[1]
    base = f"{SERVER.hostname}:{SERVER.port or 5432}/{dbname}"
    try:
        yield {group: f"postgresql://{name}:{password}@{base}" for group, name in names.items()}
    finally:
        with maintenance() as admin:
            for name in names.values():
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                    (name,),
                )
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


VOLUME_SQL = Path(__file__).resolve().parents[1] / "devkit" / "volume.sql"


def _build_volume(url: str) -> None:
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(VOLUME_SQL.read_bytes())
        conn.execute("VACUUM ANALYZE")  # as autovacuum would leave it: the plans tests read it


@pytest.fixture(scope="session")
def volume_url() -> str:
    """A migrated database holding the volume, read-only for the tests: built once per
    server and kept, under a name that changes with volume.sql or any migration."""
    made_of = [VOLUME_SQL, *sorted(Path(migrations.migrations_dir()).glob("*.sql"))]
    return kept_database("bt_volume", made_of, _build_volume)


@pytest.fixture
def volume(volume_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of the test's own to the volume database (a session-long one would not
    survive the tests that restart the server)."""
    with psycopg.connect(volume_url, autocommit=True) as conn:
        yield conn


# -- the legacy databases adoption starts from --------------------------------------


@pytest.fixture(scope="session")
def migrated_dump() -> str:
    """The schema `migrate` makes on an empty database."""
    return fresh_dump()


@pytest.fixture(scope="session")
def templates() -> Iterator[dict[tuple[str, str], str]]:
    """The legacy databases, built once per run and cloned per test: each shape made by
    the Alembic revision (``bare``), with the service's rows (``filled``), and those rows
    adopted (``adopted``)."""
    with legacy.templates() as built:
        yield built


@pytest.fixture(params=SHAPES)
def legacy_url(
    request: pytest.FixtureRequest, templates: dict[tuple[str, str], str]
) -> Iterator[str]:
    """A database as the replaced service left it, in either shape, with rows."""
    with copy_of(templates[request.param, "filled"], "bt_legacy") as url:
        yield url
