"""backtest_store.adapters.backtesting on real backtesting.py runs, on the data it ships
(GOOG daily, EURUSD hourly): every stored value against the library's own figure after
the unit conversion, saved and read back through the store."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.test import EURUSD, GOOG
from devkit.engines import SmaCross
from devkit.records import assert_stored

from backtest_store import BacktestStore, frames
from backtest_store.adapters._common import longest_drawdown_days
from backtest_store.adapters.backtesting import from_heatmap, from_stats

pytestmark = pytest.mark.filterwarnings("ignore:Some trades remain open")  # wanted here


class Idle(Strategy):  # type: ignore[misc]
    def init(self) -> None:
        pass

    def next(self) -> None:
        pass


@pytest.fixture(scope="module")
def goog() -> Any:
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, spread=0.0005)
    return bt.run()


def test_result_columns_get_the_library_figures_in_the_columns_units(
    goog: Any, db_url: str
) -> None:
    result, trades = from_stats(goog, symbol="GOOG")
    closed = goog["_trades"]
    pnl = closed["PnL"]
    gross_profit, gross_loss = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    equity = goog["_equity_curve"]["Equity"]
    expected = {
        "symbol": "GOOG",
        "strategy_type": "SmaCross",
        "start_date": goog["Start"].date(),
        "end_date": goog["End"].date(),
        "initial_capital": 10_000.0,
        "fees": 0.002,
        "slippage": 0.0005,
        "parameters": {"n1": 10, "n2": 20, "stop": 0.05, "target": 0.10},
        "total_return": goog["Return [%]"] / 100,
        "annualized_return": goog["Return (Ann.) [%]"] / 100,
        "sharpe_ratio": goog["Sharpe Ratio"],
        "sortino_ratio": goog["Sortino Ratio"],
        "calmar_ratio": goog["Calmar Ratio"],
        "max_drawdown": goog["Max. Drawdown [%]"] / 100,
        "max_drawdown_duration": goog["Max. Drawdown Duration"].days,
        "volatility": goog["Volatility (Ann.) [%]"] / 100,
        "downside_volatility": None,  # backtesting.py has no figure
        "total_trades": goog["# Trades"],
        "winning_trades": int((pnl > 0).sum()),
        "losing_trades": int((pnl < 0).sum()),
        "win_rate": goog["Win Rate [%]"] / 100,
        "profit_factor": gross_profit / gross_loss,
        "average_win": pnl[pnl > 0].mean(),
        "average_loss": pnl[pnl < 0].mean(),
        "largest_win": pnl.max(),
        "largest_loss": pnl.min(),
        "final_portfolio_value": goog["Equity Final [$]"],
        "peak_portfolio_value": goog["Equity Peak [$]"],
        "beta": goog["Beta"],
        "alpha": None,  # "Alpha [%]" is over the whole period, the column is annualized
        "data_points": len(equity),
        "status": "completed",
    }
    # the units: fractions, drawdown <= 0, and the profit factor in money, not backtesting.py's
    assert result.max_drawdown is not None and float(result.max_drawdown) < 0
    assert 0 < float(result.win_rate) < 1  # type: ignore[arg-type]
    assert abs(float(result.profit_factor) - goog["Profit Factor"]) > 0.01  # type: ignore[arg-type]
    assert result.max_drawdown_duration == longest_drawdown_days(
        equity.tz_localize("UTC")
    )  # the column's definition agrees with the library's figure
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        loaded = store.get_backtest(saved.backtest_id)
    assert loaded is not None
    assert_stored(loaded, expected)
    curves = frames.equity_frame(loaded)
    assert list(curves.index) == list(equity.index.tz_localize("UTC"))
    assert np.allclose(curves["equity"], equity)
    assert np.allclose(curves["drawdown"], -goog["_equity_curve"]["DrawdownPct"])
    assert (curves["drawdown"] <= 0).all()


def test_trades_long_short_stops_targets_and_the_open_one(goog: Any, db_url: str) -> None:
    result, trades = from_stats(goog, symbol="GOOG")
    closed = goog["_trades"].reset_index(drop=True)
    (still_open,) = goog["_strategy"].trades
    assert len(trades) == len(closed) + 1 == result.total_trades + 1  # type: ignore[operator]
    reasons = {t.exit_reason for t in trades[:-1]}
    assert reasons == {"signal", "stop_loss", "take_profit"}
    assert {t.direction for t in trades} == {"long", "short"}
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        stored = store.get_trades(saved.backtest_id)
    assert len(stored) == len(trades)
    for trade, row in zip(stored, closed.itertuples(), strict=False):
        long = row.Size > 0
        held = row.ExitTime - row.EntryTime
        reason = trade.exit_reason
        if reason == "stop_loss":
            assert (row.ExitPrice <= row.SL) if long else (row.ExitPrice >= row.SL)
        elif reason == "take_profit":
            assert (row.ExitPrice >= row.TP) if long else (row.ExitPrice <= row.TP)
        commission_entry_spread = row.Size * row.EntryPrice * 0.0005 / (1.0005 if long else 0.9995)
        commission_exit_spread = row.Size * row.ExitPrice * 0.0005 / (0.9995 if long else 1.0005)
        assert_stored(
            trade,
            {
                "entry_date": row.EntryTime.date(),
                "entry_time": row.EntryTime.tz_localize("UTC").to_pydatetime(),
                "exit_date": row.ExitTime.date(),
                "exit_time": row.ExitTime.tz_localize("UTC").to_pydatetime(),
                "entry_price": row.EntryPrice,
                "exit_price": row.ExitPrice,
                "position_size": abs(row.Size),
                "direction": "long" if long else "short",
                "pnl": row.PnL,
                "pnl_percent": row.ReturnPct,
                "duration_days": held.days,
                "duration_hours": held.total_seconds() / 3600,
                "fees_paid": row.Commission,
                "slippage_cost": abs(commission_entry_spread) + abs(commission_exit_spread),
            },
        )
    last = stored[-1]
    assert_stored(
        last,
        {
            "trade_number": len(trades),
            "entry_price": still_open.entry_price,
            "position_size": abs(still_open.size),
            "direction": "long",
            "exit_date": None,
            "exit_time": None,
            "exit_price": None,
            "pnl": None,
            "exit_reason": None,
            "duration_days": None,
        },
    )
    df = frames.trades_frame(stored)
    assert df["exit_date"].isna().sum() == 1
    assert df["pnl"].sum() == pytest.approx(closed["PnL"].sum(), abs=0.01 * len(closed))


def test_a_run_without_trades_saves_under_the_default_policy(db_url: str) -> None:
    """backtesting.py's NaN figures of a run that never traded are undefined: None (NULL),
    so a grid of runs saves with the default store, no try/except around each save."""
    stats = Backtest(GOOG, Idle, cash=10_000).run()
    assert math.isnan(stats["Sharpe Ratio"]) and math.isnan(stats["Win Rate [%]"])
    result, trades = from_stats(stats, symbol="GOOG")
    assert trades == []
    assert result.total_trades == 0 and result.winning_trades == 0
    assert result.win_rate is None and result.sharpe_ratio is None
    assert result.profit_factor is None and result.average_win is None  # no trade: no figure
    assert result.max_drawdown_duration == 0 and result.max_drawdown == 0
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result)
    assert saved.win_rate is None and saved.sharpe_ratio is None and saved.total_trades == 0
    assert saved.total_return == 0


def test_hourly_data_in_a_time_zone_with_a_fixed_commission(db_url: str) -> None:
    stats = Backtest(EURUSD, SmaCross, cash=100_000, commission=(2.0, 0.0001)).run(n1=5, n2=15)
    result, trades = from_stats(stats, symbol="EURUSD", strategy_type="sma", tz="Europe/London")
    closed = stats["_trades"]
    assert result.strategy_type == "sma"
    assert result.parameters == {"n1": 5, "n2": 15, "stop": 0.05, "target": 0.10}
    traded = (closed["Size"].abs() * (closed["EntryPrice"] + closed["ExitPrice"])).sum()
    assert result.fees == pytest.approx(closed["Commission"].sum() / traded)
    first = closed.iloc[0]
    assert trades[0].entry_time == first.EntryTime.tz_localize("Europe/London").to_pydatetime()
    assert any(t.duration_hours is not None and float(t.duration_hours) % 24 for t in trades)
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        stored = store.get_trades(saved.backtest_id)
    assert stored[0].entry_time == pd.Timestamp(first.EntryTime, tz="Europe/London")
    assert stored[0].duration_hours == pytest.approx(
        (first.ExitTime - first.EntryTime).total_seconds() / 3600
    )
    curve = frames.equity_frame(store_get(db_url, saved.backtest_id))
    assert curve.index[0] == pd.Timestamp(EURUSD.index[0], tz="Europe/London")


def store_get(url: str, backtest_id: Any) -> Any:
    with BacktestStore.connect(url) as store:
        return store.get_backtest(backtest_id)


def test_optimize_heatmap_and_best_run(db_url: str) -> None:
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002)
    best, heatmap = bt.optimize(
        n1=[5, 10, 20],
        n2=[10, 20, 40],
        constraint=lambda p: p.n1 < p.n2,
        maximize="Sharpe Ratio",
        return_heatmap=True,
    )
    # the full grid, with the combinations the constraint skipped as NaN
    grid = heatmap.reindex(
        pd.MultiIndex.from_product([[5, 10, 20], [10, 20, 40]], names=["n1", "n2"])
    )
    assert grid.isna().sum() == 3
    results = from_heatmap(grid, objective_function="sharpe_ratio")
    assert len(results) == 6
    assert [r.parameters for r in results] == [{"n1": a, "n2": b} for a, b in heatmap.index]
    for r, value in zip(results, heatmap, strict=True):
        assert r.objective_value == value and r.sharpe_ratio == value
    assert {r.rank for r in results} == set(range(1, 7))
    top = min(results, key=lambda r: r.rank or 99)
    assert top.objective_value == heatmap.max()
    result, trades = from_stats(best, symbol="GOOG")
    assert result.parameters == {**dict(top.parameters), "stop": 0.05, "target": 0.10}
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        store.save_optimization_results(saved.backtest_id, results)
        (stored_best,) = store.best_parameters(saved.backtest_id, limit=1)
    assert stored_best.parameters == top.parameters and stored_best.rank == 1
    percent = heatmap.rename("Return [%]")
    (first, *_) = from_heatmap(percent, objective_function="total_return")
    assert first.total_return == pytest.approx(heatmap.iloc[0] / 100)
    assert first.objective_value == first.total_return  # our column: our unit (a fraction)
    (other, *_) = from_heatmap(percent, objective_function="Return [%]")
    assert other.objective_value == heatmap.iloc[0]  # not ours: as the library gives it
    undefined = heatmap.copy()
    undefined.iloc[0] = math.inf  # a combination whose objective is undefined
    ranked = from_heatmap(undefined, objective_function="sharpe_ratio")
    assert ranked[0].rank is None and ranked[0].objective_value is None
    assert sorted(r.rank for r in ranked[1:]) == list(range(1, 6))  # type: ignore[type-var]


def test_the_units_the_adapters_convert_to_are_the_ones_the_schema_comments_name(
    conn: Any,
) -> None:
    """One source of truth: the COMMENTs in sql/ say which unit each column holds."""
    from backtest_store.adapters.backtesting import STATISTICS

    def comment(column: str) -> str:
        row = conn.execute(
            "SELECT col_description('mcp_backtest_results'::regclass, attnum) FROM pg_attribute"
            " WHERE attrelid = 'mcp_backtest_results'::regclass AND attname = %s",
            [column],
        ).fetchone()
        return str(row[0])

    for name, (column, factor) in STATISTICS.items():
        if "[%]" in name:
            assert factor == 0.01 and "fraction" in comment(column), column
        elif "[$]" in name:
            assert factor == 1.0 and "account currency" in comment(column), column
    assert "<= 0" in comment("max_drawdown")
    assert "in days" in comment("max_drawdown_duration")
    assert "closed trades" in comment("total_trades")
    for money in ("average_win", "average_loss", "largest_win", "largest_loss"):
        assert "account currency" in comment(money), money
    assert "Gross profit / gross loss" in comment("profit_factor")
