"""6. adopt at volume, each stage beside its floor (a bare json-to-jsonb rewrite), on fresh
copies of the same legacy databases, alternating rounds."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from devkit.dbs import url_for
from psycopg import sql

from backtest_store.schema.adoption import run
from bench.harness import copy_database, spread


def json_rewrite_floor(url: str) -> dict[str, float]:
    """The floor: each table's json columns turned into jsonb by one bare ALTER TABLE,
    nothing else (no checks, defaults, foreign keys, indexes, bookkeeping)."""
    from backtest_store.tables import ALL

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for spec in ALL:
            # the legacy table's json columns: what adopt turns into jsonb (the columns
            # added since, benchmark_curve among them, are not in a legacy database)
            columns = [r[0] for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND atttypid = 'json'::regtype AND NOT attisdropped ORDER BY attnum",
                (spec.name,))]  # fmt: skip
            started = time.perf_counter()
            if columns:
                actions = sql.SQL(", ").join(
                    sql.SQL("ALTER COLUMN {c} TYPE jsonb USING {c}::jsonb").format(
                        c=sql.Identifier(c)
                    )
                    for c in columns
                )
                conn.execute(
                    sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(spec.name), actions)
                )
            out[spec.name] = time.perf_counter() - started
    return out


def bench_adopt(results: int, rounds: int) -> dict[str, Any]:
    """adopt on legacy databases of both shapes (filled in SQL), beside the bare
    json-to-jsonb rewrite; fresh copies of the same rows, alternating rounds."""
    from devkit import legacy

    out: dict[str, Any] = {"results": results, "rounds": rounds}
    for shape in ("revision", "models"):
        source = f"bt_bench_legacy_{shape}"
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(source))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(source)))
        legacy.make_legacy(url_for(source), shape)
        legacy.fill_volume(url_for(source), results=results)
        adopt_rounds: list[dict[str, float]] = []
        floor_rounds: list[dict[str, float]] = []
        for _ in range(rounds):
            url = copy_database(source, "bt_bench_adopt")
            started = time.perf_counter()
            run.adopt(url, dry_run=True)
            preflight = time.perf_counter() - started
            started = time.perf_counter()
            plan = run.adopt(url, lock_timeout="5s")
            total = time.perf_counter() - started
            locked = sum(plan.seconds.values())
            adopt_rounds.append(
                {
                    **plan.seconds,
                    "preflight (as a dry run)": preflight,
                    "the locked transaction": locked,
                    "0008-0009 (no ACCESS EXCLUSIVE)": total - locked - preflight,
                    "adopt, all of it": total,
                }
            )
            url = copy_database(source, "bt_bench_adopt")
            floor = json_rewrite_floor(url)
            floor_rounds.append({**floor, "the locked transaction": sum(floor.values())})
        out["rows"] = plan.rows
        out[shape] = {
            "adopt": {k: spread([r[k] for r in adopt_rounds]) for k in adopt_rounds[0]},
            "floor": {k: spread([r[k] for r in floor_rounds]) for k in floor_rounds[0]},
        }
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        for name in ("bt_bench_adopt", "bt_bench_legacy_revision", "bt_bench_legacy_models"):
            conn.execute(drop.format(sql.Identifier(name)))
    return out


def report_adopt(ad: dict[str, Any]) -> str:
    lines = [
        f"6. adopt at volume ({ad['rows']['mcp_backtest_results']:,} results, "
        f"{ad['rows']['mcp_backtest_trades']:,} trades; median of {ad['rounds']}, min-max)"
    ]
    for shape in ("revision", "models"):
        lines.append(f"   {shape + ' shape':34s} {'adopt':>22s}   {'floor: bare json->jsonb':>24s}")
        for key, f in ad[shape]["adopt"].items():
            floor = ad[shape]["floor"].get(key)
            shown = f"{floor[1]:6.1f} s ({floor[0]:.1f}-{floor[2]:.1f})" if floor else ""
            lines.append(f"   {key:34s} {f[1]:8.1f} s ({f[0]:.1f}-{f[2]:.1f})   {shown:>24s}")
    return "\n".join(lines)
