-- Rollback of 0010: the seed's numeric types again.
-- Refuses first, naming up to five rows per table and how many there are, when a
-- stored value has more decimals or whole digits than the old type holds: a
-- rollback never rounds data away. Fix or delete those rows, then roll back again.
-- Locks: ACCESS EXCLUSIVE on all five tables for the check and the rewrite (each
--   table is scanned once for values that would not fit, then rewritten once).

-- squawk-ignore-file changing-column-type
-- (the rewrite is the point of this file, and its lock is measured and stated above;
-- the types are widened, so no reader of these columns breaks)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = 0;

LOCK TABLE mcp_backtest_results, mcp_backtest_trades, mcp_optimization_results,
    mcp_walk_forward_tests, mcp_backtest_portfolios IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
    n bigint;
    sample text;
    problems text := '';
BEGIN
    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, backtest_id || ' (' || digits || ')' AS bad
          FROM mcp_backtest_results, LATERAL (SELECT concat_ws(', ',
                   CASE WHEN initial_capital <> round(initial_capital, 2) OR abs(initial_capital) >= 1e13 THEN 'initial_capital=' || initial_capital END,
                   CASE WHEN fees <> round(fees, 4) OR abs(fees) >= 1e2 THEN 'fees=' || fees END,
                   CASE WHEN slippage <> round(slippage, 4) OR abs(slippage) >= 1e2 THEN 'slippage=' || slippage END,
                   CASE WHEN total_return <> round(total_return, 4) OR abs(total_return) >= 1e6 THEN 'total_return=' || total_return END,
                   CASE WHEN annualized_return <> round(annualized_return, 4) OR abs(annualized_return) >= 1e6 THEN 'annualized_return=' || annualized_return END,
                   CASE WHEN max_drawdown <> round(max_drawdown, 4) OR abs(max_drawdown) >= 1e4 THEN 'max_drawdown=' || max_drawdown END,
                   CASE WHEN volatility <> round(volatility, 4) OR abs(volatility) >= 1e4 THEN 'volatility=' || volatility END,
                   CASE WHEN downside_volatility <> round(downside_volatility, 4) OR abs(downside_volatility) >= 1e4 THEN 'downside_volatility=' || downside_volatility END,
                   CASE WHEN win_rate <> round(win_rate, 4) OR abs(win_rate) >= 1e1 THEN 'win_rate=' || win_rate END,
                   CASE WHEN average_win <> round(average_win, 4) OR abs(average_win) >= 1e8 THEN 'average_win=' || average_win END,
                   CASE WHEN average_loss <> round(average_loss, 4) OR abs(average_loss) >= 1e8 THEN 'average_loss=' || average_loss END,
                   CASE WHEN largest_win <> round(largest_win, 4) OR abs(largest_win) >= 1e8 THEN 'largest_win=' || largest_win END,
                   CASE WHEN largest_loss <> round(largest_loss, 4) OR abs(largest_loss) >= 1e8 THEN 'largest_loss=' || largest_loss END,
                   CASE WHEN final_portfolio_value <> round(final_portfolio_value, 2) OR abs(final_portfolio_value) >= 1e13 THEN 'final_portfolio_value=' || final_portfolio_value END,
                   CASE WHEN peak_portfolio_value <> round(peak_portfolio_value, 2) OR abs(peak_portfolio_value) >= 1e13 THEN 'peak_portfolio_value=' || peak_portfolio_value END,
                   CASE WHEN alpha <> round(alpha, 4) OR abs(alpha) >= 1e4 THEN 'alpha=' || alpha END) AS digits) AS d
         WHERE digits <> ''
         ORDER BY backtest_id LIMIT 5) AS five;
    IF n > 0 THEN
        problems := problems || format(E'\n  mcp_backtest_results: %s row(s), e.g. %s', n, sample);
    END IF;

    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, trade_id || ' (' || digits || ')' AS bad
          FROM mcp_backtest_trades, LATERAL (SELECT concat_ws(', ',
                   CASE WHEN entry_price <> round(entry_price, 4) OR abs(entry_price) >= 1e8 THEN 'entry_price=' || entry_price END,
                   CASE WHEN exit_price <> round(exit_price, 4) OR abs(exit_price) >= 1e8 THEN 'exit_price=' || exit_price END,
                   CASE WHEN position_size <> round(position_size, 2) OR abs(position_size) >= 1e13 THEN 'position_size=' || position_size END,
                   CASE WHEN pnl <> round(pnl, 4) OR abs(pnl) >= 1e8 THEN 'pnl=' || pnl END,
                   CASE WHEN pnl_percent <> round(pnl_percent, 4) OR abs(pnl_percent) >= 1e4 THEN 'pnl_percent=' || pnl_percent END,
                   CASE WHEN mae <> round(mae, 4) OR abs(mae) >= 1e4 THEN 'mae=' || mae END,
                   CASE WHEN mfe <> round(mfe, 4) OR abs(mfe) >= 1e4 THEN 'mfe=' || mfe END,
                   CASE WHEN duration_hours <> round(duration_hours, 2) OR abs(duration_hours) >= 1e6 THEN 'duration_hours=' || duration_hours END,
                   CASE WHEN fees_paid <> round(fees_paid, 4) OR abs(fees_paid) >= 1e6 THEN 'fees_paid=' || fees_paid END,
                   CASE WHEN slippage_cost <> round(slippage_cost, 4) OR abs(slippage_cost) >= 1e6 THEN 'slippage_cost=' || slippage_cost END) AS digits) AS d
         WHERE digits <> ''
         ORDER BY trade_id LIMIT 5) AS five;
    IF n > 0 THEN
        problems := problems || format(E'\n  mcp_backtest_trades: %s row(s), e.g. %s', n, sample);
    END IF;

    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, optimization_id || ' (' || digits || ')' AS bad
          FROM mcp_optimization_results, LATERAL (SELECT concat_ws(', ',
                   CASE WHEN objective_value <> round(objective_value, 6) OR abs(objective_value) >= 1e6 THEN 'objective_value=' || objective_value END,
                   CASE WHEN total_return <> round(total_return, 4) OR abs(total_return) >= 1e6 THEN 'total_return=' || total_return END,
                   CASE WHEN max_drawdown <> round(max_drawdown, 4) OR abs(max_drawdown) >= 1e4 THEN 'max_drawdown=' || max_drawdown END,
                   CASE WHEN win_rate <> round(win_rate, 4) OR abs(win_rate) >= 1e1 THEN 'win_rate=' || win_rate END) AS digits) AS d
         WHERE digits <> ''
         ORDER BY optimization_id LIMIT 5) AS five;
    IF n > 0 THEN
        problems := problems || format(E'\n  mcp_optimization_results: %s row(s), e.g. %s', n, sample);
    END IF;

    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, walk_forward_id || ' (' || digits || ')' AS bad
          FROM mcp_walk_forward_tests, LATERAL (SELECT concat_ws(', ',
                   CASE WHEN training_performance <> round(training_performance, 4) OR abs(training_performance) >= 1e6 THEN 'training_performance=' || training_performance END,
                   CASE WHEN out_of_sample_return <> round(out_of_sample_return, 4) OR abs(out_of_sample_return) >= 1e6 THEN 'out_of_sample_return=' || out_of_sample_return END,
                   CASE WHEN out_of_sample_drawdown <> round(out_of_sample_drawdown, 4) OR abs(out_of_sample_drawdown) >= 1e4 THEN 'out_of_sample_drawdown=' || out_of_sample_drawdown END) AS digits) AS d
         WHERE digits <> ''
         ORDER BY walk_forward_id LIMIT 5) AS five;
    IF n > 0 THEN
        problems := problems || format(E'\n  mcp_walk_forward_tests: %s row(s), e.g. %s', n, sample);
    END IF;

    SELECT max(total), string_agg(bad, '; ') INTO n, sample FROM (
        SELECT count(*) OVER () AS total, portfolio_backtest_id || ' (' || digits || ')' AS bad
          FROM mcp_backtest_portfolios, LATERAL (SELECT concat_ws(', ',
                   CASE WHEN initial_capital <> round(initial_capital, 2) OR abs(initial_capital) >= 1e13 THEN 'initial_capital=' || initial_capital END,
                   CASE WHEN total_return <> round(total_return, 4) OR abs(total_return) >= 1e6 THEN 'total_return=' || total_return END,
                   CASE WHEN annualized_return <> round(annualized_return, 4) OR abs(annualized_return) >= 1e6 THEN 'annualized_return=' || annualized_return END,
                   CASE WHEN max_drawdown <> round(max_drawdown, 4) OR abs(max_drawdown) >= 1e4 THEN 'max_drawdown=' || max_drawdown END,
                   CASE WHEN volatility <> round(volatility, 4) OR abs(volatility) >= 1e4 THEN 'volatility=' || volatility END) AS digits) AS d
         WHERE digits <> ''
         ORDER BY portfolio_backtest_id LIMIT 5) AS five;
    IF n > 0 THEN
        problems := problems || format(E'\n  mcp_backtest_portfolios: %s row(s), e.g. %s', n, sample);
    END IF;

    IF problems <> '' THEN
        RAISE EXCEPTION 'cannot roll back 0010: stored values have more digits than the seed''s types hold, and rolling back would round them:%', problems
            USING HINT = 'Fix or delete those rows (or keep 0010). Nothing was changed.';
    END IF;
