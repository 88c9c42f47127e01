"""Reads at volume (200,000 results, 2,000,000 trades) beside their floor: psycopg
fetching the very statements the store sent, with the same parameters, as plain tuples.

Each read method runs over the same arguments in both contenders; rounds alternate
which goes first; the p50 of each round is kept, the best round reported with the spread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from backtest_store import BacktestStore
from backtest_store import driver as store_module
from backtest_store.operations import children
from backtest_store.operations.steps import Fetch
from bench.harness import ROOT, fresh_database, percentile, spread

Call = Callable[[int], Any]


def captured(call: Call, i: int) -> Fetch:
    """The one statement ``call(i)`` sends, as the store sent it (a spy on the function
    that runs a step); the call also warms the connection's prepared statements."""
    seen: list[Any] = []
    real = store_module.execute

    def spy(conn: psycopg.Connection[Any], step: Any) -> Any:
        seen.append(step)
        return real(conn, step)

    store_module.execute = spy
    try:
        call(i)
    finally:
        store_module.execute = real
    (step,) = seen
    assert isinstance(step, Fetch)
    return step


def driver(conn: psycopg.Connection[Any], step: Fetch) -> Any:
    """The floor: the same statement and parameters, rows as psycopg's own tuples."""
    with conn.cursor() as cur:
        cur.execute(step.statement, step.params, prepare=step.prepare)
        return cur.fetchone() if step.mode in ("one", "value") else cur.fetchall()


def stream_driver(conn: psycopg.Connection[Any], backtest_id: Any) -> list[Any]:
    """iter_trades' floor: the same statement through a server-side cursor, same batch."""
    stream = children.iter_trades(backtest_id, 2000)
    with conn.transaction(), conn.cursor(name="floor") as cur:
        cur.itersize = stream.batch_size
        cur.execute(stream.statement, stream.params)
        return list(cur)


def cases(conn: psycopg.Connection[Any], store: BacktestStore, n: int) -> dict[str, Call]:
    def sample(query: str) -> list[Any]:
        return [r[0] for r in conn.execute(query + " LIMIT %s", (n,))]

    ids = sample("SELECT backtest_id FROM mcp_backtest_results ORDER BY random()")
    optimized = sample("SELECT DISTINCT backtest_id FROM mcp_optimization_results")
    walked = sample("SELECT DISTINCT parent_backtest_id FROM mcp_walk_forward_tests")
    ports = sample("SELECT portfolio_backtest_id FROM mcp_backtest_portfolios")
    page = conn.execute(
        "SELECT backtest_id FROM mcp_backtest_results"
        " ORDER BY backtest_date DESC, backtest_id DESC OFFSET 49949 LIMIT 1"
    ).fetchone()
    assert page is not None
    after_999 = store.get_backtest(page[0])
    long_one = ids[0]  # 1,000 more trades for this one: record construction at length
    conn.execute(
        "INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date, entry_price,"
        " position_size, direction, pnl, pnl_percent, exit_date, exit_price, exit_reason)"
        " SELECT %s, n, date '2020-01-01' + n, 100 + n * 0.01, 10, 'long', n %% 7 - 3,"
        " 0.0123, date '2020-01-01' + n + 3, 101 + n * 0.01, 'signal'"
        " FROM generate_series(11, 1010) AS n",
        (long_one,),
    )
    cutoff = datetime(2025, 12, 1, tzinfo=UTC)
    return {
        "get_backtest": lambda i: store.get_backtest(ids[i % len(ids)]),
        "list_backtests page 1": lambda i: store.list_backtests(limit=50),
        "list_backtests page 1000": lambda i: store.list_backtests(limit=50, after=after_999),
        "list_backtests symbol": lambda i: store.list_backtests(symbol=f"S{i % 500}", limit=50),
        "top_backtests sharpe": lambda i: store.top_backtests(limit=20),
        "top_backtests volatility": lambda i: store.top_backtests(metric="volatility", limit=20),
        "top_backtests symbol": lambda i: store.top_backtests(symbol=f"S{i % 500}", limit=20),
        "find_backtests": lambda i: store.find_backtests(parameters={"seed": 1 + i * 97 % 200_000}),
        "get_trades (10)": lambda i: store.get_trades(ids[i % len(ids)]),
        "get_trades (1,010)": lambda i: store.get_trades(long_one),
        "iter_trades (10)": lambda i: list(store.iter_trades(ids[i % len(ids)])),
        "best_parameters": lambda i: store.best_parameters(optimized[i % len(optimized)]),
        "walk_forward_tests": lambda i: store.walk_forward_tests(walked[i % len(walked)]),
        "get_portfolio": lambda i: store.get_portfolio(ports[i % len(ports)]),
        "list_portfolios": lambda i: store.list_portfolios(limit=50),
        "compare_backtests (10)": lambda i: store.compare_backtests(ids[i % 50 : i % 50 + 10]),
        "count_backtests symbol": lambda i: store.count_backtests(
            older_than=cutoff, symbol=f"S{i % 500}"
        ),
        "performance_summary symbol": lambda i: store.performance_summary(symbol=f"S{i % 500}"),
        "performance_summary last day": lambda i: store.performance_summary(
            since=datetime(2025, 12, 31, tzinfo=UTC)
        ),
        "performance_summary all rows": lambda i: store.performance_summary(),
    }


