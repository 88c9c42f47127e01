-- Rollback of 0005: drop mcp_walk_forward_tests with its indexes, trigger
-- and foreign key. Locks: ACCESS EXCLUSIVE on the table.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table
DROP TABLE mcp_walk_forward_tests;
