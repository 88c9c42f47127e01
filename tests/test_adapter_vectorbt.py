"""backtest_store.adapters.vectorbt on real vectorbt runs over the GOOG data that
backtesting.py ships: every stored value against vectorbt's own figure after the unit
conversion, saved and read back through the store. (vectorbt compiles with numba on its
first run in a process: the module's fixtures run it once.)"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt
from backtesting.test import GOOG
from devkit.records import assert_stored

from backtest_store import BacktestStore, frames
from backtest_store.adapters.vectorbt import from_portfolio, optimization_results

CLOSE = GOOG.Close


@pytest.fixture(scope="module")
def pf() -> Any:
    """Long and short on MA crossings, 5 % stop-loss and 20 % take-profit, 0.1 % fees
    and 0.05 % slippage; the last position is still open at the end."""
    fast, slow = vbt.MA.run(CLOSE, 10), vbt.MA.run(CLOSE, 30)
    up, down = fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)
    return vbt.Portfolio.from_signals(
        CLOSE, up, down, short_entries=down, short_exits=up, init_cash=10_000,
        fees=0.001, slippage=0.0005, sl_stop=0.05, tp_stop=0.2, freq="1D",
    )  # fmt: skip


@pytest.fixture(scope="module")
def grid() -> Any:
    fast, slow = vbt.MA.run_combs(CLOSE, window=[5, 10, 20, 30], r=2, short_names=["fast", "slow"])
    up, down = fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)
    return vbt.Portfolio.from_signals(CLOSE, up, down, init_cash=10_000, fees=0.001, freq="1D")


def test_result_columns_get_vectorbt_figures_in_the_columns_units(pf: Any, db_url: str) -> None:
    result, trades = from_portfolio(
        pf,
        symbol="GOOG",
        strategy_type="ma_cross",
        parameters={"fast": 10, "slow": 30},
        slippage=0.0005,
    )
    stats = pf.stats()
    closed = pf.trades.closed.records_readable
    pnl = closed["PnL"]
    drawdowns = pf.drawdowns.records_readable
    longest = max((drawdowns["End Timestamp"] - drawdowns["Peak Timestamp"]).dt.days)
    expected = {
        "start_date": CLOSE.index[0].date(),
        "end_date": CLOSE.index[-1].date(),
        "initial_capital": 10_000.0,
        "fees": 0.001,
        "slippage": 0.0005,
        "parameters": {"fast": 10, "slow": 30},
        "total_return": stats["Total Return [%]"] / 100,
        "annualized_return": pf.annualized_return(),
        "sharpe_ratio": stats["Sharpe Ratio"],
        "sortino_ratio": stats["Sortino Ratio"],
        "calmar_ratio": stats["Calmar Ratio"],
        "max_drawdown": -stats["Max Drawdown [%]"] / 100,  # vectorbt's stats: positive percent
        "max_drawdown_duration": longest,  # calendar days, not vectorbt's bars x freq
        "volatility": pf.annualized_volatility(),
        "downside_volatility": pf.downside_risk(),
        "total_trades": stats["Total Closed Trades"],
        "winning_trades": int((pnl > 0).sum()),
        "losing_trades": int((pnl < 0).sum()),
        "win_rate": stats["Win Rate [%]"] / 100,
        "profit_factor": pnl[pnl > 0].sum() / -pnl[pnl < 0].sum(),
        "average_win": pnl[pnl > 0].mean(),
        "average_loss": pnl[pnl < 0].mean(),
        "largest_win": pnl.max(),
        "largest_loss": pnl.min(),
        "final_portfolio_value": stats["End Value"],
        "peak_portfolio_value": pf.value().max(),
        "beta": pf.beta(),
        "alpha": pf.alpha(),
        "data_points": len(CLOSE),
    }
    # what differs from vectorbt's own headline figures, and why
    assert stats["Total Trades"] == result.total_trades + 1  # type: ignore[operator]  # the open one
    assert longest != stats["Max Drawdown Duration"].days  # bars x freq there
    assert result.profit_factor == pytest.approx(pf.trades.closed.profit_factor())
    assert float(result.max_drawdown) < 0  # type: ignore[arg-type]
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        loaded = store.get_backtest(saved.backtest_id)
    assert loaded is not None
    assert_stored(loaded, expected)
    curves = frames.equity_frame(loaded)
    assert list(curves.index) == list(CLOSE.index.tz_localize("UTC"))
    assert np.allclose(curves["equity"], pf.value())
    assert np.allclose(curves["drawdown"], pf.drawdown())
    assert (curves["drawdown"] <= 0).all()


def test_trades_long_short_stops_and_the_open_one(pf: Any, db_url: str) -> None:
    result, trades = from_portfolio(pf, symbol="GOOG", strategy_type="ma_cross")
    readable = pf.trades.records_readable
    assert len(trades) == len(readable)
    assert {t.direction for t in trades} == {"long", "short"}
    # stop-loss and take-profit exits happened: vectorbt filled them at the stop levels
    exits = readable[readable["Status"] == "Closed"]
    ratio = exits["Avg Exit Price"] / exits["Avg Entry Price"]
    long = exits["Direction"] == "Long"

    def near(level: float) -> Any:
        return np.isclose(ratio, level, atol=2e-3)  # slippage aside

    assert ((long & near(0.95)) | (~long & near(1.05))).any()  # stop-loss
    assert ((long & near(1.2)) | (~long & near(0.8))).any()  # take-profit
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        stored = store.get_trades(saved.backtest_id)
    for trade, row in zip(stored, readable.to_dict("records"), strict=True):
        is_closed = row["Status"] == "Closed"
        entry = pd.Timestamp(row["Entry Timestamp"]).tz_localize("UTC")
        exit_ = pd.Timestamp(row["Exit Timestamp"]).tz_localize("UTC") if is_closed else None
        assert_stored(
            trade,
            {
                "entry_date": entry.date(),
                "entry_time": entry.to_pydatetime(),
                "entry_price": row["Avg Entry Price"],
                "exit_date": exit_.date() if exit_ is not None else None,
                "exit_time": exit_.to_pydatetime() if exit_ is not None else None,
                "exit_price": row["Avg Exit Price"] if is_closed else None,
                "position_size": row["Size"],
                "direction": row["Direction"].lower(),
                "pnl": row["PnL"] if is_closed else None,
                "pnl_percent": row["Return"] if is_closed else None,
                "fees_paid": row["Entry Fees"] + (row["Exit Fees"] if is_closed else 0.0),
                "duration_days": (exit_ - entry).days if exit_ is not None else None,
                "exit_reason": None,  # vectorbt does not record why a trade closed
            },
        )
    assert stored[-1].exit_date is None and stored[-1].pnl is None
    assert readable["Status"].iloc[-1] == "Open"


def test_a_run_without_trades(db_url: str) -> None:
    never = pd.Series(False, index=CLOSE.index)
    idle = vbt.Portfolio.from_signals(CLOSE, never, never, init_cash=10_000, freq="1D")
    result, trades = from_portfolio(idle, symbol="GOOG", strategy_type="idle")
    assert trades == [] and result.total_trades == 0
    assert result.win_rate is None  # vectorbt's NaN: undefined, NULL
    assert result.profit_factor is None and result.max_drawdown_duration == 0
    with BacktestStore.connect(db_url) as store:  # the default policy saves it
        saved = store.save_backtest(result)
    assert saved.win_rate is None and saved.total_return == 0


def test_a_grid_column_that_never_trades_gets_no_rank(db_url: str) -> None:
    fast, slow = vbt.MA.run(CLOSE, [10, 20], short_name="fast"), vbt.MA.run(CLOSE, 50)
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    entries.iloc[:, 1] = False  # the second column never enters
    exits.iloc[:, 1] = False
    pf = vbt.Portfolio.from_signals(CLOSE, entries, exits, init_cash=10_000, freq="1D")
    assert not math.isfinite(pf.sharpe_ratio().iloc[1])  # vectorbt's figure for it
    results = optimization_results(pf)
    assert results[1].rank is None and results[1].objective_value is None
    assert results[0].rank == 1
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(from_portfolio(pf, symbol="GOOG", strategy_type="ma",
                                                   column=pf.wrapper.columns[0])[0])  # fmt: skip
        store.save_optimization_results(saved.backtest_id, results)
        (best,) = store.best_parameters(saved.backtest_id, limit=1)
    assert best.total_trades and best.total_trades > 0


def test_optimization_results_of_a_grid(grid: Any, db_url: str) -> None:
    results = optimization_results(grid)
    columns = grid.wrapper.columns
    assert len(results) == len(columns) == 6
    sharpe = grid.sharpe_ratio()
    closed = grid.trades.closed
    for r, key in zip(results, columns, strict=True):
        assert r.parameters == {"fast_window": key[0], "slow_window": key[1]}
        assert r.objective_function == "sharpe_ratio"
        assert r.objective_value == sharpe[key] == r.sharpe_ratio
        assert r.total_return == grid.total_return()[key]
        assert r.max_drawdown == grid.max_drawdown()[key] and r.max_drawdown < 0
        assert r.total_trades == closed.count()[key]
        assert r.win_rate == pytest.approx(closed.win_rate()[key])
        assert r.profit_factor == pytest.approx(closed.profit_factor()[key])
    assert [r.rank for r in results] == list(sharpe.rank(ascending=False).astype(int))
    by_return = optimization_results(grid, objective_function="total_return")
    assert [r.objective_value for r in by_return] == list(grid.total_return())
    with pytest.raises(ValueError, match="not a vectorbt Portfolio metric"):
        optimization_results(grid, objective_function="nope")
    # one column of the grid as the backtest, its optimization beside it
    with pytest.raises(ValueError, match="6 columns"):
        from_portfolio(grid, symbol="GOOG", strategy_type="ma_cross")
    best = max(results, key=lambda r: r.objective_value)  # type: ignore[arg-type,return-value]
    key = (best.parameters["fast_window"], best.parameters["slow_window"])  # type: ignore[call-overload]
    result, trades = from_portfolio(
        grid, symbol="GOOG", strategy_type="ma_cross", parameters=dict(best.parameters), column=key
    )
    assert result.sharpe_ratio == sharpe[key]
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result, trades)
        store.save_optimization_results(saved.backtest_id, results)
        (top,) = store.best_parameters(saved.backtest_id, limit=1)
    assert top.parameters == best.parameters and top.rank == 1
