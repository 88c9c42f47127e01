"""Small saves in one round trip: a result with up to SMALL_SAVE trades is one statement.
Round trips are counted in libpq's trace (each turn from sending to receiving is one);
the one-statement path stores what the COPY path stores, and fails as atomically."""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from devkit.records import portfolio, result, row_counts, trade

from backtest_store import BacktestStore, ConstraintViolation
from backtest_store.operations import writes
from backtest_store.tables import RESULTS, TRADES


def round_trips(conn: psycopg.Connection[Any], call: Callable[[], Any]) -> int:
    with tempfile.NamedTemporaryFile("r") as trace, open(trace.name, "w") as sink:
        conn.pgconn.trace(sink.fileno())
        try:
            call()
        finally:
            conn.pgconn.untrace()
        sink.flush()
        lines = Path(trace.name).read_text().splitlines()
    sides = [line.split("\t")[1] for line in lines if line.count("\t") >= 2]
    assert sides, "nothing traced"
    return sum(1 for a, b in itertools.pairwise(sides) if a == "F" and b == "B")


@pytest.fixture
def autocommit(db_url: str) -> Any:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def test_a_result_with_25_trades_is_one_round_trip(autocommit: psycopg.Connection[Any]) -> None:
    store = BacktestStore(autocommit)
    trades = [trade(i) for i in range(25)]
    assert round_trips(autocommit, lambda: store.save_backtest(result(), trades)) == 1
    assert round_trips(autocommit, lambda: store.save_backtest(result())) == 1
    assert round_trips(autocommit, lambda: store.save_portfolio(portfolio())) == 1
    many = [trade(i) for i in range(writes.SMALL_SAVE + 1)]
    assert (
        round_trips(autocommit, lambda: store.save_backtest(result(), many)) == 5
    )  # BEGIN, INSERT, COPY, COPY end, COMMIT


def test_the_one_statement_path_stores_what_the_copy_path_stores(
    autocommit: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BacktestStore(autocommit)
    record = result(parameters={"fast": 3}, total_return=0.12345, equity_curve=[1.5, 2, None])
    trades = [trade(i, exit_reason="signal", duration_hours=1.25, mae=-0.01) for i in range(40)]
    small = store.save_backtest(record, trades)
    monkeypatch.setattr(writes, "SMALL_SAVE", 0)
    copied = store.save_backtest(record, trades)
    generated = {"backtest_id", "backtest_date", "created_at", "updated_at"}
    assert {k: v for k, v in dataclasses.asdict(small).items() if k not in generated} == {
        k: v for k, v in dataclasses.asdict(copied).items() if k not in generated
    }
    skip = {"trade_id", "backtest_id", "created_at", "updated_at"}

    def rows(backtest_id: Any) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in dataclasses.asdict(t).items() if k not in skip}
            for t in store.get_trades(backtest_id)
        ]

    assert rows(small.backtest_id) == rows(copied.backtest_id)
    assert len(rows(small.backtest_id)) == 40
    assert set(RESULTS.columns) >= generated and set(TRADES.columns) >= skip


def test_a_refused_trade_leaves_nothing(autocommit: psycopg.Connection[Any]) -> None:
    from datetime import date

    store = BacktestStore(autocommit)
    before = row_counts(autocommit)
    bad = trade(
        3, entry_date=date(2024, 3, 1), exit_date=date(2024, 2, 1)
    )  # ck_..._exit_after_entry
    with pytest.raises(ConstraintViolation, match="exit_after_entry"):
        store.save_backtest(result(), [trade(0), bad])
    assert row_counts(autocommit) == before


def test_inside_a_transaction_and_without_autocommit(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:  # not autocommit: the caller commits
        store = BacktestStore(conn)
        saved = store.save_backtest(result(), [trade(i) for i in range(3)])
        conn.rollback()
        assert store.get_backtest(saved.backtest_id) is None
        conn.rollback()
    with BacktestStore.connect(db_url) as store:
        with store.transaction() as tx:
            saved = tx.save_backtest(result(), [trade(i) for i in range(3)])
        assert len(store.get_trades(saved.backtest_id)) == 3


def test_ints_floats_and_decimals_mix_in_one_column(autocommit: psycopg.Connection[Any]) -> None:
    """Found by the fuzz test: one array per column needs one element type."""
    from decimal import Decimal

    store = BacktestStore(autocommit)
    saved = store.save_backtest(
        result(), [trade(0, pnl=3), trade(1, pnl=1.5), trade(2, pnl=Decimal("2.25"))]
    )
    assert [t.pnl for t in store.get_trades(saved.backtest_id)] == [
        Decimal("3.0000"),
        Decimal("1.5000"),
        Decimal("2.2500"),
    ]
