"""The statements of retention (``prune``, ``count_backtests``): what is old enough, what
deleting it would remove, and the deletes in batches, on a single node and on Citus."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pypika import PostgreSQLQuery
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.queries.common import Statement, column_of, given, param, render
from backtest_store.tables import OPTIMIZATIONS, RESULTS, TRADES, WALK_FORWARD


@lru_cache(maxsize=8)
def _delete_batch_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    pick = _oldest(present).for_update(skip_locked=True)
    # = ANY(ARRAY(...)) rather than IN (...): the outer DELETE then finds the picked rows by
    # primary key instead of joining against a scan of the table.
    picked = Function("ANY", Function("ARRAY", pick))
    return render(PostgreSQLQuery.from_(t).delete().where(t.backtest_id == picked))


def _oldest(present: frozenset[str]) -> Any:
    """The ids of a retention batch: the oldest first, read off the date indexes."""
    t = RESULTS.table
    pick = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_date < param("older_than"))
        .orderby(t.backtest_date)
        .limit(param("limit"))
    )
    return _retained(pick, present)


def _retained(query: Any, present: frozenset[str]) -> Any:
    """A retention query's filters besides the date: the symbol and strategy, if given."""
    t = RESULTS.table
    for name in ("symbol", "strategy_type"):
        if name in present:
            query = query.where(column_of(t, name) == param(name))
    return query


def _batch_params(
    older_than: datetime, symbol: str | None, strategy_type: str | None, batch_size: int
) -> dict[str, Any]:
    return given(
        older_than=older_than, symbol=symbol, strategy_type=strategy_type, limit=batch_size
    )


def delete_batch(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None, batch_size: int
) -> Statement:
    """Delete up to batch_size of the oldest backtests before older_than, skipping rows
    other transactions hold (a save in progress is never waited for)."""
    params = _batch_params(older_than, symbol, strategy_type, batch_size)
    return Statement(_delete_batch_sql(frozenset(params)), params)


@lru_cache(maxsize=4)
def _prune_counts_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    doomed = PostgreSQLQuery.from_(t).where(t.backtest_date < param("older_than"))
    doomed = _retained(doomed, present)
    counts: list[Any] = [doomed.select(fn.Count("*")).as_("backtests")]
    for label, spec in (("trades", TRADES), ("optimizations", OPTIMIZATIONS),
                        ("walk_forward", WALK_FORWARD)):  # fmt: skip
        child = spec.table
        assert spec.parent_key is not None
        ids = doomed.select(t.backtest_id)
        counts.append(
            PostgreSQLQuery.from_(child).select(fn.Count("*"))
            .where(column_of(child, spec.parent_key).isin(ids)).as_(label)
        )  # fmt: skip
    return render(PostgreSQLQuery.select(*counts))


def prune_counts(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None
) -> Statement:
    """What deleting the backtests before older_than would remove, children included."""
    params = given(older_than=older_than, symbol=symbol, strategy_type=strategy_type)
    return Statement(_prune_counts_sql(frozenset(params)), params)


# Retention on Citus. A distributed query may not lock rows on several shards (FOR
# UPDATE), so the batch is picked without a lock (oldest first: ORDER BY and LIMIT run on
# every shard, then merged), grouped by shard, and each group is locked (SKIP LOCKED, as on
# a single node) and deleted by statements that Citus routes to that shard alone.
@lru_cache(maxsize=8)
def _pick_batch_sql(present: frozenset[str]) -> str:
    picked = _oldest(present).as_("picked")
    shard = Function("get_shard_id_for_distribution_column", RESULTS.name, picked.backtest_id)
    outer = (
        PostgreSQLQuery.from_(picked)
        .select(shard, Function("array_agg", picked.backtest_id))
        .groupby(shard)
    )
    return render(outer)


def pick_batch(
    *, older_than: datetime, symbol: str | None, strategy_type: str | None, batch_size: int
) -> Statement:
    """Up to batch_size of the oldest backtests before older_than, without locking them,
    grouped by the shard they are on: (shard id, ids) rows."""
    params = _batch_params(older_than, symbol, strategy_type, batch_size)
    return Statement(_pick_batch_sql(frozenset(params)), params)


@lru_cache(maxsize=8)
def _lock_picked_sql(present: frozenset[str]) -> str:
    t = RESULTS.table
    query = (
        PostgreSQLQuery.from_(t)
        .select(t.backtest_id)
        .where(t.backtest_id == Function("ANY", param("ids")))
        .where(t.backtest_date < param("older_than"))  # still old enough, still matching
        .for_update(skip_locked=True)  # type: ignore[call-arg]
    )
    return render(_retained(query, present))


def lock_picked(
    ids: list[Any], *, older_than: datetime, symbol: str | None, strategy_type: str | None
) -> Statement:
    """Lock the picked backtests of one shard that no other transaction holds."""
    params = given(ids=ids, older_than=older_than, symbol=symbol, strategy_type=strategy_type)
    return Statement(_lock_picked_sql(frozenset(params)), params)


@lru_cache(maxsize=1)
def _delete_ids_sql() -> str:
    t = RESULTS.table
    return render(
        PostgreSQLQuery.from_(t).delete().where(t.backtest_id == Function("ANY", param("ids")))
    )


def delete_ids(ids: list[Any]) -> Statement:
    return Statement(_delete_ids_sql(), {"ids": ids})
