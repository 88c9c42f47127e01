-- Rollback of 0009: drop the NaN checks; numeric columns accept 'NaN' again.
-- transactional: false
-- Locks: ACCESS EXCLUSIVE on each table for the drop (milliseconds).

-- squawk-ignore-file ban-drop-constraint
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE mcp_backtest_results
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_initial_capital_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_fees_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_slippage_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_total_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_annualized_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_sharpe_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_sortino_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_calmar_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_max_drawdown_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_volatility_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_downside_volatility_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_win_rate_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_profit_factor_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_average_win_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_average_loss_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_largest_win_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_largest_loss_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_final_portfolio_value_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_peak_portfolio_value_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_beta_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_alpha_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_results_execution_time_seconds_not_nan;

ALTER TABLE mcp_backtest_trades
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_entry_price_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_exit_price_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_position_size_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_pnl_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_pnl_percent_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_mae_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_mfe_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_duration_hours_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_fees_paid_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_trades_slippage_cost_not_nan;

ALTER TABLE mcp_optimization_results
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_objective_value_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_total_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_sharpe_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_max_drawdown_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_win_rate_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_profit_factor_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_optimization_results_p_value_not_nan;

ALTER TABLE mcp_walk_forward_tests
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_training_performance_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_sharpe_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_out_of_sample_drawdown_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_performance_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_walk_forward_tests_degradation_factor_not_nan;

ALTER TABLE mcp_backtest_portfolios
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_initial_capital_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_portfolio_stop_loss_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_max_sector_allocation_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_correlation_threshold_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_total_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_annualized_return_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_sharpe_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_sortino_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_max_drawdown_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_volatility_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_diversification_ratio_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_concentration_index_not_nan,
    DROP CONSTRAINT IF EXISTS ck_mcp_backtest_portfolios_turnover_rate_not_nan;
