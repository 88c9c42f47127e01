"""1. Bulk trade ingest (the DAO beside raw binary COPY, executemany and an ORM) and the
DataFrame ingest beside its floor."""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from backtest_store import BacktestStore, BacktestTrade
from bench.data import RAW_COLUMNS, RAW_TYPES, make_trades, parent, raw_rows
from bench.harness import spread, timer, truncate


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


def trades_frame(n: int) -> Any:
    """n trades as a DataFrame, the same every run (seeded)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    entry = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    return pd.DataFrame({
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


def bench_frame_ingest(url: str, n: int, rounds: int) -> dict[str, Any]:
    """n trades as a DataFrame (save_trades) against the server's own binary COPY of the
    same rows from a file it wrote itself (no client work at all); empty table before
    each contender, alternating rounds."""
    frame = trades_frame(n)
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


def report_ingest(ingest: dict[str, Any]) -> str:
    lines = []
    ing = ingest
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
    return "\n".join(lines)
