"""The JSON documents of the read commands, one code for the CLI's ``--json`` and the
web view's JSON (``/api/...``): records as ``serialize.to_json`` makes them, everything
else as ``serialize.plain`` makes it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from backtest_store.analytics import ExperimentSummary, PerformanceSummary, SummaryStats
from backtest_store.assessment import Assessment, ExperimentAssessment
from backtest_store.metrics import MEASURES, units
from backtest_store.operations.duplicates import DuplicateGroup
from backtest_store.records import (
    BacktestResult,
    BacktestTrade,
    OptimizationResult,
    WalkForwardTest,
)
from backtest_store.serialize import plain, to_json
from backtest_store.tables import RESULTS
from backtest_store.tearsheet import curve_of, monthly_returns, worst_drawdowns, yearly_returns


def dumps(document: Any) -> str:
    """A document as JSON text: what ``--json`` prints and ``/api`` answers. The encoder
    asks ``_plain`` only for the values JSON has no form for (a document of records is
    mostly plain already); a key that is not text takes the long way, ``plain``."""
    try:
        return json.dumps(document, ensure_ascii=False, default=_plain)
    except TypeError:
        return json.dumps(plain(document), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | UUID | datetime | date):
        return plain(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON")


# Each mean of the summary, and the column it averages.
MEAN_OF = {"mean_return": "total_return", "mean_sharpe": "sharpe_ratio",
           "mean_win_rate": "win_rate"}  # fmt: skip


def summary(found: PerformanceSummary) -> dict[str, Any]:
    """``summary --json`` and ``/api/summary``: each mean to the scale of the column it
    averages (a mean of Sharpe ratios stored to 4 decimals has 4, not the 20 that
    PostgreSQL's division gives)."""

    def stats(s: SummaryStats) -> dict[str, Any]:
        out: dict[str, Any] = plain(s)
        for mean, column in MEAN_OF.items():
            value = getattr(s, mean)
            if value is not None and value.is_finite():
                scale = RESULTS.columns[column].scale or 0
                out[mean] = plain(value.quantize(Decimal(1).scaleb(-scale)))
        return out

    return {"overall": stats(found.overall),
            "by_strategy": {k: stats(v) for k, v in found.by_strategy.items()},
            "by_symbol": {k: stats(v) for k, v in found.by_symbol.items()}}  # fmt: skip


def tally(trades: Sequence[BacktestTrade]) -> dict[str, int]:
    """How many trades, winning, losing and still open."""
    return {
        "count": len(trades),
        "winning": sum(1 for t in trades if t.pnl is not None and t.pnl > 0),
        "losing": sum(1 for t in trades if t.pnl is not None and t.pnl < 0),
        "open": sum(1 for t in trades if t.exit_date is None),
    }


def best_first(optimizations: Sequence[OptimizationResult]) -> list[OptimizationResult]:
    """Every parameter set, the best ranked first, the unranked last."""
    return sorted(optimizations, key=lambda o: (o.rank is None, o.rank or 0, o.parameter_set))


def backtest(
    result: BacktestResult,
    trades: Sequence[BacktestTrade],
    optimizations: Sequence[OptimizationResult],
    windows: Sequence[WalkForwardTest],
) -> dict[str, Any]:
    """``show --json``: the record without its series, each metric's unit, the trades'
    tally, the optimization best first and the walk-forward windows."""
    return {
        "backtest": {k: v for k, v in to_json(result).items() if k not in RESULTS.series},
        "units": {m: units().get(m, "") for m in MEASURES},
        "trades": tally(trades),
        "optimizations": [to_json(o) for o in best_first(optimizations)],
        "walk_forward": [to_json(w) for w in windows],
    }


def series_summary(stored: Any) -> dict[str, Any]:
    """A stored series in a few figures: how many points it has, and its first, last,
    lowest and highest point (``at`` a timestamp, or the bar's number in a series
    without timestamps); points that are not finite numbers are left out of the figures."""
    curve = curve_of(stored)
    points = len(stored) if isinstance(stored, list | dict) else 0
    if not curve.values:
        return {"points": points, "first": None, "last": None, "min": None, "max": None}
    xs: Sequence[Any] = (
        curve.times
        if curve.times is not None
        else [
            i
            for i, v in enumerate(stored)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        ]
    )  # the bars' own numbers, kept where a point is left out

    def point(i: int) -> dict[str, Any]:
        return {"at": plain(xs[i]), "value": curve.values[i]}

    values = curve.values
    return {"points": points, "first": point(0), "last": point(len(values) - 1),
            "min": point(values.index(min(values))),
            "max": point(values.index(max(values)))}  # fmt: skip


def tearsheet(stored: Any, worst: int = 5) -> dict[str, Any]:
    """A curve's tearsheet figures: each month's and year's return (a fraction, keyed
    ``2024-01`` and ``2024``), and its ``worst`` deepest drawdowns, deepest first."""
    curve = curve_of(stored)
    return {
        "monthly_returns": {f"{y}-{m:02d}": r for (y, m), r in monthly_returns(curve).items()},
        "yearly_returns": {str(y): r for y, r in yearly_returns(curve).items()},
        "worst_drawdowns": [{"start": plain(d.start), "valley": plain(d.valley),
                             "recovery": plain(d.recovery), "depth": d.depth,
                             "length": d.length}
                            for d in worst_drawdowns(curve, worst)],
    }  # fmt: skip


def experiments(found: Sequence[ExperimentSummary]) -> list[dict[str, Any]]:
    """``experiments --json`` and ``/api/experiments``: each experiment's runs, first and
    last run, and its runs counted by who ran them and by code version."""
    return [plain(e) for e in found]


def experiment(found: ExperimentSummary, best: BacktestResult | None) -> dict[str, Any]:
    """``/api/experiments/{name}``: the experiment, and its best run by Sharpe ratio."""
    return {"experiment": plain(found), "best": None if best is None else {
        k: v for k, v in to_json(best).items() if k not in RESULTS.series}}  # fmt: skip


def duplicates(groups: Sequence[DuplicateGroup]) -> list[dict[str, Any]]:
    """``list --duplicates --json`` and ``/api/duplicates``: each group of the same run."""
    return [plain(g) for g in groups]


def assessment(found: Assessment | ExperimentAssessment) -> dict[str, Any]:
    """``assess --json`` and ``/api/.../assess``: the record's fields (figures per bar;
    None where a figure cannot be computed, with ``reason``), ids as text."""
    out: dict[str, Any] = plain(found)
    out.pop("selected", None)  # the splits' Sharpe ratios: the experiment page draws them
    if isinstance(found, Assessment):
        out["trial_p_values"] = {str(k): v for k, v in found.trial_p_values.items()}
    return out
