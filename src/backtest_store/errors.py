"""The errors users catch. Every error the package raises derives from BacktestStoreError.

Database errors are raised ``from`` the psycopg error and keep its SQLSTATE,
constraint, table and column, so the cause is never hidden and nothing is
swallowed.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import errors as pg


class BacktestStoreError(Exception):
    """Base class of every error raised by backtest_store.

    ``retryable``: the same call, run again unchanged, is safe and may succeed (see
    DatabaseError). False for bad input, schema and migration problems.
    """

    retryable: bool = False


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
    ``plan`` what adopt found (``adoption.AdoptionPlan``; None when there was nothing to adopt).
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


class DistributionError(MigrationError):
    """The database cannot be distributed as it is (not a Citus coordinator, no active
    workers, tables distributed some other way); nothing was changed."""


class DatabaseError(BacktestStoreError):
    """PostgreSQL refused a statement; the psycopg error is the ``__cause__``.

    ``retryable``: running the same call again, unchanged, is safe and may succeed (the
    transaction was rolled back, or its outcome is unknown and a save with the same
    client-chosen ids lands at most once). ``sqlstate``, ``constraint``, ``table`` and
    ``column`` are the server's diagnostics.
    """

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
    """An id a call names is not stored. Two cases, each its own subclass, so that a
    caller who cares tells them apart and one who does not catches this: a save's parent
    (``ParentNotFoundError``) and the record a call reads to judge or draw
    (``RecordNotFoundError``). A plain read that finds nothing returns None or an empty
    list instead."""


class ParentNotFoundError(NotFoundError):
    """A save refers to a parent that is not stored: the backtest of a trade, a grid row
    or a walk-forward window (the server's foreign key violation, SQLSTATE 23503, or the
    store's own check before it appends trades). Nothing of the save was written."""


class RecordNotFoundError(NotFoundError):
    """The backtest or experiment a call must read to answer is not stored (``assess``,
    ``assess_experiment``, ``report``)."""


class ConflictError(IntegrityError):
    """A record with the same id exists and differs from the one being saved."""


class QueryTimeoutError(DatabaseError):
    """statement_timeout or lock_timeout cancelled the statement (SQLSTATE 57014, 55P03);
    nothing was committed."""

    retryable = True


class TransactionRollbackError(DatabaseError):
    """The server rolled the transaction back to resolve a conflict with another one: a
    deadlock (40P01) or a serialization failure (40001), SQLSTATE class 40. Nothing was
    committed; run the call again."""

    retryable = True


class ResourceError(DatabaseError):
    """The server is short of a resource, SQLSTATE class 53: a full disk (53100), memory
    (53200), connections (53300). Retryable when the shortage passes by itself (memory,
    connections); a full disk or a configured limit needs an operator."""

    def __init__(self, message: str, *, cause: psycopg.Error | None = None) -> None:
        super().__init__(message, cause=cause)
        self.retryable = self.sqlstate in ("53200", "53300")


class ConnectionLostError(DatabaseError):
    """The connection to the server broke (or the server shut down: 57P01-57P03, class 08).

    ``committed`` is False when nothing was committed (the break came before COMMIT was
    sent, or the call only read) and None when the outcome is unknown (the break came while
    COMMIT, or a statement that commits itself, was in flight): retry with the same ids,
    and a save lands exactly once.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        cause: psycopg.Error | None = None,
        committed: bool | None = False,
    ) -> None:
        super().__init__(message, cause=cause)
        self.committed = committed


class CannotConnectError(ConnectionLostError):
    """No connection could be opened (refused, timed out, wrong host or credentials)."""


class PermissionDeniedError(DatabaseError):
    """The database role may not do this (e.g. a write under the read-only role)."""


# Citus reports a worker's refusal of a COPY (the bulk saves) with the worker's message but
# without its SQLSTATE and diagnostics (ReportCopyError: SQLSTATE XX000). These are
# PostgreSQL's own words for the integrity errors, so that the refusal keeps its type and
# names its constraint on a distributed database too.
_WORKER_REFUSALS: tuple[tuple[re.Pattern[str], type[DatabaseError]], ...] = (
    (
        re.compile(r'^new row for relation "[^"]+" violates check constraint "(\w+)"'),
        ConstraintViolation,
    ),
    (re.compile(r'violates foreign key constraint "(\w+)"'), ParentNotFoundError),
    (re.compile(r'^duplicate key value violates unique constraint "(\w+)"'), ConflictError),
    (re.compile(r"^null value in column .* violates not-null constraint()"), IntegrityError),
)


def _worker_refusal(detail: str) -> tuple[type[DatabaseError], str] | None:
    for pattern, kind in _WORKER_REFUSALS:
        match = pattern.search(detail)
        if match:
            return kind, match.group(1)
    return None


# What a front end (the web view, the MCP server) answers with "unavailable, try again":
# the database cannot be reached, is busy, or is not at this package's schema.
UNAVAILABLE = (ConnectionLostError, ResourceError, QueryTimeoutError, SchemaVersionError)


def translate(exc: psycopg.Error, doing: str, *, committing: bool = False) -> DatabaseError:
    """Map a psycopg error to the package's type by SQLSTATE, with a message that says what
    failed. ``committing``: the error may have struck while a COMMIT was in flight (only a
    broken connection leaves the outcome undecided then)."""
    detail = (exc.diag.message_primary or str(exc)).strip()
    state = exc.sqlstate or ""
    sqlstate = f" [SQLSTATE {state}]" if state else ""
    kind: type[DatabaseError]
    refusal = _worker_refusal(detail) if state == "XX000" else None
    if refusal is not None:  # a Citus worker refused a COPY row
        kind, constraint = refusal
        if kind is ConstraintViolation:
            detail = f"check constraint {constraint} refused the row: {detail}"
        error = kind(f"{doing} failed: {detail}{sqlstate}", cause=exc)
        error.constraint = constraint or None
        if isinstance(error, ConstraintViolation):
            error._as_validation()
        return error
    if isinstance(exc, pg.CheckViolation):
        kind = ConstraintViolation
        detail = f"check constraint {exc.diag.constraint_name} refused the row: {detail}"
        notes = getattr(exc, "__notes__", ())  # what the operation knew: rule, values
        if notes:
            detail += "; " + "; ".join(notes)
    elif isinstance(exc, pg.ForeignKeyViolation):
        kind = ParentNotFoundError
    elif isinstance(exc, pg.UniqueViolation):
        kind = ConflictError
    elif isinstance(exc, psycopg.IntegrityError) and not state.startswith("40"):
        kind = IntegrityError
    elif state.startswith("40"):
        kind = TransactionRollbackError
        detail = f"{detail}; the transaction was rolled back, nothing was committed: retry it"
    elif state.startswith("53"):
        kind = ResourceError
    elif isinstance(exc, pg.QueryCanceled | pg.LockNotAvailable):
        kind = QueryTimeoutError
    elif state.startswith("22"):
        kind = InvalidValue
    elif isinstance(exc, pg.InsufficientPrivilege):
        kind = PermissionDeniedError
    elif state.startswith(("08", "57P")) or (
        isinstance(exc, psycopg.OperationalError) and not state
    ):
        if committing:
            return ConnectionLostError(
                f"{doing} failed: connection lost while committing: the changes may have been "
                f"committed: retry with the same backtest_id: {detail}{sqlstate}",
                cause=exc,
                committed=None,
            )
        return ConnectionLostError(
            f"{doing} failed: connection lost, nothing was committed: {detail}{sqlstate}",
            cause=exc,
        )
    else:
        kind = DatabaseError
    return kind(f"{doing} failed: {detail}{sqlstate}", cause=exc)


# libpq reports a refusal at connection time as text, without the SQLSTATE: these are the
# server's words for class 53 (in the default lc_messages).
_NO_SLOT = ("too many clients", "too many connections", "remaining connection slots")


def connect_error(exc: psycopg.Error, where: str) -> DatabaseError:
    """The error of a failed connection attempt to ``where`` (a URL already redacted), in
    one line (libpq adds its hint on a line of its own)."""
    detail = " ".join((exc.diag.message_primary or str(exc)).split())
    if any(words in detail for words in _NO_SLOT):
        error = ResourceError(f"connect to {where} failed: {detail}", cause=exc)
        error.sqlstate, error.retryable = error.sqlstate or "53300", True
        return error
    if exc.sqlstate and not exc.sqlstate.startswith(("08", "57P")):
        return translate(exc, f"connect to {where}")
    return CannotConnectError(f"cannot connect to {where}: {detail}", cause=exc)
