-- 0010 widen-numeric-scales
-- depends: 0009.refuse-numeric-nan
--
-- What: more decimal places (and never fewer whole digits) for the prices, sizes,
--   money, fee rates and returns of the five tables, 38 columns in all:
--     prices            numeric(12,4) -> numeric(18,8)   FX quotes (1.085155), crypto
--                                                         and penny prices (0.00001234)
--     sizes             numeric(15,2) -> numeric(21,8)   0.004 BTC; 13 whole digits kept
--     money (pnl, wins, losses, fees paid, slippage cost)
--                       numeric(12,4) -> numeric(18,8), numeric(10,4) -> numeric(14,8)
--     capital, equity   numeric(15,2) -> numeric(21,8)   accounts kept in a crypto coin
--     fee and slippage rates
--                       numeric(6,4)  -> numeric(8,6)    half a basis point (0.00005)
--     returns, drawdowns, volatilities, alpha, excursions
--                       numeric(10,4) -> numeric(14,8), numeric(8,4) -> numeric(12,8)
--     win rates         numeric(5,4)  -> numeric(9,8)
--     objective_value   numeric(12,6) -> numeric(16,8)
--     duration_hours    numeric(8,2)  -> numeric(12,6)   a one-second trade
--   Ratios (Sharpe, Sortino, Calmar, profit factor, beta), p-values, execution
--   times and portfolio limits keep the seed's types: their digits suffice.
-- Why: the seed's scales fit US equities on daily bars. An EURUSD entry at
--   1.08839 was stored as 1.0884, a fee rate of 0.00005 as 0.0001 (doubled), a
--   position of 0.004 BTC as 0.00: digits a quant measured, rounded away without a
--   word. Every column keeps its name, meaning, default, checks and COMMENT.
-- How: one ALTER TABLE per table, all its columns at once, so each table is
--   rewritten once (a larger scale changes every stored value's form: PostgreSQL
--   cannot widen the scale without a rewrite; only dropping the typmod or raising
--   the precision at the same scale avoid one). An unconstrained numeric was
--   considered and refused: the DataFrame path encodes binary COPY at the
--   column's scale, and one documented scale per column is what the record and
--   DataFrame paths round to alike (half away from zero). The tables are locked
--   parent first, the order in which saves take them, so a save cannot deadlock
--   with the migration. One transaction: stopped at any point, nothing changed.
-- Locks: ACCESS EXCLUSIVE on all five tables for the whole rewrite: reads and
--   saves wait. Measured at 200,000 results / 2,000,000 trades (tests/volume.sql,
--   2 cores): 14-17 s in all, of which mcp_backtest_results 3.5 s,
--   mcp_backtest_trades 10.5 s (about 5 us a trade: 20 million trades hold the lock
--   for about 2 minutes), mcp_optimization_results 0.7 s, the other two 0.3 s. The
--   rollback (a scan, then the same rewrite) took 18-23 s. Plan it for a quiet moment
--   on a large database. lock_timeout (5 s) makes it fail fast behind a long transaction
--   rather than queue every session behind it; run `backtest-store migrate` again.
-- Undo: 0010.widen-numeric-scales.rollback.sql restores the seed's types. It
--   refuses, naming the rows, when a stored value has more digits than the old
--   type holds; it never rounds on the way back.

-- squawk-ignore-file changing-column-type
-- (the rewrite is the point of this file, and its lock is measured and stated above;
-- the types are widened, so no reader of these columns breaks)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = 0; -- a rewrite of a large table takes as long as it takes

LOCK TABLE mcp_backtest_results, mcp_backtest_trades, mcp_optimization_results,
    mcp_walk_forward_tests, mcp_backtest_portfolios IN ACCESS EXCLUSIVE MODE;

ALTER TABLE mcp_backtest_results
    ALTER COLUMN initial_capital TYPE numeric(21,8),
    ALTER COLUMN fees TYPE numeric(8,6),
    ALTER COLUMN slippage TYPE numeric(8,6),
    ALTER COLUMN total_return TYPE numeric(14,8),
    ALTER COLUMN annualized_return TYPE numeric(14,8),
    ALTER COLUMN max_drawdown TYPE numeric(12,8),
    ALTER COLUMN volatility TYPE numeric(12,8),
    ALTER COLUMN downside_volatility TYPE numeric(12,8),
    ALTER COLUMN win_rate TYPE numeric(9,8),
    ALTER COLUMN average_win TYPE numeric(18,8),
    ALTER COLUMN average_loss TYPE numeric(18,8),
    ALTER COLUMN largest_win TYPE numeric(18,8),
    ALTER COLUMN largest_loss TYPE numeric(18,8),
    ALTER COLUMN final_portfolio_value TYPE numeric(21,8),
    ALTER COLUMN peak_portfolio_value TYPE numeric(21,8),
    ALTER COLUMN alpha TYPE numeric(12,8);

ALTER TABLE mcp_backtest_trades
    ALTER COLUMN entry_price TYPE numeric(18,8),
    ALTER COLUMN exit_price TYPE numeric(18,8),
    ALTER COLUMN position_size TYPE numeric(21,8),
    ALTER COLUMN pnl TYPE numeric(18,8),
    ALTER COLUMN pnl_percent TYPE numeric(12,8),
    ALTER COLUMN mae TYPE numeric(12,8),
    ALTER COLUMN mfe TYPE numeric(12,8),
    ALTER COLUMN duration_hours TYPE numeric(12,6),
    ALTER COLUMN fees_paid TYPE numeric(14,8),
    ALTER COLUMN slippage_cost TYPE numeric(14,8);

ALTER TABLE mcp_optimization_results
    ALTER COLUMN objective_value TYPE numeric(16,8),
    ALTER COLUMN total_return TYPE numeric(14,8),
    ALTER COLUMN max_drawdown TYPE numeric(12,8),
    ALTER COLUMN win_rate TYPE numeric(9,8);

ALTER TABLE mcp_walk_forward_tests
    ALTER COLUMN training_performance TYPE numeric(14,8),
    ALTER COLUMN out_of_sample_return TYPE numeric(14,8),
    ALTER COLUMN out_of_sample_drawdown TYPE numeric(12,8);

ALTER TABLE mcp_backtest_portfolios
    ALTER COLUMN initial_capital TYPE numeric(21,8),
    ALTER COLUMN total_return TYPE numeric(14,8),
    ALTER COLUMN annualized_return TYPE numeric(14,8),
    ALTER COLUMN max_drawdown TYPE numeric(12,8),
    ALTER COLUMN volatility TYPE numeric(12,8);

