"""9. Citus: the distributed store beside single-node PostgreSQL, on the same rows.

    python -m bench --only citus

The cluster is CITUS_URL, else the private one scripts/citus.sh starts (a coordinator and
two workers on this machine: they share its cores, so the figures are as they are, not a
forecast for machines of their own). The distributed store lives in the schema
bt_bench_citus (made again each run), in Citus's default shard count.

* routing overhead: per-backtest save_backtest (25 trades), get_backtest and get_trades,
  p50 and p90, on both, in alternating rounds;
* ingest: 1,000,000 trades as a DataFrame (save_trades), empty tables for each contender,
  alternating rounds;
* distribute at the adopt volume (devkit/volume.sql: 200,000 results, 2,000,000
  trades): the time per table, in the one transaction that holds the locks.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from devkit.citus import in_schema
from devkit.records import result, trade
from psycopg import sql

from backtest_store import BacktestStore, migrations
from backtest_store.distribution import distribute
from bench.harness import ROOT, fresh_database, percentile, spread, truncate
from bench.ingest import trades_frame

SCHEMA = "bt_bench_citus"
VOLUME_SQL = Path(ROOT) / "devkit" / "volume.sql"


def cluster_url() -> str:
    url = os.environ.get("CITUS_URL")
    if url:
        return url
    started = subprocess.run(
        [str(Path(ROOT) / "scripts" / "citus.sh"), "start"], capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return started.stdout.strip()


def fresh_schema(cluster: str, *, migrate: bool = True) -> str:
    with psycopg.connect(cluster, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    url = in_schema(cluster, SCHEMA)
    if migrate:
        migrations.apply(url)
    return url


def alternating(round_: int, a: Any, b: Any) -> tuple[Any, Any]:
    """Who goes first this round: each contender every other round."""
    return (a, b) if round_ % 2 == 0 else (b, a)


def _calls(store: BacktestStore, saves: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"save_backtest": [], "get_backtest": [], "get_trades": []}
    trades = [trade(n) for n in range(25)]
    for _ in range(saves):
        record = result(backtest_id=uuid4(), sharpe_ratio=1.2, total_return=0.1)
        start = time.perf_counter()
        store.save_backtest(record, trades)
        out["save_backtest"].append(time.perf_counter() - start)
        start = time.perf_counter()
        store.get_backtest(record.backtest_id)
        out["get_backtest"].append(time.perf_counter() - start)
        start = time.perf_counter()
        store.get_trades(record.backtest_id)
        out["get_trades"].append(time.perf_counter() - start)
    return out


def bench_routing(single: str, distributed: str, saves: int, rounds: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {"single": {}, "citus": {}}
    with BacktestStore.connect(single) as one, BacktestStore.connect(distributed) as many:
        _calls(one, 5), _calls(many, 5)  # warm: connections to the workers, plans
        for r in range(rounds):
            order = alternating(r, ("single", one), ("citus", many))
            for name, store in order:
                for call, values in _calls(store, saves).items():
                    samples[name].setdefault(call, []).extend(values)
    return {
        name: {call: {"p50_ms": percentile(v, 50) * 1e3, "p90_ms": percentile(v, 90) * 1e3}
               for call, v in calls.items()}
        for name, calls in samples.items()
    }  # fmt: skip


def bench_ingest(single: str, distributed: str, n: int, rounds: int) -> dict[str, Any]:
    frame = trades_frame(n)
    rates: dict[str, list[float]] = {"single": [], "citus": []}
    with BacktestStore.connect(single) as one, BacktestStore.connect(distributed) as many:
        for r in range(rounds):
            order = alternating(r, ("single", one), ("citus", many))
            for name, store in order:
                with psycopg.connect(
                    single if name == "single" else distributed, autocommit=True
                ) as conn:
                    if name == "single":
                        truncate(conn)
                    else:
                        conn.execute("TRUNCATE mcp_backtest_results CASCADE")
                parent = store.save_backtest(result()).backtest_id
                start = time.perf_counter()
                store.save_trades(parent, frame)
                rates[name].append(n / (time.perf_counter() - start))
    return {"rows": n, "rounds": rounds, **{f"{k}_rows_per_s": spread(v) for k, v in rates.items()}}


def bench_distribute(cluster: str) -> dict[str, Any]:
    url = fresh_schema(cluster)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(VOLUME_SQL.read_bytes())
        counts = {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))
            ).fetchone()[0]  # type: ignore[index]
            for t in ("mcp_backtest_results", "mcp_backtest_trades")
        }
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    plan = distribute(url)
    total = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        shards = conn.execute(
            "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'mcp_backtest_results'::regclass"
        ).fetchone()[0]  # type: ignore[index]
    return {"rows": counts, "load_s": loaded, "distribute_s": total, "per_table_s": plan.seconds,
            "shards": shards}  # fmt: skip


def bench_citus(*, quick: bool) -> dict[str, Any]:
    cluster = cluster_url()
    single = fresh_database("bt_bench_single")
    distributed = fresh_schema(cluster)
    distribute(distributed)
    out: dict[str, Any] = {
        "routing": bench_routing(single, distributed, saves=20 if quick else 100,
                                 rounds=2 if quick else 5),
        "ingest": bench_ingest(single, distributed, 100_000 if quick else 1_000_000,
                               rounds=2 if quick else 3),
    }  # fmt: skip
    out["distribute"] = bench_distribute(cluster)
    return out


def report_citus(c: dict[str, Any]) -> str:
    lines = ["9. Citus (coordinator + 2 workers on one 2-core machine) beside single-node"]
    lines.append("   per-backtest calls, ms       single p50 (p90)   citus p50 (p90)   ratio p50")
    for call in ("save_backtest", "get_backtest", "get_trades"):
        a, b = c["routing"]["single"][call], c["routing"]["citus"][call]
        lines.append(
            f"   {call:<28} {a['p50_ms']:>7.2f} ({a['p90_ms']:.2f})   {b['p50_ms']:>7.2f} ({b['p90_ms']:.2f})"
            f"   {b['p50_ms'] / a['p50_ms']:.2f}x"
        )
    i = c["ingest"]
    lines.append(
        f"   DataFrame ingest, {i['rows']:,} trades, rows/s [min, median, max] of {i['rounds']}: "
        f"single {', '.join(f'{v:,.0f}' for v in i['single_rows_per_s'])}; "
        f"citus {', '.join(f'{v:,.0f}' for v in i['citus_rows_per_s'])}"
    )
    d = c["distribute"]
    per = ", ".join(f"{t} {s:.1f} s" for t, s in d["per_table_s"].items())
    lines.append(
        f"   distribute at {d['rows']['mcp_backtest_results']:,} results / "
        f"{d['rows']['mcp_backtest_trades']:,} trades, {d['shards']} shards: "
        f"{d['distribute_s']:.1f} s ({per})"
    )
    return "\n".join(lines)
