"""Apply, roll back and inspect the schema migrations (yoyo).

On top of yoyo this module adds:

* a PostgreSQL advisory lock around every run, so two ``migrate`` processes
  started at once both succeed: one applies, the other waits and finds
  nothing left to do;
* a clear report of a lock left behind by a killed run, with the command
  that clears it;
* checksums of applied files (yoyo tracks names only), so an applied file
  edited later stops ``migrate`` and ``status`` with an error naming it;
* a check, before anything is changed, that no object a pending migration creates
  exists already (a database made by the Alembic revision must be adopted first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from backtest_store.errors import (
    MigrationChecksumError,
    MigrationError,
    MigrationLockedError,
    NotAdoptedError,
)
from backtest_store.operations import catalog
from backtest_store.schema import citus, files, sharding
from backtest_store.schema.version import CHECKSUM_TABLE, YOYO_LOCK_TABLE, YOYO_MIGRATION_TABLE
from backtest_store.urls import connect, redact, resolve_url, yoyo_url

# Key of the session-level advisory lock that serialises migration runs.
_ADVISORY_LOCK_KEY = 0x6274_7374_6F72_65  # "btstore"
_CREATE_CHECKSUM_TABLE = sql.SQL("""
CREATE TABLE IF NOT EXISTS {} (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)""").format(sql.Identifier(CHECKSUM_TABLE))


_EXISTS_SQL = {
    "relation": "SELECT to_regclass(%s) IS NOT NULL",
    "function": "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = %s"
    " AND pronamespace = current_schema()::regnamespace)",
    "trigger": "SELECT EXISTS (SELECT FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " WHERE t.tgname = %s AND c.relnamespace = current_schema()::regnamespace)",
    "constraint": "SELECT EXISTS (SELECT FROM pg_constraint WHERE conname = %s"
    " AND connamespace = current_schema()::regnamespace)",
}


def _clashes(conn: psycopg.Connection[Any], pending: list[str]) -> list[str]:
    """Objects that pending migrations would create but that exist already."""
    found = []
    for migration_id in pending:
        for kind, name in files.created_objects(migration_id):
            row = conn.execute(_EXISTS_SQL[kind], (name,)).fetchone()
            if row and row[0]:
                found.append(f"{kind} {name} (created by {migration_id})")
    return found


LEGACY_TABLE = "mcp_backtest_results"


def _drop_invalid_indexes(conn: psycopg.Connection[Any], pending: list[str]) -> None:
    """Drop the INVALID indexes that pending migrations build: what a killed or failed
    CREATE INDEX CONCURRENTLY leaves behind, and what IF NOT EXISTS would otherwise keep.
    We hold the advisory lock and no yoyo lock row is left, so no build is running."""
    names = [
        match.group(3)
        for migration_id in pending
        for statement in files.statements(migration_id)
        if (match := files.CREATES.match(statement)) and match.group(1).upper().endswith("INDEX")
    ]
    rows = conn.execute(
        """SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE NOT i.indisvalid AND c.relname = ANY(%s)
             AND c.relnamespace = current_schema()::regnamespace""",
        (names,),
    ).fetchall()
    for (name,) in rows:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Status:
    """Which migrations a database has."""

    applied: list[str]
    pending: list[str]
    unknown: list[str]  # applied, but not migrations of this package (a newer release)
    edited: list[str]  # applied, and the file changed since
    # objects pending migrations would create that exist already; when the backtest
    # tables are among them, the database was made by the Alembic revision: adopt it
    clashes: list[str] = field(default_factory=list)
    # on Citus: "distributed on Citus: 5 tables, 32 shards" (None on a single node)
    distributed: str | None = None

    @property
    def not_adopted(self) -> bool:
        return any(c.startswith(f"relation {LEGACY_TABLE} ") for c in self.clashes)


def refuse_clashes(status: Status, url: str) -> None:
    """Stop, before anything is changed, when pending migrations would meet their objects."""
    if status.not_adopted:
        raise NotAdoptedError(
            f"{redact(url)} holds backtest tables that backtest-store did not create (the "
            "Alembic revision 013_add_backtest_persistence_models, or its models); nothing "
            "was changed. Adopt them first: "
            f"backtest-store adopt --database '{redact(url)}' (add --dry-run to see the plan)"
        )
    if status.clashes:
        raise MigrationError(
            f"nothing was changed: objects that pending migrations create exist already on "
            f"{redact(url)}: {'; '.join(status.clashes)}"
        )


@contextmanager
def serialised(url: str, lock_wait_seconds: float) -> Iterator[psycopg.Connection[Any]]:
    """Hold the migration advisory lock for the duration of the block.

    A waiting run polls with pg_try_advisory_lock instead of blocking in
    pg_advisory_lock: a blocked statement is an open transaction, and CREATE
    INDEX CONCURRENTLY in the running migration would wait for it to end.
    """
    with connect(url) as conn:
        deadline = time.monotonic() + lock_wait_seconds
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,)).fetchone()
            if row and row[0]:
                break
            if time.monotonic() >= deadline:
                raise MigrationLockedError(
                    f"another migration run has held the lock on {redact(url)} "
                    f"for more than {lock_wait_seconds:g} s; try again when it has finished"
                )
            time.sleep(0.2)
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))


def table_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return catalog.relation_exists(conn, name)


def _applied(conn: psycopg.Connection[Any]) -> list[str]:
    if not table_exists(conn, YOYO_MIGRATION_TABLE):
        return []
    query = sql.SQL("SELECT migration_id FROM {} ORDER BY migration_id")
    rows = conn.execute(query.format(sql.Identifier(YOYO_MIGRATION_TABLE))).fetchall()
    return [r[0] for r in rows]


def _checksums(conn: psycopg.Connection[Any]) -> dict[str, str]:
    if not table_exists(conn, CHECKSUM_TABLE):
        return {}
    query = sql.SQL("SELECT migration_id, sha256 FROM {}")
    rows = conn.execute(query.format(sql.Identifier(CHECKSUM_TABLE))).fetchall()
    return {r[0]: r[1] for r in rows}


def current_status(conn: psycopg.Connection[Any]) -> Status:
    ours = files.migration_ids()
    applied = _applied(conn)
    recorded = _checksums(conn)
    pending = [m for m in ours if m not in applied]
    return Status(
        applied=[m for m in applied if m in ours],
        pending=pending,
        unknown=[m for m in applied if m not in ours],
        edited=[m for m in applied if m in recorded and recorded[m] != files.file_checksum(m)],
        clashes=_clashes(conn, pending),
        distributed=citus.describe(conn),
    )


def refuse_edited(status: Status) -> None:
    if status.edited:
        files = ", ".join(f"sql/{m}.sql" for m in status.edited)
        raise MigrationChecksumError(
            f"applied migration file(s) changed since they were applied: {files}. "
            "Applied migrations are immutable: restore the file(s) and put the change "
            "in a new migration."
        )


def record_checksums(conn: psycopg.Connection[Any], applied: list[str]) -> None:
    conn.execute(_CREATE_CHECKSUM_TABLE)
    with conn.cursor() as cur:
        query = sql.SQL(
            "INSERT INTO {} (migration_id, sha256) VALUES (%s, %s) "
            "ON CONFLICT (migration_id) DO NOTHING"
        )
        cur.executemany(
            query.format(sql.Identifier(CHECKSUM_TABLE)),
            [(m, files.file_checksum(m)) for m in applied],
        )


def _refuse_stale_lock(conn: psycopg.Connection[Any], url: str) -> None:
    # We hold the advisory lock, so no other run of this tool is migrating: a
    # yoyo lock row now was left by a killed run (or a plain `yoyo` run).
    if not table_exists(conn, YOYO_LOCK_TABLE):
        return
    query = sql.SQL("SELECT pid, ctime FROM {}").format(sql.Identifier(YOYO_LOCK_TABLE))
    row = conn.execute(query).fetchone()
    if row:
        raise MigrationLockedError(
            f"the migration lock of {redact(url)} is held by process {row[0]} since "
            f"{row[1]:%Y-%m-%d %H:%M:%S} UTC, and no migration is running: a run was killed. "
            f"Clear it with: backtest-store break-lock --database '{redact(url)}'"
        )


def status(url: str | None = None) -> Status:
    """Which migrations are applied, pending, unknown or edited."""
    url = resolve_url(url)
    with connect(url) as conn:
        return current_status(conn)


def apply(
    url: str | None = None,
    *,
    lock_wait_seconds: float = 300,
    progress: Callable[[str], None] | None = None,
    to: str | None = None,
) -> list[str]:
    """Apply every pending migration, or with ``to`` (a migration id) those up to and
    including it, in order; return the ids applied (empty: nothing to do). ``progress``
    hears a line as each migration starts and ends (an index built on a large table can
    take minutes)."""
    url = resolve_url(url)
    known = files.migration_ids()
    if to is not None and to not in known:
        raise MigrationError(f"no migration {to!r}; the migrations are {', '.join(known)}")
    with serialised(url, lock_wait_seconds) as conn:
        before = current_status(conn)
        refuse_edited(before)
        if before.unknown:
            raise MigrationError(
                "the database has migrations this package does not know "
                f"({', '.join(before.unknown)}): it was migrated by a newer release"
            )
        refuse_clashes(before, url)
        record_checksums(conn, before.applied)
        if citus.applies_citus_forms(conn):  # a run killed after a table was recreated
            sharding.finish(conn, progress=progress)
        if not before.pending:
            return []
        _refuse_stale_lock(conn, url)
        _drop_invalid_indexes(conn, before.pending)
        on_citus = citus.applies_citus_forms(conn)
        backend = get_backend(yoyo_url(url))
        try:
            with citus.migrations_source(on_citus) as source, backend.lock():
                todo = backend.to_apply(read_migrations(str(source)))
                if to is not None:  # those up to and including it
                    todo = todo.__class__([m for m in todo if known.index(m.id) <= known.index(to)])
                for migration in todo:  # each in its own transaction, as yoyo does
                    started = time.monotonic()
                    if progress is not None:
                        progress(f"applying {migration.id}")
                    backend.apply_migrations(todo.__class__([migration]))
                    if on_citus:  # a table the migration (re)created is distributed again
                        sharding.finish(conn, progress=progress)
                    if progress is not None:
                        progress(f"applied {migration.id} in {time.monotonic() - started:.1f} s")
        except LockTimeout as exc:  # a plain yoyo run started meanwhile
            raise MigrationLockedError(str(exc)) from exc
        except backend.DatabaseError as exc:
            raise MigrationError(f"migration failed and was rolled back: {exc}") from exc
        finally:
            backend.connection.close()
        done = [m.id for m in todo]
        record_checksums(conn, done)
        return done


def rollback(
    url: str | None = None, *, steps: int | None = 1, lock_wait_seconds: float = 300
) -> list[str]:
    """Roll back the last ``steps`` applied migrations (all when steps is None)."""
    url = resolve_url(url)
    with serialised(url, lock_wait_seconds) as conn:
        before = current_status(conn)
        refuse_edited(before)
        if not before.applied:
            return []
        _refuse_stale_lock(conn, url)
        backend = get_backend(yoyo_url(url))
        try:
            forms = citus.applies_citus_forms(conn)
            with citus.migrations_source(forms) as source, backend.lock():
                todo = backend.to_rollback(read_migrations(str(source)))
                if steps is not None:
                    todo = todo[:steps]
                backend.rollback_migrations(todo)
        except LockTimeout as exc:
            raise MigrationLockedError(str(exc)) from exc
        except backend.DatabaseError as exc:
            raise MigrationError(f"rollback failed and was undone: {exc}") from exc
        finally:
            backend.connection.close()
        done = [m.id for m in todo]
        if table_exists(conn, CHECKSUM_TABLE):
            query = sql.SQL("DELETE FROM {} WHERE migration_id = ANY(%s)")
            conn.execute(query.format(sql.Identifier(CHECKSUM_TABLE)), (done,))
        return done


def break_lock(url: str | None = None) -> bool:
    """Remove a migration lock left by a killed run; True if there was one."""
    url = resolve_url(url)
    with connect(url) as conn:
        if not table_exists(conn, YOYO_LOCK_TABLE):
            return False
        cur = conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(YOYO_LOCK_TABLE)))
        return cur.rowcount > 0
