"""Skill or selection, for what the store holds: a backtest judged against the trials of
its optimization grid (``assess_backtest``), and an experiment's runs judged together
(``assess_runs``), with the definitions of ``overfitting.py``.

How trials are counted:

- **a backtest**: N is the number of rows of its optimization grid (1 without one: SR0 is
  0 and DSR is its PSR against 0). The rows' per-bar Sharpe ratios are their
  ``sharpe_ratio`` over √``bars_per_year`` (the grid is annualized on the run's clock); a
  row without a finite Sharpe ratio counts in N but not in the variance V;
- **an experiment**: its backtests, each with its own curve's per-bar Sharpe ratio, plus
  the rows of every grid they carry beyond the one run each grid produced (the row whose
  parameters are the run's; the best-ranked row when none is): N = runs + Σ (rows − 1).

A figure that cannot be computed is None with its ``reason``; never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from backtest_store import overfitting
from backtest_store.records import BacktestResult, OptimizationResult, WalkForwardTest
from backtest_store.tearsheet import Curve, curve_of

MAX_LOGITS_SHOWN = 40  # bins of the λ histogram a document carries
MAX_SELECTED_SHOWN = 2_000  # points of the in-sample against out-of-sample scatter


@dataclass(frozen=True, slots=True)
class WalkForwardFigures:
    """The walk-forward windows judged together and one by one (``overfitting``)."""

    windows: int
    profitable_share: float | None
    mean_return: float | None
    t_statistic: float | None
    p_value: float | None
    performance_ratios: list[float | None]
    degradation_factors: list[float | None]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """``assess(backtest_id)``: the run's per-bar Sharpe ratio over its ``observations``
    (T returns), skewness and kurtosis (not excess), PSR against 0; the ``trials`` (N)
    behind it and their hurdle SR0 (``expected_max_sharpe``, per bar), DSR, its p-value
    and whether it is ``significant`` at ``alpha``; the Sharpe ratio and the hurdle
    annualized on the run's clock; the walk-forward figures; and a verdict in words."""

    backtest_id: UUID
    observations: int
    sharpe_ratio: float | None
    skewness: float | None
    kurtosis: float | None
    psr: float | None
    trials: int
    expected_max_sharpe: float | None
    dsr: float | None
    p_value: float | None
    significant: bool | None
    alpha: float
    bars_per_year: float | None
    annualized_sharpe: float | None
    annualized_hurdle: float | None
    verdict: str
    trial_p_values: dict[UUID, float | None] = field(default_factory=dict)
    walk_forward: WalkForwardFigures | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ExperimentAssessment:
    """``assess_experiment(name)``: the ``backtests`` and ``trials`` (N) of the
    experiment; its best run by per-bar Sharpe ratio and that run's DSR; the probability
    of backtest overfitting by CSCV over ``bars`` common bars in ``blocks`` blocks
    (``combinations`` splits), the probability that the in-sample best loses out of
    sample, and the distribution of λ (``logit_histogram``: edges and counts)."""

    experiment: str
    backtests: int
    trials: int
    best_backtest_id: UUID | None
    sharpe_ratio: float | None
    expected_max_sharpe: float | None
    dsr: float | None
    p_value: float | None
    significant: bool | None
    alpha: float
    pbo: float | None
    probability_of_loss: float | None
    bars: int
    blocks: int
    combinations: int
    logit_histogram: dict[str, list[float]]
    verdict: str
    reason: str | None = None
    selected: list[tuple[float, float]] = field(default_factory=list)  # (in, out) Sharpes


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _moments(result: BacktestResult, curve: Curve | None) -> overfitting.Moments:
    curve = curve_of(result.equity_curve) if curve is None else curve
    if len(curve) < 3:
        no_curve = "no equity curve of 3 points or more to read returns from"
        return overfitting.Moments(0, None, None, None, no_curve)
    return overfitting.moments(overfitting.returns(curve.values))


def _per_bar(sharpe: Any, bars_per_year: float | None) -> float | None:
    value = _number(sharpe)
    if value is None or bars_per_year is None:
        return None
    return value / math.sqrt(bars_per_year)


def _verdict(deflated: overfitting.Deflated, trials: int) -> str:
    if deflated.dsr is None:
        return f"not judged: {deflated.reason}"
    if trials == 1:
        odds = f"PSR {deflated.dsr:.3f}, p = {deflated.p_value:.3f}, one trial"
        if deflated.significant:
            return f"skill: the Sharpe ratio is above 0 beyond chance ({odds})"
        return f"no evidence of skill: the Sharpe ratio could be chance ({odds})"
    odds = f"DSR {deflated.dsr:.3f}, p = {deflated.p_value:.3f} over {trials:,} trials"
    if deflated.significant:
        return f"skill: the Sharpe ratio survives the selection ({odds})"
    return (f"selection: the Sharpe ratio does not beat the best of {trials:,} skill-less "
            f"trials ({odds})")  # fmt: skip


