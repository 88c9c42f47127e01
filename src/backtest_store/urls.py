"""Database URLs: the schemes accepted, what libpq and yoyo are given, the password kept
out of messages, and a connection opened from a URL."""

from __future__ import annotations

import os
import re
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from backtest_store.errors import MigrationError, ValidationError, connect_error

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


READ_ONLY = "-c default_transaction_read_only=on"


def read_only(url: str) -> str:
    """The URL's connection string with read-only sessions (the web view's and the MCP
    server's), beside any options of its own (a search_path, say: kept, not replaced)."""
    info = conninfo(url)
    own = conninfo_to_dict(info).get("options")
    return make_conninfo(info, options=f"{own} {READ_ONLY}" if own else READ_ONLY)
