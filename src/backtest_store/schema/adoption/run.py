"""Adoption, stage 4: carry the plan out in one transaction, record 0001-0007 as applied,
then apply the later migrations the normal way."""

from __future__ import annotations

import getpass
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from yoyo import get_backend
from yoyo.migrations import get_migration_hash

from backtest_store.errors import MigrationError
from backtest_store.schema.adoption.catalog import ADOPTED, ALEMBIC_REVISION
from backtest_store.schema.adoption.plan import AdoptionPlan, make_plan, refusal_of
from backtest_store.schema.runner import apply, record_checksums, serialised
from backtest_store.schema.version import YOYO_MIGRATION_TABLE
from backtest_store.urls import connect, resolve_url, yoyo_url


def adopt(
    url: str | None = None,
    *,
    dry_run: bool = False,
    nan_to_null: bool = False,
    lock_timeout: str = "5s",
    progress: Callable[[str], None] | None = None,
) -> AdoptionPlan:
    """Adopt a database the Alembic revision 013 (or its models) made; see the module doc.

    Returns the plan, carried out unless ``dry_run``. Raises AdoptionError (nothing
    changed) when the tables differ from both shapes or rows break the rules.
    ``progress`` receives a line per table as it goes (the CLI passes one on a terminal).
    """
    url = resolve_url(url)
    say = progress or (lambda _: None)
    with serialised(url, 300) as conn:
        plan = make_plan(conn, url, nan_to_null=nan_to_null)
        refusal = refusal_of(plan)
        if refusal is not None:
            raise refusal
        if dry_run:
            return plan
        if not plan.already_adopted:
            _prepare_yoyo(url)
            _adopt_in_one_transaction(url, plan, lock_timeout, say)
    say("applying the migrations after 0007 the normal way")
    plan.applied = apply(url, progress=progress)
    return plan


def _prepare_yoyo(url: str) -> None:
    """Create yoyo's bookkeeping tables (empty) the way yoyo does, before the adoption
    transaction records migrations in them. A run killed after this has changed nothing
    but these empty tables, which record nothing as applied."""
    backend = get_backend(yoyo_url(url), YOYO_MIGRATION_TABLE)
    try:
        backend.ensure_internal_schema_updated()
    finally:
        backend.connection.close()


def _adopt_in_one_transaction(
    url: str, plan: AdoptionPlan, lock_timeout: str, say: Callable[[str], None]
) -> None:
    with connect(url, autocommit=False) as conn:
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout))
                )
                conn.execute("SET LOCAL statement_timeout = 0")
                if conn.info.server_version >= 140000:  # a killed client aborts the rewrite
                    conn.execute("SET LOCAL client_connection_check_interval = '1s'")
                for step in plan.steps:
                    started = time.monotonic()
                    if step.table and step.rows is not None:
                        say(f"{step.table}: {step.doing}, {step.rows:,} rows")
                    conn.execute(step.statement.encode())
                    if step.table:
                        took = time.monotonic() - started
                        plan.seconds[step.table] = plan.seconds.get(step.table, 0.0) + took
                _record_adopted(conn)
                say("committing")
            for table, seconds in plan.seconds.items():
                say(f"{table}: {plan.rows.get(table, 0):,} rows adopted in {seconds:.1f} s")
        except psycopg.errors.LockNotAvailable as exc:
            raise MigrationError(
                f"adopt gave up waiting {lock_timeout} for a lock on a busy table and rolled "
                f"back; nothing was changed. Run it again when the table is quiet: {exc}"
            ) from exc
        except psycopg.Error as exc:
            raise MigrationError(
                f"adopt failed and was rolled back; nothing was changed: {exc}"
            ) from exc


def _record_adopted(conn: psycopg.Connection[Any]) -> None:
    """Record 0001-0007 as applied, in yoyo's tables and the checksum table, inside the
    adoption transaction: they commit with the schema or not at all."""
    now = datetime.now(UTC).replace(tzinfo=None)
    migration_table = sql.Identifier(YOYO_MIGRATION_TABLE)
    for migration_id in ADOPTED:
        migration_hash = get_migration_hash(migration_id)
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (migration_hash, migration_id, applied_at_utc) VALUES (%s, %s, %s)"
            ).format(migration_table),
            (migration_hash, migration_id, now),
        )
        conn.execute(
            "INSERT INTO _yoyo_log (id, migration_hash, migration_id, operation, username,"
            " hostname, comment, created_at_utc) VALUES (%s, %s, %s, 'mark', %s, %s, %s, %s)",
            (
                str(uuid.uuid1()),
                migration_hash,
                migration_id,
                getpass.getuser(),
                socket.getfqdn(),
                f"backtest-store adopt ({ALEMBIC_REVISION})",
                now,
            ),
        )
    record_checksums(conn, list(ADOPTED))
