"""The schema version a store needs: the tables that record it, and the check that the
database is at this package's last migration (the stores run it before their first call)."""

from __future__ import annotations

from psycopg import sql

from backtest_store.errors import SchemaVersionError
from backtest_store.schema.files import migration_ids

YOYO_MIGRATION_TABLE = "_yoyo_migration"
YOYO_LOCK_TABLE = "yoyo_lock"
CHECKSUM_TABLE = "_backtest_store_checksums"

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
