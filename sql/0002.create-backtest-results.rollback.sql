-- Rollback of 0002: drop mcp_backtest_results with its indexes and trigger.
-- Locks: ACCESS EXCLUSIVE on the table while it is dropped. Its children
-- (0003-0005) are rolled back first, so no foreign key points at it.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table
DROP TABLE mcp_backtest_results;