END
$$;

ALTER TABLE mcp_backtest_results
    ALTER COLUMN initial_capital TYPE numeric(15,2),
    ALTER COLUMN fees TYPE numeric(6,4),
    ALTER COLUMN slippage TYPE numeric(6,4),
    ALTER COLUMN total_return TYPE numeric(10,4),
    ALTER COLUMN annualized_return TYPE numeric(10,4),
    ALTER COLUMN max_drawdown TYPE numeric(8,4),
    ALTER COLUMN volatility TYPE numeric(8,4),
    ALTER COLUMN downside_volatility TYPE numeric(8,4),
    ALTER COLUMN win_rate TYPE numeric(5,4),
    ALTER COLUMN average_win TYPE numeric(12,4),
    ALTER COLUMN average_loss TYPE numeric(12,4),
    ALTER COLUMN largest_win TYPE numeric(12,4),
    ALTER COLUMN largest_loss TYPE numeric(12,4),
    ALTER COLUMN final_portfolio_value TYPE numeric(15,2),
    ALTER COLUMN peak_portfolio_value TYPE numeric(15,2),
    ALTER COLUMN alpha TYPE numeric(8,4);

ALTER TABLE mcp_backtest_trades
    ALTER COLUMN entry_price TYPE numeric(12,4),
    ALTER COLUMN exit_price TYPE numeric(12,4),
    ALTER COLUMN position_size TYPE numeric(15,2),
    ALTER COLUMN pnl TYPE numeric(12,4),
    ALTER COLUMN pnl_percent TYPE numeric(8,4),
    ALTER COLUMN mae TYPE numeric(8,4),
    ALTER COLUMN mfe TYPE numeric(8,4),
    ALTER COLUMN duration_hours TYPE numeric(8,2),
    ALTER COLUMN fees_paid TYPE numeric(10,4),
    ALTER COLUMN slippage_cost TYPE numeric(10,4);

ALTER TABLE mcp_optimization_results
    ALTER COLUMN objective_value TYPE numeric(12,6),
    ALTER COLUMN total_return TYPE numeric(10,4),
    ALTER COLUMN max_drawdown TYPE numeric(8,4),
    ALTER COLUMN win_rate TYPE numeric(5,4);

ALTER TABLE mcp_walk_forward_tests
    ALTER COLUMN training_performance TYPE numeric(10,4),
    ALTER COLUMN out_of_sample_return TYPE numeric(10,4),
    ALTER COLUMN out_of_sample_drawdown TYPE numeric(8,4);

ALTER TABLE mcp_backtest_portfolios
    ALTER COLUMN initial_capital TYPE numeric(15,2),
    ALTER COLUMN total_return TYPE numeric(10,4),
    ALTER COLUMN annualized_return TYPE numeric(10,4),
    ALTER COLUMN max_drawdown TYPE numeric(8,4),
    ALTER COLUMN volatility TYPE numeric(8,4);

