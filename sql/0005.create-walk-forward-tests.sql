-- 0005 create-walk-forward-tests
-- depends: 0002.create-backtest-results
--
-- What: mcp_walk_forward_tests, one row per walk-forward window (train on
--   one period, test out of sample on the next) of a parent backtest, its
--   three indexes and its updated_at trigger.
-- Why: walk-forward validation shows whether optimized parameters hold up
--   out of sample. Columns and index names are those of the Alembic
--   revision 013; optimal_parameters is jsonb, walk_forward_id defaults to
--   gen_random_uuid(), test_date, created_at and updated_at default to now().
-- Conventions: returns and drawdowns as fractions, drawdowns <= 0.
-- Locks: SHARE ROW EXCLUSIVE on mcp_backtest_results while the foreign key
--   is added (instant: the table is new in the same release).
-- Undo: 0005.create-walk-forward-tests.rollback.sql drops the table.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mcp_walk_forward_tests (
    walk_forward_id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    parent_backtest_id           uuid          NOT NULL,
    test_date                    timestamptz   NOT NULL DEFAULT now(),
    window_size_months           integer       NOT NULL,
    step_size_months             integer       NOT NULL,
    training_start               date          NOT NULL,
    training_end                 date          NOT NULL,
    test_period_start            date          NOT NULL,
    test_period_end              date          NOT NULL,
    optimal_parameters           jsonb,
    training_performance         numeric(10,4),
    out_of_sample_return         numeric(10,4),
    out_of_sample_sharpe         numeric(8,4),
    out_of_sample_drawdown       numeric(8,4),
    out_of_sample_trades         integer,
    performance_ratio            numeric(8,4),
    degradation_factor           numeric(8,4),
    is_profitable                boolean,
    is_statistically_significant boolean       DEFAULT false,
    created_at                   timestamptz   NOT NULL DEFAULT now(),
    updated_at                   timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_walk_forward_tests_pkey PRIMARY KEY (walk_forward_id),
    CONSTRAINT mcp_walk_forward_tests_parent_backtest_id_fkey FOREIGN KEY (parent_backtest_id)
        REFERENCES mcp_backtest_results (backtest_id) ON DELETE CASCADE
);

CREATE INDEX mcp_walk_forward_tests_parent_idx ON mcp_walk_forward_tests (parent_backtest_id);
CREATE INDEX mcp_walk_forward_tests_period_idx ON mcp_walk_forward_tests (test_period_start);
CREATE INDEX mcp_walk_forward_tests_performance_idx ON mcp_walk_forward_tests (out_of_sample_return);

CREATE TRIGGER mcp_walk_forward_tests_set_updated_at
    BEFORE UPDATE ON mcp_walk_forward_tests
    FOR EACH ROW EXECUTE FUNCTION mcp_set_updated_at();

COMMENT ON TABLE mcp_walk_forward_tests IS
    'One walk-forward window (in-sample training, out-of-sample test) of a parent backtest (mcp_backtest_results); deleted with it (ON DELETE CASCADE).';
COMMENT ON COLUMN mcp_walk_forward_tests.walk_forward_id IS 'Primary key; gen_random_uuid() unless given.';
COMMENT ON COLUMN mcp_walk_forward_tests.parent_backtest_id IS 'The backtest whose strategy is validated.';
COMMENT ON COLUMN mcp_walk_forward_tests.test_date IS 'When the walk-forward test ran (recorded); defaults to now().';
COMMENT ON COLUMN mcp_walk_forward_tests.window_size_months IS 'Length of the training window in months; > 0.';
COMMENT ON COLUMN mcp_walk_forward_tests.step_size_months IS 'How far the window moves between tests, in months; > 0.';
COMMENT ON COLUMN mcp_walk_forward_tests.training_start IS 'First day of the in-sample training period.';
COMMENT ON COLUMN mcp_walk_forward_tests.training_end IS 'Last day of the training period; not before training_start.';
COMMENT ON COLUMN mcp_walk_forward_tests.test_period_start IS 'First day of the out-of-sample test period.';
COMMENT ON COLUMN mcp_walk_forward_tests.test_period_end IS 'Last day of the test period; not before test_period_start.';
COMMENT ON COLUMN mcp_walk_forward_tests.optimal_parameters IS 'Parameters chosen on the training period, as a JSON object.';
COMMENT ON COLUMN mcp_walk_forward_tests.training_performance IS 'Objective value reached on the training period.';
COMMENT ON COLUMN mcp_walk_forward_tests.out_of_sample_return IS 'Return over the test period as a fraction (0.05 = 5 %).';
COMMENT ON COLUMN mcp_walk_forward_tests.out_of_sample_sharpe IS 'Sharpe ratio over the test period; dimensionless.';
COMMENT ON COLUMN mcp_walk_forward_tests.out_of_sample_drawdown IS 'Maximum drawdown over the test period as a negative fraction; <= 0.';
COMMENT ON COLUMN mcp_walk_forward_tests.out_of_sample_trades IS 'Number of trades in the test period; >= 0.';
COMMENT ON COLUMN mcp_walk_forward_tests.performance_ratio IS 'Out-of-sample performance / in-sample performance; dimensionless.';
COMMENT ON COLUMN mcp_walk_forward_tests.degradation_factor IS 'How much performance degraded out of sample (1 - performance_ratio); dimensionless.';
COMMENT ON COLUMN mcp_walk_forward_tests.is_profitable IS 'Whether the test period made money.';
COMMENT ON COLUMN mcp_walk_forward_tests.is_statistically_significant IS 'Whether the out-of-sample result is statistically significant; default false.';
COMMENT ON COLUMN mcp_walk_forward_tests.created_at IS 'When the row was inserted; never changes.';
COMMENT ON COLUMN mcp_walk_forward_tests.updated_at IS 'When the row was last changed; set by trigger mcp_walk_forward_tests_set_updated_at.';
