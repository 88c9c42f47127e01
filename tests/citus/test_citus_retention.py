"""Retention on the distributed database: short batches, each locked shard by shard
(SKIP LOCKED), so that a save in progress is skipped, never waited for."""

from __future__ import annotations

import threading

from devkit.records import at, result, trade

from backtest_store import BacktestStore


def test_delete_backtests_skips_a_backtest_a_save_holds_and_never_waits(
    distributed_url: str,
) -> None:
    with BacktestStore.connect(distributed_url) as store:
        old = [store.save_backtest(result(backtest_date=at(100 - i)), [trade(0)]).backtest_id
               for i in range(10)]  # fmt: skip
        store.save_backtest(result(backtest_date=at(1)))  # not old enough
        held = old[-1]  # the newest of the old ones: the last batch meets it
        with BacktestStore.connect(distributed_url) as other, other.transaction() as saving:
            saving.save_trades(held, [trade(1)])  # holds the backtest's row until commit
            done: list[int] = []
            worker = threading.Thread(
                target=lambda: done.append(store.delete_backtests(older_than=at(50), batch_size=3))
            )
            worker.start()
            worker.join(timeout=30)
            assert done == [9], "retention waited for the save, or deleted what it held"
        assert store.get_backtest(held) is not None
        assert len(store.get_trades(held)) == 2  # the save committed after
        assert store.delete_backtests(older_than=at(50)) == 1
        assert store.count_backtests(older_than=at(50))["backtests"] == 0
        assert len(store.list_backtests()) == 1
