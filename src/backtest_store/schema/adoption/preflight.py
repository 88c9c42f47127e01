"""Adoption, stage 2: one scan per table counts the rows the package's rules would
refuse (each check of 0007, NaN, NULL where NOT NULL comes, json that jsonb cannot hold)
and the json values whose meaning jsonb changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backtest_store.schema.adoption.catalog import ADOPTED, Catalog, adopted_columns
from backtest_store.schema.files import statements
from backtest_store.tables import TableSpec

_SAMPLE = 5  # primary keys shown per finding

# A json text that may hold what jsonb refuses: \u0000, or a surrogate escape (a lone
# one is refused; pairs are fine). Candidates are decided exactly in Python.
_JSON_SUSPECT = r"\\u(0000|[dD][89abAB][0-9a-fA-F]{2})"


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
    for statement in statements(ADOPTED[6]):
        table_match = re.match(r"ALTER TABLE (\w+)", statement)
        if not table_match:
            continue
        for name, expression in re.findall(
            r"ADD CONSTRAINT (\w+) CHECK \((.*)\)\s*(?:,|$)", statement, flags=re.M
        ):
            out.append((table_match.group(1), name, expression))
    return out


def preflight_table(
    conn: psycopg.Connection[Any],
    spec: TableSpec[Any],
    catalog: Catalog,
    json_refusals: dict[str, list[str]],
) -> tuple[int, list[Finding]]:
    """Row count and findings of one table, in one scan (and the json values jsonb
    refuses, found by json_refusals)."""
    checks = [(n, e) for t, n, e in _checks_of_0007() if t == spec.name]
    # (rule, condition, repairable, column)
    rules: list[tuple[str, sql.Composable, bool, str | None]] = [
        (name, sql.SQL("({}) IS FALSE").format(sql.SQL(expression)), False, None)
        for name, expression in checks
    ]
    live_not_null = {c[0]: c[2] for c in catalog.shapes[spec.name].columns}
    adopted = adopted_columns(spec)
    for name in adopted:
        column = spec.columns[name]
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
    # (what jsonb refuses reads as NULL here and is reported by json_refusals).
    expressions = " ".join(e for _, e in checks)
    source: list[sql.Composable] = []
    for name in adopted:
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
    for name, bad in json_refusals.items():
        sample = tuple(bad[:_SAMPLE])
        findings.append(Finding(spec.name, f"{name}: json", len(bad), sample, column=name))
    return int(row[0]), findings


def _json_columns(spec: TableSpec[Any], catalog: Catalog) -> list[str]:
    live = {c[0]: c[1] for c in catalog.shapes[spec.name].columns}
    return [n for n in adopted_columns(spec)
            if spec.columns[n].kind == "jsonb" and live.get(n) == "json"]  # fmt: skip


def json_refusals(
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


def meaning_changes(
    conn: psycopg.Connection[Any],
    spec: TableSpec[Any],
    catalog: Catalog,
    json_refusals: dict[str, list[str]],
) -> list[Finding]:
    """json values that jsonb stores with another meaning: objects with duplicate keys
    (jsonb keeps the last, as Python's json module reads them). Values jsonb refuses
    are findings already, and left out here."""
    out = []
    for name in _json_columns(spec, catalog):
        query = sql.SQL(_DUPLICATE_KEYS_SQL).format(
            key=sql.Identifier(spec.key), col=sql.Identifier(name), table=sql.Identifier(spec.name)
        )
        keys = [r[0] for r in conn.execute(query, {"refused": json_refusals.get(name, [])})]
        if keys:
            rule = f"{name}: duplicate json keys (jsonb keeps the last)"
            out.append(Finding(spec.name, rule, len(keys), tuple(keys[:_SAMPLE])))
    return out
