"""A year of minute bars (525,600 points): the curve that a view, a report or a
benchmark must handle without holding anything up. Made by the server, in one statement."""

YEAR_OF_MINUTES = """
INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date, data_points,
                                  total_return, sharpe_ratio, equity_curve)
SELECT 'BTC', 'minute_scalper', '2023-01-01', '2023-12-31', 525600, 0.12, 1.3,
       jsonb_agg(jsonb_build_array(
           to_char(timestamptz '2023-01-01 00:00+00' + i * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           round((10000 + 800 * sin(i / 9000.0) + 150 * sin(i / 37.0) + i / 200.0)::numeric, 2))
           ORDER BY i)
FROM generate_series(0, 525599) AS i
RETURNING backtest_id
"""
