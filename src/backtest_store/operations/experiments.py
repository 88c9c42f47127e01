"""list_experiments: the experiments the store holds, newest run first, each with how
many runs it has, when they ran, who ran them and from which code versions."""

from __future__ import annotations

from typing import Any

from backtest_store.analytics import ExperimentSummary
from backtest_store.operations.arguments import StoreSettings, check_limit
from backtest_store.operations.steps import Operation, fetch
from backtest_store.queries import experiments as experiments_sql
from backtest_store.tables import RESULTS

M = "list_experiments"


def list_experiments(
    settings: StoreSettings, *, experiment: str | None, limit: int
) -> Operation[list[ExperimentSummary]]:
    name = settings.argument(RESULTS, "experiment", experiment, method=M)
    rows: list[Any] = yield fetch(experiments_sql.experiments(name, check_limit(M, limit)), "all")
    if not rows:
        return []
    names = [row[0] for row in rows]
    by: dict[str, tuple[dict[str, int], dict[str, int]]] = {n: ({}, {}) for n in names}
    counted: list[Any] = yield fetch(experiments_sql.origins(names), "all", custom_plan=True)
    for experiment_, run_by, code, count in counted:
        people, codes = by[experiment_]
        people[run_by or ""] = people.get(run_by or "", 0) + count
        codes[code or ""] = codes.get(code or "", 0) + count
    return [
        ExperimentSummary(n, runs, first, last, _most_first(by[n][0]), _most_first(by[n][1]))
        for n, runs, first, last in rows
    ]


def _most_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
