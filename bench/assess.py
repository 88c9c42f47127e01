"""Skill or selection at the issue's sizes, each call beside the time to read its inputs,
in the same run: ``assess`` of a backtest with a 2,000-row grid and a 1,261-point curve
(1,260 returns), and ``assess_experiment`` of 100 runs of 1,261 points in 16 blocks
(C(16, 8) = 12,870 CSCV splits).

Three contenders per case, alternating which goes first each round: the store's whole
call; its reads alone (the same operation the call runs, ``backtest_inputs`` or
``experiment_inputs``); and the judgement alone over inputs already read
(``assessment.assess_backtest`` / ``assess_runs``). The best round's median is reported,
with the spread of the medians over rounds.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devkit.records import random_curve

from backtest_store import BacktestResult, BacktestStore, OptimizationResult
from backtest_store.assessment import assess_backtest, assess_runs
from backtest_store.operations import assessment as inputs
from bench.harness import fresh_database, spread

POINTS = 1_261  # 1,260 daily returns: five years of trading days
GRID = 2_000
RUNS = 100
BLOCKS = 16


def _seed(store: BacktestStore) -> Any:
    rng = random.Random(29)
    saved = store.save_backtest(BacktestResult(
        symbol="GOOG", strategy_type="sma", start_date=datetime(2020, 1, 1).date(),
        end_date=datetime(2023, 6, 14).date(), equity_curve=random_curve(rng, POINTS, drift=0.0004),
        bars_per_year=252, parameters={"fast": 10, "slow": 50}))  # fmt: skip
    store.save_optimization_results(saved.backtest_id, [
        OptimizationResult(parameters={"fast": k % 50, "slow": k // 50},
                           sharpe_ratio=rng.gauss(0.4, 0.6), objective_value=k)
        for k in range(GRID)])  # fmt: skip
    for n in range(RUNS):
        store.save_backtest(BacktestResult(
            symbol="GOOG", strategy_type="sma", start_date=datetime(2020, 1, 1).date(),
            end_date=datetime(2023, 6, 14).date(), experiment="bench-cscv",
            equity_curve=random_curve(rng, POINTS, drift=0.0008 if n == 17 else 0.0), bars_per_year=252,
            parameters={"n": n}))  # fmt: skip
    return saved.backtest_id


def _rounds(contenders: dict[str, Callable[[], Any]], runs: int, rounds: int) -> dict[str, Any]:
    medians: dict[str, list[float]] = {name: [] for name in contenders}
    for call in contenders.values():
        call()  # warm: prepared statements, numpy's first call
    for r in range(rounds):
        order = list(contenders.items())
        for name, call in order if r % 2 == 0 else order[::-1]:
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                call()
                samples.append(time.perf_counter() - started)
            medians[name].append(1000 * statistics.median(samples))
    return {name: {"p50_ms": min(v), "spread_ms": spread(v)} for name, v in medians.items()}


def bench_assess(runs: int = 10, rounds: int = 5) -> dict[str, Any]:
    url = fresh_database("bt_bench_assess")
    out: dict[str, Any] = {"runs": runs, "rounds": rounds, "grid": GRID, "points": POINTS,
                           "experiment_runs": RUNS, "blocks": BLOCKS}  # fmt: skip
    with BacktestStore.connect(url) as store:
        the_id = _seed(store)

        def backtest_read() -> Any:
            return store._run(inputs.backtest_inputs(the_id, 0.05), "assess", read=True)

        def experiment_read() -> Any:
            op = inputs.experiment_inputs(store._settings, "bench-cscv", blocks=BLOCKS, alpha=0.05)
            return store._run(op, "assess_experiment", read=True)

        result, grid, windows, _ = backtest_read()
        name, many, grids = experiment_read()
        judged = store.assess_experiment("bench-cscv", blocks=BLOCKS)
        assert judged.combinations == 12_870 and judged.backtests == RUNS, judged
        out["backtest"] = _rounds({
            "assess": lambda: store.assess(the_id),
            "reads": backtest_read,
            "judgement": lambda: assess_backtest(result, grid, windows),
        }, runs, rounds)  # fmt: skip
        out["experiment"] = _rounds({
            "assess_experiment": lambda: store.assess_experiment("bench-cscv", blocks=BLOCKS),
            "reads": experiment_read,
            "judgement": lambda: assess_runs(name, many, grids, blocks=BLOCKS),
        }, max(1, runs // 3), rounds)  # fmt: skip
    out["finished"] = datetime.now(UTC).isoformat()
    return out


def report_assess(figures: dict[str, Any]) -> str:
    lines = [
        "11. Skill or selection: each call beside the time to read its inputs and the "
        f"judgement alone, best of {figures['rounds']} alternating rounds",
    ]
    cases = (
        ("backtest", f"assess: {figures['grid']:,}-row grid, {figures['points']:,}-point curve"),
        ("experiment", f"assess_experiment: {figures['experiment_runs']} runs x "
                       f"{figures['points']:,} points, S = {figures['blocks']} (12,870 splits)"),
    )  # fmt: skip
    for key, title in cases:
        lines.append(f"   {title}")
        for name, f in figures[key].items():
            low, _, high = f["spread_ms"]
            lines.append(f"     {name:18s} {f['p50_ms']:9.2f} ms  (rounds {low:.2f}..{high:.2f})")
    return "\n".join(lines) + "\n"
