-- Rollback of 0007: drop every ck_ constraint that 0007 added.
-- Locks: ACCESS EXCLUSIVE on each table, briefly (dropping a CHECK scans nothing).

-- squawk-ignore-file ban-drop-constraint
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE mcp_backtest_results
    DROP CONSTRAINT ck_mcp_backtest_results_date_range,
    DROP CONSTRAINT ck_mcp_backtest_results_status,
    DROP CONSTRAINT ck_mcp_backtest_results_trade_counts,
    DROP CONSTRAINT ck_mcp_backtest_results_trades_add_up,
    DROP CONSTRAINT ck_mcp_backtest_results_win_rate,
    DROP CONSTRAINT ck_mcp_backtest_results_max_drawdown,
    DROP CONSTRAINT ck_mcp_backtest_results_volatility,
    DROP CONSTRAINT ck_mcp_backtest_results_durations;

ALTER TABLE mcp_backtest_trades
    DROP CONSTRAINT ck_mcp_backtest_trades_direction,
    DROP CONSTRAINT ck_mcp_backtest_trades_exit_after_entry,
    DROP CONSTRAINT ck_mcp_backtest_trades_trade_number,
    DROP CONSTRAINT ck_mcp_backtest_trades_durations;

ALTER TABLE mcp_optimization_results
    DROP CONSTRAINT ck_mcp_optimization_results_parameter_set,
    DROP CONSTRAINT ck_mcp_optimization_results_rank,
    DROP CONSTRAINT ck_mcp_optimization_results_total_trades,
    DROP CONSTRAINT ck_mcp_optimization_results_win_rate,
    DROP CONSTRAINT ck_mcp_optimization_results_max_drawdown,
    DROP CONSTRAINT ck_mcp_optimization_results_p_value;

ALTER TABLE mcp_walk_forward_tests
    DROP CONSTRAINT ck_mcp_walk_forward_tests_training_period,
    DROP CONSTRAINT ck_mcp_walk_forward_tests_test_period,
    DROP CONSTRAINT ck_mcp_walk_forward_tests_window,
    DROP CONSTRAINT ck_mcp_walk_forward_tests_trades,
    DROP CONSTRAINT ck_mcp_walk_forward_tests_drawdown;

ALTER TABLE mcp_backtest_portfolios
    DROP CONSTRAINT ck_mcp_backtest_portfolios_date_range,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_status,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_max_positions,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_volatility,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation,
    DROP CONSTRAINT ck_mcp_backtest_portfolios_symbols_array;
