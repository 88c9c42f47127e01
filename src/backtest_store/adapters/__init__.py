"""Adapters from backtest libraries' output to the store's records.

``backtest_store.adapters.backtesting`` (extra ``backtest-store[backtesting]``) and
``backtest_store.adapters.vectorbt`` (extra ``backtest-store[vectorbt]``). Each gives
every column the quantity its ``COMMENT`` names, in its unit: returns, drawdowns,
volatility and win rate as fractions (drawdowns <= 0), money in account currency,
durations in days (hours for trades), trade counts over closed trades. Where a library
has no figure for a column, the column is left empty; NaN and infinite statistics pass
through to the store's non-finite policy.
"""
