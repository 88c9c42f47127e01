"""What the catalog says about Citus: whether the database is a Citus coordinator, which
of the store's tables are distributed (``status``: "distributed on Citus: 5 tables, 32
shards"), and whether ``distribute`` ran here (its marker table); and the Citus forms in
which the migration files run on a distributed database.

Why a Citus-aware runner rather than new files: the applied files are immutable (their
checksums are recorded), and Citus refuses exactly one thing in them, ADD CONSTRAINT beside
other subcommands of one ALTER TABLE (0007, 0009). Splitting such a statement into one
ALTER TABLE per subcommand is Citus's own advice and changes nothing else: same names,
same order, same locks per table, same end state. A new file could only repeat 0007 and
0009 in another shape, and every later rollback and re-apply would still run the old ones.
The runner also distributes a table that a re-applied migration recreates (a rollback past
0002-0006, then migrate), with the same steps as ``distribute``. Every migration, today's
and later ones, is tested on a distributed database (tests/citus/test_citus_migrations.py).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlparse
from psycopg import sql

from backtest_store.operations import catalog
from backtest_store.schema import files
from backtest_store.tables import ALL

MARKER_TABLE = "_backtest_store_distribution"


def one(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def is_citus(conn: psycopg.Connection[Any]) -> bool:
    return catalog.citus_installed(conn)


def distributed_tables(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, int, int]]:
    """The store's tables Citus distributes: name -> (column, colocation id, shard count)."""
    if not is_citus(conn):
        return {}
    rows = conn.execute(
        """SELECT c.relname, column_to_column_name(p.logicalrelid, p.partkey), p.colocationid,
                  (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid)
           FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND p.partmethod = 'h'
             AND c.relname = ANY(%s)""",
        ([s.name for s in ALL],),
    ).fetchall()
    return {name: (column, colocation, shards) for name, column, colocation, shards in rows}


def describe(conn: psycopg.Connection[Any]) -> str | None:
    """'distributed on Citus: 5 tables, 32 shards' (None on a single node)."""
    tables = distributed_tables(conn)
    if not tables:
        return None
    shards = sorted({s for _, _, s in tables.values()})
    counts = "/".join(map(str, shards))
    return f"distributed on Citus: {len(tables)} tables, {counts} shards"


def recorded(conn: psycopg.Connection[Any]) -> int | None:
    """The shard count ``distribute`` recorded, or None if it never ran here."""
    if not catalog.relation_exists(conn, MARKER_TABLE):
        return None
    query = sql.SQL("SELECT shard_count FROM {}").format(sql.Identifier(MARKER_TABLE))
    return one(conn, query.as_string(None))  # type: ignore[no-any-return]


def applies_citus_forms(conn: psycopg.Connection[Any]) -> bool:
    """Whether migrations run here in their Citus forms: on a Citus coordinator whose
    store is distributed (or was, and a rollback dropped its tables)."""
    return bool(distributed_tables(conn)) or (is_citus(conn) and recorded(conn) is not None)


# Citus runs ALTER TABLE on a distributed table shard by shard, and refuses ADD CONSTRAINT
# beside other subcommands in one statement ("cannot execute ADD CONSTRAINT command with
# other subcommands"; its hint: "issue each subcommand separately"). The Citus form of a
# migration file does just that, and nothing else.
_ALTER_TABLE = re.compile(
    r"^(ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?[\w.\"]+)\s+(.*)$", re.I | re.S
)
_ADDS_CONSTRAINT = re.compile(r"^ADD\s+CONSTRAINT\b", re.I)
# the comment lines above a statement (a comment may itself say ALTER TABLE)
_LEADING_COMMENTS = re.compile(r"(?:[ \t]*(?:--[^\n]*)?\n)*")


def subcommands(text: str) -> list[str]:
    """An ALTER TABLE's subcommands: ``text`` split at the commas outside parentheses,
    quotes and double quotes."""
    parts: list[str] = []
    depth, start, quote = 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def citus_form(text: str) -> str:
    """A migration file as it runs on a distributed database: each ALTER TABLE that adds a
    constraint beside other subcommands becomes one ALTER TABLE per subcommand, in the same
    order, with the same names and the same effect. Comments, directives (``-- depends``,
    ``-- transactional``) and every other statement are kept as written."""
    out: list[str] = []
    for raw in sqlparse.split(text):
        statement = sqlparse.format(raw, strip_comments=True).strip().rstrip(";").strip()
        match = _ALTER_TABLE.match(statement)
        parts = subcommands(match.group(2)) if match else []
        if not match or len(parts) < 2 or not any(_ADDS_CONSTRAINT.match(p) for p in parts):
            out.append(raw)
            continue
        lead = _LEADING_COMMENTS.match(raw).group(0)  # type: ignore[union-attr]
        out.append(lead + "\n".join(f"{match.group(1)} {p};" for p in parts))
    return "\n".join(out) + "\n"


@contextmanager
def migrations_source(citus_forms: bool) -> Iterator[Path]:
    """The directory yoyo reads the migrations from: ``sql/`` itself, or on a distributed
    database a temporary copy holding each file's Citus form under the same name (yoyo
    records a migration by its id, and the checksums are taken of the files in ``sql/``)."""
    if not citus_forms:
        yield files.migrations_dir()
        return
    with tempfile.TemporaryDirectory(prefix="backtest-store-citus-") as tmp:
        for path in files.migrations_dir().glob("*.sql"):
            (Path(tmp) / path.name).write_text(citus_form(path.read_text(encoding="utf-8")))
        yield Path(tmp)
