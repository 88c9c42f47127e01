"""What every benchmark section shares: the server (the tests' own: devkit/dbs.py),
fresh databases and copies, timers, percentiles and the one spread of rounds."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from devkit.dbs import SERVER_URL, url_for
from psycopg import sql

from backtest_store import migrations

ROOT = Path(__file__).resolve().parents[1]
SERVER = SERVER_URL  # the tests' server: one definition, in devkit/dbs.py


def fresh_database(name: str) -> str:
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_for(name)
    migrations.apply(url)
    return url


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def spread(values: list[float]) -> list[float]:
    """[min, median, max] of the rounds."""
    return [min(values), statistics.median(values), max(values)]


async def beside_floor(
    face: str,
    asked: Callable[[], Awaitable[float]],
    floor: Callable[[], Awaitable[float]],
    runs: int,
    rounds: int,
    floor_runs: int | None = None,
    within: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """A face (a page, a tool) beside its floor: the DAO reads it makes. Each call
    returns its own time in seconds. ``within``: the time the last request spent in its
    own reads, which checks that the floor is the reads the face makes.

    Paired: each request is followed by its reads (preceded, every other round), so a
    drift of the machine's speed, and the state of its caches, fall on both alike. In a
    run of reads alone, the reads find the caches as they left them and go faster than
    they do between pages (0.1 to 0.3 ms of a 1 ms read): they are measured so too, the
    floor at its lowest. ``floor_runs``: a floor too slow to pair with every request (the
    summary's aggregate) is paired with the first few of each round only. p50 and p95
    are the best round's, with the spread of the p50 over rounds."""
    await asked()  # warm: prepared statements, templates, models
    names = (face, "reads", "alone", *(("within",) if within else ()))
    samples: dict[str, list[list[float]]] = {who: [] for who in names}
    few = runs if floor_runs is None else floor_runs

    async def ask(taken: dict[str, list[float]]) -> None:
        taken[face].append(await asked())
        if within is not None:
            taken["within"].append(within())

    for r in range(rounds):
        taken: dict[str, list[float]] = {who: [] for who in names}
        for i in range(runs):
            if i >= few:
                await ask(taken)
            elif r % 2 == 0:
                await ask(taken)
                taken["reads"].append(await floor())
            else:
                taken["reads"].append(await floor())
                await ask(taken)
        for _ in range(few):
            taken["alone"].append(await floor())
        for who in names:
            samples[who].append(taken[who])
    p50 = {k: [1000 * statistics.median(v) for v in rs] for k, rs in samples.items()}
    p95 = {k: [1000 * percentile(v, 95) for v in rs] for k, rs in samples.items()}
    best = {k: v.index(min(v)) for k, v in p50.items()}  # the round with the lowest p50
    out: dict[str, Any] = {"n": runs}
    for who in samples:
        out[f"{who}_p50_ms"] = p50[who][best[who]]
        out[f"{who}_p95_ms"] = p95[who][best[who]]
        out[f"{who}_p50_spread_ms"] = spread(p50[who])
    out["vs_reads"] = out[f"{face}_p50_ms"] / out["reads_p50_ms"]
    out["vs_alone"] = out[f"{face}_p50_ms"] / out["alone_p50_ms"]
    return out


@contextmanager
def timer(out: dict[str, float], key: str) -> Iterator[None]:
    gc.collect()
    start = time.perf_counter()
    yield
    out[key] = time.perf_counter() - start


def truncate(conn: psycopg.Connection[Any]) -> None:
    """Empty tables and quiet the machine: the dev cluster runs with fsync off, so the
    kernel's writeback of earlier scenarios' pages would otherwise land in later timings."""
    conn.execute("TRUNCATE mcp_backtest_results CASCADE")
    conn.execute("CHECKPOINT")
    os.sync()


def copy_database(source: str, name: str) -> str:
    """A fresh copy of a database (CREATE DATABASE ... TEMPLATE: a file copy)."""
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
    return url_for(name)
