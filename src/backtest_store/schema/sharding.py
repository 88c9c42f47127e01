"""The statements that distribute the store's tables on Citus, and running them: the
plan ``distribute`` prints and runs (backtest_store.distribution), and what ``migrate``
runs on a distributed database when a migration recreated a table (schema/runner.py).
Why each statement is there: backtest_store/distribution.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backtest_store.errors import DistributionError, MigrationError
from backtest_store.operations import catalog
from backtest_store.schema.citus import MARKER_TABLE, distributed_tables, one, recorded
from backtest_store.tables import ALL, TableSpec


def distribution_column(spec: TableSpec[Any]) -> str:
    """The column a table is distributed by: the backtest its rows belong to."""
    return spec.parent_key or spec.key


def child_key(spec: TableSpec[Any]) -> tuple[str, ...]:
    """The primary key a table has once distributed: (parent id, own id) for a child."""
    return (spec.parent_key, spec.key) if spec.parent_key else (spec.key,)


def own_id_index(spec: TableSpec[Any]) -> str:
    return f"{spec.name}_{spec.key}_idx"


@dataclass(frozen=True)
class ShardingStep:
    """One statement of the plan, with the lock it takes and why it is there."""

    statement: str
    lock: str
    table: str | None = None  # the table whose time the step counts toward


def _primary_key(conn: psycopg.Connection[Any], spec: TableSpec[Any]) -> tuple[str, ...]:
    rows = conn.execute(
        """SELECT a.attname FROM pg_constraint k
           CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
           WHERE k.conrelid = %s::regclass AND k.contype = 'p' ORDER BY u.n""",
        (spec.name,),
    ).fetchall()
    return tuple(r[0] for r in rows)


def plan_steps(
    conn: psycopg.Connection[Any], shard_count: int | None, *, present: list[str] | None = None
) -> list[ShardingStep]:
    """The statements that distribute whichever of the store's tables (``present``: those
    that exist; default all five) are not distributed yet, in one colocation group."""
    specs = [s for s in ALL if present is None or s.name in present]
    done = distributed_tables(conn)
    anchor = ALL[0].name  # mcp_backtest_results: the colocation group's first table
    for spec in specs:
        if spec.name in done:
            column, colocation, _ = done[spec.name]
            want = distribution_column(spec)
            same_group = anchor in done and colocation == done[anchor][1]
            if column != want or not same_group:
                raise DistributionError(
                    f"{spec.name} is distributed already, by {column} in colocation group "
                    f"{colocation}; the store needs it by {want}, colocated with {anchor}. "
                    f"Undistribute it first (SELECT undistribute_table('{spec.name}')); "
                    "nothing was changed"
                )
    steps: list[ShardingStep] = []
    for spec in specs:
        if spec.name in done or not spec.parent_key:
            continue
        if _primary_key(conn, spec) != child_key(spec):
            pkey = sql.Identifier(f"{spec.name}_pkey")
            table = sql.Identifier(spec.name)
            lock = f"ACCESS EXCLUSIVE on {spec.name} (reads and writes wait)"
            steps += [
                ShardingStep(_s("ALTER TABLE {} DROP CONSTRAINT {}", table, pkey), lock, spec.name),
                ShardingStep(
                    _s(
                        "ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})",
                        table,
                        pkey,
                        sql.SQL(", ").join(map(sql.Identifier, child_key(spec))),
                    ),
                    lock + "; builds the new key's unique index",
                    spec.name,
                ),
                ShardingStep(
                    _s(
                        "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                        sql.Identifier(own_id_index(spec)),
                        table,
                        sql.Identifier(spec.key),
                    ),
                    f"SHARE on {spec.name} (writes wait)",
                    spec.name,
                ),
            ]
    pending = [s for s in specs if s.name not in done]
    if not pending:
        return steps
    steps.append(
        ShardingStep(
            "SET LOCAL citus.enable_unsafe_triggers = on",
            "none (this transaction only: the updated_at trigger sets NEW.updated_at and "
            "touches no other row, so it is safe on every shard)",
        )
    )
    # The copy of a table's rows into its shards inserts them there: saved_by's trigger
    # (0011) would stamp the role that distributes on every row. Off for the copy, on again
    # after it, in the same transaction: no client ever writes without it.
    stamped = [s.name for s in pending if _has_trigger(conn, s.name, SAVED_BY_TRIGGER)]
    for name in stamped:
        steps.append(ShardingStep(_s("ALTER TABLE {} DISABLE TRIGGER {}", sql.Identifier(name),
                             sql.Identifier(SAVED_BY_TRIGGER)),
                          f"ACCESS EXCLUSIVE on {name}, for the transaction"))  # fmt: skip
    for spec in pending:
        if spec.name == anchor:
            options: sql.Composable = sql.SQL("colocate_with => 'none'")
            if shard_count is not None:
                options = sql.SQL("shard_count => {}, colocate_with => 'none'").format(
                    sql.Literal(shard_count)
                )
        else:
            options = sql.SQL("colocate_with => {}").format(sql.Literal(anchor))
        steps.append(
            ShardingStep(
                _s(
                    "SELECT create_distributed_table({}, {}, {})",
                    sql.Literal(spec.name),
                    sql.Literal(distribution_column(spec)),
                    options,
                ),
                f"EXCLUSIVE on {spec.name} (reads go on, writes wait); copies its rows to "
                "the shards",
                spec.name,
            )
        )
    for name in stamped:
        steps.append(ShardingStep(_s("ALTER TABLE {} ENABLE TRIGGER {}", sql.Identifier(name),
                             sql.Identifier(SAVED_BY_TRIGGER)),
                          f"ACCESS EXCLUSIVE on {name}, for the transaction"))  # fmt: skip
    for spec in reversed(pending):  # children first: nothing local references a parent then
        steps.append(
            ShardingStep(
                _s(
                    "SELECT truncate_local_data_after_distributing_table({})",
                    sql.Literal(spec.name),
                ),
                f"ACCESS EXCLUSIVE on {spec.name} (reads and writes wait); removes the "
                "coordinator's local copy of the rows",
                spec.name,
            )
        )
    return steps


SAVED_BY_TRIGGER = "mcp_backtest_results_set_saved_by"


def _has_trigger(conn: psycopg.Connection[Any], table: str, trigger: str) -> bool:
    return bool(one(conn, "SELECT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass(%s)"
                          " AND tgname = %s)", (table, trigger)))  # fmt: skip


def _s(template: str, *parts: sql.Composable) -> str:
    return sql.SQL(template).format(*parts).as_string(None)


def record(conn: psycopg.Connection[Any]) -> None:
    """Remember that the store is distributed, so that a migration run that recreates a
    table (a rollback past it, then migrate) distributes it again."""
    marker = sql.Identifier(MARKER_TABLE)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (singleton boolean PRIMARY KEY DEFAULT true "
            "CHECK (singleton), shard_count integer NOT NULL, "
            "distributed_at timestamptz NOT NULL DEFAULT now())"
        ).format(marker)
    )
    conn.execute(
        sql.SQL(
            "COMMENT ON TABLE {} IS 'backtest-store: the store''s tables are distributed on "
            "Citus (backtest-store distribute); migrate distributes a table it recreates'"
        ).format(marker)
    )
    shards = one(
        conn,
        "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = %s::regclass",
        (ALL[0].name,),
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (shard_count) VALUES (%s) ON CONFLICT (singleton) DO UPDATE "
            "SET shard_count = EXCLUDED.shard_count"
        ).format(marker),
        (shards,),
    )


def run_steps(
    conn: psycopg.Connection[Any],
    steps: list[ShardingStep],
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Run the steps in one transaction, then record; seconds spent per table."""
    seconds: dict[str, float] = {}
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '5s'")  # fail fast behind a long transaction
        conn.execute("SET LOCAL statement_timeout = 0")  # a copy takes as long as it takes
        conn.execute("SET LOCAL client_min_messages = warning")  # Citus's copy notices
        for step in steps:
            started = time.monotonic()
            conn.execute(step.statement)
            if step.table is not None:
                spent = time.monotonic() - started
                seconds[step.table] = seconds.get(step.table, 0.0) + spent
                if progress is not None and step.statement.startswith("SELECT create_dist"):
                    progress(f"distributed {step.table} in {seconds[step.table]:.1f} s")
        record(conn)
    return seconds


def finish(conn: psycopg.Connection[Any], *, progress: Callable[[str], None] | None = None) -> None:
    """On a store ``distribute`` ran on: distribute the tables that exist and are local (a
    migration recreated them after a rollback), as ``distribute`` would, in one transaction."""
    present = [s.name for s in ALL if catalog.relation_exists(conn, s.name)]
    if not present:
        return
    steps = plan_steps(conn, recorded(conn), present=present)
    if not steps:
        return
    try:
        run_steps(conn, steps, progress=progress)
    except psycopg.Error as exc:  # the migrations applied stay applied; this part waits
        tables = ", ".join(dict.fromkeys(s.table for s in steps if s.table))
        raise MigrationError(
            f"distributing {tables} again failed and was rolled back "
            f"({exc.diag.message_primary or exc}); run migrate again to finish"
        ) from exc
