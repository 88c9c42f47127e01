"""The web view at volume (devkit/volume.sql: 200,000 results, 2,000,000 trades),
each page beside its floor: the DAO reads that the page makes, awaited on the app's own
store in the app's own event loop, in the same run.

A page's time is the server's: from the request reaching the app to the last byte of its
answer (an ASGI wrapper times it; the test client's own overhead is left out). Each
request is paired with its reads, and the reads are measured again alone
(harness.beside_floor); p50 and p95 are the best round's, with the spread of the p50 over
rounds. Then the results table grows to 2,000,000 rows and the list pages and the summary
are measured again: no page may grow with the table.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from devkit.minutes import YEAR_OF_MINUTES

from backtest_store.aio import AsyncBacktestStore
from backtest_store.operations.browse import cursor_of
from bench.harness import ROOT, beside_floor, fresh_database, percentile

Reads = Callable[[AsyncBacktestStore], Awaitable[Any]]
CURVE_SQL = """
UPDATE mcp_backtest_results r SET equity_curve = c.curve, drawdown_series = NULL
FROM (SELECT jsonb_agg(jsonb_build_array(to_char(date '2020-01-01' + d, 'YYYY-MM-DD"T"00:00:00"Z"'),
                                         round((10000 * exp(d * 0.0004 + sin(d / 9.0) * 0.05))::numeric, 2))
                       ORDER BY d) AS curve
      FROM generate_series(0, 1259) AS d) c
WHERE r.backtest_id = ANY(%s)
"""


class Spent:
    """The app's store, timed: how long the last request waited on its reads (the wall
    time with one or more reads in flight, so reads gathered at once count once)."""

    def __init__(self, store: AsyncBacktestStore) -> None:
        self.store, self.busy, self.active, self.since = store, 0.0, 0, 0.0

    def last(self) -> float:
        busy, self.busy = self.busy, 0.0
        return busy

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if name.startswith("_") or not asyncio.iscoroutinefunction(method):
            return method

        async def timed(*args: Any, **kwargs: Any) -> Any:
            if self.active == 0:
                self.since = time.perf_counter()
            self.active += 1
            try:
                return await method(*args, **kwargs)
            finally:
                self.active -= 1
                if self.active == 0:
                    self.busy += time.perf_counter() - self.since

        return timed


class Timed:
    """An ASGI wrapper that keeps the server time of each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


