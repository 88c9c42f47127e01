-- 0009 refuse-numeric-nan
-- depends: 0008.index-dao-queries
-- transactional: false
--
-- What: a CHECK constraint per numeric column of the five tables,
--   ck_<table>_<column>_not_nan CHECK (<column> <> 'NaN'), 58 in all.
-- Why: PostgreSQL's numeric accepts 'NaN', and sorts it above every number:
--   a NaN Sharpe ratio written by another writer (the replaced service during
--   the switch, a psql session, a script) would rank first in top_backtests
--   and make every average NaN. The DAO refuses NaN (or stores NULL under
--   nonfinite="null"); these checks hold every other writer to the same rule,
--   and the refusal names the column. NULL passes, as in every ck_ check.
-- How (online-safe on a live database with data): each table's checks are
--   added NOT VALID in one short ALTER TABLE (new writes are checked at once),
--   then each is validated in its own statement, which scans the table without
--   blocking reads or writes. The file is not one transaction, so that the
--   validating scans never run under the ACCESS EXCLUSIVE lock of the ADDs.
--   Every statement can be run again: a run stopped part-way (lock_timeout, a
--   NaN found by VALIDATE) is finished by running `backtest-store migrate` again.
-- Locks: ACCESS EXCLUSIVE on each table for the ADD (milliseconds; lock_timeout
--   makes it fail fast behind a long transaction rather than queue other
--   sessions behind it); SHARE UPDATE EXCLUSIVE during each VALIDATE.
-- If VALIDATE fails, rows hold NaN: find them with
--   SELECT backtest_id FROM mcp_backtest_results WHERE sharpe_ratio = 'NaN';
--   set them to NULL (or fix them) and run migrate again.
-- Undo: 0009.refuse-numeric-nan.rollback.sql drops the checks.

-- squawk-ignore-file ban-drop-constraint
-- (each DROP ... IF EXISTS removes only the check the next line adds again: it is
-- what makes a stopped run safe to repeat)
SET lock_timeout = '5s';
SET statement_timeout = 0; -- a validating scan of a large table takes as long as it takes

