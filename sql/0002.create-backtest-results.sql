-- 0002 create-backtest-results
-- depends: 0001.create-set-updated-at-function
--
-- What: mcp_backtest_results, one row per backtest run (who ran what, with
--   which parameters, how it did), its six indexes and its updated_at trigger.
-- Why: the parent table of trades, optimization results and walk-forward
--   tests. Columns, types, precision, defaults and index names are those of
--   the Alembic revision 013_add_backtest_persistence_models that this
--   package replaces; services depend on them. Changes from that revision:
--   JSON columns are jsonb; backtest_id defaults to gen_random_uuid();
--   backtest_date, created_at and updated_at default to now(); updated_at is
--   maintained by a trigger.
-- Conventions: returns, drawdowns, volatilities, win rate, fees and slippage
--   are fractions (0.15 = 15 %); drawdowns are negative fractions of peak
--   equity (-0.20 = 20 % below the peak); money is in the account currency.
-- Locks: none on existing objects (a new table).
-- Undo: 0002.create-backtest-results.rollback.sql drops the table, its
--   indexes and its trigger.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mcp_backtest_results (
    backtest_id            uuid          NOT NULL DEFAULT gen_random_uuid(),
    symbol                 varchar(10)   NOT NULL,
    strategy_type          varchar(50)   NOT NULL,
    backtest_date          timestamptz   NOT NULL DEFAULT now(),
    start_date             date          NOT NULL,
    end_date               date          NOT NULL,
    initial_capital        numeric(15,2) DEFAULT 10000.0,
    fees                   numeric(6,4)  DEFAULT 0.001,
    slippage               numeric(6,4)  DEFAULT 0.001,
    parameters             jsonb,
    total_return           numeric(10,4),
    annualized_return      numeric(10,4),
    sharpe_ratio           numeric(8,4),
    sortino_ratio          numeric(8,4),
    calmar_ratio           numeric(8,4),
    max_drawdown           numeric(8,4),
    max_drawdown_duration  integer,
    volatility             numeric(8,4),
    downside_volatility    numeric(8,4),
    total_trades           integer       DEFAULT 0,
    winning_trades         integer       DEFAULT 0,
    losing_trades          integer       DEFAULT 0,
    win_rate               numeric(5,4),
    profit_factor          numeric(8,4),
    average_win            numeric(12,4),
    average_loss           numeric(12,4),
    largest_win            numeric(12,4),
    largest_loss           numeric(12,4),
    final_portfolio_value  numeric(15,2),
    peak_portfolio_value   numeric(15,2),
    beta                   numeric(8,4),
    alpha                  numeric(8,4),
    equity_curve           jsonb,
    drawdown_series        jsonb,
    execution_time_seconds numeric(8,3),
    data_points            integer,
    status                 varchar(20)   DEFAULT 'completed',
    error_message          text,
    notes                  text,
    created_at             timestamptz   NOT NULL DEFAULT now(),
    updated_at             timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_backtest_results_pkey PRIMARY KEY (backtest_id)
);

CREATE INDEX mcp_backtest_results_symbol_idx ON mcp_backtest_results (symbol);
CREATE INDEX mcp_backtest_results_strategy_idx ON mcp_backtest_results (strategy_type);
CREATE INDEX mcp_backtest_results_date_idx ON mcp_backtest_results (backtest_date);
CREATE INDEX mcp_backtest_results_sharpe_idx ON mcp_backtest_results (sharpe_ratio);
CREATE INDEX mcp_backtest_results_total_return_idx ON mcp_backtest_results (total_return);
CREATE INDEX mcp_backtest_results_symbol_strategy_idx ON mcp_backtest_results (symbol, strategy_type);

CREATE TRIGGER mcp_backtest_results_set_updated_at
    BEFORE UPDATE ON mcp_backtest_results
    FOR EACH ROW EXECUTE FUNCTION mcp_set_updated_at();

COMMENT ON TABLE mcp_backtest_results IS
    'One backtest run of one strategy on one symbol: setup, parameters, performance and risk metrics, optional equity and drawdown series. Parent of mcp_backtest_trades, mcp_optimization_results and mcp_walk_forward_tests (ON DELETE CASCADE).';
