"""2-3. One save: the largest (a year of minutes), the typical loop, and the one-statement
small save beside COPY and its floor."""

from __future__ import annotations

import gc
import re
import statistics
import time
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql

from backtest_store import BacktestResult, BacktestStore, BacktestTrade
from backtest_store.json_policy import dump_json
from backtest_store.operations import arguments, inserts, writes
from bench.data import RAW_COLUMNS, RAW_TYPES, big_result, make_trades, raw_rows
from bench.harness import percentile, spread, truncate
from bench.ingest import orm_session
from bench.memory import child


def bench_large_save(url: str, points: int, repeat: int) -> dict[str, Any]:
    from bench.orm import OrmResult, OrmTrade

    result = big_result(points)
    trades = make_trades(1000)
    times: dict[str, list[float]] = {"dao": [], "floor": [], "orm": []}
    with psycopg.connect(url, autocommit=True) as conn:
        store = BacktestStore(conn)
        equity_text = dump_json(result.equity_curve).decode()
        drawdown_text = dump_json(result.drawdown_series).decode()
        params_text = dump_json(result.parameters).decode()
        for _ in range(repeat):
            truncate(conn)
            gc.collect()
            start = time.perf_counter()
            saved = store.save_backtest(result, trades)
            times["dao"].append(time.perf_counter() - start)
            truncate(conn)
            rows = list(raw_rows(uuid4(), trades))
            gc.collect()
            start = time.perf_counter()
            with conn.transaction():
                bid = conn.execute(
                    "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
                    " parameters, total_return, sharpe_ratio, equity_curve, drawdown_series, data_points)"
                    " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s::jsonb, %s) RETURNING backtest_id",
                    (
                        "SPY",
                        "minute_mr",
                        date(2023, 1, 1),
                        date(2023, 12, 31),
                        params_text,
                        Decimal("0.12"),
                        Decimal("1.1"),
                        equity_text,
                        drawdown_text,
                        points,
                    ),
                ).fetchone()[0]  # type: ignore[index]
                with conn.cursor().copy(
                    sql.SQL("COPY mcp_backtest_trades ({}) FROM STDIN (FORMAT BINARY)").format(
                        sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS))
                    )
                ) as copy:
                    copy.set_types(RAW_TYPES)
                    for row in rows:
                        copy.write_row((bid, *row[1:]))
            times["floor"].append(time.perf_counter() - start)
        truncate(conn)
        saved = store.save_backtest(result, trades)
    engine, session = orm_session(url)
    for _ in range(repeat):
        with session:
            gc.collect()
            start = time.perf_counter()
            orm_result = OrmResult(
                symbol="SPY", strategy_type="minute_mr", start_date=date(2023, 1, 1), end_date=date(2023, 12, 31),
                parameters=result.parameters, total_return=0.12, sharpe_ratio=1.1,
                equity_curve=result.equity_curve, drawdown_series=result.drawdown_series, data_points=points,
            )  # fmt: skip
            session.add(orm_result)
            session.flush()
            session.add_all(
                OrmTrade(backtest_id=orm_result.backtest_id, trade_number=i, entry_date=t.entry_date,
                         entry_price=t.entry_price, direction=t.direction, pnl=t.pnl)
                for i, t in enumerate(trades, start=1)
            )  # fmt: skip
            session.commit()
            times["orm"].append(time.perf_counter() - start)
    engine.dispose()
    read = child("read_back", url, str(saved.backtest_id))
    dao, floor, orm = (statistics.median(times[k]) for k in ("dao", "floor", "orm"))
    return {
        "points": points,
        "trades": 1000,
        "dao_s": dao,
        "floor_s": floor,
        "orm_s": orm,
        "dao_vs_floor": dao / floor,
        "orm_vs_floor": orm / floor,
        "read_back_s": read["seconds"],
        "read_back_peak_mb": read["peak_mb"],
        "samples": times,
    }


