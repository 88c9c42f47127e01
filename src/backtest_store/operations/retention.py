"""Retention: ``delete_backtests``, batch by batch, each batch its own short transaction
that skips the backtests other transactions hold (a save in progress is never waited
for). On Citus, where a query may not lock rows on several shards, each batch is picked
unlocked and locked and deleted shard by shard. ``count_backtests`` counts what it
would delete, in one query."""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from functools import lru_cache
from typing import Any

from psycopg.rows import dict_row
from pypika import PostgreSQLQuery
from pypika import functions as fn
from pypika.terms import Function

from backtest_store.operations import catalog
from backtest_store.operations.arguments import StoreSettings, check_limit, retention
from backtest_store.operations.sql import Statement, column_of, given, param, render
from backtest_store.operations.steps import Operation, fetch
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


def delete_batch_statement(
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


def delete_batch(
    settings: StoreSettings,
    *,
    older_than: Any,
    symbol: str | None,
    strategy_type: str | None,
    batch_size: int,
    distributed: bool = False,
) -> Operation[int]:
    arguments = retention("delete_backtests", settings, older_than, symbol, strategy_type)
    limit = check_limit("delete_backtests", batch_size, "batch_size")
    if not distributed:
        statement = delete_batch_statement(**arguments, batch_size=limit)
        count = yield fetch(statement, "rowcount", custom_plan=True)
        return int(count)
    groups = yield fetch(pick_batch(**arguments, batch_size=limit), "all")
    deleted = 0
    for _shard, ids in groups:  # each group's statements run on its shard alone
        locked = yield fetch(lock_picked(ids, **arguments), "all")
        if locked:
            count = yield fetch(delete_ids([r[0] for r in locked]), "rowcount")
            deleted += int(count)
    return deleted


def count_backtests(
    settings: StoreSettings, *, older_than: Any, symbol: str | None, strategy_type: str | None
) -> Operation[dict[str, int]]:
    statement = prune_counts(
        **retention("count_backtests", settings, older_than, symbol, strategy_type)
    )
    row = yield fetch(statement, "one", dict_row, custom_plan=True)
    return {k: int(v) for k, v in row.items()}


def delete_backtests(
    settings: StoreSettings,
    *,
    older_than: Any,
    symbol: str | None,
    strategy_type: str | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> Generator[Operation[Any], Any, int]:
    """Retention: the batches to run, each its own short transaction, until a batch
    deletes fewer than ``batch_size``; sent each batch's count, it returns the total. On
    Citus (asked once, first) each batch takes the distributed form (``delete_batch``)."""
    total = 0
    distributed = yield catalog.results_distributed()
    while True:
        deleted = yield delete_batch(
            settings, older_than=older_than, symbol=symbol, strategy_type=strategy_type,
            batch_size=batch_size, distributed=bool(distributed),
        )  # fmt: skip
        total += deleted
        if progress is not None:
            progress(deleted)
        if deleted < batch_size:
            return int(total)
