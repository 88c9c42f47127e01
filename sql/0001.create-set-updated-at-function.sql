-- 0001 create-set-updated-at-function
--
-- What: a trigger function, mcp_set_updated_at(), that every backtest table
--   attaches BEFORE UPDATE. It sets updated_at to now() and restores
--   created_at, so updated_at is always current and created_at never changes.
-- Why: the Alembic/SQLAlchemy code this package replaces filled both columns
--   in Python (onupdate=...). A raw-SQL package has no ORM hooks, so the
--   database does it, for every writer, including psql sessions.
-- Locks: none (a new function).
-- Undo: 0001.create-set-updated-at-function.rollback.sql drops the function;
--   roll back the tables that use it first (yoyo does, in reverse order).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE FUNCTION mcp_set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- now() is the start of the writing transaction: every row touched by
    -- one transaction carries the same updated_at.
    NEW.created_at := OLD.created_at;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION mcp_set_updated_at() IS
    'BEFORE UPDATE trigger of the mcp_backtest_* tables: sets updated_at to now() and keeps created_at unchanged.';