ALTER TABLE mcp_backtest_results
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_initial_capital_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_initial_capital_not_nan CHECK (initial_capital <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_fees_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_fees_not_nan CHECK (fees <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_slippage_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_slippage_not_nan CHECK (slippage <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_total_return_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_total_return_not_nan CHECK (total_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_annualized_return_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_annualized_return_not_nan CHECK (annualized_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_sharpe_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_sharpe_ratio_not_nan CHECK (sharpe_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_sortino_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_sortino_ratio_not_nan CHECK (sortino_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_calmar_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_calmar_ratio_not_nan CHECK (calmar_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_max_drawdown_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_max_drawdown_not_nan CHECK (max_drawdown <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_volatility_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_volatility_not_nan CHECK (volatility <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_downside_volatility_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_downside_volatility_not_nan CHECK (downside_volatility <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_win_rate_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_win_rate_not_nan CHECK (win_rate <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_profit_factor_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_profit_factor_not_nan CHECK (profit_factor <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_average_win_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_average_win_not_nan CHECK (average_win <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_average_loss_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_average_loss_not_nan CHECK (average_loss <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_largest_win_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_largest_win_not_nan CHECK (largest_win <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_largest_loss_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_largest_loss_not_nan CHECK (largest_loss <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_final_portfolio_value_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_final_portfolio_value_not_nan CHECK (final_portfolio_value <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_peak_portfolio_value_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_peak_portfolio_value_not_nan CHECK (peak_portfolio_value <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_beta_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_beta_not_nan CHECK (beta <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_alpha_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_alpha_not_nan CHECK (alpha <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_execution_time_seconds_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_results_execution_time_seconds_not_nan CHECK (execution_time_seconds <> 'NaN') NOT VALID;

ALTER TABLE mcp_backtest_trades
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_entry_price_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_entry_price_not_nan CHECK (entry_price <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_exit_price_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_exit_price_not_nan CHECK (exit_price <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_position_size_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_position_size_not_nan CHECK (position_size <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_pnl_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_pnl_not_nan CHECK (pnl <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_pnl_percent_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_pnl_percent_not_nan CHECK (pnl_percent <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_mae_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_mae_not_nan CHECK (mae <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_mfe_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_mfe_not_nan CHECK (mfe <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_duration_hours_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_duration_hours_not_nan CHECK (duration_hours <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_fees_paid_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_fees_paid_not_nan CHECK (fees_paid <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_slippage_cost_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_trades_slippage_cost_not_nan CHECK (slippage_cost <> 'NaN') NOT VALID;

ALTER TABLE mcp_optimization_results
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_objective_value_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_objective_value_not_nan CHECK (objective_value <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_total_return_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_total_return_not_nan CHECK (total_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_sharpe_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_sharpe_ratio_not_nan CHECK (sharpe_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_max_drawdown_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_max_drawdown_not_nan CHECK (max_drawdown <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_win_rate_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_win_rate_not_nan CHECK (win_rate <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_profit_factor_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_profit_factor_not_nan CHECK (profit_factor <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_p_value_not_nan,
    ADD CONSTRAINT ck_mcp_optimization_results_p_value_not_nan CHECK (p_value <> 'NaN') NOT VALID;

ALTER TABLE mcp_walk_forward_tests
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_training_performance_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_training_performance_not_nan CHECK (training_performance <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_return_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_return_not_nan CHECK (out_of_sample_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_sharpe_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_sharpe_not_nan CHECK (out_of_sample_sharpe <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_drawdown_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_drawdown_not_nan CHECK (out_of_sample_drawdown <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_performance_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_performance_ratio_not_nan CHECK (performance_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_degradation_factor_not_nan,
    ADD CONSTRAINT ck_mcp_walk_forward_tests_degradation_factor_not_nan CHECK (degradation_factor <> 'NaN') NOT VALID;

ALTER TABLE mcp_backtest_portfolios
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_initial_capital_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_initial_capital_not_nan CHECK (initial_capital <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_portfolio_stop_loss_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_portfolio_stop_loss_not_nan CHECK (portfolio_stop_loss <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_max_sector_allocation_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation_not_nan CHECK (max_sector_allocation <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_correlation_threshold_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_correlation_threshold_not_nan CHECK (correlation_threshold <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_total_return_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_total_return_not_nan CHECK (total_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_annualized_return_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_annualized_return_not_nan CHECK (annualized_return <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_sharpe_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_sharpe_ratio_not_nan CHECK (sharpe_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_sortino_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_sortino_ratio_not_nan CHECK (sortino_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_max_drawdown_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown_not_nan CHECK (max_drawdown <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_volatility_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_volatility_not_nan CHECK (volatility <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_diversification_ratio_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_diversification_ratio_not_nan CHECK (diversification_ratio <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_concentration_index_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_concentration_index_not_nan CHECK (concentration_index <> 'NaN') NOT VALID,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_turnover_rate_not_nan,
    ADD CONSTRAINT ck_mcp_backtest_portfolios_turnover_rate_not_nan CHECK (turnover_rate <> 'NaN') NOT VALID;

ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_initial_capital_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_fees_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_slippage_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_total_return_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_annualized_return_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_sharpe_ratio_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_sortino_ratio_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_calmar_ratio_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_max_drawdown_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_volatility_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_downside_volatility_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_win_rate_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_profit_factor_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_average_win_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_average_loss_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_largest_win_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_largest_loss_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_final_portfolio_value_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_peak_portfolio_value_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_beta_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_alpha_not_nan;
ALTER TABLE mcp_backtest_results VALIDATE CONSTRAINT ck_mcp_backtest_results_execution_time_seconds_not_nan;

ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_entry_price_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_exit_price_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_position_size_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_pnl_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_pnl_percent_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_mae_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_mfe_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_duration_hours_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_fees_paid_not_nan;
ALTER TABLE mcp_backtest_trades VALIDATE CONSTRAINT ck_mcp_backtest_trades_slippage_cost_not_nan;

ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_objective_value_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_total_return_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_sharpe_ratio_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_max_drawdown_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_win_rate_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_profit_factor_not_nan;
ALTER TABLE mcp_optimization_results VALIDATE CONSTRAINT ck_mcp_optimization_results_p_value_not_nan;

ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_training_performance_not_nan;
ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_return_not_nan;
ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_sharpe_not_nan;
ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_drawdown_not_nan;
ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_performance_ratio_not_nan;
ALTER TABLE mcp_walk_forward_tests VALIDATE CONSTRAINT ck_mcp_walk_forward_tests_degradation_factor_not_nan;

ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_initial_capital_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_portfolio_stop_loss_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_correlation_threshold_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_total_return_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_annualized_return_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_sharpe_ratio_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_sortino_ratio_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_volatility_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_diversification_ratio_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_concentration_index_not_nan;
ALTER TABLE mcp_backtest_portfolios VALIDATE CONSTRAINT ck_mcp_backtest_portfolios_turnover_rate_not_nan;
