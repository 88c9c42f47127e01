-- 0011 record-provenance
-- depends: 0010.widen-numeric-scales
--
-- What: where each result came from, in twelve new nullable columns of
--   mcp_backtest_results, after the seed's: experiment, run_by, saved_by,
--   code_version, engine, data_fingerprint, bars_per_year, benchmark_symbol,
--   benchmark_return, benchmark_curve, tags, extra_metrics; a trigger that sets
--   saved_by to the writing session's role; symbol widened from varchar(10) to
--   varchar(32); checks on the shapes of tags and extra_metrics, and that
--   bars_per_year is positive and neither it nor benchmark_return is NaN.
-- Why: two runs from different commits of the caller's code, or on different
--   price data, looked identical; nothing grouped the runs of one piece of research
--   or said on what clock their figures are annualized; the engines' figures that no
--   column holds (the benchmark above all) were dropped; real instruments
--   (1000PEPEUSDT, BTC-USD-PERP, 21-character OCC option symbols) did not fit.
-- How: ADD COLUMN of a nullable column without a default, and widening a varchar,
--   change the catalog only: no row is rewritten or scanned, and the indexes on
--   symbol are kept as they are. The five checks are added NOT VALID (every row
--   written from now on is checked; the catalog alone changes) and 0012 validates
--   them, each in a transaction of its own that takes only a SHARE UPDATE
--   EXCLUSIVE lock while it reads the table (a validation here would scan under
--   this file's ACCESS EXCLUSIVE lock). Old writers
--   (the seed's SQLAlchemy models included) keep working: every new column may be
--   left out. saved_by is the database's: the trigger sets it to session_user on
--   insert, whatever the client sends, and keeps it on update, so rows written
--   before this migration stay NULL (unknown), never the role that migrated. The
--   indexes that make the new filters fast are 0012's (built concurrently).
-- Locks: ACCESS EXCLUSIVE on mcp_backtest_results for the catalog changes only, no
--   scan and no rewrite (milliseconds once granted; lock_timeout (5 s) makes the
--   migration fail fast behind a long transaction rather than queue every session
--   behind it).
-- Undo: 0011.record-provenance.rollback.sql drops the columns, the checks and the
--   trigger, and narrows symbol back to varchar(10); it refuses, naming the rows,
--   when a stored symbol is longer than 10 characters.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- Citus: a trigger on a distributed table runs on each shard; this one sets a column
-- of the row it fires for and touches nothing else, which is safe (no effect elsewhere).
SET LOCAL citus.enable_unsafe_triggers = on;

-- squawk-ignore-file changing-column-type
-- (varchar(10) to varchar(32) is binary coercible: the catalog changes, no row is
-- rewritten, no index rebuilt, and every reader of symbol reads what it read before)

-- the function first: on Citus, a function command may not follow a parallel operation on
-- a distributed table in the same transaction
CREATE FUNCTION mcp_set_saved_by() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.saved_by := session_user;
    ELSE
        NEW.saved_by := OLD.saved_by;
    END IF;
    RETURN NEW;
END;
$$;

ALTER TABLE mcp_backtest_results
    ADD COLUMN experiment varchar(200),
    ADD COLUMN run_by varchar(200),
    ADD COLUMN saved_by varchar(63),
    ADD COLUMN code_version varchar(80),
    ADD COLUMN engine varchar(100),
    ADD COLUMN data_fingerprint varchar(100),
    ADD COLUMN bars_per_year numeric(12,4),
    ADD COLUMN benchmark_symbol varchar(32),
    ADD COLUMN benchmark_return numeric(14,8),
    ADD COLUMN benchmark_curve jsonb,
    ADD COLUMN tags jsonb,
    ADD COLUMN extra_metrics jsonb,
    ALTER COLUMN symbol TYPE varchar(32);

ALTER TABLE mcp_backtest_results ADD CONSTRAINT ck_mcp_backtest_results_tags
    CHECK (jsonb_typeof(tags) = 'object'
           AND NOT jsonb_path_exists(tags, '$.* ? (@.type() != "string")')) NOT VALID;
ALTER TABLE mcp_backtest_results ADD CONSTRAINT ck_mcp_backtest_results_extra_metrics
    CHECK (jsonb_typeof(extra_metrics) = 'object'
           AND NOT jsonb_path_exists(extra_metrics, '$.* ? (@.type() != "number")')) NOT VALID;
ALTER TABLE mcp_backtest_results ADD CONSTRAINT ck_mcp_backtest_results_bars_per_year
    CHECK (bars_per_year > 0) NOT VALID;
-- as 0009 for every numeric column: NaN is no number (and NaN > 0 holds in PostgreSQL)
ALTER TABLE mcp_backtest_results ADD CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan
    CHECK (bars_per_year <> 'NaN'::numeric) NOT VALID;
ALTER TABLE mcp_backtest_results ADD CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan
    CHECK (benchmark_return <> 'NaN'::numeric) NOT VALID;

CREATE TRIGGER mcp_backtest_results_set_saved_by
    BEFORE INSERT OR UPDATE ON mcp_backtest_results
    FOR EACH ROW EXECUTE FUNCTION mcp_set_saved_by();

COMMENT ON FUNCTION mcp_set_saved_by() IS
    'BEFORE INSERT OR UPDATE trigger of mcp_backtest_results: saved_by is the inserting session''s role (session_user), whatever the client sends, and never changes afterwards.';
COMMENT ON COLUMN mcp_backtest_results.symbol IS 'Ticker symbol tested, e.g. AAPL, BTC-USD-PERP (at most 32 characters).';
COMMENT ON COLUMN mcp_backtest_results.experiment IS 'The research the run belongs to (an MLflow experiment, an Optuna study): one name groups a sweep, a grid and its walk-forward runs; at most 200 characters; NULL when not given.';
COMMENT ON COLUMN mcp_backtest_results.run_by IS 'The person or service that ran the backtest, as the client says (the saving process''s login name unless given); at most 200 characters.';
COMMENT ON COLUMN mcp_backtest_results.saved_by IS 'The database role that wrote the row (session_user), set by trigger mcp_backtest_results_set_saved_by whatever the client sends; NULL for rows written before migration 0011.';
COMMENT ON COLUMN mcp_backtest_results.code_version IS 'The caller''s code: the git commit of the working tree that ran the backtest, with a +dirty mark when it had uncommitted changes; NULL outside a git repository.';
COMMENT ON COLUMN mcp_backtest_results.engine IS 'The backtest library and its version, e.g. backtesting.py 0.6.5 or vectorbt 1.2.0.';
COMMENT ON COLUMN mcp_backtest_results.data_fingerprint IS 'A digest of the price data the run used (sha256 of its bars, as sha256:<hex>): the same bars give the same fingerprint, any changed bar a different one.';
COMMENT ON COLUMN mcp_backtest_results.bars_per_year IS 'The annualization basis of the run''s annualized figures, in bars per year (252 for daily bars on trading days, 365 for daily crypto, the engine''s own setting); > 0.';
COMMENT ON COLUMN mcp_backtest_results.benchmark_symbol IS 'What the run is measured against (by default the traded instrument, bought and held); at most 32 characters.';
COMMENT ON COLUMN mcp_backtest_results.benchmark_return IS 'Total return of the benchmark over the period as a fraction (0.15 = 15 %).';
COMMENT ON COLUMN mcp_backtest_results.benchmark_curve IS 'The benchmark''s value over time, in the same shape and timestamps as equity_curve.';
COMMENT ON COLUMN mcp_backtest_results.tags IS 'Free labels: a JSON object of string keys to string values, e.g. {"universe": "sp500"}; searched by jsonb containment.';
COMMENT ON COLUMN mcp_backtest_results.extra_metrics IS 'The engine''s figures that no column holds (SQN, exposure, expectancy, Kelly criterion): a JSON object of name to number, each in the engine''s own unit.';
COMMENT ON CONSTRAINT ck_mcp_backtest_results_tags ON mcp_backtest_results IS 'tags is a JSON object of string values.';
COMMENT ON CONSTRAINT ck_mcp_backtest_results_extra_metrics ON mcp_backtest_results IS 'extra_metrics is a JSON object of numbers.';
COMMENT ON CONSTRAINT ck_mcp_backtest_results_bars_per_year ON mcp_backtest_results IS 'bars_per_year is positive.';
COMMENT ON CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan ON mcp_backtest_results IS 'bars_per_year is a number, not NaN.';
COMMENT ON CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan ON mcp_backtest_results IS 'benchmark_return is a number, not NaN.';
