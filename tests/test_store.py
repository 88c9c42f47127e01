"""Every store method, sync and async from one suite (the ``store`` fixture runs each twice)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from devkit.records import at, optimization, portfolio, result, row_counts, trade, window

from backtest_store import (
    NOT_LOADED,
    BacktestResult,
    BacktestStore,
    BacktestStoreError,
    ConflictError,
    ConstraintViolation,
    NotFoundError,
    ParentNotFoundError,
    RecordNotFoundError,
    SchemaVersionError,
    SeriesNotLoadedError,
    ValidationError,
)

Store = Any  # BacktestStore, or the async store behind devkit.records.Blocking


def count(conn: psycopg.Connection[Any], table: str) -> int:
    return row_counts(conn)[table]


# -- save_backtest / get_backtest ------------------------------------------------


def test_save_backtest_fills_what_the_database_fills(store: Store) -> None:
    curve = [10000.0, 10100.5, 10050.25]
    saved = store.save_backtest(
        result(sharpe_ratio=1.5, equity_curve=curve, parameters={"fast": 10}),
        [trade(0), trade(1), trade(2)],
    )
    assert isinstance(saved.backtest_id, UUID)
    assert saved.backtest_date is not None and saved.backtest_date.tzinfo is not None
    assert saved.created_at == saved.updated_at == saved.backtest_date
    assert saved.initial_capital == Decimal("10000.00") and saved.fees == Decimal("0.0010")
    assert saved.status == "completed" and saved.total_trades == 0
    assert saved.data_points == 3  # from the equity curve
    assert saved.equity_curve == curve and saved.parameters == {"fast": 10}
    assert store.get_backtest(saved.backtest_id) == saved
    trades = store.get_trades(saved.backtest_id)
    assert [t.trade_number for t in trades] == [1, 2, 3]
    assert {t.backtest_id for t in trades} == {saved.backtest_id}
    assert all(isinstance(t.entry_price, Decimal) for t in trades)


def test_caller_chosen_ids_numbers_and_timestamps_are_kept(store: Store) -> None:
    bid, tid = uuid4(), uuid4()
    when = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    saved = store.save_backtest(
        result(backtest_id=bid, backtest_date=when, data_points=7),
        [trade(0, trade_id=tid, trade_number=42), trade(1)],
    )
    assert saved.backtest_id == bid and saved.backtest_date == when and saved.data_points == 7
    trades = store.get_trades(bid)
    assert [(t.trade_id == tid, t.trade_number) for t in trades] == [(True, 42), (False, 2)]


def test_get_backtest_of_an_unknown_id_is_none(store: Store) -> None:
    assert store.get_backtest(uuid4()) is None
    assert store.get_backtest(uuid4(), with_series=False) is None


def test_save_trades_appends_through_copy_and_numbers_after_the_last(store: Store) -> None:
    saved = store.save_backtest(result(), [trade(0), trade(1)])
    assert store.save_trades(saved.backtest_id, [trade(2), trade(3), trade(4)]) == 3
    assert store.save_trades(saved.backtest_id, []) == 0
    assert [t.trade_number for t in store.get_trades(saved.backtest_id)] == [1, 2, 3, 4, 5]


def test_save_trades_to_a_missing_backtest_is_not_found(store: Store) -> None:
    with pytest.raises(ParentNotFoundError, match="does not exist") as caught:
        store.save_trades(uuid4(), [trade(0)])
    assert isinstance(caught.value, NotFoundError)
    assert not isinstance(caught.value, RecordNotFoundError)


def test_get_trades_orders_and_filters_by_outcome(store: Store) -> None:
    saved = store.save_backtest(
        result(),
        [
            trade(0, entry_date=date(2024, 2, 1), pnl=5),
            trade(1, entry_date=date(2024, 1, 1), pnl=-3),
            trade(2, entry_date=date(2024, 1, 1), pnl=0),
            trade(3, entry_date=date(2024, 3, 1), pnl=None),
        ],
    )
    all_trades = store.get_trades(saved.backtest_id)
    assert [(t.entry_date.month, t.trade_number) for t in all_trades] == [
        (1, 2),
        (1, 3),
        (2, 1),
        (3, 4),
    ]
    assert [t.pnl for t in store.get_trades(saved.backtest_id, outcome="winning")] == [5]
    assert [t.pnl for t in store.get_trades(saved.backtest_id, outcome="losing")] == [-3]
    assert list(store.iter_trades(saved.backtest_id, batch_size=2)) == all_trades
    with pytest.raises(ValidationError, match="outcome"):
        store.get_trades(saved.backtest_id, outcome="draws")


def test_iter_children_streams_each_child_table_in_its_total_order(store: Store) -> None:
    """What export writes: every row of each child table, in an order that ends in the
    key (two trades of one date and number still come in one order), in batches."""
    saved = store.save_backtest(result())
    assert saved.backtest_id is not None
    trades = store.save_trades(saved.backtest_id, [
        trade(1, trade_number=1, entry_date=date(2024, 2, 1)),
        trade(2, trade_number=1, entry_date=date(2024, 2, 1)),
        trade(3, trade_number=2, entry_date=date(2024, 1, 1))])  # fmt: skip
    assert trades == 3
    store.save_optimization_results(saved.backtest_id, [optimization(i) for i in (3, 1, 2)])
    store.save_walk_forward_tests(saved.backtest_id, [window(i) for i in (2, 0, 1)])
    streamed = list(store.iter_children(saved.backtest_id, "trades", batch_size=2))
    assert [(t.entry_date, t.trade_number) for t in streamed] == [
        (date(2024, 1, 1), 2), (date(2024, 2, 1), 1), (date(2024, 2, 1), 1)]  # fmt: skip
    tied = [t.trade_id for t in streamed[1:]]
    assert tied == sorted(tied)  # the key ends the order
    grid = list(store.iter_children(saved.backtest_id, "optimizations", batch_size=1))
    assert [o.parameter_set for o in grid] == sorted(
        o.parameter_set for o in store.optimization_results(saved.backtest_id)
    )
    windows = list(store.iter_children(saved.backtest_id, "walk_forward"))
    assert [w.test_period_start for w in windows] == sorted(
        w.test_period_start for w in store.walk_forward_tests(saved.backtest_id)
    )
    assert len(windows) == 3
    with pytest.raises(ValidationError, match="kind"):
        list(store.iter_children(saved.backtest_id, "portfolios"))


# -- lists, pagination, ranking ------------------------------------------------------


def seed_backtests(store: Store) -> list[BacktestResult]:
    rows = [
        ("AAPL", "sma", 1.2, -0.10, 0.20, 12),
        ("AAPL", "rsi", 0.4, -0.30, 0.35, 3),
        ("MSFT", "sma", 2.1, -0.05, 0.15, 30),
        ("MSFT", "rsi", None, None, None, 0),
        ("TSLA", "sma", -0.3, -0.50, 0.60, 8),
        ("TSLA", "macd", 1.2, -0.20, 0.40, 20),
        ("NVDA", "sma", 0.9, -0.15, 0.25, 15),
    ]
    return [
        store.save_backtest(
            result(
                symbol=s,
                strategy_type=k,
                sharpe_ratio=sh,
                max_drawdown=dd,
                volatility=vol,
                total_trades=n,
                total_return=(sh or 0) / 10,
                win_rate=0.5,
                backtest_date=at(i),
                equity_curve=[1, 2, 3],
            )
        )
        for i, (s, k, sh, dd, vol, n) in enumerate(rows)
    ]


def test_list_backtests_is_newest_first_with_keyset_pages(store: Store) -> None:
    saved = seed_backtests(store)
    pages, after = [], None
    while True:
        page = store.list_backtests(limit=3, after=after)
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [r.backtest_id for p in pages for r in p]
    assert flat == [r.backtest_id for r in saved]  # saved newest (at(0)) first
    assert all(r.equity_curve is NOT_LOADED for p in pages for r in p)


def test_list_backtests_filters(store: Store) -> None:
    saved = seed_backtests(store)
    assert {r.strategy_type for r in store.list_backtests(symbol="AAPL")} == {"sma", "rsi"}
    assert len(store.list_backtests(strategy_type="sma")) == 4
    assert len(store.list_backtests(symbol="MSFT", strategy_type="rsi")) == 1
    assert store.list_backtests(status="failed") == []
    since = store.list_backtests(since=at(2))
    assert [r.backtest_id for r in since] == [r.backtest_id for r in saved[:3]]
    until = store.list_backtests(until=at(4))
    assert [r.backtest_id for r in until] == [r.backtest_id for r in saved[5:]]
    full = store.list_backtests(limit=1, with_series=True)[0]
    assert full.equity_curve == [1, 2, 3]


def test_top_backtests_best_first_by_each_kind_of_metric(store: Store) -> None:
    seed_backtests(store)
    sharpe = [r.sharpe_ratio for r in store.top_backtests()]
    assert sharpe == sorted(sharpe, reverse=True) and None not in sharpe and len(sharpe) == 6
    drawdowns = [r.max_drawdown for r in store.top_backtests(metric="max_drawdown")]
    assert drawdowns[0] == Decimal("-0.0500") and drawdowns[-1] == Decimal("-0.5000")
    vols = [r.volatility for r in store.top_backtests(metric="volatility", limit=2)]
    assert vols == [Decimal("0.1500"), Decimal("0.2000")]
    assert [r.symbol for r in store.top_backtests(symbol="TSLA")] == ["TSLA", "TSLA"]
    assert {r.total_trades for r in store.top_backtests(min_trades=15)} == {15, 20, 30}
    assert store.top_backtests(status="failed") == []
    assert len(store.top_backtests(status=None)) == 6


def test_top_backtests_refuses_an_unknown_metric_naming_the_allowed_ones(store: Store) -> None:
    with pytest.raises(ValidationError) as caught:
        store.top_backtests(metric="sharpe_ratio; DROP TABLE x")
    assert "sharpe_ratio, sortino_ratio" in str(caught.value) and caught.value.field == "metric"
    assert "max_drawdown" in str(caught.value) and "volatility" in str(caught.value)


def test_find_backtests_by_parameter_containment(store: Store) -> None:
    a = store.save_backtest(result(parameters={"fast": 10, "slow": 50, "mode": "ema"}))
    store.save_backtest(result(parameters={"fast": 20, "slow": 50}))
    store.save_backtest(result(symbol="MSFT", parameters={"fast": 10, "slow": 50}))
    assert [r.backtest_id for r in store.find_backtests(parameters={"mode": "ema"})] == [
        a.backtest_id
    ]
    assert len(store.find_backtests(parameters={"slow": 50})) == 3
    assert len(store.find_backtests(parameters={"fast": 10}, symbol="AAPL")) == 1
    assert store.find_backtests(parameters={"fast": "10"}) == []  # JSON types matter
    with pytest.raises(ValidationError):
        store.find_backtests(parameters=["fast"])


def test_compare_backtests_ranks_in_sql_with_ties_and_nulls(store: Store) -> None:
    saved = seed_backtests(store)
    ids = [r.backtest_id for r in saved]
    out = store.compare_backtests(ids, metrics=["sharpe_ratio", "volatility"])
    by_id = {c.backtest_id: c for c in out}
    assert len(out) == 7
    assert by_id[ids[2]].ranks["sharpe_ratio"] == 1  # MSFT sma 2.1
    assert (
        by_id[ids[0]].ranks["sharpe_ratio"] == by_id[ids[5]].ranks["sharpe_ratio"] == 2
    )  # tie 1.2
    assert by_id[ids[6]].ranks["sharpe_ratio"] == 4  # competition ranking after a tie
    assert by_id[ids[3]].ranks == {"sharpe_ratio": None, "volatility": None}
    assert by_id[ids[2]].ranks["volatility"] == 1  # 0.15 is the lowest volatility
    assert out[0].backtest_id == ids[2] and out[-1].backtest_id == ids[3]
    assert by_id[ids[4]].values["sharpe_ratio"] == Decimal("-0.3000")
    assert store.compare_backtests([]) == []
    with pytest.raises(ValidationError, match="not a rankable metric"):
        store.compare_backtests(ids, metrics=["notes"])


def test_performance_summary_aggregates_in_sql(store: Store) -> None:
    seed_backtests(store)
    summary = store.performance_summary()
    assert summary.overall.count == 7
    returns = [Decimal(x) / 10 for x in ("1.2", "0.4", "2.1", "0", "-0.3", "1.2", "0.9")]
    assert summary.overall.best_return == max(returns) and summary.overall.worst_return == min(
        returns
    )
    assert summary.overall.mean_return == pytest.approx(sum(returns) / 7)
    assert summary.overall.mean_sharpe == pytest.approx(Decimal("5.5") / 6)  # NULL skipped
    assert set(summary.by_strategy) == {"sma", "rsi", "macd"}
    assert summary.by_strategy["sma"].count == 4 and summary.by_symbol["TSLA"].count == 2
    assert summary.by_symbol["MSFT"].best_return == Decimal("0.21")
    only = store.performance_summary(symbol="AAPL", since=at(1))
    assert only.overall.count == 2 and set(only.by_symbol) == {"AAPL"}
    empty = store.performance_summary(strategy_type="none")
    assert empty.overall.count == 0 and empty.by_strategy == {}


# -- deletes ----------------------------------------------------------------------


def test_delete_backtest_cascades(store: Store, conn: psycopg.Connection[Any]) -> None:
    saved = store.save_backtest(result(), [trade(0), trade(1)])
    store.save_optimization_results(saved.backtest_id, [optimization(0)])
    store.save_walk_forward_tests(saved.backtest_id, [window(0)])
    assert store.delete_backtest(saved.backtest_id) is True
    assert store.delete_backtest(saved.backtest_id) is False
    for table in ("mcp_backtest_trades", "mcp_optimization_results", "mcp_walk_forward_tests"):
        assert count(conn, table) == 0


def test_delete_backtests_for_retention_in_batches(
    store: Store, conn: psycopg.Connection[Any]
) -> None:
    for i in range(7):
        store.save_backtest(
            result(symbol="OLD" if i < 5 else "NEW", backtest_date=at(100 + i)), [trade(0)]
        )
    store.save_backtest(result(symbol="OLD", backtest_date=at(1)), [trade(0)])
    assert store.count_backtests(older_than=at(50), symbol="NEW") == {
        "backtests": 2, "trades": 2, "optimizations": 0, "walk_forward": 0,
    }  # fmt: skip
    assert store.delete_backtests(older_than=at(50), symbol="NEW", batch_size=1) == 2
    assert store.count_backtests(older_than=at(50))["backtests"] == 5
    batches: list[int] = []
    assert store.delete_backtests(older_than=at(50), batch_size=2, progress=batches.append) == 5
    assert batches == [2, 2, 1]
    assert store.count_backtests(older_than=at(50))["trades"] == 0
    assert count(conn, "mcp_backtest_results") == 1 and count(conn, "mcp_backtest_trades") == 1
    with pytest.raises(ValidationError, match="older_than"):
        store.delete_backtests(older_than=datetime(2024, 1, 1))  # naive
    with pytest.raises(ValidationError, match="older_than"):
        store.count_backtests(older_than=datetime(2024, 1, 1))


# -- optimizations, walk-forward, portfolios ---------------------------------------------


def test_optimization_results_numbered_ranked_and_best(store: Store) -> None:
    parent = store.save_backtest(result())
    values = [0.5, 2.0, None, 1.25, 2.0]
    saved = store.save_optimization_results(
        parent.backtest_id, [optimization(i, objective_value=v) for i, v in enumerate(values)]
    )
    assert [o.parameter_set for o in saved] == [1, 2, 3, 4, 5]
    assert [o.rank for o in saved] == [4, 1, None, 3, 1]
    assert [o.objective_value for o in saved][:2] == [Decimal("0.500000"), Decimal("2.000000")]
    assert all(
        o.optimization_date is not None and o.backtest_id == parent.backtest_id for o in saved
    )
    best = store.best_parameters(parent.backtest_id, limit=3)
    assert [(o.rank, o.parameter_set) for o in best] == [(1, 2), (1, 5), (3, 4)]
    assert store.save_optimization_results(parent.backtest_id, []) == []
    given = store.save_optimization_results(
        parent.backtest_id, [optimization(9, rank=7, parameter_set=70)]
    )
    assert (given[0].rank, given[0].parameter_set) == (7, 70)


def test_walk_forward_tests_saved_in_input_order_listed_by_period(store: Store) -> None:
    parent = store.save_backtest(result())
    saved = store.save_walk_forward_tests(
        parent.backtest_id, [window(2, out_of_sample_return=0.05), window(0), window(1)]
    )
    assert [w.training_start for w in saved] == [
        window(2).training_start,
        window(0).training_start,
        window(1).training_start,
    ]
    assert (
        saved[0].out_of_sample_return == Decimal("0.0500")
        and saved[0].is_statistically_significant is False
    )
    listed = store.walk_forward_tests(parent.backtest_id)
    assert [w.test_period_start for w in listed] == sorted(w.test_period_start for w in saved)
    assert {w.walk_forward_id for w in listed} == {w.walk_forward_id for w in saved}
    with pytest.raises(ParentNotFoundError):  # the server's foreign key violation
        store.save_walk_forward_tests(uuid4(), [window(0)])


def test_portfolios_save_get_and_light_lists(store: Store) -> None:
    curve = [[f"2024-01-{d:02d}", 100000 + d] for d in range(1, 29)]
    first = store.save_portfolio(
        portfolio(portfolio_name="a", backtest_date=at(3), portfolio_equity_curve=curve)
    )
    second = store.save_portfolio(
        portfolio(portfolio_name="b", backtest_date=at(2), component_backtest_ids=[str(uuid4())])
    )
    third = store.save_portfolio(
        portfolio(portfolio_name="a", backtest_date=at(1), weights={"AAPL": 0.5, "MSFT": 0.5})
    )
    assert first.initial_capital == Decimal("100000.00") and first.status == "completed"
    assert store.get_portfolio(first.portfolio_backtest_id) == first
    assert store.get_portfolio(uuid4()) is None
    page1 = store.list_portfolios(limit=2)
    page2 = store.list_portfolios(limit=2, after=page1[-1])
    assert [p.portfolio_backtest_id for p in page1 + page2] == [
        third.portfolio_backtest_id,
        second.portfolio_backtest_id,
        first.portfolio_backtest_id,
    ]
    assert page2[0].portfolio_equity_curve is NOT_LOADED
    assert [p.portfolio_name for p in store.list_portfolios(portfolio_name="a")] == ["a", "a"]
    full = store.list_portfolios(portfolio_name="a", with_series=True)
    assert full[-1].portfolio_equity_curve == curve and full[0].portfolio_equity_curve is None


def test_not_loaded_cannot_be_mistaken_for_no_curve_nor_saved(store: Store) -> None:
    store.save_backtest(result(equity_curve=[1.0, 2.0]))
    light = store.list_backtests()[0]
    assert light.equity_curve is NOT_LOADED and light.equity_curve is not None
    with pytest.raises(SeriesNotLoadedError):
        bool(light.equity_curve)
    with pytest.raises(SeriesNotLoadedError):
        len(light.equity_curve)
    with pytest.raises(ValidationError, match="NOT_LOADED"):
        store.save_backtest(dataclasses.replace(light, backtest_id=None))
    assert store.get_backtest(light.backtest_id).equity_curve == [1.0, 2.0]


# -- transactions, atomicity, errors ------------------------------------------------------


def test_transaction_groups_calls_atomically(store: Store, conn: psycopg.Connection[Any]) -> None:
    with store.transaction() as tx:
        a = tx.save_backtest(result(), [trade(0)])
        tx.save_trades(a.backtest_id, [trade(1)])
    assert count(conn, "mcp_backtest_trades") == 2
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.save_backtest(result(symbol="GONE"), [trade(0)])
        raise RuntimeError("caller fails after the save")
    assert count(conn, "mcp_backtest_results") == 1


@pytest.mark.parametrize("bad", ["validation", "constraint"])
def test_a_save_failing_on_its_500th_trade_leaves_nothing(
    store: Store, conn: psycopg.Connection[Any], bad: str
) -> None:
    trades = [trade(i) for i in range(1000)]
    trades[499] = trade(499, direction="sideways" if bad == "validation" else "buy")
    with pytest.raises((ValidationError, ConstraintViolation)) as caught:
        store.save_backtest(result(), trades)
    err = caught.value
    if bad == "validation":
        assert isinstance(err, ValidationError) and (err.index, err.field) == (499, "direction")
    else:
        assert isinstance(err, ConstraintViolation)
        assert err.constraint == "ck_mcp_backtest_trades_direction"
    assert count(conn, "mcp_backtest_results") == 0 and count(conn, "mcp_backtest_trades") == 0
    assert store.save_backtest(result(), trades[:499]).backtest_id is not None  # still usable


def test_database_errors_keep_sqlstate_constraint_and_cause(store: Store) -> None:
    with pytest.raises(ConstraintViolation) as caught:
        store.save_backtest(result(start_date=date(2024, 2, 1), end_date=date(2024, 1, 1)))
    err = caught.value
    assert isinstance(err, BacktestStoreError) and err.sqlstate == "23514"
    assert (
        err.constraint == "ck_mcp_backtest_results_date_range"
        and err.table == "mcp_backtest_results"
    )
    assert isinstance(err.__cause__, psycopg.errors.CheckViolation)
    assert "ck_mcp_backtest_results_date_range" in str(err) and "save_backtest" in str(err)
    dup = store.save_portfolio(portfolio())
    with pytest.raises(ConflictError) as again:  # a duplicate key, as the database says it
        store.save_portfolio(portfolio(portfolio_backtest_id=dup.portfolio_backtest_id))
    assert again.value.sqlstate == "23505"
    assert again.value.constraint == "mcp_backtest_portfolios_pkey"


def test_the_store_never_commits_a_transaction_the_caller_opened(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:  # not autocommit: the caller owns the transaction
        store = BacktestStore(conn)
        saved = store.save_backtest(result(), [trade(0)])
        assert store.get_backtest(saved.backtest_id) is not None
        conn.rollback()
        assert store.get_backtest(saved.backtest_id) is None
        store.save_backtest(result(symbol="KEEP"))
        conn.commit()
        assert [r.symbol for r in store.list_backtests()] == ["KEEP"]


def test_schema_check_at_connect(empty_db_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="backtest-store migrate"):
        BacktestStore.connect(empty_db_url).__enter__()
    with (
        BacktestStore.connect(empty_db_url, check_schema=False) as store,
        pytest.raises(BacktestStoreError),  # no tables: a database error, typed
    ):
        store.get_backtest(uuid4())


def test_pools_sync_and_async(db_url: str) -> None:
    import asyncio

    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from backtest_store import AsyncBacktestStore

    with ConnectionPool(db_url, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        store = BacktestStore(pool)
        saved = store.save_backtest(result(), [trade(0)])
        assert saved.backtest_id is not None
        with store.transaction() as tx:
            tx.save_trades(saved.backtest_id, [trade(1)])
        assert len(store.get_trades(saved.backtest_id)) == 2
        assert [t.trade_number for t in store.iter_trades(saved.backtest_id)] == [1, 2]

    async def main() -> None:
        async with AsyncConnectionPool(db_url, min_size=1, max_size=4, open=False) as pool:
            astore = AsyncBacktestStore(pool)
            got = await asyncio.gather(
                *(astore.save_backtest(result(), [trade(0)]) for _ in range(8))
            )
            assert len({r.backtest_id for r in got}) == 8
            assert len(await astore.list_backtests(limit=50)) == 9

    asyncio.run(main())
