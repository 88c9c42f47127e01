"""backtesting.py's results as records: ``from_stats`` for what ``Backtest.run()`` and
``Backtest.optimize()`` return, ``from_heatmap`` for ``optimize(..., return_heatmap=True)``.

backtesting.py reports returns, drawdowns, volatility and the win rate in percent
(drawdowns negative), money in account currency, durations as Timedeltas. The records
get each column's own unit (see the ``COMMENT``s in ``sql/``):

- a figure backtesting.py cannot define (NaN, +/-inf: the Sharpe ratio of a run that
  never traded) is None, stored NULL, so a grid saves under the store's default policy;
  a combination whose objective is undefined gets no rank (NULL);
- the objective of ``from_heatmap`` is in the unit of our column when
  ``objective_function`` names the column the heatmap's statistic fills (``"Return
  [%]"`` under ``objective_function="total_return"`` is a fraction); any other objective
  is stored as backtesting.py gives it;

- percentages become fractions; ``max_drawdown`` and the drawdown series are <= 0;
- ``profit_factor`` is recomputed in money from the trades (backtesting.py divides
  summed trade *returns*), NULL when there is no losing trade; ``average_win`` and the
  other money columns come from the trades' PnL;
- ``total_trades`` counts the closed trades that the statistics cover; trades still open
  at the end are returned too, without an exit;
- ``alpha`` stays NULL: backtesting.py's "Alpha [%]" is Jensen's alpha over the whole
  period, not the annualized alpha the column holds; ``downside_volatility`` stays NULL
  (no figure);
- ``fees`` is the relative commission the backtest was given, or, for a fixed or a
  callable commission, what the trades paid as a fraction of what they traded (0 without
  a trade); ``slippage`` is the spread (0 when none: never the column's default);
- where it came from: ``engine`` (``backtesting.py`` and its version),
  ``data_fingerprint`` (of the OHLCV frame the run used), ``bars_per_year`` (by
  backtesting.py's own rule: 252, or 365 when weekends hold bars, 52 weekly, 12 monthly),
  the benchmark (buy & hold of the traded symbol: "Buy & Hold Return [%]" as a fraction,
  and its curve from the first bar the strategy could trade), and ``extra_metrics``:
  every other number backtesting.py reports, by its own name and in its own unit;
- a trade's ``exit_reason`` is ``stop_loss`` or ``take_profit`` when its exit price
  reached its SL or TP, else ``signal``; ``fees_paid`` is its commission (entry plus
  exit), ``slippage_cost`` what the spread cost it.

Naive timestamps are taken in ``tz``.
"""

from __future__ import annotations

import math
from typing import Any

from backtest_store.adapters._common import (
    aware,
    aware_index,
    engine,
    extra_metrics,
    pandas,
    ranks,
    trade_statistics,
    undefined_as_null,
)
from backtest_store.provenance import fingerprint
from backtest_store.records import BacktestResult, BacktestTrade, OptimizationResult

__all__ = ["from_heatmap", "from_stats"]

# backtesting.py statistic -> (column, factor): percent figures become fractions.
STATISTICS: dict[str, tuple[str, float]] = {
    "Return [%]": ("total_return", 0.01),
    "Return (Ann.) [%]": ("annualized_return", 0.01),
    "Volatility (Ann.) [%]": ("volatility", 0.01),
    "Sharpe Ratio": ("sharpe_ratio", 1.0),
    "Sortino Ratio": ("sortino_ratio", 1.0),
    "Calmar Ratio": ("calmar_ratio", 1.0),
    "Max. Drawdown [%]": ("max_drawdown", 0.01),
    "Win Rate [%]": ("win_rate", 0.01),
    "Equity Final [$]": ("final_portfolio_value", 1.0),
    "Equity Peak [$]": ("peak_portfolio_value", 1.0),
    "Beta": ("beta", 1.0),
}


