-- The volume of a database the replaced service filled, in the legacy tables (json
-- columns, no server defaults): current_setting('bt.results') backtests over 500
-- symbols, ten trades each (a tenth of them open), one in fifty with a 252-day equity
-- and drawdown curve written as an object keyed by "YYYY-MM-DD HH:MM:SS" strings, as
-- that service's engine wrote them. Used by the adopt benchmark and kill test.
SELECT setseed(0.13);
SET session_replication_role = replica;  -- consistent by construction: no FK triggers

INSERT INTO mcp_backtest_results (
    backtest_id, symbol, strategy_type, backtest_date, start_date, end_date, initial_capital,
    fees, slippage, parameters, total_return, sharpe_ratio, max_drawdown, volatility,
    total_trades, winning_trades, losing_trades, win_rate, equity_curve, drawdown_series,
    status, data_points, created_at, updated_at)
SELECT
    gen_random_uuid(), 'S' || (i % 500), 'strategy_' || (i % 20),
    timestamptz '2025-06-01 00:00+00' - i * interval '2 minutes',
    date '2020-01-01' + (i % 1000), date '2020-01-01' + (i % 1000) + 365, 10000.0, 0.001, 0.001,
    json_build_object('fast', i % 50, 'slow', 50 + i % 7, 'filters', json_build_object('rsi', i % 30)),
    CASE WHEN i % 20 = 0 THEN NULL ELSE round((random() * 2 - 0.5)::numeric, 4) END,
    round((random() * 5 - 2)::numeric, 4), round((-random() * 0.6)::numeric, 4),
    round((random() * 0.8)::numeric, 4), 10, 5, 4, 0.5,
    CASE WHEN i % 50 = 0 THEN (SELECT json_object_agg(to_char(date '2024-01-01' + d, 'YYYY-MM-DD HH24:MI:SS'), 10000 + d * 3.5)
                               FROM generate_series(0, 251) d) END,
    CASE WHEN i % 50 = 0 THEN (SELECT json_object_agg(to_char(date '2024-01-01' + d, 'YYYY-MM-DD HH24:MI:SS'), -(d % 7) / 100.0)
                               FROM generate_series(0, 251) d) END,
    'completed', 252,
    timestamptz '2025-06-01 00:00+00' - i * interval '2 minutes',
    timestamptz '2025-06-01 00:00+00' - i * interval '2 minutes'
FROM generate_series(1, current_setting('bt.results')::int) AS i;

INSERT INTO mcp_backtest_trades (
    trade_id, backtest_id, trade_number, entry_date, entry_price, exit_date, exit_price,
    position_size, direction, pnl, duration_days, exit_reason, fees_paid, slippage_cost,
    created_at, updated_at)
SELECT gen_random_uuid(), r.backtest_id, n, r.start_date + n * 7, 100 + n,
       CASE WHEN n = 10 AND r.symbol < 'S1' THEN NULL ELSE r.start_date + n * 7 + 3 END,
       CASE WHEN n = 10 AND r.symbol < 'S1' THEN NULL ELSE 101 + n END, 10,
       CASE WHEN n % 2 = 0 THEN 'long' ELSE 'short' END,
       round((random() * 200 - 90)::numeric, 4), 3, 'signal', 0, 0, r.created_at, r.created_at
FROM mcp_backtest_results r CROSS JOIN generate_series(1, 10) AS n;

RESET session_replication_role;
ANALYZE mcp_backtest_results;
ANALYZE mcp_backtest_trades;
