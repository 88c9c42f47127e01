"""Retention: ``delete_backtests``, batch by batch, each batch its own short transaction
that skips the backtests other transactions hold (a save in progress is never waited
for). On Citus, where a query may not lock rows on several shards, each batch is picked
unlocked and locked and deleted shard by shard (queries/writes.py)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from backtest_store.operations.arguments import StoreSettings, check_limit, retention
from backtest_store.operations.steps import Operation, fetch
from backtest_store.queries import catalog
from backtest_store.queries import retention as retention_sql
from backtest_store.tables import RESULTS


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
        statement = retention_sql.delete_batch(**arguments, batch_size=limit)
        count = yield fetch(statement, "rowcount", custom_plan=True)
        return int(count)
    groups = yield fetch(retention_sql.pick_batch(**arguments, batch_size=limit), "all")
    deleted = 0
    for _shard, ids in groups:  # each group's statements run on its shard alone
        locked = yield fetch(retention_sql.lock_picked(ids, **arguments), "all")
        if locked:
            count = yield fetch(retention_sql.delete_ids([r[0] for r in locked]), "rowcount")
            deleted += int(count)
    return deleted


def is_distributed() -> Operation[bool]:
    """Whether mcp_backtest_results is a distributed table (a Citus coordinator)."""
    has_citus = yield fetch(catalog.is_citus(), "value")
    if not has_citus:
        return False
    return bool((yield fetch(catalog.is_distributed(RESULTS), "value")))


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
    distributed = yield is_distributed()
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