def bench_typical(url: str, saves: int) -> dict[str, Any]:
    from bench.orm import OrmResult, OrmTrade

    def one(i: int) -> tuple[BacktestResult, list[BacktestTrade]]:
        return (
            BacktestResult(symbol=f"S{i % 50}", strategy_type="sma", start_date=date(2024, 1, 1),
                           end_date=date(2024, 6, 30), total_return=0.1, sharpe_ratio=1.2,
                           parameters={"fast": i}),
            make_trades(25, seed=i),
        )  # fmt: skip

    work = [one(i) for i in range(saves)]
    dao: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        truncate(conn)
        store = BacktestStore(conn)
        for result, trades in work[:5]:  # warm-up: prepared statements, caches
            store.save_backtest(result, trades)
        for result, trades in work:
            start = time.perf_counter()
            store.save_backtest(result, trades)
            dao.append(time.perf_counter() - start)
    orm: list[float] = []
    engine, session = orm_session(url)
    with session:
        for result, trades in work[:5] + work:
            start = time.perf_counter()
            r = OrmResult(symbol=result.symbol, strategy_type=result.strategy_type, start_date=result.start_date,
                          end_date=result.end_date, total_return=result.total_return,
                          sharpe_ratio=result.sharpe_ratio, parameters=result.parameters)  # fmt: skip
            session.add(r)
            session.flush()
            session.add_all(
                OrmTrade(backtest_id=r.backtest_id, trade_number=i, entry_date=t.entry_date,
                         entry_price=t.entry_price, direction=t.direction, pnl=t.pnl)
                for i, t in enumerate(trades, start=1)
            )  # fmt: skip
            session.commit()
            orm.append(time.perf_counter() - start)
    engine.dispose()
    orm = orm[5:]
    return {
        "saves": saves,
        "trades_each": 25,
        "dao_p50_ms": 1000 * statistics.median(dao),
        "dao_p99_ms": 1000 * percentile(dao, 99),
        "orm_p50_ms": 1000 * statistics.median(orm),
        "orm_p99_ms": 1000 * percentile(orm, 99),
        "orm_vs_dao": statistics.median(orm) / statistics.median(dao),
    }


def bench_small_save(url: str, sizes: tuple[int, ...], saves: int, rounds: int) -> dict[str, Any]:
    """A result with n trades: the one-statement path against COPY (BEGIN, INSERT, COPY,
    COMMIT) and against its floor, the same single statement sent by hand with its
    parameters ready (no validation, no records): with %s placeholders through
    ``conn.execute``, as a hand-written pipeline sends it, and (the strictest floor) with
    the DAO's own $n placeholders through psycopg's raw cursor. Empty tables before each contender,
    contenders alternating round by round; p50 per save, best round, spread of rounds."""
    from backtest_store.tables import RESULTS, TRADES

    out: dict[str, Any] = {"saves_per_round": saves, "rounds": rounds, "sizes": {}}
    settings = arguments.StoreSettings("refuse")
    with psycopg.connect(url, autocommit=True) as conn:
        store = BacktestStore(conn)
        for n in sizes:
            work = [
                (BacktestResult(symbol=f"S{i % 50}", strategy_type="sma", start_date=date(2024, 1, 1),
                                end_date=date(2024, 6, 30), total_return=0.1, sharpe_ratio=1.2,
                                parameters={"fast": i}), make_trades(n, seed=i))
                for i in range(saves)
            ]  # fmt: skip

            def floor_params(
                result: BacktestResult, trades: list[BacktestTrade]
            ) -> tuple[Any, Any]:
                override = {"backtest_id": uuid4(), **settings.provenance(result)}
                columns = inserts.columns_given(RESULTS, result, override)
                values = settings.preparer(RESULTS, columns).row(result, None, override)
                cols, rows = inserts.child_rows(
                    settings, TRADES, trades, override["backtest_id"], number="trade_number"
                )
                arrays = [list(c) for c in zip(*rows, strict=True)]
                statement = inserts.insert_with_children(
                    RESULTS, columns, RESULTS.column_names, TRADES, cols
                )
                return statement, (*values, *arrays)

            def by_hand(statement: str) -> str:
                """The statement as a hand-written pipeline sends it: %s placeholders."""
                return re.sub(r"\$\d+\b", "%s", statement)

            contenders = ("one_statement", "copy", "floor", "raw_floor")
            timings: dict[str, list[float]] = {c: [] for c in contenders}
            for turn in range(rounds):
                for contender in contenders if turn % 2 == 0 else contenders[::-1]:
                    truncate(conn)
                    prepared = [floor_params(r, t) for r, t in work] if "floor" in contender else []
                    if contender == "floor":
                        prepared = [(by_hand(st), params) for st, params in prepared]
                    ops_small = writes.SMALL_SAVE
                    writes.SMALL_SAVE = 10**9 if contender == "one_statement" else 0
                    times = []
                    try:
                        for i, (result, trades) in enumerate(work):
                            start = time.perf_counter()
                            if contender == "floor":
                                statement, params = prepared[i]
                                conn.execute(statement, params).fetchone()
                            elif contender == "raw_floor":
                                statement, params = prepared[i]
                                with psycopg.RawCursor(conn) as cur:
                                    cur.execute(statement, params).fetchone()
                            else:
                                store.save_backtest(result, trades)
                            times.append(time.perf_counter() - start)
                    finally:
                        writes.SMALL_SAVE = ops_small
                    timings[contender].append(statistics.median(times[3:]))  # after warm-up
            best = {k: min(v) for k, v in timings.items()}
            out["sizes"][n] = {
                **{f"{k}_p50_ms": 1000 * v for k, v in best.items()},
                **{f"{k}_spread_ms": spread([1000 * t for t in v]) for k, v in timings.items()},
                "vs_floor": best["one_statement"] / best["floor"],
                "vs_raw_floor": best["one_statement"] / best["raw_floor"],
                "copy_vs_one_statement": best["copy"] / best["one_statement"],
            }
    return out


