-- Rollback of 0013: 0012's index on data_fingerprint again, then the same-run index
-- goes, neither blocking writes.
-- transactional: false
-- Locks: SHARE UPDATE EXCLUSIVE on mcp_backtest_results while each index builds or goes.

SET lock_timeout = '5s';
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_data_fingerprint_idx
    ON mcp_backtest_results (data_fingerprint);

DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_same_run_idx;
