-- Rollback of 0001: drop the updated_at trigger function.
-- Locks: none beyond the function itself; the tables using it are gone by now.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-function
DROP FUNCTION mcp_set_updated_at();
