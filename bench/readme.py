"""docs/performance.md's table, written from one ``make bench`` run's figures.

``make bench`` saves its figures to ``bench/results/latest.json`` (kept in git) and
rewrites the table between the markers below; tests/test_readme.py holds the page's
table equal to ``table(latest.json)``, so the table is always one run's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.harness import ROOT

START = "<!-- bench:start: written by make bench from bench/results/latest.json -->"
END = "<!-- bench:end -->"
LATEST = ROOT / "bench" / "results" / "latest.json"


def _rounds(values: list[float]) -> str:
    return f"rounds {values[0]:.2f}-{values[-1]:.2f}"


def table(f: dict[str, Any]) -> str:
    """Markdown: each figure beside its floor (or baseline) and the ratio."""
    rows = [
        ("what", "backtest-store", "floor (same run, same rows)", "ratio", "target"),
        ("---",) * 5,
    ]
    ing = f["ingest"]
    rows.append((
        f"ingest {ing['trades']:,} trades as records (`save_trades`)",
        f"{ing['dao_rows_per_s']:,.0f} rows/s",
        f"raw binary COPY from Python {ing['raw_copy_rows_per_s']:,.0f} rows/s",
        f"{ing['dao_vs_raw']:.2f}x ({_rounds(ing['dao_vs_raw_per_round'])})", ">= 1.0x",
    ))  # fmt: skip
    fr = f["frame_ingest"]
    per_round = sorted(fr["ratio_per_round"])
    rows.append((
        f"ingest {fr['rows']:,} trades as a DataFrame",
        f"{fr['frame_rows_per_s']:,.0f} rows/s",
        f"the server's own binary COPY from a file {fr['server_file_copy_rows_per_s']:,.0f} rows/s "
        f"(the same bytes through COPY FROM STDIN: {fr['pre_encoded_copy_rows_per_s']:,.0f})",
        f"{fr['ratio_best']:.2f}x ({_rounds(per_round)})", ">= 0.8x",
    ))  # fmt: skip
    rows.append((
        "its memory (peak traced while saving)", f"{fr['memory_peak_mb']:,.0f} MB",
        f"the frame itself {fr['frame_mb']:,.0f} MB", f"{fr['memory_vs_frame']:.2f}x", "<= 1.0x",
    ))  # fmt: skip
    for n, s in f["small_save"]["sizes"].items():
        rows.append((
            f"a result with {n} trades, one round trip (p50)", f"{s['one_statement_p50_ms']:.2f} ms",
            f"the same statement sent by hand {s['floor_p50_ms']:.2f} ms" + (
                f" (through psycopg's raw cursor {s['raw_floor_p50_ms']:.2f} ms: "
                f"{s['vs_raw_floor']:.2f}x)" if "raw_floor_p50_ms" in s else ""),
            f"{s['vs_floor']:.2f}x", "<= 1.15x" if n == "25" else "",
        ))  # fmt: skip
    big = f["large_save"]
    rows.append((
        f"one backtest with two {big['points']:,}-point series and {big['trades']:,} trades",
        f"{big['dao_s'] * 1000:,.0f} ms",
        f"the same INSERT, jsonb pre-serialised {big['floor_s'] * 1000:,.0f} ms",
        f"{big['dao_vs_floor']:.2f}x", "<= 1.3x",
    ))  # fmt: skip
    typ = f["typical"]
    rows.append((
        f"a result with {typ['trades_each']} trades, {typ['saves']} in a row (p50)",
        f"{typ['dao_p50_ms']:.2f} ms",
        f"baseline, not a floor: SQLAlchemy ORM {typ['orm_p50_ms']:.2f} ms",
        f"{1 / typ['orm_vs_dao']:.2f}x", "",
    ))  # fmt: skip
    mem = f["memory"]
    rows.append((
        f"`iter_trades` over {mem['trades']:,} trades (peak RSS growth)",
        f"+{mem['iter_trades_peak_growth_mb']:,.0f} MB",
        f"baseline: `get_trades` +{mem['get_trades_peak_growth_mb']:,.0f} MB", "", "< 100 MB",
    ))  # fmt: skip
    rows.append(("**reads** at 200,000 results and 2,000,000 trades", "", "", "", ""))
    for name, r in f["reads"]["methods"].items():
        rows.append((
            f"`{name}` (p50)", f"{r['p50_ms']:.2f} ms",
            f"psycopg, same statement, tuples {r['driver_p50_ms']:.2f} ms",
            f"{r['vs_driver']:.2f}x ({_rounds(r['vs_driver_per_round'][::2])})", "<= 1.3x",
        ))  # fmt: skip
    for shape in ("revision", "models"):
        ad = f["adopt"][shape]
        locked, floor = ad["adopt"]["the locked transaction"], ad["floor"]["the locked transaction"]
        rows.append((
            f"`adopt` a {shape}-shaped database, {f['adopt']['results']:,} results: "
            "the locked part (median)",
            f"{locked[1]:.1f} s", f"a bare json-to-jsonb ALTER {floor[1]:.1f} s",
            f"{locked[1] / floor[1]:.2f}x", "",
        ))  # fmt: skip
    if "assess" in f:  # in every full run since bench/assess.py
        a = f["assess"]
        for key, call, what in (
            ("backtest", "assess", f"a {a['grid']:,}-row grid, a {a['points']:,}-point curve"),
            ("experiment", "assess_experiment",
             f"{a['experiment_runs']} runs of {a['points']:,} points, S = {a['blocks']}"),
        ):  # fmt: skip
            whole, read = a[key][call]["p50_ms"], a[key]["reads"]["p50_ms"]
            rows.append((
                f"`{call}`: {what} (p50)", f"{whole:,.1f} ms",
                f"reading its inputs {read:,.1f} ms (the judgement alone "
                f"{a[key]['judgement']['p50_ms']:,.1f} ms)", f"{whole / read:.2f}x", "",
            ))  # fmt: skip
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def write(figures: dict[str, Any], readme: Path = ROOT / "docs" / "performance.md") -> None:
    """Save the figures as latest.json and put their table into docs/performance.md."""
    figures = json.loads(json.dumps(figures, default=str))  # as the JSON reads back
    LATEST.parent.mkdir(exist_ok=True)
    LATEST.write_text(json.dumps(figures, indent=2) + "\n")
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(figures)}\n{END}{tail}")


def current(readme: Path = ROOT / "docs" / "performance.md") -> str:
    """The table docs/performance.md holds now."""
    return readme.read_text().split(START, 1)[1].split(END, 1)[0].strip()
