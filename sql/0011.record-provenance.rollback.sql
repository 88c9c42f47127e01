-- Rollback of 0011: drop the provenance columns, their checks and the saved_by trigger,
-- and narrow symbol back to varchar(10).
-- Refuses first, naming up to five rows and how many there are, when a stored symbol
-- is longer than 10 characters: a rollback never cuts data. Fix or delete those rows,
-- then roll back again.
-- Locks: ACCESS EXCLUSIVE on mcp_backtest_results for the check (a scan of symbol) and
--   the catalog changes (dropping columns rewrites nothing; narrowing a varchar scans
--   the table to check every value fits).

-- squawk-ignore-file ban-drop-function, ban-drop-constraint, ban-drop-column, changing-column-type
-- (a rollback removes what 0011 added, and only that; narrowing symbol is checked above
-- so that no stored value is cut)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = 0;
-- Citus: dropping a distributed table's trigger is refused without it (see 0011)
SET LOCAL citus.enable_unsafe_triggers = on;

LOCK TABLE mcp_backtest_results IN ACCESS EXCLUSIVE MODE;

-- Citus: dropping the trigger reaches every shard, and a function command may not follow
-- such a parallel operation in one transaction unless each node has one connection
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';
DROP TRIGGER mcp_backtest_results_set_saved_by ON mcp_backtest_results;
DROP FUNCTION mcp_set_saved_by();

DO $$
DECLARE
    n bigint;
    sample text;
BEGIN
    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, backtest_id || ' (' || symbol || ')' AS bad
          FROM mcp_backtest_results WHERE length(symbol) > 10 LIMIT 5) s;
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot roll back 0011: % backtest(s) have a symbol longer than 10 characters, e.g. %', n, sample
            USING HINT = 'shorten or delete them, then roll back again';
    END IF;
END;
$$;

ALTER TABLE mcp_backtest_results
    DROP CONSTRAINT ck_mcp_backtest_results_tags,
    DROP CONSTRAINT ck_mcp_backtest_results_extra_metrics,
    DROP CONSTRAINT ck_mcp_backtest_results_bars_per_year,
    DROP CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan,
    DROP CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan;

ALTER TABLE mcp_backtest_results
    DROP COLUMN experiment,
    DROP COLUMN run_by,
    DROP COLUMN saved_by,
    DROP COLUMN code_version,
    DROP COLUMN engine,
    DROP COLUMN data_fingerprint,
    DROP COLUMN bars_per_year,
    DROP COLUMN benchmark_symbol,
    DROP COLUMN benchmark_return,
    DROP COLUMN benchmark_curve,
    DROP COLUMN tags,
    DROP COLUMN extra_metrics,
    ALTER COLUMN symbol TYPE varchar(10);

COMMENT ON COLUMN mcp_backtest_results.symbol IS 'Ticker symbol tested, e.g. AAPL (at most 10 characters).';
