"""assess and assess_experiment: read what the judgement needs (the run and its curve, its
grid and walk-forward windows; an experiment's runs with their curves and grids), then
judge it (``assessment.py``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backtest_store import assessment
from backtest_store.assessment import Assessment, ExperimentAssessment
from backtest_store.errors import NotFoundError, ValidationError
from backtest_store.operations import reads
from backtest_store.operations.arguments import MAX_LIMIT, Codec, check_id
from backtest_store.operations.rows import record_row
from backtest_store.operations.steps import Operation, fetch
from backtest_store.queries import experiments as experiments_sql
from backtest_store.queries import reads as read_sql
from backtest_store.records import BacktestResult, OptimizationResult
from backtest_store.tables import OPTIMIZATIONS, RESULTS, WALK_FORWARD

MAX_BLOCKS = 24  # C(24, 12) = 2,704,156 splits: the most a call may ask for


def check_alpha(method: str, alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValidationError(method, "alpha", alpha, "a number between 0 and 1 (0.05)")
    return float(alpha)


def check_blocks(method: str, blocks: Any) -> int:
    if (
        isinstance(blocks, bool)
        or not isinstance(blocks, int)
        or blocks % 2
        or not (2 <= blocks <= MAX_BLOCKS)
    ):
        raise ValidationError(method, "blocks", blocks, f"an even number from 2 to {MAX_BLOCKS}")
    return blocks


def assess(backtest_id: UUID | None, alpha: float) -> Operation[Assessment]:
    m = "assess"
    the_id = check_id(m, "backtest_id", backtest_id)
    alpha = check_alpha(m, alpha)
    result = yield fetch(read_sql.get_by_key(RESULTS, the_id), "one", record_row(RESULTS))
    if result is None:
        raise NotFoundError(f"no backtest {the_id}")
    grid = yield from reads.children(OPTIMIZATIONS, the_id, ("parameter_set", "optimization_id"),
                                     m)  # fmt: skip
    windows = yield from reads.children(WALK_FORWARD, the_id,
                                        ("test_period_start", "walk_forward_id"), m)  # fmt: skip
    return assessment.assess_backtest(result, grid, windows, alpha)


def assess_experiment(
    codec: Codec, name: str, *, blocks: int, alpha: float
) -> Operation[ExperimentAssessment]:
    m = "assess_experiment"
    experiment = codec.argument(RESULTS, "experiment", name, method=m)
    if experiment is None:
        raise ValidationError(m, "experiment", name, "an experiment's name")
    blocks, alpha = check_blocks(m, blocks), check_alpha(m, alpha)
    statement = read_sql.list_backtests(
        symbol=None, strategy_type=None, status=None, since=None, until=None, after=None,
        limit=MAX_LIMIT, with_series=True, origin={"experiment": experiment},
    )  # fmt: skip
    runs: list[BacktestResult] = list((yield fetch(statement, "all", record_row(RESULTS))))
    if not runs:
        raise NotFoundError(f"no run of experiment {experiment!r}")
    runs.reverse()  # oldest first: the order the runs were made in
    ids = [r.backtest_id for r in runs]
    rows: list[OptimizationResult] = list(
        (yield fetch(experiments_sql.grids(ids), "all", record_row(OPTIMIZATIONS)))
    )
    grids: dict[UUID, list[OptimizationResult]] = {}
    for row in rows:
        if row.backtest_id is not None:
            grids.setdefault(row.backtest_id, []).append(row)
    return assessment.assess_runs(experiment, runs, grids, blocks=blocks, alpha=alpha)
