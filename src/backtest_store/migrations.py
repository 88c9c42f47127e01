"""Apply, roll back and inspect the schema migrations (yoyo), and check the schema version.

The SQL files ship inside the package (``backtest_store/sql`` in the wheel,
``sql/`` in a checkout). On top of yoyo this module adds:

* a PostgreSQL advisory lock around every run, so two ``migrate`` processes
  started at once both succeed: one applies, the other waits and finds
  nothing left to do;
* a clear report of a lock left behind by a killed run, with the command
  that clears it;
* checksums of applied files (yoyo tracks names only), so an applied file
  edited later stops ``migrate`` and ``status`` with an error naming it.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import sqlparse
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from backtest_store.errors import (
    MigrationChecksumError,
    MigrationError,
    MigrationLockedError,
    NotAdoptedError,
    SchemaVersionError,
    ValidationError,
    connect_error,
)

# Key of the session-level advisory lock that serialises migration runs.
_ADVISORY_LOCK_KEY = 0x6274_7374_6F72_65  # "btstore"
YOYO_MIGRATION_TABLE = "_yoyo_migration"
YOYO_LOCK_TABLE = "yoyo_lock"
CHECKSUM_TABLE = "_backtest_store_checksums"
_CREATE_CHECKSUM_TABLE = f"""
CREATE TABLE IF NOT EXISTS {CHECKSUM_TABLE} (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)"""


def migrations_dir() -> Path:
    """Where the migration files are: inside the installed package, or sql/ of a checkout."""
    packaged = resources.files("backtest_store") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "sql"
    if checkout.is_dir():
        return checkout
    raise MigrationError("the migration files are missing from this installation")


def migration_ids() -> list[str]:
    """The package's migrations, in the order they apply."""
    return sorted(
        p.name.removesuffix(".sql")
        for p in migrations_dir().glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )


def required_version() -> str:
    """The last migration this package needs."""
    return migration_ids()[-1]


def file_checksum(migration_id: str) -> str:
    """sha256 of a migration and its rollback file."""
    digest = hashlib.sha256()
    for name in (f"{migration_id}.sql", f"{migration_id}.rollback.sql"):
        path = migrations_dir() / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


SCHEMES = "postgresql://, postgres:// or postgresql+psycopg://"
CONNECT_TIMEOUT = "10"  # seconds; BACKTEST_STORE_CONNECT_TIMEOUT or the URL's own override it


def libpq_url(url: str) -> str:
    """A URL libpq understands: postgresql+psycopg:// and postgres:// become postgresql://.
    A URL of another scheme (mysql://, postgresql+asyncpg://) is a ValidationError; a
    libpq key=value string passes as it is."""
    scheme = re.match(r"^([A-Za-z][\w+.-]*)://", url)
    if scheme and not re.fullmatch(r"(postgres|postgresql)(\+psycopg)?", scheme.group(1)):
        raise ValidationError("database URL", "scheme", scheme.group(1) + "://", SCHEMES,
                              problem="is not a PostgreSQL URL")  # fmt: skip
    return re.sub(r"^(postgres|postgresql)(\+psycopg)?://", "postgresql://", url)


def conninfo(url: str) -> str:
    """``libpq_url(url)`` with a connect timeout unless the URL sets its own: a host that
    accepts connections but never answers would otherwise hang every command."""
    info = libpq_url(url)
    try:
        given = conninfo_to_dict(info)
    except psycopg.ProgrammingError:
        return info  # libpq says what is wrong with it when it connects
    if "connect_timeout" in given:
        return info
    timeout = os.environ.get("BACKTEST_STORE_CONNECT_TIMEOUT", CONNECT_TIMEOUT)
    return make_conninfo(info, connect_timeout=timeout)


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection to ``url``; CannotConnectError (or a ResourceError such as too many
    connections) when none can be opened."""
    try:
        return psycopg.connect(conninfo(url), autocommit=autocommit)
    except psycopg.Error as exc:
        raise connect_error(exc, redact(url)) from exc


def yoyo_url(url: str) -> str:
    """A URL yoyo understands: the psycopg 3 backend is postgresql+psycopg://."""
    if not re.match(r"^(postgres|postgresql)(\+psycopg)?://", url):
        raise MigrationError(f"not a PostgreSQL URL: {redact(url)}")
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def resolve_url(url: str | None) -> str:
    """The given URL, else DATABASE_URL."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        raise MigrationError("no database given: pass --database URL or set DATABASE_URL")
    return url


def statements(migration_id: str) -> list[str]:
    """The statements of a migration file, comments stripped, split as yoyo splits them."""
    text = (migrations_dir() / f"{migration_id}.sql").read_text(encoding="utf-8")
    out = []
    for statement in sqlparse.split(text):
        stripped = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
        if stripped:
            out.append(stripped)
    return out


@lru_cache(maxsize=1)
def check_rules() -> dict[str, str]:
    """Each ck_ CHECK constraint's rule as the migration files write it (for messages)."""
    pattern = re.compile(r"ADD CONSTRAINT (ck_\w+) CHECK \((.*)\)(?: NOT VALID)?$")
    out: dict[str, str] = {}
    for migration_id in migration_ids():
        for statement in statements(migration_id):
            for line in statement.splitlines():
                match = pattern.search(line.strip().rstrip(","))
                if match:
                    out.setdefault(match.group(1), match.group(2))
    return out


