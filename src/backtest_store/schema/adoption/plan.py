"""Adoption, stage 3: the plan, each statement of the one adoption transaction with the
lock it takes, and the refusal when anything was found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from backtest_store.errors import AdoptionError

# -- the plan -------------------------------------------------------------------------
from backtest_store.schema.adoption.catalog import (
    ADOPTED,
    ALEMBIC_REVISION,
    MODELS_EXTRA_INDEX,
    ORDER,
    Catalog,
    Shape,
    adopted_columns,
    adopted_type,
    fk_name,
    read_catalog,
    recognise,
)
from backtest_store.schema.adoption.preflight import (
    Finding,
    json_refusals,
    meaning_changes,
    preflight_table,
)
from backtest_store.schema.files import migration_ids, statements
from backtest_store.schema.runner import current_status, table_exists
from backtest_store.tables import ALL, RESULTS
from backtest_store.urls import redact


@dataclass(frozen=True)
class AdoptionStep:
    """One statement of the adoption transaction and the lock it takes."""

    statement: str
    lock: str  # e.g. "ACCESS EXCLUSIVE on mcp_backtest_trades"
    table: str | None = None
    rows: int | None = None  # rows the statement reads (or rewrites) in that table
    rewrite: bool = False  # True: it rewrites the table (json to jsonb)
    doing: str = ""  # what it does, in a few words (progress lines)


@dataclass
class AdoptionPlan:
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
    steps: list[AdoptionStep] = field(default_factory=list)
    then_apply: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # table -> time its steps took
    applied: list[str] = field(default_factory=list)  # after adoption, by apply

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
        lines = [f"Adoption of {redact(self.url)}"]
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
    return [s for m in ADOPTED for s in statements(m) if replayed(s)]


def replayed(statement: str) -> bool:
    return statement.startswith(("CREATE FUNCTION", "COMMENT ON", "CREATE TRIGGER", "ALTER TABLE"))


def verified(statement: str) -> bool:
    return statement.startswith(("CREATE TABLE", "CREATE INDEX", "SET LOCAL"))


def _build_steps(
    conn: psycopg.Connection[Any], plan: AdoptionPlan, catalog: Catalog
) -> list[AdoptionStep]:
    def text(composed: sql.Composable) -> str:
        return composed.as_string(conn)

    tables = sql.SQL(", ").join(map(sql.Identifier, ORDER))
    steps = [
        AdoptionStep(
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
                AdoptionStep(
                    text(statement),
                    f"ROW EXCLUSIVE on {spec.name}; NaN -> NULL in up to {rows:,} rows",
                    spec.name,
                )
            )
    for spec in ALL:
        live = {c[0]: c for c in catalog.shapes[spec.name].columns}
        actions: list[sql.Composable] = []
        for name in adopted_columns(spec):
            column = spec.columns[name]
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
            rewrite = any(live[n][1] != adopted_type(spec, n) for n in adopted_columns(spec))
            statement = sql.SQL("ALTER TABLE {}\n    {}").format(
                sql.Identifier(spec.name), sql.SQL(",\n    ").join(actions)
            )
            doing = "json to jsonb, defaults, NOT NULL" if rewrite else "defaults, NOT NULL"
            steps.append(
                AdoptionStep(
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
        name = fk_name(spec)
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
            AdoptionStep(
                text(add), f"SHARE ROW EXCLUSIVE on {spec.name} and {RESULTS.name}", spec.name
            )
        )
        validate = sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(spec.name), sql.Identifier(name)
        )
        steps.append(
            AdoptionStep(
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
        steps.append(AdoptionStep(text(statement), f"ACCESS EXCLUSIVE on {indexed}", indexed))
    for replay in _statements_to_replay():
        table = _table_of(replay)
        if replay.startswith("ALTER TABLE") and table:  # 0007's checks: every row is read
            doing = "adding and checking the ck_ constraints"
            steps.append(
                AdoptionStep(replay, _lock_of(replay), table, plan.rows.get(table), False, doing)
            )
        else:
            steps.append(AdoptionStep(replay, _lock_of(replay), table))
    return steps


def _table_of(statement: str) -> str | None:
    match = re.match(
        r"(?:ALTER TABLE|CREATE TRIGGER \w+\s+\w+\s+\w+\s+ON|COMMENT ON \w+) (\w+)", statement
    )
    return match.group(1) if match and match.group(1) in ORDER else None


def _lock_of(statement: str) -> str:
    table = _table_of(statement)
    if statement.startswith("CREATE FUNCTION"):
        return "none (a new function)"
    if statement.startswith("CREATE TRIGGER"):
        return f"SHARE ROW EXCLUSIVE on {table}"
    if statement.startswith("COMMENT ON"):
        return f"SHARE UPDATE EXCLUSIVE on {table}" if table in ORDER else "none"
    return f"ACCESS EXCLUSIVE on {table}"


# -- adopt ------------------------------------------------------------------------------


def _alembic_version(conn: psycopg.Connection[Any]) -> str | None:
    if not table_exists(conn, "alembic_version"):
        return None
    row = conn.execute("SELECT string_agg(version_num, ', ') FROM alembic_version").fetchone()
    return row[0] if row else None


def make_plan(conn: psycopg.Connection[Any], url: str, *, nan_to_null: bool) -> AdoptionPlan:
    """Recognise, verify and preflight; build the statements. Changes nothing."""
    plan = AdoptionPlan(url, nan_to_null=nan_to_null)
    status = current_status(conn)
    if "0002.create-backtest-results" in status.applied:
        plan.already_adopted = True
        plan.then_apply = status.pending
        return plan
    catalog = read_catalog(conn)
    if RESULTS.name not in catalog.shapes:
        raise AdoptionError(
            f"{redact(url)} has no {RESULTS.name} table: there is nothing to adopt. "
            "For a new database run: backtest-store migrate"
        )
    plan.alembic_version = _alembic_version(conn)
    plan.shape, plan.differences = recognise(catalog.shapes)
    if plan.differences:
        return plan
    for spec in ALL:
        refused = json_refusals(conn, spec, catalog)
        plan.rows[spec.name], found = preflight_table(conn, spec, catalog, refused)
        plan.findings += found
        plan.meaning_changes += meaning_changes(conn, spec, catalog, refused)
    plan.steps = _build_steps(conn, plan, catalog)
    plan.then_apply = [m for m in migration_ids() if m not in ADOPTED]
    return plan


def refusal_of(plan: AdoptionPlan) -> AdoptionError | None:
    where = redact(plan.url)
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
