-- Rollback of 0008: drop the DAO's indexes, without blocking writes.
-- transactional: false
-- Locks: SHARE UPDATE EXCLUSIVE on each table while its index goes.

SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_parameters_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_symbol_date_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_strategy_date_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_annualized_return_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_sortino_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_calmar_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_alpha_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_max_drawdown_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_volatility_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_downside_volatility_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_win_rate_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_profit_factor_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_portfolios_name_date_idx;