def from_stats(
    stats: Any,
    *,
    symbol: str,
    strategy_type: str | None = None,
    parameters: dict[str, Any] | None = None,
    tz: str = "UTC",
) -> tuple[BacktestResult, list[BacktestTrade]]:
    """The result and trades of one backtesting.py run, from the Series that
    ``Backtest.run()`` or ``Backtest.optimize()`` returns.

    ``strategy_type`` defaults to the strategy's class name, ``parameters`` to the
    strategy's parameters (its class defaults, updated by those the run was given)."""
    pandas("backtesting")
    strategy = stats.get("_strategy")
    equity_frame = stats["_equity_curve"]
    closed = stats["_trades"]
    broker = getattr(strategy, "_broker", None)
    spread = float(getattr(broker, "_spread", 0.0) or 0.0)

    trades = [_closed_trade(i, row, spread, tz) for i, row in enumerate(closed.itertuples())]
    for trade in getattr(broker, "trades", ()):  # still open at the end
        trades.append(_open_trade(len(trades), trade, spread, tz))

    equity = aware_index(equity_frame["Equity"], tz)
    drawdown = -aware_index(equity_frame["DrawdownPct"], tz)
    start, end = aware(stats["Start"], tz), aware(stats["End"], tz)
    figures: dict[str, Any] = {
        column: _figure(stats, name, factor) for name, (column, factor) in STATISTICS.items()
    }
    library_win_rate = figures.pop("win_rate")
    duration = stats.get("Max. Drawdown Duration")  # NaT or NaN: the curve never fell
    data = getattr(getattr(strategy, "_data", None), "df", None)
    buy_and_hold = _figure(stats, "Buy & Hold Return [%]", 0.01)
    result = BacktestResult(
        symbol=symbol,
        strategy_type=strategy_type or type(strategy).__name__,
        start_date=start.date(),
        end_date=end.date(),
        initial_capital=float(equity.iloc[0]),
        fees=_fees(broker, closed),
        slippage=spread,
        parameters=parameters if parameters is not None else strategy_parameters(strategy),
        max_drawdown_duration=0
        if _missing(duration) or not hasattr(duration, "days")
        else duration.days,
        equity_curve=equity,
        drawdown_series=drawdown,
        data_points=len(equity),
        **figures,
        **trade_statistics(closed["PnL"].tolist(), library_win_rate),
        engine=engine("backtesting", "backtesting.py"),
        data_fingerprint=None if data is None else fingerprint(data),
        bars_per_year=_bars_per_year(equity_frame.index),
        benchmark_symbol=symbol if buy_and_hold is not None else None,
        benchmark_return=buy_and_hold,
        benchmark_curve=None if data is None else _buy_and_hold(data, strategy, equity),
        extra_metrics=extra_metrics(stats, (*STATISTICS, *_HELD)) or None,
    )
    return undefined_as_null(result), [undefined_as_null(t) for t in trades]


# statistics a column holds in another form (profit factor and the win rate are recomputed
# from the trades' money; the trade count is total_trades)
_HELD = ("Profit Factor", "# Trades", "Buy & Hold Return [%]")


def _bars_per_year(index: Any) -> float | None:
    """The annualization of backtesting.py's figures, by its own rule (``compute_stats``):
    52 for weekly bars, 12 monthly, 1 yearly, else 365 when weekends hold bars, 252 when
    they do not (intraday figures are annualized from daily returns). None without a
    datetime index: backtesting.py annualizes nothing then."""
    pd = pandas("backtesting")
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    try:
        from backtesting._stats import _data_period
    except ImportError:  # a version that has moved it: not guessed
        return None
    days = _data_period(index).days
    weekends = index.dayofweek.to_series().between(5, 6).mean() > 2 / 7 * 0.6
    return float({7: 52, 31: 12, 365: 1}.get(days, 365 if weekends else 252))


def _buy_and_hold(data: Any, strategy: Any, equity: Any) -> Any:
    """Buying the initial capital's worth at the close of the first bar the strategy could
    trade (after its indicators' warm-up, as backtesting.py's "Buy & Hold Return"), and
    holding: a curve on the equity curve's timestamps, flat before that bar."""
    try:
        from backtesting._stats import _indicator_warmup_nbars

        first = int(_indicator_warmup_nbars(strategy))
    except (ImportError, TypeError, AttributeError):
        first = 0
    close = data["Close"].to_numpy(dtype=float)
    start = float(equity.iloc[0])
    values = [start if i < first else start * close[i] / close[first] for i in range(len(close))]
    return equity.__class__(values, index=equity.index)


def from_heatmap(heatmap: Any, *, objective_function: str) -> list[OptimizationResult]:
    """One OptimizationResult per parameter combination of an optimization's heatmap
    (a Series indexed by the parameters), in the heatmap's order, ranked by the
    objective (1 = best). Combinations the constraint skipped (NaN) are left out.
    When the heatmap is of a statistic the table has a column for (its name, e.g.
    "Sharpe Ratio"), that column gets it too, in the column's unit."""
    pandas("backtesting")
    tried = heatmap.dropna()
    names = [str(name) for name in tried.index.names]
    column = STATISTICS.get(str(heatmap.name))
    values = [float(v) for v in tried.tolist()]
    # an objective that is one of our columns is in that column's unit (Return [%] under
    # objective_function="total_return": a fraction); any other, as the library gives it
    factor = column[1] if column is not None and objective_function == column[0] else 1.0
    ranked = ranks(values)
    out = []
    for number, (key, value) in enumerate(zip(tried.index, values, strict=True), start=1):
        combination = key if isinstance(key, tuple) else (key,)
        extra: dict[str, Any] = {}
        if column is not None and column[0] in _OPTIMIZATION_COLUMNS:
            extra[column[0]] = value * column[1]
        out.append(undefined_as_null(
            OptimizationResult(
                parameter_set=number,
                parameters=dict(zip(names, combination, strict=True)),
                objective_function=objective_function,
                objective_value=value * factor,
                rank=ranked[number - 1],
                **extra,
            )
        ))  # fmt: skip
    return out


