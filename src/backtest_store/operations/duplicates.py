"""Duplicate runs: runs of the same strategy, parameters, period, data fingerprint and code
version. ``duplicate_counts`` says how many other runs each of some runs has (what a list
marks); ``list_duplicates`` gives the groups themselves, newest first."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from backtest_store.errors import ValidationError
from backtest_store.operations.arguments import check_id, check_limit
from backtest_store.operations.steps import Operation, fetch
from backtest_store.queries import duplicates as duplicates_sql
from backtest_store.records import BacktestResult


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
        keyed[the_id] = _key(getattr(r, c) for c in duplicates_sql.KEY)
    ids = [i for i, k in keyed.items() if k[4] is not None]
    if not ids:
        return {}
    found: list[Any] = yield fetch(duplicates_sql.counts(ids), "all")
    many = {_key(row[:-1]): row[-1] for row in found}
    return {i: many[k] - 1 for i, k in keyed.items() if k in many}


def list_duplicates(limit: int) -> Operation[list[DuplicateGroup]]:
    rows: list[Any] = yield fetch(duplicates_sql.groups(check_limit("list_duplicates", limit)),
                                  "all")  # fmt: skip
    return [DuplicateGroup(row[0], row[1], row[2], row[3], row[4], row[5], sorted(row[7]),
                           row[8]) for row in rows]  # fmt: skip