async def pages(
    conn: psycopg.Connection[Any], store: AsyncBacktestStore
) -> dict[str, tuple[str, Reads]]:
    ids = [r[0] for r in conn.execute(
        "SELECT backtest_id FROM mcp_backtest_results WHERE sharpe_ratio IS NOT NULL"
        " ORDER BY backtest_date DESC LIMIT 10")]  # fmt: skip
    conn.execute(CURVE_SQL, (ids,))
    rich = conn.execute("SELECT backtest_id FROM mcp_optimization_results o"
                        " JOIN mcp_walk_forward_tests w ON w.parent_backtest_id = o.backtest_id"
                        " LIMIT 1").fetchone()  # fmt: skip
    assert rich is not None
    conn.execute(CURVE_SQL, ([rich[0]],))
    portfolio = conn.execute(
        "SELECT portfolio_backtest_id FROM mcp_backtest_portfolios LIMIT 1"
    ).fetchone()
    assert portfolio is not None
    row = conn.execute("SELECT backtest_id FROM mcp_backtest_results ORDER BY backtest_date DESC,"
                       " backtest_id DESC OFFSET 49999 LIMIT 1").fetchone()  # fmt: skip
    assert row is not None
    found = await store.get_backtest(row[0])
    assert found is not None
    after = cursor_of(found, "backtest_date")
    cursor = f"{after[0].isoformat()}~{after[1]}".replace("+", "%2B")
    one, five = rich[0], ids[:5]

    async def tearsheet(s: AsyncBacktestStore) -> Any:
        """As the page reads once its charts are kept: the record without its series,
        beside its children (web/pages.py's backtest)."""

        async def children() -> Any:
            return (await s.get_trades(one), await s.optimization_results(one),
                    await s.walk_forward_tests(one))  # fmt: skip

        return await asyncio.gather(s.get_backtest(one, with_series=False), children())

    def listed(**arguments: Any) -> Reads:
        """A list page's reads: a page of rows, and how many repeats each shown row has."""

        async def reads(s: AsyncBacktestStore) -> Any:
            rows = await s.browse_backtests(limit=51, **arguments)
            return rows, await s.duplicate_counts(rows[:50])

        return reads

    async def compare(s: AsyncBacktestStore) -> Any:
        """As the page reads once its charts are kept: the records without their series."""
        return (await s.compare_backtests(five),
                [await s.get_backtest(i, with_series=False) for i in five])  # fmt: skip

    return {
        "list, newest first": ("/", listed()),
        "list, page 1,000": (f"/?after={cursor}", listed(after=after)),
        "list, by Sharpe ratio": ("/?sort=sharpe_ratio", listed(sort="sharpe_ratio")),
        "list, filtered": ("/?symbol=S1,S2&where=sharpe_ratio+%3E%3D+1",
                           listed(symbols=["S1", "S2"], ranges=[("sharpe_ratio", ">=", 1)])),
        "tearsheet": (f"/backtests/{one}", tearsheet),
        "compare (5)": ("/compare?ids=" + ",".join(map(str, five)), compare),
        "summary (kept)": ("/summary", lambda s: s.performance_summary()),
        "portfolios": ("/portfolios", lambda s: s.list_portfolios(limit=51)),
        "portfolio": (f"/portfolios/{portfolio[0]}", lambda s: s.get_portfolio(portfolio[0])),
    }  # fmt: skip


async def measure(client: Any, timed: Timed, store: AsyncBacktestStore, path: str, reads: Reads,
                  runs: int, rounds: int, floor_runs: int | None = None,
                  spent: Spent | None = None) -> dict[str, Any]:  # fmt: skip
    async def page() -> float:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[-900:])
        return timed.last

    async def floor() -> float:
        started = time.perf_counter()
        await reads(store)
        return time.perf_counter() - started

    within = spent.last if spent is not None else None
    return {"path": path,
            **await beside_floor("page", page, floor, runs, rounds, floor_runs, within)}  # fmt: skip


def grow(conn: psycopg.Connection[Any]) -> float:
    """The results table to 2,000,000 rows: volume.sql's results statement, continued."""
    text = (ROOT / "devkit" / "volume.sql").read_text()
    start = text.index("INSERT INTO mcp_backtest_results")
    statement = text[start : text.index(";", start)]
    statement = statement.replace("generate_series(1, 200000)", "generate_series(200001, 2000000)")
    started = time.perf_counter()
    conn.execute("SET session_replication_role = replica")
    conn.execute(statement)
    conn.execute("RESET session_replication_role")
    conn.execute("VACUUM ANALYZE mcp_backtest_results")
    return time.perf_counter() - started


def bench_web(runs: int = 100, rounds: int = 5, *, grow_to_2m: bool = True) -> dict[str, Any]:
    url = fresh_database("bt_bench_web")
    out: dict[str, Any] = {"runs": runs, "rounds": rounds, "pages": {}, "at_2m": {}}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((ROOT / "devkit" / "volume.sql").read_bytes())
        asyncio.run(_measure_all(conn, url, out, list(PAGES_AT_200K), "pages", runs, rounds))
        if not grow_to_2m:
            return out
        out["grow_s"] = grow(conn)
        count = conn.execute("SELECT count(*) FROM mcp_backtest_results").fetchone()
        out["results_at_2m"] = count[0] if count else 0
        asyncio.run(_measure_all(conn, url, out, list(PAGES_AT_2M), "at_2m", runs, rounds))
    out["finished"] = datetime.now(UTC).isoformat()
    return out


