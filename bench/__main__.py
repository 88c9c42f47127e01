"""make bench: the DAO beside its baselines, every figure measured in this run on this server.

    python -m bench [--trades N] [--quick] [--only reads|frame|small-save|adopt]

Prints each figure beside its floor and the ratio, writes the figures to
bench/results/bench-<time>.json and, for a full run, to bench/results/latest.json and the
README's performance table (bench/readme.py). Databases bt_bench, bt_bench_volume and the
adopt copies are (re)created on the DATABASE_URL server.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
from backtest_store.validation import dump_json
from psycopg import sql

from backtest_store import BacktestResult, BacktestStore, BacktestTrade, urls
from backtest_store.operations import arguments, writes
from backtest_store.queries import writes
from backtest_store.schema.adoption import run
from bench import readme
from bench.common import ROOT, SERVER, fresh_database, percentile, spread, url_for
from bench.reads import bench_reads, report_reads

RAW_COLUMNS = (
    "backtest_id", "trade_number", "entry_date", "entry_price", "exit_date", "exit_price",
    "position_size", "direction", "pnl", "pnl_percent", "duration_days", "exit_reason",
)  # fmt: skip
RAW_TYPES = ["uuid", "int4", "date", "numeric", "date", "numeric", "numeric", "varchar",
             "numeric", "numeric", "int4", "varchar"]  # fmt: skip


def make_trades(n: int, seed: int = 7) -> list[BacktestTrade]:
    """Plain input as a backtest engine hands it over: floats, dates, strings."""
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    out = []
    for i in range(n):
        entry = start + timedelta(days=i % 3000)
        price = round(50 + rng.random() * 150, 2)
        exit_price = round(price * (0.9 + rng.random() * 0.2), 2)
        out.append(
            BacktestTrade(
                entry_date=entry, entry_price=price, exit_date=entry + timedelta(days=3),
                exit_price=exit_price, position_size=100.0, direction="long" if i % 2 else "short",
                pnl=round((exit_price - price) * 100, 4), pnl_percent=round(exit_price / price - 1, 4),
                duration_days=3, exit_reason="signal",
            )
        )  # fmt: skip
    return out


def to_decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def raw_rows(backtest_id: UUID, trades: list[BacktestTrade]) -> Iterator[tuple[Any, ...]]:
    """What a hand-written COPY loop sends: the floats as Decimal, nothing checked."""
    for i, t in enumerate(trades, start=1):
        yield (
            backtest_id, i, t.entry_date, to_decimal(t.entry_price), t.exit_date,  # type: ignore[arg-type]
            to_decimal(t.exit_price), to_decimal(t.position_size), t.direction,  # type: ignore[arg-type]
            to_decimal(t.pnl), to_decimal(t.pnl_percent), t.duration_days, t.exit_reason,  # type: ignore[arg-type]
        )  # fmt: skip


def parent(conn: psycopg.Connection[Any]) -> UUID:
    bid = uuid4()
    conn.execute(
        "INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date, end_date)"
        " VALUES (%s, 'BENCH', 'bench', '2015-01-01', '2024-01-01')",
        (bid,),
    )
    return bid


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


# -- 1. bulk ingest ------------------------------------------------------------


def bench_ingest(url: str, n: int, small: int, orm_n: int, rounds: int = 3) -> dict[str, Any]:
    trades = make_trades(n)
    times: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        store = BacktestStore(conn)
        copy_sql = sql.SQL("COPY mcp_backtest_trades ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS))
        )

        def run_raw_copy(bid: UUID) -> None:
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.set_types(RAW_TYPES)
                for row in raw_rows(bid, trades):
                    copy.write_row(row)

        def run_dao(bid: UUID) -> None:
            assert store.save_trades(bid, trades) == n

        contenders = [("raw_copy", run_raw_copy), ("dao", run_dao)]
        for round_ in range(1, rounds + 1):  # each into an empty table, order alternating
            for name, run in contenders if round_ % 2 else contenders[::-1]:
                truncate(conn)
                bid = parent(conn)
                with timer(times, f"{name}_{round_}"):
                    run(bid)
        truncate(conn)
        bid = parent(conn)
        subset = list(raw_rows(bid, trades[:small]))
        insert = sql.SQL("INSERT INTO mcp_backtest_trades ({}) VALUES ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS)),
            sql.SQL(", ").join(sql.Placeholder() * len(RAW_COLUMNS)),
        )
        with timer(times, "executemany"), conn.transaction(), conn.cursor() as cur:
            cur.executemany(insert, subset)
        truncate(conn)
    times["orm"] = orm_ingest(url, trades[:orm_n])
    raws = [times[f"raw_copy_{r}"] for r in range(1, rounds + 1)]
    daos = [times[f"dao_{r}"] for r in range(1, rounds + 1)]
    raw, dao = min(raws), min(daos)
    return {
        "rounds": rounds,
        "dao_vs_raw_per_round": spread([r / d for r, d in zip(raws, daos, strict=True)]),
        "trades": n,
        "raw_copy_rows_per_s": n / raw,
        "dao_rows_per_s": n / dao,
        "executemany_rows_per_s": small / times["executemany"],
        "executemany_rows": small,
        "orm_rows_per_s": orm_n / times["orm"],
        "orm_rows": orm_n,
        "dao_vs_raw": raw / dao,
        "seconds": times,
    }


def orm_session(url: str) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    return engine, Session(engine)


def orm_ingest(url: str, trades: list[BacktestTrade]) -> float:
    from bench.orm import OrmResult, OrmTrade

    engine, session = orm_session(url)
    with session:
        result = OrmResult(
            symbol="ORM",
            strategy_type="bench",
            start_date=date(2015, 1, 1),
            end_date=date(2024, 1, 1),
        )
        session.add(result)
        session.commit()
        gc.collect()
        start = time.perf_counter()
        session.add_all(
            OrmTrade(
                backtest_id=result.backtest_id,
                trade_number=i,
                entry_date=t.entry_date,
                entry_price=t.entry_price,
                exit_date=t.exit_date,
                exit_price=t.exit_price,
                position_size=t.position_size,
                direction=t.direction,
                pnl=t.pnl,
                pnl_percent=t.pnl_percent,
                duration_days=t.duration_days,
                exit_reason=t.exit_reason,
            )  # fmt: skip
            for i, t in enumerate(trades, start=1)
        )
        session.commit()
        elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


# -- 2. the largest realistic save, and reading it back -----------------------------


def big_result(points: int) -> BacktestResult:
    equity = [10_000 + i * 0.013 for i in range(points)]
    drawdown = [-((i % 997) / 10_000) for i in range(points)]
    return BacktestResult(
        symbol="SPY", strategy_type="minute_mr", start_date=date(2023, 1, 1), end_date=date(2023, 12, 31),
        parameters={"lookback": 390, "z": 2.0}, total_return=0.12, sharpe_ratio=1.1,
        equity_curve=equity, drawdown_series=drawdown,
    )  # fmt: skip


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


# -- 3. the typical service loop ---------------------------------------------------------


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
    parameters ready (no validation, no records). Empty tables before each contender,
    contenders alternating round by round; p50 per save, best round, spread of rounds."""
    from backtest_store.tables import RESULTS, TRADES

    out: dict[str, Any] = {"saves_per_round": saves, "rounds": rounds, "sizes": {}}
    codec = arguments.Codec("refuse")
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
                override = {"backtest_id": uuid4()}
                columns = writes._columns_given(RESULTS, result, override)
                values = codec.preparer(RESULTS, columns).row(result, None, override)
                cols, rows = writes._child_rows(
                    codec, TRADES, trades, override["backtest_id"], number="trade_number"
                )
                arrays = [list(c) for c in zip(*rows, strict=True)]
                statement = writes.insert_with_children(
                    RESULTS, columns, RESULTS.column_names, TRADES, cols
                )
                return statement, (*values, *arrays)

            timings: dict[str, list[float]] = {"one_statement": [], "copy": [], "floor": []}
            for _ in range(rounds):
                for contender in ("one_statement", "copy", "floor"):
                    truncate(conn)
                    prepared = [floor_params(r, t) for r, t in work] if contender == "floor" else []
                    ops_small = writes.SMALL_SAVE
                    writes.SMALL_SAVE = 10**9 if contender == "one_statement" else 0
                    times = []
                    try:
                        for i, (result, trades) in enumerate(work):
                            start = time.perf_counter()
                            if contender == "floor":
                                statement, params = prepared[i]
                                conn.execute(statement, params).fetchone()
                            else:
                                store.save_backtest(result, trades)
                            times.append(time.perf_counter() - start)
                    finally:
                        writes.SMALL_SAVE = ops_small
                    timings[contender].append(statistics.median(times[3:]))  # after warm-up
            best = {k: min(v) for k, v in timings.items()}
            out["sizes"][n] = {
                **{f"{k}_p50_ms": 1000 * v for k, v in best.items()},
                **{f"{k}_spread_ms": [1000 * min(v), 1000 * max(v)] for k, v in timings.items()},
                "vs_floor": best["one_statement"] / best["floor"],
                "copy_vs_one_statement": best["copy"] / best["one_statement"],
            }
    return out


