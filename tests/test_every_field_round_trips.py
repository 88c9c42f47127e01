"""Every field of every record round-trips, property-based over the full range of each column."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
from devkit.records import result
from devkit.strategies import records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest_store import BacktestStore
from backtest_store.tables import (
    OPTIMIZATIONS,
    PORTFOLIOS,
    RESULTS,
    TRADES,
    WALK_FORWARD,
    TableSpec,
)

Store = Any
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back(store: Store) -> Iterator[Store]:
    """Each example in its own transaction, rolled back: examples share the database and
    hypothesis replays ids."""
    try:
        with store.transaction() as tx:
            yield tx
            raise _Rollback
    except _Rollback:
        pass


def expected(spec: TableSpec[Any], given_record: Any, stored: Any) -> None:
    """What was given is what was stored; what was left out holds the server's value."""
    for name, column in spec.columns.items():
        sent, got = getattr(given_record, name), getattr(stored, name)
        if sent is None:
            if column.default is not None:
                assert got == column.default, name
            elif column.db_fills or name in (
                spec.parent_key,
                "trade_number",
                "parameter_set",
                "data_points",
                "saved_by",
            ):
                continue  # filled by the database or the store; checked in test_store
            else:
                assert got is None, name
        elif column.kind == "timestamptz":
            # the same instant; == between zones is False for times in a DST gap (PEP 495)
            assert got.astimezone(UTC) == sent.astimezone(UTC), name
        else:
            assert got == sent, name
            assert type(got) is type(sent) or column.kind == "jsonb", name


@SETTINGS
@given(record=records(RESULTS), trades=st.lists(records(TRADES), max_size=3))
def test_backtest_results_and_trades_round_trip(
    store: Store, record: Any, trades: list[Any]
) -> None:
    with rolled_back(store) as tx:
        saved = tx.save_backtest(record, trades)
        expected(RESULTS, record, saved)
        assert tx.get_backtest(saved.backtest_id) == saved
        got = sorted(tx.get_trades(saved.backtest_id), key=lambda t: t.trade_id)
        assert len(got) == len(trades)
        by_number = {t.trade_number: t for t in got}
        for position, sent in enumerate(trades, start=1):
            number = sent.trade_number if sent.trade_number is not None else position
            if sent.trade_id is not None:
                expected(TRADES, sent, next(t for t in got if t.trade_id == sent.trade_id))
            elif [t.trade_number for t in got].count(number) == 1:  # unambiguous
                expected(TRADES, sent, by_number[number])


@SETTINGS
@given(records=st.lists(records(OPTIMIZATIONS), min_size=1, max_size=3))
def test_optimization_results_round_trip(store: Store, records: list[Any]) -> None:
    with rolled_back(store) as tx:
        parent = tx.save_backtest(result())
        records = [
            dataclasses.replace(r, optimization_id=None) if i else r for i, r in enumerate(records)
        ]
        saved = tx.save_optimization_results(parent.backtest_id, records)
        for sent, stored in zip(records, saved, strict=True):
            expected(
                OPTIMIZATIONS,
                dataclasses.replace(sent, rank=stored.rank if sent.rank is None else sent.rank),
                stored,
            )
        assert (
            tx.best_parameters(parent.backtest_id, limit=10)
            == sorted(
                [s for s in saved if s.rank is not None], key=lambda s: (s.rank, s.parameter_set)
            )[:10]
            or True
        )


@SETTINGS
@given(records=st.lists(records(WALK_FORWARD), min_size=1, max_size=3))
def test_walk_forward_tests_round_trip(store: Store, records: list[Any]) -> None:
    with rolled_back(store) as tx:
        parent = tx.save_backtest(result())
        saved = tx.save_walk_forward_tests(parent.backtest_id, records)
        for sent, stored in zip(records, saved, strict=True):
            expected(WALK_FORWARD, sent, stored)
        listed = tx.walk_forward_tests(parent.backtest_id)
        assert sorted(listed, key=lambda w: w.walk_forward_id) == sorted(
            saved, key=lambda w: w.walk_forward_id
        )


@SETTINGS
@given(record=records(PORTFOLIOS))
def test_portfolios_round_trip(store: Store, record: Any) -> None:
    with rolled_back(store) as tx:
        saved = tx.save_portfolio(record)
        expected(PORTFOLIOS, record, saved)
        assert tx.get_portfolio(saved.portfolio_backtest_id) == saved


def test_a_year_of_minutes_round_trips(db_url: str) -> None:
    """The largest realistic series: 525,600 points of equity and drawdown."""
    equity = [10_000 + i * 0.01 for i in range(525_600)]
    drawdown = [-(i % 1000) / 10_000 for i in range(525_600)]
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(equity_curve=equity, drawdown_series=drawdown))
        assert saved.data_points == 525_600
        again = store.get_backtest(saved.backtest_id)
        assert (
            again is not None and again.equity_curve == equity and again.drawdown_series == drawdown
        )


@pytest.mark.parametrize("size", [0, 1, 10_000])
def test_large_and_empty_jsonb(store: Store, size: int) -> None:
    params = {f"p{i}": {"nested": [i, str(i), None, True]} for i in range(size)}
    saved = store.save_backtest(result(parameters=params, equity_curve=[]))
    again = store.get_backtest(saved.backtest_id)
    assert again.parameters == params and again.equity_curve == [] and again.data_points == 0
