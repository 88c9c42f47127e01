"""vectorbt's Portfolio as records: ``from_portfolio`` for one backtest (one column),
``optimization_results`` for a parameter grid (one result per column).

vectorbt gives returns, volatility and the win rate as fractions, drawdowns as
negative fractions from ``max_drawdown()`` (positive percent in ``stats()``), money in
account currency, durations in bars times ``freq``. The records get each column's own
unit (see the ``COMMENT``s in ``sql/``):

- a figure vectorbt cannot define (NaN, +/-inf: the Sharpe ratio of a column that never
  traded) is None, stored NULL, so a grid saves under the store's default policy; such a
  column's objective gets no rank (NULL), and never ranks first;

- ``max_drawdown_duration`` is the longest drawdown in calendar days, peak to recovery
  (or to the last bar), from the drawdown records' timestamps, not bars x ``freq``;
- ``total_trades`` counts closed trades (vectorbt's "Total Trades" includes the open
  one) and the win rate, profit factor (gross profit / gross loss in money, NULL when
  there is no losing trade), averages and extremes are over the same closed trades;
- ``fees`` is what the orders paid as a fraction of what they traded (vectorbt keeps no
  record of the ``fees`` argument; 0 without an order); ``slippage`` is read from the
  orders the same way, as how far each order's price is from the close of its bar (0
  when every order filled at the close; None, not guessed, when they differ by different
  amounts: the run was given prices of its own). ``slippage=`` overrides it;
- where it came from: ``engine`` (``vectorbt`` and its version), ``data_fingerprint``
  (of the close prices the Portfolio holds), ``bars_per_year`` (vectorbt's own
  annualization factor, ``year_freq`` over ``freq``: 365 for daily bars by default), the
  benchmark (vectorbt's: holding the symbol from the first bar, its total return and
  value curve), and ``extra_metrics``: the other numbers of ``Portfolio.stats()``, by
  vectorbt's names and in its units;
- trades: direction from vectorbt's, ``fees_paid`` is entry plus exit fees, open trades
  have no exit and no realized pnl, ``exit_reason`` stays NULL (vectorbt does not
  record why a trade closed).

Naive timestamps are taken in ``tz``.
"""

from __future__ import annotations

from typing import Any

from backtest_store.adapters._common import (
    aware,
    aware_index,
    engine,
    extra_metrics,
    longest_drawdown_days,
    pandas,
    ranks,
    trade_statistics,
    undefined_as_null,
)
from backtest_store.provenance import fingerprint
from backtest_store.records import BacktestResult, BacktestTrade, OptimizationResult

__all__ = ["from_portfolio", "optimization_results"]

_CLOSED = 1  # vectorbt.portfolio.enums.TradeStatus.Closed
_SHORT = 1  # vectorbt.portfolio.enums.TradeDirection.Short

# Portfolio metrics that are already in the column's unit (fractions, ratios, money).
METRICS: dict[str, str] = {
    "total_return": "total_return",
    "annualized_return": "annualized_return",
    "sharpe_ratio": "sharpe_ratio",
    "sortino_ratio": "sortino_ratio",
    "calmar_ratio": "calmar_ratio",
    "max_drawdown": "max_drawdown",
    "annualized_volatility": "volatility",
    "downside_risk": "downside_volatility",
    "beta": "beta",
    "alpha": "alpha",
    "final_value": "final_portfolio_value",
}


def from_portfolio(
    pf: Any,
    *,
    symbol: str,
    strategy_type: str,
    parameters: dict[str, Any] | None = None,
    column: Any = None,
    slippage: float | None = None,
    tz: str = "UTC",
) -> tuple[BacktestResult, list[BacktestTrade]]:
    """The result and trades of one column of a vectorbt Portfolio: the only one, or
    the one named by ``column`` (a key of ``pf.wrapper.columns``)."""
    pandas("vectorbt")
    pf = _one_column(pf, column)
    index = pf.wrapper.index
    equity = aware_index(pf.value(), tz)
    records = pf.trades.records
    closed_pnl = records.loc[records["status"] == _CLOSED, "pnl"].tolist()
    figures: dict[str, Any] = {
        name: float(getattr(pf, method)()) for method, name in METRICS.items()
    }
    result = BacktestResult(
        symbol=symbol,
        strategy_type=strategy_type,
        start_date=aware(index[0], tz).date(),
        end_date=aware(index[-1], tz).date(),
        initial_capital=float(pf.init_cash),
        fees=_fee_rate(pf.orders.records),
        slippage=slippage if slippage is not None else _slippage(pf),
        parameters=parameters,
        max_drawdown_duration=longest_drawdown_days(equity),
        peak_portfolio_value=float(equity.max()),
        equity_curve=equity,
        drawdown_series=aware_index(pf.drawdown(), tz),
        data_points=len(index),
        **figures,
        **trade_statistics(closed_pnl),
        engine=engine("vectorbt", "vectorbt"),
        data_fingerprint=fingerprint(_frame(pf.close)),
        bars_per_year=float(pf.returns_acc.ann_factor),
        benchmark_symbol=symbol,
        benchmark_return=float(pf.total_benchmark_return()),
        benchmark_curve=aware_index(pf.benchmark_value(), tz),
        extra_metrics=extra_metrics(pf.stats(), _HELD) or None,
    )
    rows = records.to_dict("records")
    trades = [_trade(i, row, index, tz) for i, row in enumerate(rows)]
    return undefined_as_null(result), [undefined_as_null(t) for t in trades]