_OPTIMIZATION_COLUMNS = ("total_return", "sharpe_ratio", "max_drawdown", "win_rate")


def strategy_parameters(strategy: Any) -> dict[str, Any]:
    """A backtesting.py strategy's parameters: the public, non-callable class attributes
    of its own classes (the defaults), updated by those the run was given."""
    params: dict[str, Any] = {}
    for klass in reversed(type(strategy).__mro__):
        if klass.__module__.startswith("backtesting") or klass is object:
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or callable(value) or isinstance(value, property):
                continue
            if isinstance(value, staticmethod | classmethod):
                continue
            params[name] = value
    params.update(getattr(strategy, "_params", {}) or {})
    return params


def _figure(stats: Any, name: str, factor: float) -> float | None:
    if name not in stats:
        return None
    value = stats[name]
    return None if _missing(value) else float(value) * factor


def _missing(value: Any) -> bool:
    return value is None or type(value).__name__ in ("NaTType", "NAType")


def _fees(broker: Any, closed: Any) -> float | None:
    fixed = getattr(broker, "_commission_fixed", None)
    relative = getattr(broker, "_commission_relative", None)
    if relative is not None and not fixed:
        return float(relative)
    traded = (closed["Size"].abs() * (closed["EntryPrice"] + closed["ExitPrice"])).sum()
    if "Commission" in closed and traded:
        return float(closed["Commission"].sum() / traded)
    return 0.0  # no trade paid a fixed or callable commission: never the column's default


def _exit_reason(long: bool, exit_price: float, sl: float, tp: float) -> str:
    if not math.isnan(sl) and (exit_price <= sl if long else exit_price >= sl):
        return "stop_loss"
    if not math.isnan(tp) and (exit_price >= tp if long else exit_price <= tp):
        return "take_profit"
    return "signal"


def _level(value: Any) -> float:
    """An SL or TP: NaN when the trade had none (None when no trade of the run had one)."""
    return math.nan if value is None else float(value)


def _spread_cost(size: float, price: float, spread: float, buying: bool) -> float:
    """What the spread added to a fill: the fill is the price times (1 +/- spread)."""
    if not spread:
        return 0.0
    return abs(size) * price * spread / ((1 + spread) if buying else (1 - spread))


def _closed_trade(i: int, row: Any, spread: float, tz: str) -> BacktestTrade:
    long = row.Size > 0
    entry, exit_ = aware(row.EntryTime, tz), aware(row.ExitTime, tz)
    held = exit_ - entry
    return BacktestTrade(
        trade_number=i + 1,
        entry_date=entry.date(),
        entry_time=entry,
        entry_price=float(row.EntryPrice),
        exit_date=exit_.date(),
        exit_time=exit_,
        exit_price=float(row.ExitPrice),
        position_size=abs(float(row.Size)),
        direction="long" if long else "short",
        pnl=float(row.PnL),
        pnl_percent=float(row.ReturnPct),
        duration_days=held.days,
        duration_hours=held.total_seconds() / 3600,
        exit_reason=_exit_reason(long, float(row.ExitPrice), _level(row.SL), _level(row.TP)),
        fees_paid=float(getattr(row, "Commission", 0.0)),
        slippage_cost=_spread_cost(row.Size, row.EntryPrice, spread, long)
        + _spread_cost(row.Size, row.ExitPrice, spread, not long),
    )


def _open_trade(i: int, trade: Any, spread: float, tz: str) -> BacktestTrade:
    entry = aware(trade.entry_time, tz)
    long = trade.size > 0
    return BacktestTrade(
        trade_number=i + 1,
        entry_date=entry.date(),
        entry_time=entry,
        entry_price=float(trade.entry_price),
        position_size=abs(float(trade.size)),
        direction="long" if long else "short",
        fees_paid=float(getattr(trade, "_commissions", 0.0)),
        slippage_cost=_spread_cost(trade.size, trade.entry_price, spread, long),
    )