def assess_backtest(
    result: BacktestResult,
    grid: Sequence[OptimizationResult],
    windows: Sequence[WalkForwardTest],
    alpha: float = 0.05,
    *,
    curve: Curve | None = None,
) -> Assessment:
    """A backtest against the trials of its own optimization grid; ``curve``: its equity
    curve, when the caller has read it already (``tearsheet.curve_of``)."""
    assert result.backtest_id is not None
    figures = _moments(result, curve)
    bars = _number(result.bars_per_year)
    trials = max(1, len(grid))
    sharpes = [_per_bar(o.sharpe_ratio, bars) for o in grid]
    reason = None
    if grid and bars is None:
        reason = ("the grid's Sharpe ratios are annualized on a clock the run does not "
                  "state (bars_per_year): their variance is unknown")  # fmt: skip
        deflated = overfitting.Deflated(trials, None, None, None, None, None, alpha, reason)
        if figures.sharpe_ratio is not None:
            psr = overfitting.psr(figures.sharpe_ratio, 0.0, figures.observations,
                                  figures.skewness or 0.0, figures.kurtosis or 3.0)  # fmt: skip
            deflated = overfitting.Deflated(trials, None, None, None, None, psr, alpha, reason)
    else:
        deflated = overfitting.deflate(figures, sharpes, trials, alpha)
        reason = deflated.reason
    per_trial: dict[UUID, float | None] = {}
    if deflated.expected_max_sharpe is not None and figures.skewness is not None:
        for row, sharpe in zip(grid, sharpes, strict=True):
            if row.optimization_id is None:
                continue
            own = None if sharpe is None else overfitting.psr(
                sharpe, deflated.expected_max_sharpe, figures.observations,
                figures.skewness, figures.kurtosis or 3.0)  # fmt: skip
            per_trial[row.optimization_id] = None if own is None else 1 - own
    scale = math.sqrt(bars) if bars else None
    return Assessment(
        backtest_id=result.backtest_id, observations=figures.observations,
        sharpe_ratio=figures.sharpe_ratio, skewness=figures.skewness, kurtosis=figures.kurtosis,
        psr=deflated.psr, trials=trials, expected_max_sharpe=deflated.expected_max_sharpe,
        dsr=deflated.dsr, p_value=deflated.p_value, significant=deflated.significant,
        alpha=alpha, bars_per_year=bars,
        annualized_sharpe=None if scale is None or figures.sharpe_ratio is None
        else figures.sharpe_ratio * scale,
        annualized_hurdle=None if scale is None or deflated.expected_max_sharpe is None
        else deflated.expected_max_sharpe * scale,
        verdict=_verdict(deflated, trials), trial_p_values=per_trial,
        walk_forward=_walk_forward(windows) if windows else None, reason=reason,
    )  # fmt: skip


PANEL = (  # the "skill or selection" panel of the tearsheet page and the report
    ("PSR (Sharpe above 0)", "psr"),
    ("trials behind it", "trials"),
    ("Sharpe ratio, a year", "annualized_sharpe"),
    ("hurdle SR0, a year", "annualized_hurdle"),
    ("DSR", "dsr"),
)


def panel(judged: Assessment) -> list[tuple[str, str]]:
    """The panel's rows as (label, text): a figure that cannot be computed is blank, and
    ``judged.reason`` says why."""
    rows = []
    for name, attribute in PANEL:
        value = getattr(judged, attribute)
        text = "" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"
        rows.append((name, text))
    return rows


def _walk_forward(windows: Sequence[WalkForwardTest]) -> WalkForwardFigures:
    together = overfitting.walk_forward([_number(w.out_of_sample_return) for w in windows])
    judged = [overfitting.judge_window(
        _number(w.training_performance), (w.training_end - w.training_start).days,
        _number(w.out_of_sample_return), (w.test_period_end - w.test_period_start).days,
    ) for w in windows]  # fmt: skip
    return WalkForwardFigures(
        together.windows, together.profitable_share, together.mean_return,
        together.t_statistic, together.p_value, [j.performance_ratio for j in judged],
        [j.degradation_factor for j in judged], together.reason,
    )  # fmt: skip


