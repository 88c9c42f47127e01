"""The MCP server at volume (devkit/volume.sql: 200,000 results, 2,000,000 trades),
each tool beside its floor: the DAO reads that the tool makes, awaited on the server's own
store in the same event loop, in the same run.

A tool's time is the SDK client's ``call_tool`` connected in process (its arguments
validated, the tool run, its document made and read back), so it holds what an assistant
waits for but the transport. Each call is paired with its reads, and the reads are
measured again alone (harness.beside_floor); p50 and p95 are the best round's, with the
spread of the p50 over rounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from backtest_store.aio import AsyncBacktestStore
from bench.harness import ROOT, beside_floor, fresh_database
from bench.web import CURVE_SQL

Reads = Callable[[AsyncBacktestStore], Awaitable[Any]]


def cases(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, dict[str, Any], Reads]]:
    """Each tool's call at volume, and the reads it makes."""
    ids = [r[0] for r in conn.execute(
        "SELECT backtest_id FROM mcp_backtest_results WHERE sharpe_ratio IS NOT NULL"
        " ORDER BY backtest_date DESC LIMIT 5")]  # fmt: skip
    rich = conn.execute("SELECT backtest_id FROM mcp_optimization_results o"
                        " JOIN mcp_walk_forward_tests w ON w.parent_backtest_id = o.backtest_id"
                        " LIMIT 1").fetchone()  # fmt: skip
    assert rich is not None and len(ids) == 5
    one = rich[0]
    conn.execute(CURVE_SQL, ([one, *ids],))  # 1,260 daily points each

    async def show(s: AsyncBacktestStore) -> Any:
        return (await s.backtest_ids(str(one).replace("-", "")[:8], limit=11),
                await s.get_backtest(one), await s.get_trades(one),
                await s.optimization_results(one), await s.walk_forward_tests(one))  # fmt: skip

    async def trades(s: AsyncBacktestStore) -> Any:
        return await s.get_backtest(one), await s.get_trades(one)

    async def best(s: AsyncBacktestStore) -> Any:
        return await s.get_backtest(one), await s.best_parameters(one, limit=5)

    return {
        "list_backtests": ("list_backtests", {}, lambda s: s.browse_backtests(limit=51)),
        "list_backtests, filtered": (
            "list_backtests", {"symbol": ["S1", "S2"], "where": "sharpe_ratio >= 1"},
            lambda s: s.browse_backtests(symbols=["S1", "S2"], limit=51,
                                         ranges=[("sharpe_ratio", ">=", 1)])),
        "get_backtest (prefix)": ("get_backtest", {"id": str(one)[:8]}, show),
        "get_trades": ("get_trades", {"id": str(one)}, trades),
        "top_backtests": ("top_backtests", {"limit": 20},
                          lambda s: s.top_backtests(limit=20, min_trades=1)),
        "compare_backtests (5)": (
            "compare_backtests", {"ids": [str(i) for i in ids]},
            lambda s: s.compare_backtests(ids)),
        "best_parameters": ("best_parameters", {"id": str(one)}, best),
        "tearsheet": ("tearsheet", {"id": str(one)}, lambda s: s.get_backtest(one)),
    }  # fmt: skip


async def measure(client: Any, store: AsyncBacktestStore, tool: str, arguments: dict[str, Any],
                  reads: Reads, runs: int, rounds: int) -> dict[str, Any]:  # fmt: skip
    async def called() -> float:
        started = time.perf_counter()
        answer = await client.call_tool(tool, arguments)
        taken = time.perf_counter() - started
        assert not answer.is_error, answer.content
        return taken

    async def floor() -> float:
        started = time.perf_counter()
        await reads(store)
        return time.perf_counter() - started

    return {"tool": tool, "arguments": arguments,
            **await beside_floor("tool", called, floor, runs, rounds)}  # fmt: skip


def bench_mcp(runs: int = 100, rounds: int = 5) -> dict[str, Any]:
    url = fresh_database("bt_bench_mcp")
    out: dict[str, Any] = {"runs": runs, "rounds": rounds, "tools": {}}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((ROOT / "devkit" / "volume.sql").read_bytes())
        chosen = cases(conn)
    asyncio.run(_measure_all(url, chosen, out, runs, rounds))
    out["finished"] = datetime.now(UTC).isoformat()
    return out


async def _measure_all(url: str, chosen: dict[str, tuple[str, dict[str, Any], Reads]],
                       out: dict[str, Any], runs: int, rounds: int) -> None:  # fmt: skip
    from mcp import Client

    from backtest_store.mcp_server import create_server, read_only_store

    async with read_only_store(url) as store, Client(create_server(store)) as client:
        for name, (tool, arguments, reads) in chosen.items():
            out["tools"][name] = await measure(client, store, tool, arguments, reads, runs,
                                               rounds)  # fmt: skip


def report_mcp(figures: dict[str, Any]) -> str:
    lines = [
        "10. The MCP server at volume (200k results, 2M trades): each tool's time (the SDK's "
        "client in process) beside the DAO reads it makes, best of "
        f"{figures['rounds']} rounds of {figures['runs']}, each call paired with its reads",
        f"   {'':26s} {'tool p50':>9s} {'p95':>9s} {'reads p50':>10s} {'p95':>9s}  tool/reads"
        "  (reads alone)",
    ]
    for name, f in figures["tools"].items():
        lines.append(
            f"   {name:26s} {f['tool_p50_ms']:6.2f} ms {f['tool_p95_ms']:6.2f} ms "
            f"{f['reads_p50_ms']:7.2f} ms {f['reads_p95_ms']:6.2f} ms  {f['vs_reads']:5.2f}x"
            f"  ({f['vs_alone']:4.2f}x; rounds' p50 {_span(f['tool_p50_spread_ms'])} / "
            f"{_span(f['reads_p50_spread_ms'])})"
        )
    return "\n".join(lines) + "\n"


def _span(values: list[float]) -> str:
    return f"{values[0]:.2f}..{values[-1]:.2f} ms"