def bench_frame_ingest(url: str, n: int, rounds: int) -> dict[str, Any]:
    """n trades as a DataFrame (save_trades) against the server's own binary COPY of the
    same rows from a file it wrote itself (no client work at all); empty table before
    each contender, alternating rounds."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    entry = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    frame = pd.DataFrame({
        "trade_number": np.arange(1, n + 1), "entry_date": entry,
        "entry_price": rng.uniform(10, 500, n).round(4),
        "entry_time": (entry + pd.Timedelta(hours=14, minutes=30)).tz_localize("UTC"),
        "exit_date": entry + pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
        "exit_price": rng.uniform(10, 500, n).round(4),
        "position_size": rng.integers(1, 1000, n).astype(float),
        "direction": np.where(rng.random(n) < 0.5, "long", "short"),
        "pnl": rng.normal(0, 100, n).round(4), "pnl_percent": rng.normal(0, 0.05, n).round(4),
        "duration_days": rng.integers(0, 30, n),
        "exit_reason": np.where(rng.random(n) < 0.3, "stop_loss", "signal"),
        "fees_paid": rng.uniform(0, 5, n).round(4),
    })  # fmt: skip
    path = "/tmp/backtest_store_bench_floor.bin"  # written and read by the server itself
    rates: dict[str, list[float]] = {"frame": [], "pre_encoded_copy": [], "server_file_copy": []}
    with psycopg.connect(url, autocommit=True) as conn:
        store = BacktestStore(conn)
        for _ in range(rounds):
            truncate(conn)
            backtest_id = parent(conn)
            start = time.perf_counter()
            store.save_trades(backtest_id, frame)
            rates["frame"].append(n / (time.perf_counter() - start))
            conn.execute(
                sql.SQL("COPY mcp_backtest_trades TO {} (FORMAT BINARY)").format(sql.Literal(path))
            )
            conn.execute("TRUNCATE mcp_backtest_trades")  # the parent stays: rows name it
            with open(path, "rb") as f:  # the same bytes, encoded before the clock starts
                encoded = f.read()
            start = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy("COPY mcp_backtest_trades FROM STDIN (FORMAT BINARY)") as copy,
            ):
                for i in range(0, len(encoded), 1 << 20):
                    copy.write(encoded[i : i + (1 << 20)])
            rates["pre_encoded_copy"].append(n / (time.perf_counter() - start))
            conn.execute("TRUNCATE mcp_backtest_trades")
            start = time.perf_counter()
            conn.execute(
                sql.SQL("COPY mcp_backtest_trades FROM {} (FORMAT BINARY)").format(
                    sql.Literal(path)
                )
            )
            rates["server_file_copy"].append(n / (time.perf_counter() - start))
        # memory, in a pass of its own (tracing slows allocation): the peak of what Python
        # and numpy allocate while saving, against the frame's own size
        truncate(conn)
        backtest_id = parent(conn)
        gc.collect()
        tracemalloc.start()
        store.save_trades(backtest_id, frame)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        truncate(conn)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    ratios = [a / b for a, b in zip(rates["frame"], rates["server_file_copy"], strict=True)]
    return {"rows": n, "rounds": rounds, **{f"{k}_rows_per_s": max(v) for k, v in rates.items()},
            "spread": {k: [min(v), max(v)] for k, v in rates.items()},
            "ratio_best": max(rates["frame"]) / max(rates["server_file_copy"]),
            "ratio_per_round": ratios, "memory_peak_mb": peak / 2**20,
            "frame_mb": frame_bytes / 2**20, "memory_vs_frame": peak / frame_bytes}  # fmt: skip


def report_frame_ingest(f: dict[str, Any]) -> str:
    return (
        f"DataFrame ingest, {f['rows']:,} trades, best of {f['rounds']} alternating rounds: "
        f"{f['frame_rows_per_s']:,.0f} rows/s; the same bytes pre-encoded through COPY FROM STDIN "
        f"{f['pre_encoded_copy_rows_per_s']:,.0f} rows/s; the server's own file COPY {f['server_file_copy_rows_per_s']:,.0f} rows/s; "
        f"ratio {f['ratio_best']:.2f}x (per round {', '.join(f'{r:.2f}' for r in f['ratio_per_round'])}); "
        f"memory peak {f['memory_peak_mb']:,.0f} MB for a {f['frame_mb']:,.0f} MB frame ({f['memory_vs_frame']:.2f}x)"
    )


def report_small_save(figures: dict[str, Any]) -> str:
    lines = [
        f"small saves (result + n trades), p50 per save, best of {figures['rounds']} alternating rounds of {figures['saves_per_round']}:",
        "  trades   one statement   floor (same statement by hand)   ratio   COPY path   COPY / one statement",
    ]
    for n, f in figures["sizes"].items():
        lines.append(
            f"  {n:>6}   {f['one_statement_p50_ms']:8.2f} ms   {f['floor_p50_ms']:8.2f} ms"
            f"                      {f['vs_floor']:5.2f}x   {f['copy_p50_ms']:7.2f} ms   {f['copy_vs_one_statement']:5.2f}x"
        )
    return "\n".join(lines)


# -- 5. memory, in fresh processes -------------------------------------------------------


def child(kind: str, url: str, backtest_id: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--child", kind, url, backtest_id],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def rss_mb() -> float:
    """Resident memory now (not the process's all-time peak, which imports may have set)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakSampler:
    """Samples resident memory every 2 ms on a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def run_child(kind: str, url: str, backtest_id: str) -> None:
    bid = UUID(backtest_id)
    with BacktestStore.connect(url) as store:
        gc.collect()
        base = rss_mb()
        sampler = PeakSampler().__enter__()
        start = time.perf_counter()
        if kind == "read_back":
            result = store.get_backtest(bid)
            trades = store.get_trades(bid)
            assert result is not None and len(trades) == 1000
        elif kind == "iter_trades":
            count = sum(1 for _ in store.iter_trades(bid, batch_size=5000))
            assert count > 0
        elif kind == "get_trades":
            assert len(store.get_trades(bid)) > 0
        seconds = time.perf_counter() - start
        sampler.__exit__()
        print(json.dumps({"seconds": seconds, "peak_mb": sampler.peak - base, "base_mb": base}))


def bench_memory(url: str, n: int) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        truncate(conn)
        bid = parent(conn)
        BacktestStore(conn).save_trades(bid, make_trades(n))
    streamed = child("iter_trades", url, str(bid))
    listed = child("get_trades", url, str(bid))
    return {
        "trades": n,
        "iter_trades_peak_growth_mb": streamed["peak_mb"],
        "iter_trades_s": streamed["seconds"],
        "get_trades_peak_growth_mb": listed["peak_mb"],
        "get_trades_s": listed["seconds"],
    }


# -- adopt at volume ------------------------------------------------------------------


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


def json_rewrite_floor(url: str) -> dict[str, float]:
    """The floor: each table's json columns turned into jsonb by one bare ALTER TABLE,
    nothing else (no checks, defaults, foreign keys, indexes, bookkeeping)."""
    from backtest_store.tables import ALL

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for spec in ALL:
            columns = [n for n, c in spec.columns.items() if c.kind == "jsonb"]
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
    from tests import legacy

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
            "adopt": {k: _spread([r[k] for r in adopt_rounds]) for k in adopt_rounds[0]},
            "floor": {k: _spread([r[k] for r in floor_rounds]) for k in floor_rounds[0]},
        }
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        for name in ("bt_bench_adopt", "bt_bench_legacy_revision", "bt_bench_legacy_models"):
            conn.execute(drop.format(sql.Identifier(name)))
    return out


def _spread(values: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values)}


# -- report --------------------------------------------------------------------------


def report(figures: dict[str, Any]) -> str:
    lines = []
    ing = figures["ingest"]
    lines.append(
        f"1. Bulk trade ingest ({ing['trades']:,} trades, rows/s; best of {ing['rounds']} alternating)"
    )
    lines.append(f"   DAO save_trades        {ing['dao_rows_per_s']:>12,.0f}")
    lines.append(
        f"   raw binary COPY        {ing['raw_copy_rows_per_s']:>12,.0f}   DAO = {ing['dao_vs_raw']:.0%} of raw (target >= 100 %)"
    )
    lines.append(
        f"   executemany            {ing['executemany_rows_per_s']:>12,.0f}   ({ing['executemany_rows']:,} rows)  DAO is {ing['dao_rows_per_s'] / ing['executemany_rows_per_s']:.1f}x"
    )
    lines.append(
        f"   SQLAlchemy ORM add_all {ing['orm_rows_per_s']:>12,.0f}   ({ing['orm_rows']:,} rows)  DAO is {ing['dao_rows_per_s'] / ing['orm_rows_per_s']:.1f}x"
    )
    big = figures["large_save"]
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
    typ = figures["typical"]
    lines.append(
        f"3. Typical loop ({typ['saves']} saves of a result + {typ['trades_each']} trades, per save)"
    )
    lines.append(
        f"   DAO   p50 {typ['dao_p50_ms']:6.2f} ms  p99 {typ['dao_p99_ms']:6.2f} ms (target p50 <= 2 ms)"
    )
    lines.append(
        f"   ORM   p50 {typ['orm_p50_ms']:6.2f} ms  p99 {typ['orm_p99_ms']:6.2f} ms  ({typ['orm_vs_dao']:.1f}x the DAO)"
    )
    mem = figures["memory"]
    lines.append(f"5. Memory over {mem['trades']:,} trades (peak RSS growth)")
    lines.append(
        f"   iter_trades  +{mem['iter_trades_peak_growth_mb']:7.0f} MB  {mem['iter_trades_s']:.1f} s (target < 100 MB)"
    )
    lines.append(
        f"   get_trades   +{mem['get_trades_peak_growth_mb']:7.0f} MB  {mem['get_trades_s']:.1f} s"
    )
    return "\n".join(lines)


def report_adopt(ad: dict[str, Any]) -> str:
    lines = [
        f"6. adopt at volume ({ad['rows']['mcp_backtest_results']:,} results, "
        f"{ad['rows']['mcp_backtest_trades']:,} trades; median of {ad['rounds']}, min-max)"
    ]
    for shape in ("revision", "models"):
        lines.append(f"   {shape + ' shape':34s} {'adopt':>22s}   {'floor: bare json->jsonb':>24s}")
        for key, f in ad[shape]["adopt"].items():
            floor = ad[shape]["floor"].get(key)
            shown = (
                f"{floor['median_s']:6.1f} s ({floor['min_s']:.1f}-{floor['max_s']:.1f})"
                if floor
                else ""
            )
            lines.append(
                f"   {key:34s} {f['median_s']:8.1f} s ({f['min_s']:.1f}-{f['max_s']:.1f})"
                f"   {shown:>24s}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "ID"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", choices=["adopt", "small-save", "frame", "reads"], help="run one section alone"
    )
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    if args.only == "adopt":
        adopt = bench_adopt(20_000 if args.quick else 200_000, rounds=1 if args.quick else 2)
        print(report_adopt(adopt))
        return
    if args.only == "reads":
        print(report_reads(bench_reads(20 if args.quick else 200, rounds=2 if args.quick else 5)))
        return
    if args.only == "frame":
        print(
            report_frame_ingest(
                bench_frame_ingest(
                    fresh_database("bt_bench"), 100_000 if args.quick else args.trades, 3
                )
            )
        )
        return
    if args.only == "small-save":
        small = bench_small_save(fresh_database("bt_bench"), (25, 100, 250, 500) if args.quick else (25, 100, 250, 500, 1000, 2000), saves=13 if args.quick else 53,
                                 rounds=2 if args.quick else 5)  # fmt: skip
        print(report_small_save(small))
        return
    n = 20_000 if args.quick else args.trades
    url = fresh_database("bt_bench")
    figures: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "server": urls.redact(SERVER),
    }
    with psycopg.connect(url) as conn:
        figures["postgres"] = conn.info.server_version
    figures["ingest"] = bench_ingest(url, n, small=min(n, 100_000), orm_n=min(n, 20_000))
    figures["large_save"] = bench_large_save(url, 525_600 if not args.quick else 50_000, repeat=5)
    figures["typical"] = bench_typical(url, 50)
    figures["frame_ingest"] = bench_frame_ingest(url, n, 3)
    figures["small_save"] = bench_small_save(
        url, (25, 100, 500, 1000, 2000), saves=53, rounds=5 if not args.quick else 2
    )
    figures["memory"] = bench_memory(url, n)
    figures["reads"] = bench_reads(200 if not args.quick else 20, rounds=5 if not args.quick else 2)
    figures["adopt"] = bench_adopt(20_000 if args.quick else 200_000, 1 if args.quick else 2)
    text = (
        report(figures)
        + "\n"
        + report_reads(figures["reads"])
        + "\n"
        + report_small_save(figures["small_save"])
        + "\n"
        + report_adopt(figures["adopt"])
    )
    print(text)
    out = ROOT / "bench" / "results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n{readme.table(json.loads(json.dumps(figures, default=str)))}")
    if args.quick:  # small sizes check the harness; they are not the figures to publish
        print(f"\nfigures: {out.relative_to(ROOT)}")
        return
    readme.write(figures)
    print(f"\nfigures: {out.relative_to(ROOT)}, {readme.LATEST.relative_to(ROOT)}; README updated")


if __name__ == "__main__":
    main()