def floor_of(conn: psycopg.Connection[Any], call: Call, runs: int, *, streamed: bool) -> Call:
    """The driver running what ``call(i)`` sent, for each i (captured here, once)."""
    if streamed:
        ids = [captured_id(call, i) for i in range(runs)]
        return lambda i: stream_driver(conn, ids[i])
    steps = [captured(call, i) for i in range(runs)]
    return lambda i: driver(conn, steps[i])


def timed(run: Call, count: int) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        run(i)
        samples.append(time.perf_counter() - start)
    return samples


def bench_reads(iterations: int, rounds: int = 5) -> dict[str, Any]:
    url = fresh_database("bt_bench_volume")
    out: dict[str, Any] = {"iterations": iterations, "rounds": rounds, "methods": {}}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((ROOT / "devkit" / "volume.sql").read_bytes())
        store = BacktestStore(conn)
        for name, call in cases(conn, store, iterations).items():
            runs = iterations if "all rows" not in name else max(5, iterations // 20)
            floor = floor_of(conn, call, runs, streamed=name.startswith("iter_trades"))

            floor(0)
            p50: dict[str, list[float]] = {"store": [], "driver": []}
            p99: dict[str, list[float]] = {"store": [], "driver": []}
            for r in range(rounds):
                order = (("store", call), ("driver", floor))
                for who, run in order if r % 2 == 0 else order[::-1]:
                    samples = timed(run, runs)
                    p50[who].append(1000 * statistics.median(samples))
                    p99[who].append(1000 * percentile(samples, 99))
            ratios = [s / d for s, d in zip(p50["store"], p50["driver"], strict=True)]
            out["methods"][name] = {
                "n": runs,
                "p50_ms": min(p50["store"]),
                "p99_ms": min(p99["store"]),
                "driver_p50_ms": min(p50["driver"]),
                "vs_driver": min(p50["store"]) / min(p50["driver"]),
                "vs_driver_per_round": spread(ratios),
                "p50_spread_ms": spread(p50["store"]),
                "driver_p50_spread_ms": spread(p50["driver"]),
            }
    return out


def captured_id(call: Call, i: int) -> Any:
    """iter_trades streams through its own cursor; its argument is the id it was given."""
    seen: list[Any] = []
    real = children.iter_trades

    def spy(backtest_id: Any, batch_size: int) -> Any:
        seen.append(backtest_id)
        return real(backtest_id, batch_size)

    children.iter_trades = spy
    try:
        call(i)
    finally:
        children.iter_trades = real
    return seen[0]


def report_reads(figures: dict[str, Any]) -> str:
    lines = [
        "4. Reads at volume (200k results, 2M trades): p50 per call, best of "
        f"{figures['rounds']} alternating rounds of {figures['iterations']}; floor: psycopg "
        "fetching the same statements as tuples",
        f"   {'':30s} {'store':>9s} {'driver':>9s}  ratio (rounds min-median-max)   p99",
    ]
    for name, f in figures["methods"].items():
        lo, mid, hi = f["vs_driver_per_round"]
        lines.append(
            f"   {name:30s} {f['p50_ms']:6.2f} ms {f['driver_p50_ms']:6.2f} ms  {f['vs_driver']:4.2f}x"
            f" ({lo:.2f}-{mid:.2f}-{hi:.2f})   {f['p99_ms']:6.2f} ms"
        )
    m = figures["methods"]
    ratio = m["list_backtests page 1000"]["p50_ms"] / m["list_backtests page 1"]["p50_ms"]
    lines.append(f"   page 1000 / page 1: {ratio:.2f}x")
    return "\n".join(lines)
