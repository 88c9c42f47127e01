"""make bench: the DAO beside its baselines, every figure measured in this run on this server.

    python -m bench [--trades N] [--quick] [--only reads|ingest|frame|small-save|adopt|web|stall|mcp|assess|citus]

Prints each figure beside its floor and the ratio, writes the figures to
bench/results/bench-<time>.json and, for a full run, to bench/results/latest.json and the
docs/performance.md's table (bench/readme.py). Sections, each
with its ``bench_*`` and ``report_*``: data (the rows), harness (server, timers, spreads),
ingest, saves, memory, reads, adopt, web, mcp, assess; this module only parses the arguments. Databases bt_bench, bt_bench_volume and the
adopt copies are (re)created on the DATABASE_URL server.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import psycopg

from backtest_store import urls
from bench import readme
from bench.adopt import bench_adopt, report_adopt
from bench.assess import bench_assess, report_assess
from bench.harness import ROOT, SERVER, fresh_database
from bench.ingest import bench_frame_ingest, bench_ingest, report_frame_ingest, report_ingest
from bench.mcp_server import bench_mcp, report_mcp
from bench.memory import bench_memory, report_memory, run_child
from bench.reads import bench_reads, report_reads
from bench.saves import (
    bench_large_save,
    bench_small_save,
    bench_typical,
    report_saves,
    report_small_save,
)
from bench.web import bench_stall, bench_web, report_stall, report_web

SECTIONS = ("adopt", "small-save", "ingest", "frame", "reads", "web", "stall", "mcp", "assess",
            "citus")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "ID"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        help="run one section alone",
    )
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    if args.only == "citus":  # not in the full run: it needs a cluster (bench/citus.py)
        from bench.citus import bench_citus, report_citus

        citus = bench_citus(quick=args.quick)
        print(report_citus(citus))
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (ROOT / "bench" / "results" / f"bench-{stamp}-citus.json").write_text(
            json.dumps({"server": SERVER, "citus": citus}, indent=2, default=str)
        )
        return
    if args.only == "adopt":
        adopt = bench_adopt(20_000 if args.quick else 200_000, rounds=1 if args.quick else 2)
        print(report_adopt(adopt))
        return
    if args.only == "web":
        print(report_web(bench_web(20 if args.quick else 100, rounds=2 if args.quick else 5,
                                   grow_to_2m=not args.quick)))  # fmt: skip
        return
    if args.only == "stall":
        print(report_stall(bench_stall(3 if args.quick else 10)))
        return
    if args.only == "mcp":
        print(report_mcp(bench_mcp(20 if args.quick else 100, rounds=2 if args.quick else 5)))
        return
    if args.only == "assess":
        print(report_assess(bench_assess(3 if args.quick else 10, rounds=2 if args.quick else 5)))
        return
    if args.only == "reads":
        print(report_reads(bench_reads(20 if args.quick else 200, rounds=2 if args.quick else 5)))
        return
    if args.only == "ingest":
        n = 100_000 if args.quick else args.trades
        print(report_ingest(bench_ingest(fresh_database("bt_bench"), n, small=min(n, 100_000),
                                         orm_n=min(n, 20_000), rounds=5)))  # fmt: skip
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
    figures["web"] = bench_web(20 if args.quick else 100, 2 if args.quick else 5,
                               grow_to_2m=not args.quick)  # fmt: skip
    figures["stall"] = bench_stall(3 if args.quick else 10)
    figures["mcp"] = bench_mcp(20 if args.quick else 100, 2 if args.quick else 5)
    figures["assess"] = bench_assess(3 if args.quick else 10, 2 if args.quick else 5)
    text = (
        report_ingest(figures["ingest"])
        + "\n"
        + report_saves(figures["large_save"], figures["typical"])
        + "\n"
        + report_memory(figures["memory"])
        + "\n"
        + report_reads(figures["reads"])
        + "\n"
        + report_small_save(figures["small_save"])
        + "\n"
        + report_adopt(figures["adopt"])
        + "\n"
        + report_web(figures["web"])
        + "\n"
        + report_stall(figures["stall"])
        + "\n"
        + report_mcp(figures["mcp"])
        + "\n"
        + report_assess(figures["assess"])
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
    print(
        f"\nfigures: {out.relative_to(ROOT)}, {readme.LATEST.relative_to(ROOT)}; docs/performance.md updated"
    )


if __name__ == "__main__":
    main()