@lru_cache(maxsize=1)
def column_comments() -> dict[tuple[str, str], str]:
    """Each column's COMMENT as the migration files write it: its meaning and unit."""
    pattern = re.compile(r"COMMENT ON COLUMN (\w+)\.(\w+) IS '((?:[^']|'')*)'")
    out: dict[tuple[str, str], str] = {}
    for migration_id in migration_ids():
        text = (migrations_dir() / f"{migration_id}.sql").read_text(encoding="utf-8")
        for table, column, comment in pattern.findall(text):
            out[table, column] = comment.replace("''", "'")
    return out


_CREATES = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|FUNCTION|TRIGGER|(?:UNIQUE\s+)?INDEX)"
    r"(?:\s+CONCURRENTLY)?\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)",
    re.I,
)
_ADD_CONSTRAINT = re.compile(r"\bADD\s+CONSTRAINT\s+(\w+)", re.I)
_DROP_CONSTRAINT_IF_EXISTS = re.compile(r"\bDROP\s+CONSTRAINT\s+IF\s+EXISTS\s+(\w+)", re.I)


def created_objects(migration_id: str) -> list[tuple[str, str]]:
    """(kind, name) of each object the migration creates that must not exist beforehand:
    what a CREATE without IF NOT EXISTS, or an ADD CONSTRAINT not preceded by its own
    DROP CONSTRAINT IF EXISTS, would fail on."""
    out: list[tuple[str, str]] = []
    for statement in statements(migration_id):
        match = _CREATES.match(statement)
        if match and not match.group(2):
            kind = match.group(1).split()[-1].lower()
            out.append(("relation" if kind in ("table", "index") else kind, match.group(3)))
        dropped = set(_DROP_CONSTRAINT_IF_EXISTS.findall(statement))
        out += [("constraint", n) for n in _ADD_CONSTRAINT.findall(statement) if n not in dropped]
    return out


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
        for kind, name in created_objects(migration_id):
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
        for statement in statements(migration_id)
        if (match := _CREATES.match(statement)) and match.group(1).upper().endswith("INDEX")
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
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


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
    ours = migration_ids()
    applied = _applied(conn)
    recorded = _checksums(conn)
    pending = [m for m in ours if m not in applied]
    return Status(
        applied=[m for m in applied if m in ours],
        pending=pending,
        unknown=[m for m in applied if m not in ours],
        edited=[m for m in applied if m in recorded and recorded[m] != file_checksum(m)],
        clashes=_clashes(conn, pending),
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
            [(m, file_checksum(m)) for m in applied],
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
) -> list[str]:
    """Apply every pending migration; return the ids applied (empty: nothing to do).
    ``progress`` hears a line as each migration starts and ends (an index built on a
    large table can take minutes)."""
    url = resolve_url(url)
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
        if not before.pending:
            return []
        _refuse_stale_lock(conn, url)
        _drop_invalid_indexes(conn, before.pending)
        backend = get_backend(yoyo_url(url))
        try:
            migrations = read_migrations(str(migrations_dir()))
            with backend.lock():
                todo = backend.to_apply(migrations)
                for migration in todo:  # each in its own transaction, as yoyo does
                    started = time.monotonic()
                    if progress is not None:
                        progress(f"applying {migration.id}")
                    backend.apply_migrations(todo.__class__([migration]))
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
            migrations = read_migrations(str(migrations_dir()))
            with backend.lock():
                todo = backend.to_rollback(migrations)
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


# -- schema check at connect -------------------------------------------------

CHECK_TABLE_SQL = sql.SQL("SELECT to_regclass({}) IS NOT NULL").format(
    sql.Literal(YOYO_MIGRATION_TABLE)
)
APPLIED_SQL = sql.SQL("SELECT migration_id FROM {}").format(sql.Identifier(YOYO_MIGRATION_TABLE))


def verify_applied(applied: set[str]) -> None:
    """Raise SchemaVersionError unless exactly this package's migrations are applied."""
    ours = migration_ids()
    need = ours[-1]
    missing = [m for m in ours if m not in applied]
    unknown = sorted(m for m in applied if m not in ours)
    if not missing and not unknown:
        return
    current = max(applied) if applied else None
    at = f"migration {current}" if current else "no migration (an empty database)"
    if missing:
        raise SchemaVersionError(
            f"the database is at {at}; this package needs {need}: "
            "run `backtest-store migrate --database URL` (or `make migrate`), "
            "or pass check_schema=False if a tool migrates it for you",
            current=current,
            required=need,
        )
    raise SchemaVersionError(
        f"the database is at {at}, ahead of this package, which needs {need} "
        f"(unknown: {', '.join(unknown)}): upgrade backtest-store",
        current=current,
        required=need,
    )


# -- adoption of databases the Alembic revision made: its own module, exported here ------

from backtest_store.adoption import adopt as adopt  # noqa: E402  (adoption imports this module)
