-- 0007 add-integrity-checks
-- depends: 0003.create-backtest-trades 0004.create-optimization-results 0005.create-walk-forward-tests 0006.create-backtest-portfolios
--
-- What: named CHECK constraints, ck_<table>_<rule>, on the five tables.
--   A violating write fails with SQLSTATE 23514 and the constraint's name,
--   which the DAO reports as a ConstraintViolation naming the rule.
-- Why: the Alembic revision 013 had no checks, so a bad writer could store
--   a trade with direction 'buy' or an end date before the start date. Every
--   rule below is one that valid data never breaks. The conventions they
--   encode:
--     * returns, drawdowns, volatilities and win rates are fractions
--       (0.15 = 15 %), not percentages;
--     * a drawdown is a negative fraction of peak equity: max_drawdown <= 0
--       (-0.20 = 20 % below the peak); volatilities are >= 0;
--     * win_rate and p_value lie between 0 and 1;
--     * status is one of completed, failed, in_progress; direction is long
--       or short (lower case);
--     * periods end on or after they start (end_date >= start_date, and the
--       same for the training and test periods of a walk-forward window);
--       a trade exits on or after it entered, when both are known;
--     * counts and durations are >= 0, and winning_trades + losing_trades
--       <= total_trades (break-even trades count in neither);
--     * an optimization rank starts at 1; walk-forward window and step
--       sizes are at least one month.
--   NULL passes every check (unknown values stay allowed, as in the seed).
-- Locks: ACCESS EXCLUSIVE on each table while its constraints are added and
--   validated, in one transaction. The tables are created by 0002-0006 of
--   the same release, so they are empty when this runs and the locks last
--   milliseconds; lock_timeout makes it fail fast rather than queue behind
--   a long transaction.
-- Undo: 0007.add-integrity-checks.rollback.sql drops every constraint.

-- squawk-ignore-file constraint-missing-not-valid
-- (justified in the header: the tables are new and empty when this runs)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE mcp_backtest_results
    ADD CONSTRAINT ck_mcp_backtest_results_date_range CHECK (end_date >= start_date),
    ADD CONSTRAINT ck_mcp_backtest_results_status CHECK (status IN ('completed', 'failed', 'in_progress')),
    ADD CONSTRAINT ck_mcp_backtest_results_trade_counts CHECK (total_trades >= 0 AND winning_trades >= 0 AND losing_trades >= 0),
    ADD CONSTRAINT ck_mcp_backtest_results_trades_add_up CHECK (winning_trades::bigint + losing_trades <= total_trades),
    ADD CONSTRAINT ck_mcp_backtest_results_win_rate CHECK (win_rate BETWEEN 0 AND 1),
    ADD CONSTRAINT ck_mcp_backtest_results_max_drawdown CHECK (max_drawdown <= 0),
    ADD CONSTRAINT ck_mcp_backtest_results_volatility CHECK (volatility >= 0 AND downside_volatility >= 0),
    ADD CONSTRAINT ck_mcp_backtest_results_durations CHECK (max_drawdown_duration >= 0 AND execution_time_seconds >= 0 AND data_points >= 0);

ALTER TABLE mcp_backtest_trades
    ADD CONSTRAINT ck_mcp_backtest_trades_direction CHECK (direction IN ('long', 'short')),
    ADD CONSTRAINT ck_mcp_backtest_trades_exit_after_entry CHECK (exit_date >= entry_date AND exit_time >= entry_time),
    ADD CONSTRAINT ck_mcp_backtest_trades_trade_number CHECK (trade_number >= 0),
    ADD CONSTRAINT ck_mcp_backtest_trades_durations CHECK (duration_days >= 0 AND duration_hours >= 0);

ALTER TABLE mcp_optimization_results
    ADD CONSTRAINT ck_mcp_optimization_results_parameter_set CHECK (parameter_set >= 0),
    ADD CONSTRAINT ck_mcp_optimization_results_rank CHECK (rank >= 1),
    ADD CONSTRAINT ck_mcp_optimization_results_total_trades CHECK (total_trades >= 0),
    ADD CONSTRAINT ck_mcp_optimization_results_win_rate CHECK (win_rate BETWEEN 0 AND 1),
    ADD CONSTRAINT ck_mcp_optimization_results_max_drawdown CHECK (max_drawdown <= 0),
    ADD CONSTRAINT ck_mcp_optimization_results_p_value CHECK (p_value BETWEEN 0 AND 1);

ALTER TABLE mcp_walk_forward_tests
    ADD CONSTRAINT ck_mcp_walk_forward_tests_training_period CHECK (training_end >= training_start),
    ADD CONSTRAINT ck_mcp_walk_forward_tests_test_period CHECK (test_period_end >= test_period_start),
    ADD CONSTRAINT ck_mcp_walk_forward_tests_window CHECK (window_size_months >= 1 AND step_size_months >= 1),
    ADD CONSTRAINT ck_mcp_walk_forward_tests_trades CHECK (out_of_sample_trades >= 0),
    ADD CONSTRAINT ck_mcp_walk_forward_tests_drawdown CHECK (out_of_sample_drawdown <= 0);

ALTER TABLE mcp_backtest_portfolios
    ADD CONSTRAINT ck_mcp_backtest_portfolios_date_range CHECK (end_date >= start_date),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_status CHECK (status IN ('completed', 'failed', 'in_progress')),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_max_positions CHECK (max_positions >= 0),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown CHECK (max_drawdown <= 0),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_volatility CHECK (volatility >= 0),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation CHECK (max_sector_allocation BETWEEN 0 AND 1),
    ADD CONSTRAINT ck_mcp_backtest_portfolios_symbols_array CHECK (jsonb_typeof(symbols) = 'array');
