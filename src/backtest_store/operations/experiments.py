"""list_experiments: the experiments the store holds, newest run first, each with how
many runs it has, when they ran, who ran them and from which code versions."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pypika import Order, PostgreSQLQuery
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.analytics import ExperimentSummary
from backtest_store.operations.arguments import StoreSettings, check_limit
from backtest_store.operations.sql import Statement, column_of, param, render, select
from backtest_store.operations.steps import Operation, fetch
from backtest_store.tables import OPTIMIZATIONS, RESULTS


@lru_cache(maxsize=2)
def _experiments_sql(named: bool) -> str:
    t = RESULTS.table
    experiment = column_of(t, "experiment")
    last = fn.Max(t.backtest_date)
    query = (
        PostgreSQLQuery.from_(t)
        .select(experiment, fn.Count("*"), fn.Min(t.backtest_date), last)
        .where(experiment.notnull())
        .groupby(experiment)
        .orderby(last, order=Order.desc)
        .orderby(experiment)
        .limit(param("limit"))
    )
    if named:
        query = query.where(experiment == param("name"))
    return render(query)


def experiments(name: str | None, limit: int) -> Statement:
    params = {"limit": limit} if name is None else {"limit": limit, "name": name}
    return Statement(_experiments_sql(name is not None), params)


@lru_cache(maxsize=1)
def _origins_sql() -> str:
    t = RESULTS.table
    experiment, run_by, code = (column_of(t, c) for c in ("experiment", "run_by", "code_version"))
    query = (
        PostgreSQLQuery.from_(t)
        .select(experiment, run_by, code, fn.Count("*"))
        .where(experiment == Function("ANY", param("names")))
        .groupby(experiment, run_by, code)
    )
    return render(query)


def origins(names: list[str]) -> Statement:
    """Each experiment's runs counted by who ran them and by code version."""
    return Statement(_origins_sql(), {"names": names})


@lru_cache(maxsize=1)
def _grids_sql() -> str:
    t = OPTIMIZATIONS.table
    query = select(OPTIMIZATIONS, OPTIMIZATIONS.column_names).where(
        t.backtest_id == Function("ANY", param("ids"))
    )
    return render(query.orderby(t.backtest_id, t.parameter_set))


def grids(ids: Sequence[object]) -> Statement:
    """The optimization rows of these backtests (each backtest's shard on Citus)."""
    return Statement(_grids_sql(), {"ids": ids})


M = "list_experiments"


def list_experiments(
    settings: StoreSettings, *, experiment: str | None, limit: int
) -> Operation[list[ExperimentSummary]]:
    name = settings.argument(RESULTS, "experiment", experiment, method=M)
    rows: list[Any] = yield fetch(experiments(name, check_limit(M, limit)), "all")
    if not rows:
        return []
    names = [row[0] for row in rows]
    by: dict[str, tuple[dict[str, int], dict[str, int]]] = {n: ({}, {}) for n in names}
    counted: list[Any] = yield fetch(origins(names), "all", custom_plan=True)
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