PAGES_AT_200K = ("list, newest first", "list, page 1,000", "list, by Sharpe ratio", "list, filtered",
                 "tearsheet", "compare (5)", "summary (kept)", "portfolios", "portfolio")  # fmt: skip
PAGES_AT_2M = ("list, newest first", "list, by Sharpe ratio", "list, filtered", "summary (kept)")


async def _measure_all(conn: psycopg.Connection[Any], url: str, out: dict[str, Any],
                       names: list[str], key: str, runs: int, rounds: int) -> None:  # fmt: skip
    """The pages in one event loop with the app: an in-process client (httpx's ASGI
    transport, no thread between them), the app's lifespan run here."""
    import httpx2

    from backtest_store.web.app import create_app

    app = create_app(url, summary_ttl=3600)
    timed = Timed(app)
    async with app.router.lifespan_context(app):
        store: AsyncBacktestStore = app.state.store
        started = time.perf_counter()
        await store.performance_summary()
        out[f"summary_cold_{key}_s"] = time.perf_counter() - started
        cases = await pages(conn, store)
        app.state.store = spent = Spent(store)  # the pages' reads timed; the floors' not
        transport = httpx2.ASGITransport(app=timed)
        async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name in names:
                path, reads = cases[name]
                # the whole-table aggregate the kept summary saves: a few runs a round do
                few = 3 if name.startswith("summary") else None
                out[key][name] = await measure(client, timed, store, path, reads, runs, rounds,
                                               few, spent)  # fmt: skip


def report_web(figures: dict[str, Any]) -> str:
    lines = [
        "8. The web view at volume (200k results, 2M trades): the server's time per page "
        "beside the DAO reads it makes, each request paired with its reads, and the reads "
        f"alone; best of {figures['rounds']} rounds of {figures['runs']}",
        f"   {'':24s} {'page p50':>9s} {'p95':>9s} {'reads p50':>10s} {'p95':>9s}  page/reads"
        "   reads alone  page/alone  reads in page",
    ]
    for name, f in figures["pages"].items():
        lines.append(
            f"   {name:24s} {f['page_p50_ms']:6.2f} ms {f['page_p95_ms']:6.2f} ms "
            f"{f['reads_p50_ms']:7.2f} ms {f['reads_p95_ms']:6.2f} ms  {f['vs_reads']:5.2f}x"
            f"   {f['alone_p50_ms']:8.2f} ms  {f['vs_alone']:5.2f}x   {f['within_p50_ms']:8.2f} ms"
        )
    if figures.get("at_2m"):
        lines.append(
            f"   at {figures['results_at_2m']:,} results (grown in {figures['grow_s']:.0f} s); "
            f"the summary computed cold: {figures['summary_cold_at_2m_s'] * 1000:.0f} ms"
        )
        for name, f in figures["at_2m"].items():
            base = figures["pages"][name]["page_p50_ms"]
            lines.append(
                f"   {name:24s} {f['page_p50_ms']:6.2f} ms {f['page_p95_ms']:6.2f} ms "
                f"{f['reads_p50_ms']:7.2f} ms {f['reads_p95_ms']:6.2f} ms  "
                f"{f['page_p50_ms'] / base:4.2f}x of itself at 200k"
            )
    return "\n".join(lines)


def bench_stall(runs: int = 10, clients: int = 5) -> dict[str, Any]:
    """A year of minutes (525,600 points) on the tearsheet page: the page alone beside its
    reads, then a light page (/healthz, and the portfolio list) asked again and again
    while ``clients`` clients load that tearsheet at once, all in one event loop with the
    app, as uvicorn serves it. Also the longest the event loop went without running a
    ticker task (the loop's longest hold)."""
    url = fresh_database("bt_bench_stall")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(YEAR_OF_MINUTES).fetchone()
        assert row is not None
    return asyncio.run(_stall(url, row[0], runs, clients))


