"""The errors users catch. Every error the package raises derives from BacktestStoreError.

Database errors are raised ``from`` the psycopg error and keep its SQLSTATE,
constraint, table and column, so the cause is never hidden and nothing is
swallowed.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg


class BacktestStoreError(Exception):
    """Base class of every error raised by backtest_store."""


class ValidationError(BacktestStoreError, ValueError):
    """Input refused before anything was written.

    ``record`` is the record type (e.g. ``BacktestTrade``), ``index`` the
    position in a bulk save (or None), ``field`` the column, ``value`` the
    offending value and ``limit`` what the column allows.
    """

    def __init__(
        self,
        record: str,
        field: str,
        value: object,
        limit: str,
        *,
        index: int | None = None,
        problem: str = "is out of range",
    ) -> None:
        self.record = record
        self.field = field
        self.value = value
        self.limit = limit
        self.index = index
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        where = f"{record}[{index}]" if index is not None else record
        super().__init__(f"{where}.{field} = {shown} {problem}; allowed: {limit}")


class SeriesNotLoadedError(BacktestStoreError, TypeError):
    """A time-series field read by a list query without with_series=True was used."""


class SchemaVersionError(BacktestStoreError):
    """The database is not at the migration this package needs."""

    def __init__(self, message: str, *, current: str | None, required: str) -> None:
        self.current = current
        self.required = required
        super().__init__(message)


class MigrationError(BacktestStoreError):
    """Applying or rolling back migrations failed."""


class MigrationLockedError(MigrationError):
    """Another run holds the migration lock (or a killed run left it behind)."""


class MigrationChecksumError(MigrationError):
    """An applied migration file was edited after it was applied."""


class NotAdoptedError(MigrationError):
    """The database holds the tables of the Alembic revision this package replaces, and
    backtest-store has not adopted them yet (``backtest-store adopt``)."""


class AdoptionError(MigrationError):
    """The database cannot be adopted as it is; nothing was changed.

    ``differences`` lists where the tables differ from the shape that was recognised,
    ``findings`` the rows the package's rules would refuse (see ``adoption.Finding``),
    ``plan`` what adopt found (``adoption.Plan``; None when there was nothing to adopt).
    """

    def __init__(
        self,
        message: str,
        *,
        differences: list[str] | None = None,
        findings: list[Any] | None = None,
        plan: Any = None,
    ) -> None:
        super().__init__(message)
        self.differences = differences or []
        self.findings = findings or []
        self.plan = plan


class DatabaseError(BacktestStoreError):
    """PostgreSQL refused a statement; the psycopg error is the ``__cause__``."""

    def __init__(self, message: str, *, cause: psycopg.Error | None = None) -> None:
        diag = cause.diag if cause is not None else None
        self.sqlstate: str | None = cause.sqlstate if cause is not None else None
        self.constraint: str | None = diag.constraint_name if diag else None
        self.table: str | None = diag.table_name if diag else None
        self.column: str | None = diag.column_name if diag else None
        BacktestStoreError.__init__(self, message)


class IntegrityError(DatabaseError):
    """A constraint refused the write (check, foreign key, unique, not null)."""


class _RefusedByDatabase(ValidationError):
    """Bad input that PostgreSQL refused rather than the package: still a ValidationError
    (a ValueError), with the table as ``record`` and the constraint or column as ``field``."""

    def _as_validation(self) -> None:
        constraint = getattr(self, "constraint", None) or ""
        self.record = getattr(self, "table", None) or ""
        self.field = getattr(self, "column", None) or constraint
        self.value = None
        self.limit = constraint
        self.index = None


class ConstraintViolation(IntegrityError, _RefusedByDatabase):
    """A ck_<table>_<rule> CHECK constraint refused a row; ``constraint`` names it.

    Also a ValidationError: the input was bad, and nothing was written.
    """

    def __init__(self, message: str, *, cause: psycopg.Error | None = None) -> None:
        IntegrityError.__init__(self, message, cause=cause)
        self._as_validation()


class InvalidValue(DatabaseError, _RefusedByDatabase):
    """PostgreSQL refused a value (SQLSTATE class 22: out of range, not representable).

    The package's own checks refuse these first; this is the exact edge they leave to
    the server (e.g. a float a hair under a numeric bound that rounds over it).
    """

    def __init__(self, message: str, *, cause: psycopg.Error | None = None) -> None:
        DatabaseError.__init__(self, message, cause=cause)
        self._as_validation()


class NotFoundError(IntegrityError):
    """The parent row a save refers to does not exist (foreign key violation)."""


class ConflictError(IntegrityError):
    """A record with the same id exists and differs from the one being saved."""


class QueryTimeoutError(DatabaseError):
    """statement_timeout or lock_timeout cancelled the statement."""


class ConnectionLostError(DatabaseError):
    """The connection to the server broke; the transaction did not commit."""


class PermissionDeniedError(DatabaseError):
    """The database role may not do this (e.g. a write under the read-only role)."""


def translate(exc: psycopg.Error, doing: str) -> DatabaseError:
    """Map a psycopg error to the package's type, with a message that says what failed."""
    detail = (exc.diag.message_primary or str(exc)).strip()
    kind: type[DatabaseError]
    if isinstance(exc, pg.CheckViolation):
        kind = ConstraintViolation
        detail = f"check constraint {exc.diag.constraint_name} refused the row: {detail}"
    elif isinstance(exc, pg.ForeignKeyViolation):
        kind = NotFoundError
    elif isinstance(exc, pg.UniqueViolation):
        kind = ConflictError
    elif isinstance(exc, psycopg.IntegrityError):
        kind = IntegrityError
    elif isinstance(exc, pg.QueryCanceled | pg.LockNotAvailable):
        kind = QueryTimeoutError
    elif exc.sqlstate is not None and exc.sqlstate.startswith("22"):
        kind = InvalidValue
    elif isinstance(exc, pg.InsufficientPrivilege):
        kind = PermissionDeniedError
    elif isinstance(exc, psycopg.OperationalError | pg.AdminShutdown | pg.ConnectionException):
        kind = ConnectionLostError
        detail = f"connection lost, nothing was committed: {detail}"
    else:
        kind = DatabaseError
    sqlstate = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
    return kind(f"{doing} failed: {detail}{sqlstate}", cause=exc)