COMMENT ON COLUMN mcp_backtest_results.backtest_id IS 'Primary key; gen_random_uuid() unless the caller chooses one (idempotent retries).';
COMMENT ON COLUMN mcp_backtest_results.symbol IS 'Ticker symbol tested, e.g. AAPL (at most 10 characters).';
COMMENT ON COLUMN mcp_backtest_results.strategy_type IS 'Strategy name, e.g. sma_cross (at most 50 characters).';
COMMENT ON COLUMN mcp_backtest_results.backtest_date IS 'When the backtest was run (recorded); defaults to the inserting transaction''s now().';
COMMENT ON COLUMN mcp_backtest_results.start_date IS 'First day of the tested price history (inclusive).';
COMMENT ON COLUMN mcp_backtest_results.end_date IS 'Last day of the tested price history (inclusive); not before start_date.';
COMMENT ON COLUMN mcp_backtest_results.initial_capital IS 'Starting capital in account currency; default 10000.00.';
COMMENT ON COLUMN mcp_backtest_results.fees IS 'Commission per trade as a fraction of traded value (0.001 = 0.1 %); default 0.001.';
COMMENT ON COLUMN mcp_backtest_results.slippage IS 'Assumed slippage per trade as a fraction of price (0.001 = 0.1 %); default 0.001.';
COMMENT ON COLUMN mcp_backtest_results.parameters IS 'Strategy parameters as a JSON object, e.g. {"fast": 10, "slow": 50}; searched by jsonb containment.';
COMMENT ON COLUMN mcp_backtest_results.total_return IS 'Total return over the period as a fraction (0.15 = 15 %).';
COMMENT ON COLUMN mcp_backtest_results.annualized_return IS 'Annualized (compound) return as a fraction.';
COMMENT ON COLUMN mcp_backtest_results.sharpe_ratio IS 'Annualized Sharpe ratio (excess return / volatility); dimensionless.';
COMMENT ON COLUMN mcp_backtest_results.sortino_ratio IS 'Annualized Sortino ratio (excess return / downside volatility); dimensionless.';
COMMENT ON COLUMN mcp_backtest_results.calmar_ratio IS 'Calmar ratio (annualized return / |max drawdown|); dimensionless.';
COMMENT ON COLUMN mcp_backtest_results.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity (-0.20 = 20 % below the peak); <= 0.';
COMMENT ON COLUMN mcp_backtest_results.max_drawdown_duration IS 'Longest drawdown, peak to recovery, in days; >= 0.';
COMMENT ON COLUMN mcp_backtest_results.volatility IS 'Annualized volatility of returns as a fraction (0.25 = 25 %); >= 0.';
COMMENT ON COLUMN mcp_backtest_results.downside_volatility IS 'Annualized downside volatility as a fraction; >= 0.';
COMMENT ON COLUMN mcp_backtest_results.total_trades IS 'Number of closed trades; default 0; >= winning_trades + losing_trades.';
COMMENT ON COLUMN mcp_backtest_results.winning_trades IS 'Trades with pnl > 0; default 0.';
COMMENT ON COLUMN mcp_backtest_results.losing_trades IS 'Trades with pnl < 0; default 0.';
COMMENT ON COLUMN mcp_backtest_results.win_rate IS 'winning_trades / total_trades as a fraction between 0 and 1.';
COMMENT ON COLUMN mcp_backtest_results.profit_factor IS 'Gross profit / gross loss; dimensionless; NULL when undefined (no losing trade).';
COMMENT ON COLUMN mcp_backtest_results.average_win IS 'Mean pnl of winning trades, in account currency.';
COMMENT ON COLUMN mcp_backtest_results.average_loss IS 'Mean pnl of losing trades, in account currency (negative).';
COMMENT ON COLUMN mcp_backtest_results.largest_win IS 'Largest single-trade pnl, in account currency.';
COMMENT ON COLUMN mcp_backtest_results.largest_loss IS 'Smallest (most negative) single-trade pnl, in account currency.';
COMMENT ON COLUMN mcp_backtest_results.final_portfolio_value IS 'Equity at end_date, in account currency.';
COMMENT ON COLUMN mcp_backtest_results.peak_portfolio_value IS 'Highest equity reached, in account currency.';
COMMENT ON COLUMN mcp_backtest_results.beta IS 'Beta against the benchmark; dimensionless.';
COMMENT ON COLUMN mcp_backtest_results.alpha IS 'Annualized alpha against the benchmark as a fraction.';
COMMENT ON COLUMN mcp_backtest_results.equity_curve IS 'Equity time series as a JSON array (e.g. of values or [timestamp, value] pairs); up to a year of minutes (~9 MB). List queries leave it out.';
COMMENT ON COLUMN mcp_backtest_results.drawdown_series IS 'Drawdown time series (negative fractions) as a JSON array, aligned with equity_curve. List queries leave it out.';
COMMENT ON COLUMN mcp_backtest_results.execution_time_seconds IS 'Wall-clock time the backtest took, in seconds; >= 0.';
COMMENT ON COLUMN mcp_backtest_results.data_points IS 'Number of bars the backtest processed (the length of equity_curve when stored); >= 0.';
COMMENT ON COLUMN mcp_backtest_results.status IS 'completed | failed | in_progress; default completed.';
COMMENT ON COLUMN mcp_backtest_results.error_message IS 'Why the run failed, when status = failed.';
COMMENT ON COLUMN mcp_backtest_results.notes IS 'Free-form notes.';
COMMENT ON COLUMN mcp_backtest_results.created_at IS 'When the row was inserted; never changes.';
COMMENT ON COLUMN mcp_backtest_results.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_results_set_updated_at.';
