"""The migration files (``sql/``) and the facts read from them: their order, checksums and
statements, the CHECK rules, the column COMMENTs, and what each file creates."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import sqlparse

from backtest_store.errors import MigrationError


def migrations_dir() -> Path:
    """Where the migration files are: inside the installed package, or sql/ of a checkout."""
    packaged = resources.files("backtest_store") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "sql"
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


def statements(migration_id: str) -> list[str]:
    """The statements of a migration file, comments stripped, split as yoyo splits them."""
    return list(_split((migrations_dir() / f"{migration_id}.sql").read_text(encoding="utf-8")))


@lru_cache(maxsize=64)
def _split(text: str) -> tuple[str, ...]:
    """sqlparse's split of a file's text, once per text: sqlparse takes about 0.1 s a file,
    and every apply asks for each pending migration's statements twice."""
    out = []
    for statement in sqlparse.split(text):
        stripped = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
        if stripped:
            out.append(stripped)
    return tuple(out)


CREATES = re.compile(
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
        match = CREATES.match(statement)
        if match and not match.group(2):
            kind = match.group(1).split()[-1].lower()
            out.append(("relation" if kind in ("table", "index") else kind, match.group(3)))
        dropped = set(_DROP_CONSTRAINT_IF_EXISTS.findall(statement))
        out += [("constraint", n) for n in _ADD_CONSTRAINT.findall(statement) if n not in dropped]
    return out
