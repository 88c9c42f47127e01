-- Rollback of 0012: drop the provenance indexes, without blocking writes.
-- transactional: false
-- Locks: SHARE UPDATE EXCLUSIVE on mcp_backtest_results while each index goes.

SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_experiment_date_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_run_by_date_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_code_version_date_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_data_fingerprint_idx;
DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_tags_idx;
