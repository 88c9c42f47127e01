-- 0008 index-dao-queries
-- depends: 0007.add-integrity-checks
-- transactional: false
--
-- What: indexes for the DAO's read queries that the seed's 20 indexes do not serve
--   (measured at 200,000 results / 2,000,000 trades, tests/volume.sql):
--   * top_backtests ranks by any whitelisted metric; the seed indexes only
--     sharpe_ratio and total_return. One btree per other metric. Without it:
--       top_backtests(metric="volatility")  Limit > Gather Merge > Sort > Seq Scan  150 ms
--     with it:
--       Limit > Incremental Sort > Index Scan using mcp_backtest_results_volatility_idx  0.3 ms
--   * find_backtests filters parameters @> '{...}'; a GIN (jsonb_path_ops) index:
--       before  Limit > Gather Merge > Sort > Seq Scan on mcp_backtest_results   58 ms
--       after   Limit > Sort > Bitmap Heap Scan > Bitmap Index Scan using
--               mcp_backtest_results_parameters_idx                                0.1 ms
--   * list_backtests(symbol=... | strategy_type=...) pages newest first with a
--     keyset on (backtest_date, backtest_id); (symbol | strategy_type,
--     backtest_date, backtest_id) lets every page, page 1,000 included, stop after
--     50 index entries:
--       before  Limit > Sort > Bitmap Heap Scan (all 400 rows of the symbol)    2.7 ms
--       after   Limit > Index Scan Backward using mcp_backtest_results_symbol_date_idx  0.1 ms
--   * list_portfolios(portfolio_name=...) the same, on (portfolio_name, backtest_date,
--     portfolio_backtest_id).
--   The seed's indexes are kept as they are (services depend on their names).
-- Why non-transactional: CREATE INDEX CONCURRENTLY cannot run in a transaction;
--   it builds without blocking writes, so a live database keeps saving backtests.
-- Locks: SHARE UPDATE EXCLUSIVE on mcp_backtest_results and mcp_backtest_portfolios
--   while each index builds (reads and writes go on; other DDL waits).
-- If a build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and run
--   `backtest-store migrate` again (IF NOT EXISTS would otherwise keep the invalid one).
-- Undo: 0008.index-dao-queries.rollback.sql drops these indexes concurrently.

SET lock_timeout = '5s';
SET statement_timeout = 0; -- index builds on a large table take as long as they take

-- fastupdate off: new rows go straight into the index instead of a pending list that
-- every search must scan until the next vacuum (measured: 4 ms instead of 0.5 ms per
-- search right after a bulk load); results are written once and read often.
CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_parameters_idx
    ON mcp_backtest_results USING gin (parameters jsonb_path_ops) WITH (fastupdate = off);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_symbol_date_idx
    ON mcp_backtest_results (symbol, backtest_date, backtest_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_strategy_date_idx
    ON mcp_backtest_results (strategy_type, backtest_date, backtest_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_annualized_return_idx
    ON mcp_backtest_results (annualized_return);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_sortino_idx
    ON mcp_backtest_results (sortino_ratio);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_calmar_idx
    ON mcp_backtest_results (calmar_ratio);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_alpha_idx
    ON mcp_backtest_results (alpha);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_max_drawdown_idx
    ON mcp_backtest_results (max_drawdown);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_volatility_idx
    ON mcp_backtest_results (volatility);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_downside_volatility_idx
    ON mcp_backtest_results (downside_volatility);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_win_rate_idx
    ON mcp_backtest_results (win_rate);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_profit_factor_idx
    ON mcp_backtest_results (profit_factor);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_portfolios_name_date_idx
    ON mcp_backtest_portfolios (portfolio_name, backtest_date, portfolio_backtest_id);
