"""Adopt databases that the Alembic revision 013 (or its SQLAlchemy models) created.

The services this package replaces run databases whose five ``mcp_*`` tables were
made by ``013_add_backtest_persistence_models`` or, where that chain never resolved,
by SQLAlchemy's ``create_all`` from the service's models. ``adopt`` turns either
shape into exactly the schema ``migrate`` makes, keeping every row:

1. **Recognise and verify.** The five tables are compared with both shapes
   (columns in order, types, nullability, keys, indexes, triggers, checks). Any
   other difference is listed and nothing is changed.
2. **Preflight.** One scan per table counts the rows the package's rules would
   refuse: each ``ck_`` check of 0007, NaN in each numeric column, NULL in a column
   that becomes NOT NULL, and json values jsonb cannot hold. Any finding stops the
   adoption, unless it is NaN and ``nan_to_null`` is set (the store's
   ``nonfinite="null"`` policy). json values whose meaning jsonb changes (duplicate
   keys: the last one wins, as Python's ``json`` reads them too) are reported.
3. **One transaction.** ACCESS EXCLUSIVE on the five tables (``lock_timeout``: a
   busy table makes it fail fast and roll back), json to jsonb with the defaults
   and NOT NULLs in one rewrite per table, foreign keys re-created ``ON DELETE
   CASCADE`` (``NOT VALID``, then validated), the models' duplicate index dropped;
   then the statements of 0001-0007 that create what the tables lack (the trigger
   function, triggers, comments, checks), replayed from the migration files
   themselves; then 0001-0007 recorded as applied, in yoyo's tables and the
   checksum table. A kill at any point leaves the database as it was.
4. **The rest the normal way**: the migrations after 0007 (0008's concurrent
   indexes, ...) through ``migrations.apply``, so ``status`` is clean at the end.
   A run killed here has adopted the database; running ``adopt`` again finishes.
"""

from __future__ import annotations

import getpass
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import psycopg
from psycopg import sql
from yoyo import get_backend
from yoyo.migrations import get_migration_hash

from backtest_store import migrations
from backtest_store.errors import AdoptionError, MigrationError
from backtest_store.tables import ALL, RESULTS, TableSpec

Shape = Literal["revision", "models"]

# The migrations an adoption reproduces: the trigger function, the five tables
# (they exist: verified and converted) and the checks. Later ones apply normally.
ADOPTED = (
    "0001.create-set-updated-at-function",
    "0002.create-backtest-results",
    "0003.create-backtest-trades",
    "0004.create-optimization-results",
    "0005.create-walk-forward-tests",
    "0006.create-backtest-portfolios",
    "0007.add-integrity-checks",
)
ALEMBIC_REVISION = "013_add_backtest_persistence_models"

# The models' shape, as the replaced service's SQLAlchemy create_all made it: the
# revision without server defaults, foreign keys without ON DELETE CASCADE, three
# when-recorded timestamps nullable, and index=True on symbol.
MODELS_NULLABLE = {
    ("mcp_optimization_results", "optimization_date"),
    ("mcp_walk_forward_tests", "test_date"),
    ("mcp_backtest_portfolios", "backtest_date"),
}
MODELS_EXTRA_INDEX = ("ix_mcp_backtest_results_symbol", "mcp_backtest_results", ("symbol",))

_ORDER = tuple(spec.name for spec in ALL)
_SAMPLE = 5  # primary keys shown per finding

# A json text that may hold what jsonb refuses: \u0000, or a surrogate escape (a lone
# one is refused; pairs are fine). Candidates are decided exactly in Python.
_JSON_SUSPECT = r"\\u(0000|[dD][89abAB][0-9a-fA-F]{2})"


# -- what the catalog says ------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    """The facts of one table that adoption verifies."""

    columns: tuple[tuple[str, str, bool], ...]  # (name, format_type, not null), in order
    primary_key: tuple[str, ...]
    foreign_keys: frozenset[tuple[str, tuple[str, ...], str, str]]  # name, cols, ref, on delete
    indexes: frozenset[tuple[str, tuple[str, ...], bool, str]]  # name, cols, unique, method
    checks: frozenset[str]
    triggers: frozenset[str]