async def _stall(url: str, the_id: Any, runs: int, clients: int) -> dict[str, Any]:
    import httpx2

    from backtest_store.web.app import create_app
    from backtest_store.web.figure_cache import FigureCache

    app = create_app(url, max_connections=clients + 2)
    timed = Timed(app)
    path = f"/backtests/{the_id}"
    out: dict[str, Any] = {"points": 525_600, "runs": runs, "clients": clients}
    async with app.router.lifespan_context(app):
        store: AsyncBacktestStore = app.state.store

        async def reads(s: AsyncBacktestStore) -> Any:
            return (await s.get_backtest(the_id), await s.get_trades(the_id),
                    await s.optimization_results(the_id), await s.walk_forward_tests(the_id))  # fmt: skip

        transport = httpx2.ASGITransport(app=timed)
        async with httpx2.AsyncClient(transport=transport, base_url="http://bench",
                                      timeout=120) as client:  # fmt: skip
            # a later view of the page: its figures kept (web/figure_cache.py)
            out["kept"] = await measure(client, timed, store, path, reads, runs, 2)
            # each view the first: nothing kept, the figures made over the whole curve
            app.state.figures = FigureCache(max_bytes=0)
            out["alone"] = await measure(client, timed, store, path, reads, runs, 2)
            holds: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:  # the loop's holds: how late a 1 ms sleep wakes
                while not stop.is_set():
                    started = time.perf_counter()
                    await asyncio.sleep(0.001)
                    holds.append(time.perf_counter() - started - 0.001)

            async def light(page: str) -> list[float]:
                samples = []
                while not stop.is_set():
                    started = time.perf_counter()
                    response = await client.get(page)
                    assert response.status_code == 200, response.text[:200]
                    samples.append(time.perf_counter() - started)
                    await asyncio.sleep(0.01)
                return samples

            async def heavy() -> None:
                for _ in range(2):
                    response = await client.get(path)
                    assert response.status_code == 200

            watch = asyncio.create_task(ticker())
            health, listing = asyncio.create_task(light("/healthz")), asyncio.create_task(
                light("/api/portfolios"))  # fmt: skip
            started = time.perf_counter()
            await asyncio.gather(*(heavy() for _ in range(clients)))
            out["under_load_s"] = time.perf_counter() - started
            stop.set()
            await watch
            for name, task in (("healthz", health), ("portfolios", listing)):
                samples = await task
                out[name] = {"n": len(samples), "p50_ms": 1000 * statistics.median(samples),
                             "p99_ms": 1000 * percentile(samples, 99),
                             "max_ms": 1000 * max(samples)}  # fmt: skip
            out["loop_hold_p99_ms"] = 1000 * percentile(holds, 99)
            out["loop_hold_max_ms"] = 1000 * max(holds)
    return out


def report_stall(f: dict[str, Any]) -> str:
    alone, kept = f["alone"], f["kept"]
    return "\n".join([
        f"9. A year of minutes ({f['points']:,} points) on the tearsheet page, best of 2 "
        f"rounds of {f['runs']}, each request paired with its reads",
        f"   the page alone, its figures made: p50 {alone['page_p50_ms']:.0f} ms, p95 "
        f"{alone['page_p95_ms']:.0f} ms; its reads p50 {alone['reads_p50_ms']:.0f} ms "
        f"({alone['vs_reads']:.2f}x)",
        f"   the page alone, its figures kept: p50 {kept['page_p50_ms']:.1f} ms, p95 "
        f"{kept['page_p95_ms']:.1f} ms",
        f"   while {f['clients']} clients load it twice each, nothing kept "
        f"({f['under_load_s']:.1f} s):",
        *(f"   {name:12s} p50 {f[name]['p50_ms']:7.1f} ms  p99 {f[name]['p99_ms']:7.1f} ms  "
          f"max {f[name]['max_ms']:7.1f} ms  ({f[name]['n']} requests)"
          for name in ("healthz", "portfolios")),
        f"   the event loop's longest holds: p99 {f['loop_hold_p99_ms']:.1f} ms, "
        f"max {f['loop_hold_max_ms']:.1f} ms",
    ])  # fmt: skip
