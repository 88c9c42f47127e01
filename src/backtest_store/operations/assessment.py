"""assess and assess_experiment: read what the judgement needs (the run and its curve, its
grid and walk-forward windows; an experiment's runs with their curves and grids), then
judge it (``assessment.py``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backtest_store import assessment
from backtest_store.errors import RecordNotFoundError, ValidationError
from backtest_store.operations import backtests, children
from backtest_store.operations import experiments as experiments_sql
from backtest_store.operations.arguments import MAX_LIMIT, StoreSettings, check_id
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import Statement
from backtest_store.operations.steps import Operation, fetch
from backtest_store.records import BacktestResult, OptimizationResult, WalkForwardTest
from backtest_store.tables import OPTIMIZATIONS, RESULTS

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


BacktestInputs = tuple[BacktestResult, list[OptimizationResult], list[WalkForwardTest], float]
ExperimentInputs = tuple[str, list[BacktestResult], dict[UUID, list[OptimizationResult]]]


def backtest_inputs(backtest_id: UUID | None, alpha: float) -> Operation[BacktestInputs]:
    """What ``assess`` judges: the run with its curve, its grid and its windows (the
    judgement itself is the caller's: the async store makes it off the event loop)."""
    m = "assess"
    the_id = check_id(m, "backtest_id", backtest_id)
    alpha = check_alpha(m, alpha)
    result = yield fetch(backtests.get_by_key(RESULTS, the_id), "one", record_row(RESULTS))
    if result is None:
        raise RecordNotFoundError(f"no backtest {the_id}")
    grid = yield from children.children("optimizations", the_id, m)
    windows = yield from children.children("walk_forward", the_id, m)
    return result, grid, windows, alpha


def experiment_inputs(
    settings: StoreSettings, name: str, *, blocks: int, alpha: float
) -> Operation[ExperimentInputs]:
    """What ``assess_experiment`` judges: the runs with their curves, oldest first, and
    their grids (``blocks`` and ``alpha`` are checked here, before anything is read)."""
    m = "assess_experiment"
    experiment = settings.argument(RESULTS, "experiment", name, method=m)
    if experiment is None:
        raise ValidationError(m, "experiment", name, "an experiment's name")
    blocks, alpha = check_blocks(m, blocks), check_alpha(m, alpha)
    runs: list[BacktestResult] = yield from backtests.list_backtests(
        settings, symbol=None, strategy_type=None, status=None, since=None, until=None,
        limit=MAX_LIMIT, after=None, with_series=True, origin={"experiment": experiment},
    )  # fmt: skip
    if not runs:
        raise RecordNotFoundError(f"no run of experiment {experiment!r}")
    runs.reverse()  # oldest first: the order the runs were made in
    ids = [r.backtest_id for r in runs]
    rows: list[OptimizationResult] = list(
        (yield fetch(experiments_sql.grids(ids), "all", record_row(OPTIMIZATIONS)))
    )
    grids: dict[UUID, list[OptimizationResult]] = {}
    for row in rows:
        if row.backtest_id is not None:
            grids.setdefault(row.backtest_id, []).append(row)
    return experiment, runs, grids


# --record: the seed's own columns, filled from the assessment (only NULLs, unless told)
_RECORD_GRID = """
UPDATE mcp_optimization_results AS o SET
    p_value = CASE WHEN %(overwrite)s OR o.p_value IS NULL THEN v.p_value ELSE o.p_value END,
    is_statistically_significant = CASE WHEN %(overwrite)s OR o.p_value IS NULL
        THEN v.significant ELSE o.is_statistically_significant END
FROM unnest(%(ids)s::uuid[], %(p_values)s::numeric[], %(significant)s::boolean[])
    AS v(optimization_id, p_value, significant)
WHERE o.backtest_id = %(backtest_id)s AND o.optimization_id = v.optimization_id
    AND (%(overwrite)s OR o.p_value IS NULL)
"""
_RECORD_WINDOWS = """
UPDATE mcp_walk_forward_tests AS w SET
    is_profitable = CASE WHEN %(overwrite)s OR w.is_profitable IS NULL
        THEN v.is_profitable ELSE w.is_profitable END,
    performance_ratio = CASE WHEN %(overwrite)s OR w.performance_ratio IS NULL
        THEN v.performance_ratio ELSE w.performance_ratio END,
    degradation_factor = CASE WHEN %(overwrite)s OR w.degradation_factor IS NULL
        THEN v.degradation_factor ELSE w.degradation_factor END,
    is_statistically_significant = CASE WHEN %(overwrite)s OR w.is_profitable IS NULL
        THEN v.significant ELSE w.is_statistically_significant END
FROM unnest(%(ids)s::uuid[], %(profitable)s::boolean[], %(ratios)s::numeric[],
            %(factors)s::numeric[], %(significant)s::boolean[])
    AS v(walk_forward_id, is_profitable, performance_ratio, degradation_factor, significant)
WHERE w.parent_backtest_id = %(backtest_id)s AND w.walk_forward_id = v.walk_forward_id
"""
RATIO_LIMIT = 9999.9999  # numeric(8,4): a ratio beyond it says nothing a table can hold


def _ratio(value: float | None) -> float | None:
    return None if value is None or abs(value) > RATIO_LIMIT else round(value, 4)


def record_assessment(
    backtest_id: UUID | None, *, alpha: float, overwrite: bool
) -> Operation[dict[str, int]]:
    """Write what ``assess`` finds into the seed's columns, in one transaction: each grid
    row's ``p_value`` (its per-bar Sharpe ratio against the grid's SR0) and
    ``is_statistically_significant``; each walk-forward window's ``is_profitable``,
    ``performance_ratio``, ``degradation_factor`` and ``is_statistically_significant``
    (the window made money and the windows' mean out-of-sample return is above 0 at
    ``alpha``). Only NULLs are filled unless ``overwrite``."""
    m = "record_assessment"
    if not isinstance(overwrite, bool):
        raise ValidationError(m, "overwrite", overwrite, "True or False")
    result, grid_rows, windows, alpha = yield from backtest_inputs(backtest_id, alpha)
    found = assessment.assess_backtest(result, grid_rows, windows, alpha)
    the_id = found.backtest_id
    grid = {k: v for k, v in found.trial_p_values.items()}
    ids = list(grid)
    p_values = [None if p is None else round(p, 6) for p in grid.values()]
    rows = 0
    if ids:
        rows = yield fetch(Statement(_RECORD_GRID, {
            "overwrite": overwrite, "ids": ids, "p_values": p_values,
            "significant": [None if p is None else p < found.alpha for p in p_values],
            "backtest_id": the_id}), "rowcount")  # fmt: skip
    judged = 0
    wf = found.walk_forward
    if windows and wf is not None:
        together = wf.p_value is not None and wf.p_value < found.alpha
        profitable = [None if w.out_of_sample_return is None else w.out_of_sample_return > 0
                      for w in windows]  # fmt: skip
        judged = yield fetch(Statement(_RECORD_WINDOWS, {
            "overwrite": overwrite, "ids": [w.walk_forward_id for w in windows],
            "profitable": profitable,
            "ratios": [_ratio(r) for r in wf.performance_ratios],
            "factors": [_ratio(f) for f in wf.degradation_factors],
            "significant": [None if p is None else bool(p and together) for p in profitable],
            "backtest_id": the_id}), "rowcount")  # fmt: skip
    return {"optimizations": int(rows), "walk_forward": int(judged)}