def _seed_indexes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, table, columns) of the 20 indexes the revision made: read from 0002-0006."""
    pattern = re.compile(r"^CREATE INDEX (\w+) ON (\w+) \(([^)]*)\)$")
    out = []
    for migration_id in ADOPTED[1:6]:
        for statement in migrations.statements(migration_id):
            match = pattern.match(statement)
            if match:
                columns = tuple(c.strip() for c in match.group(3).split(","))
                out.append((match.group(1), match.group(2), columns))
    return out


@lru_cache(maxsize=1)
def _seed_types() -> dict[tuple[str, str], str]:
    """The numeric(p,s) of each column as 0002-0006 create it: what an adopted table has
    (later migrations, 0010 among them, widen some after the adoption)."""
    table = re.compile(r"^CREATE TABLE (\w+) \(")
    column = re.compile(r"^\s*(\w+)\s+numeric\((\d+),(\d+)\)", re.M)
    out = {}
    for migration_id in ADOPTED[1:6]:
        for statement in migrations.statements(migration_id):
            match = table.match(statement)
            if match:
                for name, p, s in column.findall(statement):
                    out[match.group(1), name] = f"numeric({p},{s})"
    return out


def adopted_type(spec: TableSpec[Any], name: str) -> str:
    """A column's type as the adopted migrations (0001-0007) leave it."""
    return _seed_types().get((spec.name, name), spec.columns[name].sql_type)


def expected_shape(shape: Shape) -> dict[str, TableShape]:
    """The five tables as the revision, or the models, made them."""
    indexes: dict[str, set[tuple[str, tuple[str, ...], bool, str]]] = {n: set() for n in _ORDER}
    for index, table, keys in _seed_indexes():
        indexes[table].add((index, keys, False, "btree"))
    if shape == "models":
        index, table, keys = MODELS_EXTRA_INDEX
        indexes[table].add((index, keys, False, "btree"))
    out = {}
    for spec in ALL:
        indexes[spec.name].add((f"{spec.name}_pkey", (spec.key,), True, "btree"))
        nullable = MODELS_NULLABLE if shape == "models" else set()
        columns = tuple(
            (
                name,
                "json" if column.kind == "jsonb" else adopted_type(spec, name),
                column.not_null and (spec.name, name) not in nullable,
            )
            for name, column in spec.columns.items()
        )
        on_delete = "c" if shape == "revision" else "a"
        fks = frozenset(
            {(_fk_name(spec), (spec.parent_key,), RESULTS.name, on_delete)}
            if spec.parent_key
            else set()
        )
        out[spec.name] = TableShape(
            columns, (spec.key,), fks, frozenset(indexes[spec.name]), frozenset(), frozenset()
        )
    return out


def _fk_name(spec: TableSpec[Any]) -> str:
    return f"{spec.name}_{spec.parent_key}_fkey"