def report_small_save(figures: dict[str, Any]) -> str:
    lines = [
        f"small saves (result + n trades), p50 per save, best of {figures['rounds']} alternating rounds of {figures['saves_per_round']}:",
        "  trades   one statement   floor (same statement by hand)   ratio   raw-cursor floor   ratio   COPY path   COPY / one statement",
    ]
    for n, f in figures["sizes"].items():
        lines.append(
            f"  {n:>6}   {f['one_statement_p50_ms']:8.2f} ms   {f['floor_p50_ms']:8.2f} ms"
            f"                      {f['vs_floor']:5.2f}x   {f['raw_floor_p50_ms']:10.2f} ms"
            f"     {f['vs_raw_floor']:5.2f}x   {f['copy_p50_ms']:7.2f} ms   {f['copy_vs_one_statement']:5.2f}x"
        )
    return "\n".join(lines)


def report_saves(large: dict[str, Any], typical: dict[str, Any]) -> str:
    lines = []
    big = large
    lines.append(
        f"2. Largest save ({big['points']:,}-point equity + drawdown, {big['trades']:,} trades; median)"
    )
    lines.append(
        f"   DAO save_backtest      {big['dao_s'] * 1000:>9,.0f} ms   {big['dao_vs_floor']:.2f}x the floor (target <= 1.3x)"
    )
    lines.append(f"   floor (pre-serialized) {big['floor_s'] * 1000:>9,.0f} ms")
    lines.append(
        f"   SQLAlchemy ORM         {big['orm_s'] * 1000:>9,.0f} ms   {big['orm_vs_floor']:.2f}x the floor"
    )
    lines.append(
        f"   read back + trades     {big['read_back_s'] * 1000:>9,.0f} ms   peak +{big['read_back_peak_mb']:.1f} MB (targets < 1 s, < 300 MB)"
    )
    typ = typical
    lines.append(
        f"3. Typical loop ({typ['saves']} saves of a result + {typ['trades_each']} trades, per save)"
    )
    lines.append(
        f"   DAO   p50 {typ['dao_p50_ms']:6.2f} ms  p99 {typ['dao_p99_ms']:6.2f} ms (target p50 <= 2 ms)"
    )
    lines.append(
        f"   ORM   p50 {typ['orm_p50_ms']:6.2f} ms  p99 {typ['orm_p99_ms']:6.2f} ms  ({typ['orm_vs_dao']:.1f}x the DAO)"
    )
    return "\n".join(lines)
