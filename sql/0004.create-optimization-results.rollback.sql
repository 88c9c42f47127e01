-- Rollback of 0004: drop mcp_optimization_results with its indexes, trigger
-- and foreign key. Locks: ACCESS EXCLUSIVE on the table.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table
DROP TABLE mcp_optimization_results;