_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
  AND c.relname = ANY(%(tables)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum"""

_CONSTRAINTS_SQL = """
SELECT c.relname, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       coalesce(con.confrelid::regclass::text, ''), con.confdeltype
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%(tables)s)
  AND con.contype IN ('p', 'f', 'c', 'u', 'x')"""

_INDEXES_SQL = """
SELECT t.relname, i.relname, ix.indisunique, am.amname,
       ARRAY(SELECT coalesce(a.attname, '(expression)')
             FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, o)
             LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
             ORDER BY k.o),
       ix.indpred IS NOT NULL
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(tables)s)"""

_TRIGGERS_SQL = """
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
  AND c.relname = ANY(%(tables)s)"""


@dataclass
class Catalog:
    """The live facts of the five tables (absent tables are absent keys)."""

    shapes: dict[str, TableShape]
    defaults: dict[tuple[str, str], str | None]  # (table, column) -> pg_get_expr


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    params = {"tables": list(_ORDER)}
    columns: dict[str, list[tuple[str, str, bool]]] = {}
    defaults: dict[tuple[str, str], str | None] = {}
    for table, name, type_, not_null, default in conn.execute(_COLUMNS_SQL, params):
        columns.setdefault(table, []).append((name, type_, not_null))
        defaults[(table, name)] = default
    pkeys: dict[str, tuple[str, ...]] = {}
    fks: dict[str, set[tuple[str, tuple[str, ...], str, str]]] = {}
    checks: dict[str, set[str]] = {}
    for table, name, kind, cols, ref, on_delete in conn.execute(_CONSTRAINTS_SQL, params):
        if kind == "p":
            pkeys[table] = tuple(cols)
        elif kind == "f":
            fks.setdefault(table, set()).add((name, tuple(cols), ref, on_delete))
        else:
            checks.setdefault(table, set()).add(name)
    indexes: dict[str, set[tuple[str, tuple[str, ...], bool, str]]] = {}
    for table, name, unique, method, cols, partial in conn.execute(_INDEXES_SQL, params):
        shown = name + (" (partial)" if partial else "")
        indexes.setdefault(table, set()).add((shown, tuple(cols), unique, method))
    triggers: dict[str, set[str]] = {}
    for table, name in conn.execute(_TRIGGERS_SQL, params):
        triggers.setdefault(table, set()).add(name)
    shapes = {
        table: TableShape(
            tuple(cols),
            pkeys.get(table, ()),
            frozenset(fks.get(table, set())),
            frozenset(indexes.get(table, set())),
            frozenset(checks.get(table, set())),
            frozenset(triggers.get(table, set())),
        )
        for table, cols in columns.items()
    }
    return Catalog(shapes, defaults)


def differences(live: dict[str, TableShape], expected: dict[str, TableShape]) -> list[str]:
    """Every way the live tables differ from an expected shape, in words."""
    out: list[str] = []
    for table in _ORDER:
        want = expected[table]
        have = live.get(table)
        if have is None:
            out.append(f"{table}: the table is missing")
            continue
        have_cols = {c[0]: c for c in have.columns}
        want_cols = {c[0]: c for c in want.columns}
        for name, type_, not_null in want.columns:
            if name not in have_cols:
                out.append(f"{table}.{name}: the column is missing")
                continue
            _, h_type, h_not_null = have_cols[name]
            if h_type != type_:
                out.append(f"{table}.{name}: is {h_type}, expected {type_}")
            if h_not_null != not_null:
                want_null = "NOT NULL" if not_null else "nullable"
                out.append(
                    f"{table}.{name}: is {'NOT NULL' if h_not_null else 'nullable'}, "
                    f"expected {want_null}"
                )
        for name, type_, _ in have.columns:
            if name not in want_cols:
                out.append(f"{table}.{name}: an extra column ({type_})")
        common = [c[0] for c in have.columns if c[0] in want_cols]
        if common != [c[0] for c in want.columns if c[0] in have_cols]:
            out.append(f"{table}: the columns are in another order")
        if have.primary_key != want.primary_key:
            out.append(
                f"{table}: primary key {have.primary_key or 'none'}, expected {want.primary_key}"
            )
        out += _set_difference(table, "foreign key", have.foreign_keys, want.foreign_keys)
        out += _set_difference(table, "index", have.indexes, want.indexes)
        out += _set_difference(table, "check constraint", have.checks, want.checks)
        out += _set_difference(table, "trigger", have.triggers, want.triggers)
    return out


def _set_difference(table: str, what: str, have: frozenset[Any], want: frozenset[Any]) -> list[str]:
    def show(item: Any) -> str:
        if isinstance(item, str):
            return item
        if what == "foreign key":
            name, cols, ref, on_delete = item
            action = {"c": "ON DELETE CASCADE", "a": "no ON DELETE action"}.get(
                on_delete, on_delete
            )
            return f"{name} ({', '.join(cols)}) -> {ref}, {action}"
        name, cols, unique, method = item
        return f"{name} on ({', '.join(cols)}){' unique' if unique else ''} using {method}"

    out = [f"{table}: unexpected {what} {show(i)}" for i in sorted(have - want, key=str)]
    out += [f"{table}: missing {what} {show(i)}" for i in sorted(want - have, key=str)]
    return out


def recognise(live: dict[str, TableShape]) -> tuple[Shape, list[str]]:
    """The shape the tables have, and their differences from it (none: adoptable)."""
    found = {shape: differences(live, expected_shape(shape)) for shape in ("revision", "models")}
    best: Shape = "revision" if len(found["revision"]) <= len(found["models"]) else "models"
    return best, found[best]


# -- preflight ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Rows that a rule of the package refuses: a check, NaN in a column, NULL in a column
    that becomes NOT NULL, or a json value that jsonb cannot hold."""

    table: str
    rule: str  # ck_... constraint name, or "<column>: NaN" / "<column>: NULL" / "<column>: json"
    count: int
    keys: tuple[str, ...]  # up to five primary keys
    repairable: bool = False  # NaN in a nullable column: --nan-to-null stores NULL instead
    column: str | None = None  # the column, for the per-column rules (NaN, NULL, json)

    def describe(self) -> str:
        sample = ", ".join(self.keys)
        more = ", ..." if self.count > len(self.keys) else ""
        return f"{self.table}: {self.rule}: {self.count} row(s) ({sample}{more})"


