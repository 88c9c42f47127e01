-- 0012 index-provenance
-- depends: 0011.record-provenance
-- transactional: false
--
-- What: 0011's five checks validated, and indexes for the provenance filters of list_backtests, top_backtests,
--   browse_backtests, the CLI and the web list: experiment, run_by and code_version
--   each with (backtest_date, backtest_id), so that every keyset page, newest first,
--   stops after a page of index entries; data_fingerprint for the duplicates of a
--   run; tags by jsonb containment (GIN, jsonb_path_ops). Measured in
--   tests/test_plans.py at 200,000 results and 2,000,000 trades: each filter's plan
--   reads its index.
-- Why non-transactional: CREATE INDEX CONCURRENTLY cannot run in a transaction;
--   it builds without blocking writes, so a live database keeps saving backtests.
--   Each VALIDATE CONSTRAINT is a transaction of its own too, so it holds only its
--   SHARE UPDATE EXCLUSIVE lock while it reads the table.
-- Locks: SHARE UPDATE EXCLUSIVE on mcp_backtest_results while each check is
--   validated and each index builds (reads and writes go on; other DDL waits).
-- If a build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and run
--   `backtest-store migrate` again (IF NOT EXISTS would otherwise keep the invalid one).
-- Undo: 0012.index-provenance.rollback.sql drops these indexes concurrently (the
--   checks stay: validated or not, they are 0011's, and go with its rollback).

SET lock_timeout = '5s';
SET statement_timeout = 0; -- index builds on a large table take as long as they take

-- squawk-ignore-file prefer-robust-stmts
-- (validating a check that is valid already does nothing: a re-run after a failure
-- part-way repeats these statements harmlessly)
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_tags;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_extra_metrics;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_bars_per_year;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan;

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_experiment_date_idx
    ON mcp_backtest_results (experiment, backtest_date, backtest_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_run_by_date_idx
    ON mcp_backtest_results (run_by, backtest_date, backtest_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_code_version_date_idx
    ON mcp_backtest_results (code_version, backtest_date, backtest_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_data_fingerprint_idx
    ON mcp_backtest_results (data_fingerprint);

-- fastupdate off, as parameters' index (0008): results are written once, read often
CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_tags_idx
    ON mcp_backtest_results USING gin (tags jsonb_path_ops) WITH (fastupdate = off);
