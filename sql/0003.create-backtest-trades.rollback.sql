-- Rollback of 0003: drop mcp_backtest_trades with its indexes, trigger and
-- foreign key. Locks: ACCESS EXCLUSIVE on the table and briefly on
-- mcp_backtest_results while the foreign key goes.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table
DROP TABLE mcp_backtest_trades;
