-- 0004 create-optimization-results
-- depends: 0002.create-backtest-results
--
-- What: mcp_optimization_results, one row per parameter set tried by a
--   parameter optimization of a backtest, its three indexes and its
--   updated_at trigger.
-- Why: keeps every candidate of an optimization with its objective value and
--   rank. Columns and index names are those of the Alembic revision 013;
--   parameters is jsonb, optimization_id defaults to gen_random_uuid(),
--   optimization_date, created_at and updated_at default to now().
-- Conventions: returns and drawdowns as fractions, drawdowns <= 0; rank 1 is
--   the best objective value.
-- Locks: SHARE ROW EXCLUSIVE on mcp_backtest_results while the foreign key
--   is added (instant: the table is new in the same release).
-- Undo: 0004.create-optimization-results.rollback.sql drops the table.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mcp_optimization_results (
    optimization_id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    backtest_id                  uuid          NOT NULL,
    optimization_date            timestamptz   NOT NULL DEFAULT now(),
    parameter_set                integer       NOT NULL,
    parameters                   jsonb         NOT NULL,
    objective_function           varchar(50),
    objective_value              numeric(12,6),
    total_return                 numeric(10,4),
    sharpe_ratio                 numeric(8,4),
    max_drawdown                 numeric(8,4),
    win_rate                     numeric(5,4),
    profit_factor                numeric(8,4),
    total_trades                 integer,
    rank                         integer,
    is_statistically_significant boolean       DEFAULT false,
    p_value                      numeric(8,6),
    created_at                   timestamptz   NOT NULL DEFAULT now(),
    updated_at                   timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_optimization_results_pkey PRIMARY KEY (optimization_id),
    CONSTRAINT mcp_optimization_results_backtest_id_fkey FOREIGN KEY (backtest_id)
        REFERENCES mcp_backtest_results (backtest_id) ON DELETE CASCADE
);

CREATE INDEX mcp_optimization_results_backtest_idx ON mcp_optimization_results (backtest_id);
CREATE INDEX mcp_optimization_results_param_set_idx ON mcp_optimization_results (parameter_set);
CREATE INDEX mcp_optimization_results_objective_idx ON mcp_optimization_results (objective_value);

CREATE TRIGGER mcp_optimization_results_set_updated_at
    BEFORE UPDATE ON mcp_optimization_results
    FOR EACH ROW EXECUTE FUNCTION mcp_set_updated_at();

COMMENT ON TABLE mcp_optimization_results IS
    'One parameter set evaluated by a parameter optimization of a backtest (mcp_backtest_results); deleted with it (ON DELETE CASCADE).';
COMMENT ON COLUMN mcp_optimization_results.optimization_id IS 'Primary key; gen_random_uuid() unless given.';
COMMENT ON COLUMN mcp_optimization_results.backtest_id IS 'The backtest the optimization belongs to.';
COMMENT ON COLUMN mcp_optimization_results.optimization_date IS 'When the optimization ran (recorded); defaults to now().';
COMMENT ON COLUMN mcp_optimization_results.parameter_set IS 'Number of this parameter set within the optimization, 1..n; >= 0.';
COMMENT ON COLUMN mcp_optimization_results.parameters IS 'The parameter values tried, as a JSON object.';
COMMENT ON COLUMN mcp_optimization_results.objective_function IS 'Name of the optimized objective, e.g. sharpe_ratio (at most 50 characters).';
COMMENT ON COLUMN mcp_optimization_results.objective_value IS 'Value of the objective for this parameter set; higher is better.';
COMMENT ON COLUMN mcp_optimization_results.total_return IS 'Total return as a fraction (0.15 = 15 %).';
COMMENT ON COLUMN mcp_optimization_results.sharpe_ratio IS 'Annualized Sharpe ratio; dimensionless.';
COMMENT ON COLUMN mcp_optimization_results.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity; <= 0.';
COMMENT ON COLUMN mcp_optimization_results.win_rate IS 'Fraction of winning trades, between 0 and 1.';
COMMENT ON COLUMN mcp_optimization_results.profit_factor IS 'Gross profit / gross loss; dimensionless.';
COMMENT ON COLUMN mcp_optimization_results.total_trades IS 'Number of trades with these parameters; >= 0.';
COMMENT ON COLUMN mcp_optimization_results.rank IS 'Rank by objective_value within the optimization, 1 = best; >= 1.';
COMMENT ON COLUMN mcp_optimization_results.is_statistically_significant IS 'Whether the result passed the significance test; default false.';
COMMENT ON COLUMN mcp_optimization_results.p_value IS 'p-value of the significance test, between 0 and 1.';
COMMENT ON COLUMN mcp_optimization_results.created_at IS 'When the row was inserted; never changes.';
COMMENT ON COLUMN mcp_optimization_results.updated_at IS 'When the row was last changed; set by trigger mcp_optimization_results_set_updated_at.';
