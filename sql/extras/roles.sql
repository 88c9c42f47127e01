-- roles.sql: optional least-privilege roles for backtest-store (not a migration).
--
-- What: two group roles, without LOGIN, that a DBA grants to the login roles of services:
--   backtest_store_app       reads and writes the five tables (the DAO's needs), no DDL;
--   backtest_store_readonly  reads them.
--   Both may read yoyo's _yoyo_migration table, which the DAO's connect-time schema check
--   reads. Neither may create, alter or drop anything: migrations run as the owner
--   (`backtest-store migrate` with the owner's URL).
-- Why: a service that only saves and queries results should not be able to change the
--   schema, and a dashboard should not be able to change results.
-- How: run it as the schema owner after `backtest-store migrate`, in the application
--   database, then grant a role to each service's login:
--     psql "$OWNER_URL" -f sql/extras/roles.sql
--     psql "$OWNER_URL" -c 'GRANT backtest_store_app TO my_service'
--   It is idempotent: run it again after migrations that add tables.
-- Locks: none beyond the brief catalog updates of GRANT.
-- Undo: REVOKE ... FROM / DROP ROLE (see the end of this file).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backtest_store_app') THEN
        CREATE ROLE backtest_store_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backtest_store_readonly') THEN
        CREATE ROLE backtest_store_readonly NOLOGIN;
    END IF;
END
$$;

-- The schema: use it, never create in it (PostgreSQL 15 already revokes CREATE on
-- public from PUBLIC; this says so explicitly for older servers too).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO backtest_store_app, backtest_store_readonly;

GRANT SELECT, INSERT, UPDATE, DELETE
    ON mcp_backtest_results, mcp_backtest_trades, mcp_optimization_results,
       mcp_walk_forward_tests, mcp_backtest_portfolios
    TO backtest_store_app;

GRANT SELECT
    ON mcp_backtest_results, mcp_backtest_trades, mcp_optimization_results,
       mcp_walk_forward_tests, mcp_backtest_portfolios
    TO backtest_store_readonly;

-- The connect-time schema check reads which migrations are applied.
GRANT SELECT ON _yoyo_migration TO backtest_store_app, backtest_store_readonly;

-- Undo:
--   REVOKE ALL ON mcp_backtest_results, mcp_backtest_trades, mcp_optimization_results,
--       mcp_walk_forward_tests, mcp_backtest_portfolios, _yoyo_migration
--       FROM backtest_store_app, backtest_store_readonly;
--   REVOKE USAGE ON SCHEMA public FROM backtest_store_app, backtest_store_readonly;
--   DROP ROLE backtest_store_app; DROP ROLE backtest_store_readonly;
