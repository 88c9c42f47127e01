"""The statements that find duplicate runs: runs of the same strategy, parameters, period,
data fingerprint and code version (a run without a fingerprint has no duplicate: nothing
says its data was the same)."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

from pypika import AliasedQuery, Order, PostgreSQLQuery, Table
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.queries.common import Statement, column_of, param, render
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
