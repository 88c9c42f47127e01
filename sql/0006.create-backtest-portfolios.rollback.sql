-- Rollback of 0006: drop mcp_backtest_portfolios with its indexes and
-- trigger. Locks: ACCESS EXCLUSIVE on the table.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table
DROP TABLE mcp_backtest_portfolios;
