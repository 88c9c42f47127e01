"""Adoption, stage 1: the two shapes the Alembic revision's databases come in (read
from the migration files), the live catalog, and the differences between them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import psycopg

from backtest_store.schema.files import statements
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

ORDER = tuple(spec.name for spec in ALL)
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
        for statement in statements(migration_id):
            match = pattern.match(statement)
            if match:
                columns = tuple(c.strip() for c in match.group(3).split(","))
                out.append((match.group(1), match.group(2), columns))
    return out


@lru_cache(maxsize=1)
def _seed_types() -> dict[tuple[str, str], str | None]:
    """Each column as 0002-0006 create it, with the numeric(p,s) and varchar(n) it has
    there (None: another type, as the record has it): what an adopted table has. Later
    migrations widen some after the adoption (0010, 0011) and add others (0011)."""
    table = re.compile(r"^CREATE TABLE (\w+) \(")
    column = re.compile(r"^\s*(\w+)\s+(?:(numeric\(\d+,\d+\))|varchar\((\d+)\)|\w+)", re.M)
    out: dict[tuple[str, str], str | None] = {}
    for migration_id in ADOPTED[1:6]:
        for statement in statements(migration_id):
            match = table.match(statement)
            if match:
                for name, numeric, length in column.findall(statement):
                    if name == "CONSTRAINT":
                        continue
                    seed = numeric or (f"character varying({length})" if length else None)
                    out[match.group(1), name] = seed
    return out


def adopted_columns(spec: TableSpec[Any]) -> list[str]:
    """The columns an adopted table has: those 0002-0006 create."""
    return [name for name in spec.columns if (spec.name, name) in _seed_types()]


def adopted_type(spec: TableSpec[Any], name: str) -> str:
    """A column's type as the adopted migrations (0001-0007) leave it."""
    return _seed_types().get((spec.name, name)) or spec.columns[name].sql_type


def expected_shape(shape: Shape) -> dict[str, TableShape]:
    """The five tables as the revision, or the models, made them."""
    indexes: dict[str, set[tuple[str, tuple[str, ...], bool, str]]] = {n: set() for n in ORDER}
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
            if name in adopted_columns(spec)
        )
        on_delete = "c" if shape == "revision" else "a"
        fks = frozenset(
            {(fk_name(spec), (spec.parent_key,), RESULTS.name, on_delete)}
            if spec.parent_key
            else set()
        )
        out[spec.name] = TableShape(
            columns, (spec.key,), fks, frozenset(indexes[spec.name]), frozenset(), frozenset()
        )
    return out


def fk_name(spec: TableSpec[Any]) -> str:
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
    params = {"tables": list(ORDER)}
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
    for table in ORDER:
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