def assess_runs(name: str, runs: Sequence[BacktestResult],
                grids: Mapping[UUID, Sequence[OptimizationResult]], *, blocks: int = 16,
                alpha: float = 0.05) -> ExperimentAssessment:  # fmt: skip
    """An experiment's runs judged together: DSR of the best over every trial, and PBO
    by CSCV over their common bars."""
    curves = [curve_of(r.equity_curve) for r in runs]  # each read once, used twice
    figures = {r.backtest_id: _moments(r, c) for r, c in zip(runs, curves, strict=True)}
    sharpes: list[float | None] = [figures[r.backtest_id].sharpe_ratio for r in runs]
    trials = len(runs)
    for r in runs:
        grid = list(grids.get(r.backtest_id, ())) if r.backtest_id is not None else []
        if not grid:
            continue
        own = next((o for o in grid if o.parameters == r.parameters), None)
        if own is None:
            own = min(grid, key=lambda o: (o.rank is None, o.rank or 0))
        others = [o for o in grid if o is not own]
        trials += len(others)
        sharpes += [_per_bar(o.sharpe_ratio, _number(r.bars_per_year)) for o in others]
    ranked = [(s, r) for r, s in zip(runs, sharpes[: len(runs)], strict=True) if s is not None]
    best = max(ranked, key=lambda pair: pair[0])[1] if ranked else None
    if best is None:
        deflated = overfitting.Deflated(trials, None, None, None, None, None, alpha,
                                        "no run has a curve to judge")  # fmt: skip
    else:
        deflated = overfitting.deflate(figures[best.backtest_id], sharpes, trials, alpha)
    matrix, reason = _aligned_returns(curves)
    if matrix is None:
        cscv = overfitting.Overfitting(len(runs), 0, blocks, 0, None, None, [], [], [], [], reason)
    else:
        cscv = overfitting.cscv(matrix, blocks)
    verdict = _verdict(deflated, trials)
    if cscv.pbo is not None:
        verdict += f"; PBO {cscv.pbo:.2f} over {cscv.combinations:,} splits"
    return ExperimentAssessment(
        experiment=name, backtests=len(runs), trials=trials,
        best_backtest_id=None if best is None else best.backtest_id,
        sharpe_ratio=None if best is None else figures[best.backtest_id].sharpe_ratio,
        expected_max_sharpe=deflated.expected_max_sharpe, dsr=deflated.dsr,
        p_value=deflated.p_value, significant=deflated.significant, alpha=alpha,
        pbo=cscv.pbo, probability_of_loss=cscv.probability_of_loss, bars=cscv.bars,
        blocks=blocks, combinations=cscv.combinations,
        logit_histogram=histogram(cscv.logits), verdict=verdict,
        reason=cscv.reason or deflated.reason,
        selected=_spread(list(zip(cscv.in_sample, cscv.out_of_sample, strict=True))),
    )  # fmt: skip


def _spread(pairs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most MAX_SELECTED_SHOWN of the splits' points, taken evenly over all of them."""
    step = -(-len(pairs) // MAX_SELECTED_SHOWN)
    return pairs[::step] if step > 1 else pairs


def _aligned_returns(curves: Sequence[Curve]) -> tuple[list[list[float]] | None, str]:
    """The T × N per-bar returns of the runs' curves over their common bars: aligned by
    timestamp where every curve has them, else by position when of equal length."""
    if len(curves) < 2:
        return None, f"{len(curves)} run(s): selection needs at least 2 to choose from"
    if any(len(c) < 3 for c in curves):
        return None, "a run has no equity curve of 3 points or more"
    if all(c.times is not None for c in curves):
        common: set[datetime] = set(curves[0].times or ())
        for c in curves[1:]:
            common &= set(c.times or ())
        moments = sorted(common)
        if len(moments) < 3:
            return None, "the runs' curves share fewer than 3 timestamps"
        columns = []
        for c in curves:
            at = dict(zip(c.times or (), c.values, strict=True))
            columns.append(overfitting.returns([at[m] for m in moments]))
    elif len({len(c) for c in curves}) == 1:
        columns = [overfitting.returns(c.values) for c in curves]
    else:
        return None, "the curves have no timestamps to align them by, and differ in length"
    if len({len(col) for col in columns}) != 1:
        return None, "a curve has a point of 0, so its returns do not align with the others"
    return [list(row) for row in zip(*columns, strict=True)], ""


def histogram(values: Sequence[float], bins: int = 20) -> dict[str, list[float]]:
    """``edges`` (bins + 1) and ``counts`` of finite values; empty without any."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"edges": [], "counts": []}
    low, high = min(finite), max(finite)
    if high == low:
        return {"edges": [low, high], "counts": [float(len(finite))]}
    width = (high - low) / bins
    counts = [0.0] * bins
    for v in finite:
        counts[min(bins - 1, int((v - low) / width))] += 1
    return {"edges": [low + i * width for i in range(bins + 1)], "counts": counts}
