"""The statements that find duplicate runs: runs of the same strategy, parameters, period,
data fingerprint and code version (a run without a fingerprint has no duplicate: nothing
says its data was the same). Single-table GROUP BYs, as Citus runs them too."""

from __future__ import annotations

from functools import lru_cache

from pypika import Order, PostgreSQLQuery
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.queries.common import Statement, column_of, param, render
from backtest_store.tables import RESULTS

# What makes two runs the same run
KEY = ("strategy_type", "parameters", "start_date", "end_date", "data_fingerprint",
       "code_version")  # fmt: skip


@lru_cache(maxsize=1)
def _counts_sql() -> str:
    t = RESULTS.table
    key = [column_of(t, c) for c in KEY]
    query = (
        PostgreSQLQuery.from_(t)
        .select(*key, fn.Count("*"))
        .where(column_of(t, "data_fingerprint") == Function("ANY", param("fingerprints")))
        .groupby(*key)
        .having(fn.Count("*") > 1)
    )
    return render(query)


def counts(fingerprints: list[str]) -> Statement:
    """Each key among runs of these fingerprints that more than one run has, and how many."""
    return Statement(_counts_sql(), {"fingerprints": fingerprints})


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