def optimization_results(
    pf: Any, *, objective_function: str = "sharpe_ratio"
) -> list[OptimizationResult]:
    """One OptimizationResult per column of a Portfolio run over a parameter grid, in
    column order: the parameters from the column index levels (as vectorbt names them,
    e.g. ``fast_window``), the objective (a Portfolio metric such as ``sharpe_ratio``,
    ``total_return``) and its rank (1 = best), and the key metrics, trade counts and
    profit factor over closed trades."""
    pandas("vectorbt")
    if not callable(getattr(pf, objective_function, None)):
        raise ValueError(
            f"objective_function={objective_function!r} is not a vectorbt Portfolio "
            "metric (e.g. 'sharpe_ratio', 'total_return', 'calmar_ratio')"
        )
    columns = pf.wrapper.columns
    names = [str(n) if n is not None else f"level_{i}" for i, n in enumerate(columns.names)]
    objective = _per_column(getattr(pf, objective_function)(), columns)
    metrics: dict[str, list[float]] = {
        name: _per_column(getattr(pf, name)(), columns)
        for name in ("total_return", "sharpe_ratio", "max_drawdown")
    }
    records = pf.trades.records
    closed = records[records["status"] == _CLOSED]
    pnl_by_column: dict[int, list[float]] = {i: [] for i in range(len(columns))}
    for col, pnl in zip(closed["col"].tolist(), closed["pnl"].tolist(), strict=True):
        pnl_by_column[col].append(pnl)
    ranked = ranks(objective)
    out = []
    for i, key in enumerate(columns):
        combination = key if isinstance(key, tuple) else (key,)
        statistics = trade_statistics(pnl_by_column[i])
        value = objective[i]
        out.append(undefined_as_null(
            OptimizationResult(
                parameter_set=i + 1,
                parameters=dict(zip(names, combination, strict=True)),
                objective_function=objective_function,
                objective_value=value,
                rank=ranked[i],
                total_trades=statistics["total_trades"],
                win_rate=statistics["win_rate"],
                profit_factor=statistics["profit_factor"],
                total_return=metrics["total_return"][i],
                sharpe_ratio=metrics["sharpe_ratio"][i],
                max_drawdown=metrics["max_drawdown"][i],
            )
        ))  # fmt: skip
    return out


def _one_column(pf: Any, column: Any) -> Any:
    if pf.wrapper.ndim == 1:
        return pf
    columns = pf.wrapper.columns
    if column is None:
        if len(columns) != 1:
            raise ValueError(
                f"the Portfolio has {len(columns)} columns: name one with column= "
                f"(one of {list(columns)[:5]}{'...' if len(columns) > 5 else ''})"
            )
        column = columns[0]
    return pf[column]


def _per_column(values: Any, columns: Any) -> list[float]:
    if hasattr(values, "reindex"):
        return [float(v) for v in values.reindex(columns).tolist()]
    return [float(values)] * len(columns)


# stats() figures a column holds (in another unit, or recomputed from the closed trades)
_HELD = ("Start Value", "End Value", "Total Return [%]", "Benchmark Return [%]",
         "Max Drawdown [%]", "Total Trades", "Total Closed Trades", "Win Rate [%]",
         "Profit Factor", "Sharpe Ratio", "Calmar Ratio", "Sortino Ratio")  # fmt: skip


def _fee_rate(orders: Any) -> float:
    traded = (orders["size"].abs() * orders["price"]).sum()
    return float(orders["fees"].sum() / traded) if traded else 0.0


def _slippage(pf: Any) -> float | None:
    """How far the orders' prices are from the close of their bars, as a fraction: the
    one slippage every order had, 0 when they filled at the close or there was none."""
    orders = pf.orders.records
    if not len(orders):
        return 0.0
    close = pf.close.to_numpy().reshape(len(pf.wrapper.index), -1)
    at = close[orders["idx"].to_numpy(), orders["col"].to_numpy()]
    gaps = abs(orders["price"].to_numpy() / at - 1)
    if gaps.max() - gaps.min() > 1e-9:
        return None  # prices of the caller's own (opens, limits): not a slippage
    return round(float(gaps.mean()), 10)


def _frame(close: Any) -> Any:
    """The close prices as a one-column frame named Close, whatever the Portfolio's column
    is called (a grid's parameters): the same bars, the same fingerprint."""
    values = close if close.ndim == 1 else close.iloc[:, 0]
    return values.rename("Close").to_frame()


def _trade(i: int, row: dict[str, Any], index: Any, tz: str) -> BacktestTrade:
    entry = aware(index[row["entry_idx"]], tz)
    closed = row["status"] == _CLOSED
    exit_ = aware(index[row["exit_idx"]], tz) if closed else None
    held = exit_ - entry if exit_ is not None else None
    return BacktestTrade(
        trade_number=i + 1,
        entry_date=entry.date(),
        entry_time=entry,
        entry_price=float(row["entry_price"]),
        exit_date=exit_.date() if exit_ is not None else None,
        exit_time=exit_,
        exit_price=float(row["exit_price"]) if closed else None,
        position_size=abs(float(row["size"])),
        direction="short" if row["direction"] == _SHORT else "long",
        pnl=float(row["pnl"]) if closed else None,
        pnl_percent=float(row["return"]) if closed else None,
        duration_days=held.days if held is not None else None,
        duration_hours=held.total_seconds() / 3600 if held is not None else None,
        fees_paid=float(row["entry_fees"]) + (float(row["exit_fees"]) if closed else 0.0),
    )
