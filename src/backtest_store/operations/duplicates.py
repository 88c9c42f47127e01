"""Duplicate runs: runs of the same strategy, parameters, period, data fingerprint and code
version. ``duplicate_counts`` says how many other runs each of some runs has (what a list
marks); ``list_duplicates`` gives the groups themselves, newest first. A run without a
fingerprint has no duplicate: nothing says its data was the same."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from pypika import AliasedQuery, Order, PostgreSQLQuery, Table
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import check_id, check_limit
from backtest_store.operations.sql import Statement, column_of, param, render
from backtest_store.operations.steps import Operation, fetch
from backtest_store.records import BacktestResult
from backtest_store.tables import RESULTS

# What makes two runs the same run
KEY = ("strategy_type", "parameters", "start_date", "end_date", "data_fingerprint",
       "code_version")  # fmt: skip


@lru_cache(maxsize=1)
def _counts_sql() -> str:
    t, r = RESULTS.table, Table(RESULTS.name, alias="r")
    shown = (
        PostgreSQLQuery.from_(t)
        .select(t.data_fingerprint, t.parameters)
        .distinct()
        .where(t.backtest_id == Function("ANY", param("ids")))
        .where(t.data_fingerprint.notnull())
    )
    s = AliasedQuery("shown")
    key = [column_of(r, c) for c in KEY]
    # each shown run is one probe of mcp_backtest_results_same_run_idx (0013); the
    # parameters' hash narrows, their equality decides
    query = (
        PostgreSQLQuery.with_(shown, "shown")
        .from_(r)
        .join(s)
        .on((r.data_fingerprint == s.data_fingerprint)
            & (Function("jsonb_hash", r.parameters) == Function("jsonb_hash", s.parameters))
            & (r.parameters == s.parameters))
        .select(*key, fn.Count("*"))
        .groupby(*key)
        .having(fn.Count("*") > 1)
    )  # fmt: skip
    return render(query)


def counts(ids: list[UUID]) -> Statement:
    """Each key that more than one run has, among the keys of the runs of these ids that
    have a fingerprint, and how many runs have it (a key not among theirs may come too,
    if it shares a fingerprint and the parameters' hash)."""
    return Statement(_counts_sql(), {"ids": ids})


@lru_cache(maxsize=1)
def _groups_sql() -> str:
    t = RESULTS.table
    key = [column_of(t, c) for c in KEY]
    last = fn.Max(t.backtest_date)
    query = (
        PostgreSQLQuery.from_(t)
        .select(*key, fn.Count("*"), Function("array_agg", t.backtest_id), last)
        .where(column_of(t, "data_fingerprint").notnull())
        .groupby(*key)
        .having(fn.Count("*") > 1)
        .orderby(last, order=Order.desc)
        .limit(param("limit"))
    )
    return render(query)


def groups(limit: int) -> Statement:
    """The keys more than one run has, the group with the newest run first."""
    return Statement(_groups_sql(), {"limit": limit})


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Runs of one strategy, parameters, period, data and code: the same run, repeated."""

    strategy_type: str
    parameters: Any
    start_date: date
    end_date: date
    data_fingerprint: str
    code_version: str | None
    backtest_ids: list[UUID]  # in id order
    last_run: datetime  # of the newest of them


def _key(values: Iterable[Any]) -> tuple[Any, ...]:
    """A run's key, hashable (its parameters as canonical JSON)."""
    out = list(values)
    out[1] = json.dumps(out[1], sort_keys=True)
    return tuple(out)


def duplicate_counts(results: Iterable[BacktestResult]) -> Operation[dict[UUID, int]]:
    """How many other runs are the same run as each of these stored runs (those that have
    one), by their keys as read: one query, none when no run has a fingerprint."""
    keyed: dict[UUID, tuple[Any, ...]] = {}
    for r in results:
        if not isinstance(r, BacktestResult):
            raise ValidationError("duplicate_counts", "results", r, "BacktestResult records")
        the_id = check_id("duplicate_counts", "backtest_id", r.backtest_id)
        keyed[the_id] = _key(getattr(r, c) for c in KEY)
    ids = [i for i, k in keyed.items() if k[4] is not None]
    if not ids:
        return {}
    found: list[Any] = yield fetch(counts(ids), "all")
    many = {_key(row[:-1]): row[-1] for row in found}
    return {i: many[k] - 1 for i, k in keyed.items() if k in many}


def list_duplicates(limit: int) -> Operation[list[DuplicateGroup]]:
    rows: list[Any] = yield fetch(groups(check_limit("list_duplicates", limit)),
                                  "all")  # fmt: skip
    return [DuplicateGroup(row[0], row[1], row[2], row[3], row[4], row[5], sorted(row[7]),
                           row[8]) for row in rows]  # fmt: skip
