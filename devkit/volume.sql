-- A realistic volume for query-plan tests and benchmarks, generated in SQL once per run:
-- 200,000 backtest results over 500 symbols and 20 strategies, 2,000,000 trades,
-- 200,000 optimization results, 50,000 walk-forward windows, 20,000 portfolios.
SELECT setseed(0.42);
-- The rows are consistent by construction: skip the per-row foreign-key triggers while loading.
SET session_replication_role = replica;
-- Bulk loading: the indexes no constraint needs are dropped first and built again once the
-- rows are in, with the definitions and comments they had (a sort each, not 2,000,000
-- random insertions: the whole load took 75 s on a new server, and takes 36).
CREATE TEMP TABLE volume_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition,
       obj_description(i.indexrelid, 'pg_class') AS comment
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace AND t.relname LIKE 'mcp\_%'
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE index record;
BEGIN
    FOR index IN SELECT name FROM volume_indexes LOOP
        EXECUTE format('DROP INDEX %s', index.name);
    END LOOP;
END $$;

INSERT INTO mcp_backtest_results (
    backtest_id, symbol, strategy_type, backtest_date, start_date, end_date, parameters,
    total_return, annualized_return, sharpe_ratio, sortino_ratio, calmar_ratio, max_drawdown,
    max_drawdown_duration, volatility, downside_volatility, total_trades, winning_trades,
    losing_trades, win_rate, profit_factor, alpha, beta, status, data_points, experiment,
    run_by, code_version, data_fingerprint, tags)
SELECT
    gen_random_uuid(),
    'S' || (i % 500),
    'strategy_' || (i % 20),
    timestamptz '2026-01-01 00:00+00' - i * interval '2 minutes',
    date '2020-01-01' + (i % 1000),
    date '2020-01-01' + (i % 1000) + 365,
    jsonb_build_object('fast', i % 50, 'slow', 50 + i % 7, 'seed', i),
    CASE WHEN i % 20 = 0 THEN NULL ELSE round((random() * 2 - 0.5)::numeric, 4) END,
    round((random() - 0.3)::numeric, 4),
    CASE WHEN i % 20 = 1 THEN NULL ELSE round((random() * 5 - 2)::numeric, 4) END,
    round((random() * 6 - 2)::numeric, 4),
    round((random() * 4 - 1)::numeric, 4),
    round((-random() * 0.6)::numeric, 4),
    (random() * 300)::int,
    round((random() * 0.8)::numeric, 4),
    round((random() * 0.5)::numeric, 4),
    100, 50, 40,
    round(random()::numeric, 4),
    round((random() * 4)::numeric, 4),
    round((random() * 0.2 - 0.1)::numeric, 4),
    round((random() * 2)::numeric, 4),
    (ARRAY['completed', 'completed', 'completed', 'completed', 'completed', 'completed',
           'completed', 'completed', 'completed', 'completed', 'completed', 'completed',
           'completed', 'completed', 'completed', 'completed', 'completed', 'completed',
           'failed', 'in_progress'])[1 + i % 20],
    252,
    'experiment_' || (i % 400),
    'user_' || (i % 25),
    md5('commit ' || (i % 300)),
    'sha256:' || md5('bars ' || (i % 500) || ' ' || (i % 1000)),
    jsonb_build_object('universe', 'u' || (i % 10), 'batch', 'b' || (i % 1000))
FROM generate_series(1, 200000) AS i;

INSERT INTO mcp_backtest_trades (
    backtest_id, trade_number, entry_date, entry_price, exit_date, exit_price, position_size,
    direction, pnl, pnl_percent, duration_days, exit_reason)
SELECT r.backtest_id, n, r.start_date + n * 7, 100 + n, r.start_date + n * 7 + 3, 101 + n, 10,
       CASE WHEN n % 2 = 0 THEN 'long' ELSE 'short' END,
       round((random() * 200 - 90)::numeric, 4), round((random() * 0.1 - 0.04)::numeric, 4), 3, 'signal'
FROM mcp_backtest_results r CROSS JOIN generate_series(1, 10) AS n;

INSERT INTO mcp_optimization_results (backtest_id, parameter_set, parameters, objective_function,
    objective_value, sharpe_ratio, rank)
SELECT r.backtest_id, n, jsonb_build_object('fast', n), 'sharpe_ratio',
       round((random() * 3)::numeric, 6), round((random() * 3)::numeric, 4), n
FROM (SELECT backtest_id FROM mcp_backtest_results ORDER BY backtest_date DESC LIMIT 20000) r
CROSS JOIN generate_series(1, 10) AS n;

INSERT INTO mcp_walk_forward_tests (parent_backtest_id, window_size_months, step_size_months,
    training_start, training_end, test_period_start, test_period_end, out_of_sample_return)
SELECT r.backtest_id, 12, 3, date '2020-01-01' + n * 90, date '2020-01-01' + n * 90 + 364,
       date '2020-01-01' + n * 90 + 365, date '2020-01-01' + n * 90 + 455,
       round((random() * 0.2 - 0.1)::numeric, 4)
FROM (SELECT backtest_id FROM mcp_backtest_results ORDER BY backtest_date DESC LIMIT 10000) r
CROSS JOIN generate_series(1, 5) AS n;

INSERT INTO mcp_backtest_portfolios (portfolio_name, backtest_date, start_date, end_date, symbols,
    total_return, sharpe_ratio)
SELECT 'portfolio_' || (i % 200), timestamptz '2026-01-01 00:00+00' - i * interval '20 minutes',
       date '2024-01-01', date '2024-12-31', jsonb_build_array('S' || (i % 500), 'S' || ((i + 1) % 500)),
       round((random() - 0.3)::numeric, 4), round((random() * 3 - 1)::numeric, 4)
FROM generate_series(1, 20000) AS i;

RESET session_replication_role;
SET maintenance_work_mem = '256MB';
DO $$
DECLARE index record;
BEGIN
    FOR index IN SELECT * FROM volume_indexes ORDER BY name LOOP
        EXECUTE index.definition;
        IF index.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON INDEX %s IS %L', index.name, index.comment);
        END IF;
    END LOOP;
END $$;
DROP TABLE volume_indexes;
RESET maintenance_work_mem;
ANALYZE;