def _checks_of_0007() -> list[tuple[str, str, str]]:
    """(table, constraint, expression) of every check 0007 adds, read from the file."""
    out = []
    for statement in migrations.statements(ADOPTED[6]):
        table_match = re.match(r"ALTER TABLE (\w+)", statement)
        if not table_match:
            continue
        for name, expression in re.findall(
            r"ADD CONSTRAINT (\w+) CHECK \((.*)\)\s*(?:,|$)", statement, flags=re.M
        ):
            out.append((table_match.group(1), name, expression))
    return out


def _preflight_table(
    conn: psycopg.Connection[Any],
    spec: TableSpec[Any],
    catalog: Catalog,
    refused_json: dict[str, list[str]],
) -> tuple[int, list[Finding]]:
    """Row count and findings of one table, in one scan (and the json values jsonb
    refuses, found by _refused_json)."""
    checks = [(n, e) for t, n, e in _checks_of_0007() if t == spec.name]
    # (rule, condition, repairable, column)
    rules: list[tuple[str, sql.Composable, bool, str | None]] = [
        (name, sql.SQL("({}) IS FALSE").format(sql.SQL(expression)), False, None)
        for name, expression in checks
    ]
    live_not_null = {c[0]: c[2] for c in catalog.shapes[spec.name].columns}
    for name, column in spec.columns.items():
        ident = sql.Identifier(name)
        if column.kind == "numeric":
            nan = sql.SQL("{} = 'NaN'").format(ident)
            rules.append((f"{name}: NaN", nan, not column.not_null, name))
        if column.not_null and not live_not_null.get(name, True):
            rules.append((f"{name}: NULL", sql.SQL("{} IS NULL").format(ident), False, name))
    key = sql.Identifier(spec.key)
    selects: list[sql.Composable] = [sql.SQL("count(*)")]
    for _, condition, _, _ in rules:
        selects.append(sql.SQL("count(*) FILTER (WHERE {c})").format(c=condition))
        selects.append(
            sql.SQL("(array_agg({k}::text ORDER BY {k}) FILTER (WHERE {c}))[1:{n}]").format(
                k=key, c=condition, n=sql.Literal(_SAMPLE)
            )
        )
    # The checks are written for jsonb: the json columns they name are read as jsonb
    # (what jsonb refuses reads as NULL here and is reported by _refused_json).
    expressions = " ".join(e for _, e in checks)
    source: list[sql.Composable] = []
    for name in spec.columns:
        ident = sql.Identifier(name)
        if name in _json_columns(spec, catalog) and re.search(rf"\b{name}\b", expressions):
            source.append(
                sql.SQL("CASE WHEN {c}::text ~ {p} THEN NULL ELSE {c}::jsonb END AS {c}").format(
                    c=ident, p=sql.Literal(_JSON_SUSPECT)
                )
            )
        else:
            source.append(ident)
    query = sql.SQL("SELECT {} FROM (SELECT {} FROM {}) AS t").format(
        sql.SQL(", ").join(selects), sql.SQL(", ").join(source), sql.Identifier(spec.name)
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    findings = []
    for i, (rule, _, repairable, of_column) in enumerate(rules):
        count, keys = row[1 + 2 * i], row[2 + 2 * i]
        if count:
            sample = tuple(keys or ())
            findings.append(Finding(spec.name, rule, count, sample, repairable, of_column))
    for name, bad in refused_json.items():
        sample = tuple(bad[:_SAMPLE])
        findings.append(Finding(spec.name, f"{name}: json", len(bad), sample, column=name))
    return int(row[0]), findings


def _json_columns(spec: TableSpec[Any], catalog: Catalog) -> list[str]:
    live = {c[0]: c[1] for c in catalog.shapes[spec.name].columns}
    return [n for n, c in spec.columns.items() if c.kind == "jsonb" and live.get(n) == "json"]


def _refused_json(
    conn: psycopg.Connection[Any], spec: TableSpec[Any], catalog: Catalog
) -> dict[str, list[str]]:
    """Keys of the rows whose json jsonb refuses (a \\u0000 escape, a lone surrogate), per
    column: decided exactly in Python for the candidate rows a regular expression finds."""
    import json

    found = {}
    for name in _json_columns(spec, catalog):
        query = sql.SQL("SELECT {k}::text, {c}::text FROM {t} WHERE {c}::text ~ {p} ORDER BY {k}")
        rows = conn.execute(
            query.format(
                k=sql.Identifier(spec.key),
                c=sql.Identifier(name),
                t=sql.Identifier(spec.name),
                p=sql.Literal(_JSON_SUSPECT),
            )
        ).fetchall()
        bad = [key for key, text in rows if not _jsonb_can_hold(json.loads(text))]
        if bad:
            found[name] = bad
    return found


def _jsonb_can_hold(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return all(_jsonb_can_hold(k) and _jsonb_can_hold(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_jsonb_can_hold(v) for v in value)
    return True


_DUPLICATE_KEYS_SQL = """
WITH RECURSIVE walk(key, v) AS (
    SELECT {key}::text, {col} FROM {table}
    WHERE json_typeof({col}) IN ('object', 'array') AND NOT {key}::text = ANY(%(refused)s)
  UNION ALL
    SELECT w.key, e.v FROM walk w
    CROSS JOIN LATERAL (
        SELECT value FROM json_each(CASE WHEN json_typeof(w.v) = 'object' THEN w.v END)
        UNION ALL
        SELECT value FROM json_array_elements(CASE WHEN json_typeof(w.v) = 'array' THEN w.v END)
    ) AS e(v)
    WHERE json_typeof(e.v) IN ('object', 'array')
)
SELECT DISTINCT key FROM walk
WHERE json_typeof(v) = 'object'
  AND (SELECT count(*) FROM json_object_keys(v))
      <> (SELECT count(*) FROM jsonb_object_keys(v::jsonb))
ORDER BY key"""


def _meaning_changes(
    conn: psycopg.Connection[Any],
    spec: TableSpec[Any],
    catalog: Catalog,
    refused_json: dict[str, list[str]],
) -> list[Finding]:
    """json values that jsonb stores with another meaning: objects with duplicate keys
    (jsonb keeps the last, as Python's json module reads them). Values jsonb refuses
    are findings already, and left out here."""
    out = []
    for name in _json_columns(spec, catalog):
        query = sql.SQL(_DUPLICATE_KEYS_SQL).format(
            key=sql.Identifier(spec.key), col=sql.Identifier(name), table=sql.Identifier(spec.name)
        )
        keys = [r[0] for r in conn.execute(query, {"refused": refused_json.get(name, [])})]
        if keys:
            rule = f"{name}: duplicate json keys (jsonb keeps the last)"
            out.append(Finding(spec.name, rule, len(keys), tuple(keys[:_SAMPLE])))
    return out


# -- the plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One statement of the adoption transaction and the lock it takes."""

    statement: str
    lock: str  # e.g. "ACCESS EXCLUSIVE on mcp_backtest_trades"
    table: str | None = None
    rows: int | None = None  # rows the statement reads (or rewrites) in that table
    rewrite: bool = False  # True: it rewrites the table (json to jsonb)
    doing: str = ""  # what it does, in a few words (progress lines)


@dataclass
class Plan:
    """What adopt found and what it does (or, in a dry run, would do)."""

    url: str
    shape: Shape | None = None
    alembic_version: str | None = None
    already_adopted: bool = False
    differences: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    meaning_changes: list[Finding] = field(default_factory=list)
    nan_to_null: bool = False  # repair NaN (in nullable columns) as NULL
    steps: list[Step] = field(default_factory=list)
    then_apply: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # table -> time its steps took
    applied: list[str] = field(default_factory=list)  # after adoption, by migrations.apply

    def repaired(self, finding: Finding) -> bool:
        """True for a finding the adoption repairs (NaN set to NULL) instead of refusing."""
        return self.nan_to_null and finding.repairable

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if not self.repaired(f)]

    @property
    def nan_repairs(self) -> dict[str, int]:
        """ "table.column" -> rows whose NaN the adoption sets to NULL."""
        return {f"{f.table}.{f.column}": f.count for f in self.findings if self.repaired(f)}

    def render(self) -> str:
        """The plan in words: shape, findings, each statement with its lock, what follows."""
        lines = [f"Adoption of {migrations.redact(self.url)}"]
        if self.already_adopted:
            lines.append("  backtest-store manages these tables already (0001-0007 are recorded).")
            lines += [f"  then: {m}" for m in self.then_apply] or ["  nothing to apply."]
            return "\n".join(lines)
        version = f", alembic_version {self.alembic_version}" if self.alembic_version else ""
        made_by = {
            "revision": f"the Alembic revision {ALEMBIC_REVISION}",
            "models": "the service's SQLAlchemy models (create_all)",
        }
        lines.append(f"  shape: tables made by {made_by.get(self.shape or '', '?')}{version}")
        if self.differences:
            lines.append("  the tables differ from that shape (nothing will be changed):")
            lines += [f"    {d}" for d in self.differences]
            return "\n".join(lines)
        lines.append("  rows: " + ", ".join(f"{t} {n:,}" for t, n in self.rows.items()))
        if self.findings:
            lines.append("  preflight: rows the package's rules refuse:")
            for f in self.findings:
                fix = "  -> NULL (--nan-to-null)" if self.repaired(f) else ""
                lines.append(f"    {f.describe()}{fix}")
        else:
            lines.append("  preflight: every row passes the package's rules")
        for f in self.meaning_changes:
            lines.append(f"  note: {f.describe()}")
        if self.blocking:
            lines.append(
                "  adoption is impossible until these rows are fixed (the DBA decides);"
                " NaN alone can be set to NULL with --nan-to-null"
            )
        lines.append("  one transaction, all or nothing (lock_timeout: a busy table fails fast):")
        for step in self.steps:
            rewrite = ""
            if step.rows is not None:
                rewrite = f"; {'rewrites' if step.rewrite else 'reads'} {step.rows:,} rows"
            first = step.statement.splitlines()[0]
            more = " ..." if "\n" in step.statement else ""
            lines.append(f"    [{step.lock}{rewrite}] {first}{more}")
        lines.append(f"    record {', '.join(ADOPTED)} as applied")
        lines += [f"  then, the normal way: {m}" for m in self.then_apply]
        return "\n".join(lines)


def _statements_to_replay() -> list[str]:
    """The statements of 0001-0007 that create what the adopted tables lack.

    Every statement of those files is either replayed here, or verified by recognise()
    (CREATE TABLE, CREATE INDEX), or a session setting adopt makes itself (SET LOCAL);
    tests/test_adopt.py proves that nothing else is in them.
    """
    return [s for m in ADOPTED for s in migrations.statements(m) if replayed(s)]


def replayed(statement: str) -> bool:
    return statement.startswith(("CREATE FUNCTION", "COMMENT ON", "CREATE TRIGGER", "ALTER TABLE"))


def verified(statement: str) -> bool:
    return statement.startswith(("CREATE TABLE", "CREATE INDEX", "SET LOCAL"))


def _build_steps(conn: psycopg.Connection[Any], plan: Plan, catalog: Catalog) -> list[Step]:
    def text(composed: sql.Composable) -> str:
        return composed.as_string(conn)

    tables = sql.SQL(", ").join(map(sql.Identifier, _ORDER))
    steps = [
        Step(
            text(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(tables)),
            "ACCESS EXCLUSIVE on the five tables",
        )
    ]
    repairs = plan.nan_repairs
    for spec in ALL:
        columns = [c for c in spec.columns if f"{spec.name}.{c}" in repairs]
        if columns:
            sets = sql.SQL(", ").join(
                sql.SQL("{c} = CASE WHEN {c} = 'NaN' THEN NULL ELSE {c} END").format(
                    c=sql.Identifier(c)
                )
                for c in columns
            )
            where = sql.SQL(" OR ").join(
                sql.SQL("{} = 'NaN'").format(sql.Identifier(c)) for c in columns
            )
            statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(
                sql.Identifier(spec.name), sets, where
            )
            rows = sum(repairs[f"{spec.name}.{c}"] for c in columns)
            steps.append(
                Step(
                    text(statement),
                    f"ROW EXCLUSIVE on {spec.name}; NaN -> NULL in up to {rows:,} rows",
                    spec.name,
                )
            )
    for spec in ALL:
        live = {c[0]: c for c in catalog.shapes[spec.name].columns}
        actions: list[sql.Composable] = []
        for name, column in spec.columns.items():
            ident = sql.Identifier(name)
            if live[name][1] != adopted_type(spec, name):
                actions.append(
                    sql.SQL("ALTER COLUMN {c} TYPE {t} USING {c}::{t}").format(
                        c=ident, t=sql.SQL(adopted_type(spec, name))
                    )
                )
            want = column.default_sql
            if catalog.defaults.get((spec.name, name)) != want:
                actions.append(
                    sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(ident, sql.SQL(want))
                    if want is not None
                    else sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(ident)
                )
            if column.not_null and not live[name][2]:
                actions.append(sql.SQL("ALTER COLUMN {} SET NOT NULL").format(ident))
        if actions:
            rewrite = any(live[n][1] != adopted_type(spec, n) for n in spec.columns)
            statement = sql.SQL("ALTER TABLE {}\n    {}").format(
                sql.Identifier(spec.name), sql.SQL(",\n    ").join(actions)
            )
            doing = "json to jsonb, defaults, NOT NULL" if rewrite else "defaults, NOT NULL"
            steps.append(
                Step(
                    text(statement),
                    f"ACCESS EXCLUSIVE on {spec.name}",
                    spec.name,
                    plan.rows.get(spec.name),
                    rewrite,
                    doing,
                )
            )
    for spec in ALL:
        if spec.parent_key is None:
            continue
        (fk,) = catalog.shapes[spec.name].foreign_keys
        name = _fk_name(spec)
        if fk[0] == name and fk[3] == "c":
            continue  # the revision's foreign key is the package's already
        add = sql.SQL(
            "ALTER TABLE {t} DROP CONSTRAINT {old},\n"
            "    ADD CONSTRAINT {new} FOREIGN KEY ({col}) REFERENCES {parent} ({key})"
            " ON DELETE CASCADE NOT VALID"
        ).format(
            t=sql.Identifier(spec.name),
            old=sql.Identifier(fk[0]),
            new=sql.Identifier(name),
            col=sql.Identifier(spec.parent_key),
            parent=sql.Identifier(RESULTS.name),
            key=sql.Identifier(RESULTS.key),
        )
        steps.append(
            Step(text(add), f"SHARE ROW EXCLUSIVE on {spec.name} and {RESULTS.name}", spec.name)
        )
        validate = sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(spec.name), sql.Identifier(name)
        )
        steps.append(
            Step(
                text(validate),
                f"SHARE UPDATE EXCLUSIVE on {spec.name}",
                spec.name,
                plan.rows.get(spec.name),
                doing="validating the foreign key",
            )
        )
    index, indexed, _ = MODELS_EXTRA_INDEX
    if any(i[0] == index for i in catalog.shapes[indexed].indexes):
        statement = sql.SQL("DROP INDEX {}").format(sql.Identifier(index))
        steps.append(Step(text(statement), f"ACCESS EXCLUSIVE on {indexed}", indexed))
    for replay in _statements_to_replay():
        table = _table_of(replay)
        if replay.startswith("ALTER TABLE") and table:  # 0007's checks: every row is read
            doing = "adding and checking the ck_ constraints"
            steps.append(Step(replay, _lock_of(replay), table, plan.rows.get(table), False, doing))
        else:
            steps.append(Step(replay, _lock_of(replay), table))
    return steps


def _table_of(statement: str) -> str | None:
    match = re.match(
        r"(?:ALTER TABLE|CREATE TRIGGER \w+\s+\w+\s+\w+\s+ON|COMMENT ON \w+) (\w+)", statement
    )
    return match.group(1) if match and match.group(1) in _ORDER else None


def _lock_of(statement: str) -> str:
    table = _table_of(statement)
    if statement.startswith("CREATE FUNCTION"):
        return "none (a new function)"
    if statement.startswith("CREATE TRIGGER"):
        return f"SHARE ROW EXCLUSIVE on {table}"
    if statement.startswith("COMMENT ON"):
        return f"SHARE UPDATE EXCLUSIVE on {table}" if table in _ORDER else "none"
    return f"ACCESS EXCLUSIVE on {table}"


# -- adopt ------------------------------------------------------------------------------


def _alembic_version(conn: psycopg.Connection[Any]) -> str | None:
    if not migrations.table_exists(conn, "alembic_version"):
        return None
    row = conn.execute("SELECT string_agg(version_num, ', ') FROM alembic_version").fetchone()
    return row[0] if row else None


def make_plan(conn: psycopg.Connection[Any], url: str, *, nan_to_null: bool) -> Plan:
    """Recognise, verify and preflight; build the statements. Changes nothing."""
    plan = Plan(url, nan_to_null=nan_to_null)
    status = migrations.current_status(conn)
    if "0002.create-backtest-results" in status.applied:
        plan.already_adopted = True
        plan.then_apply = status.pending
        return plan
    catalog = read_catalog(conn)
    if RESULTS.name not in catalog.shapes:
        raise AdoptionError(
            f"{migrations.redact(url)} has no {RESULTS.name} table: there is nothing to adopt. "
            "For a new database run: backtest-store migrate"
        )
    plan.alembic_version = _alembic_version(conn)
    plan.shape, plan.differences = recognise(catalog.shapes)
    if plan.differences:
        return plan
    for spec in ALL:
        refused_json = _refused_json(conn, spec, catalog)
        plan.rows[spec.name], found = _preflight_table(conn, spec, catalog, refused_json)
        plan.findings += found
        plan.meaning_changes += _meaning_changes(conn, spec, catalog, refused_json)
    plan.steps = _build_steps(conn, plan, catalog)
    plan.then_apply = [m for m in migrations.migration_ids() if m not in ADOPTED]
    return plan


def _refusal(plan: Plan) -> AdoptionError | None:
    where = migrations.redact(plan.url)
    if plan.differences:
        return AdoptionError(
            f"{where}: the backtest tables have neither the Alembic revision's shape nor the "
            f"models' shape (closest: {plan.shape}); nothing was changed. Differences:\n  "
            + "\n  ".join(plan.differences),
            differences=plan.differences,
            plan=plan,
        )
    if plan.blocking:
        return AdoptionError(
            f"{where}: rows break the package's rules; nothing was changed. Fix them (or, for "
            "NaN alone, pass --nan-to-null) and run adopt again:\n  "
            + "\n  ".join(f.describe() for f in plan.blocking),
            findings=plan.blocking,
            plan=plan,
        )
    return None


def adopt(
    url: str | None = None,
    *,
    dry_run: bool = False,
    nan_to_null: bool = False,
    lock_timeout: str = "5s",
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Adopt a database the Alembic revision 013 (or its models) made; see the module doc.

    Returns the plan, carried out unless ``dry_run``. Raises AdoptionError (nothing
    changed) when the tables differ from both shapes or rows break the rules.
    ``progress`` receives a line per table as it goes (the CLI passes one on a terminal).
    """
    url = migrations.resolve_url(url)
    say = progress or (lambda _: None)
    with migrations.serialised(url, 300) as conn:
        plan = make_plan(conn, url, nan_to_null=nan_to_null)
        refusal = _refusal(plan)
        if refusal is not None:
            raise refusal
        if dry_run:
            return plan
        if not plan.already_adopted:
            _prepare_yoyo(url)
            _adopt_in_one_transaction(url, plan, lock_timeout, say)
    say("applying the migrations after 0007 the normal way")
    plan.applied = migrations.apply(url, progress=progress)
    return plan


def _prepare_yoyo(url: str) -> None:
    """Create yoyo's bookkeeping tables (empty) the way yoyo does, before the adoption
    transaction records migrations in them. A run killed after this has changed nothing
    but these empty tables, which record nothing as applied."""
    backend = get_backend(migrations.yoyo_url(url), migrations.YOYO_MIGRATION_TABLE)
    try:
        backend.ensure_internal_schema_updated()
    finally:
        backend.connection.close()


def _adopt_in_one_transaction(
    url: str, plan: Plan, lock_timeout: str, say: Callable[[str], None]
) -> None:
    with migrations.connect(url, autocommit=False) as conn:
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
    migration_table = sql.Identifier(migrations.YOYO_MIGRATION_TABLE)
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
    migrations.record_checksums(conn, list(ADOPTED))


def terminal_progress() -> Callable[[str], None] | None:
    """A progress printer for stderr when it is a terminal, else None (quiet in pipes)."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    return say
