-- 0013 index-same-runs
-- depends: 0012.index-provenance
-- transactional: false
--
-- What: one index that finds the runs that are the same run as a given one (same data
--   fingerprint and the same parameters), in place of 0012's index on data_fingerprint
--   alone. The list page marks each of its fifty rows with how many other runs repeat it
--   (duplicate_counts). Through data_fingerprint alone that read every run of the same
--   data: a parameter sweep of 1,000 runs on one file is 1,000 rows to read and group
--   for each row shown (14 ms a page at 200,000 results, seven times the list's own
--   read). With jsonb_hash(parameters) beside the fingerprint, each shown row is one
--   index probe that meets only its repeats (0.8 ms a page).
--   jsonb_hash is the hash of jsonb's own equality (1.0 and 1.00 hash alike), IMMUTABLE,
--   four bytes an entry whatever the size of the parameters. The leading column still
--   serves the data_fingerprint filter of list_backtests (tests/test_plans.py).
-- Why non-transactional: CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction;
--   both leave reads and writes running on a live database.
-- Locks: SHARE UPDATE EXCLUSIVE on mcp_backtest_results while the index builds and the
--   old one goes (reads and writes go on; other DDL waits).
-- If the build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and run
--   `backtest-store migrate` again (IF NOT EXISTS would otherwise keep the invalid one).
-- Undo: 0013.index-same-runs.rollback.sql builds 0012's index again, then drops this one.

SET lock_timeout = '5s';
SET statement_timeout = 0; -- an index build on a large table takes as long as it takes

CREATE INDEX CONCURRENTLY IF NOT EXISTS mcp_backtest_results_same_run_idx
    ON mcp_backtest_results (data_fingerprint, jsonb_hash(parameters));

DROP INDEX CONCURRENTLY IF EXISTS mcp_backtest_results_data_fingerprint_idx;
