-- 0006 create-backtest-portfolios
-- depends: 0001.create-set-updated-at-function
--
-- What: mcp_backtest_portfolios, one row per portfolio backtest (several
--   symbols traded together), its three indexes and its updated_at trigger.
-- Why: the code this package replaces defined this table but never saved to
--   it. Columns and index names are those of the Alembic revision 013; JSON
--   columns are jsonb, portfolio_backtest_id defaults to gen_random_uuid(),
--   backtest_date, created_at and updated_at default to now().
-- Conventions: returns, drawdowns, volatility, stop loss and allocations are
--   fractions (0.15 = 15 %); drawdowns <= 0.
-- Locks: none on existing objects (a new table with no foreign key).
-- Undo: 0006.create-backtest-portfolios.rollback.sql drops the table.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mcp_backtest_portfolios (
    portfolio_backtest_id     uuid          NOT NULL DEFAULT gen_random_uuid(),
    portfolio_name            varchar(100)  NOT NULL,
    description               text,
    backtest_date             timestamptz   NOT NULL DEFAULT now(),
    start_date                date          NOT NULL,
    end_date                  date          NOT NULL,
    symbols                   jsonb         NOT NULL,
    weights                   jsonb,
    rebalance_frequency       varchar(20),
    initial_capital           numeric(15,2) DEFAULT 100000.0,
    max_positions             integer,
    position_sizing_method    varchar(50),
    portfolio_stop_loss       numeric(6,4),
    max_sector_allocation     numeric(5,4),
    correlation_threshold     numeric(5,4),
    total_return              numeric(10,4),
    annualized_return         numeric(10,4),
    sharpe_ratio              numeric(8,4),
    sortino_ratio             numeric(8,4),
    max_drawdown              numeric(8,4),
    volatility                numeric(8,4),
    diversification_ratio     numeric(8,4),
    concentration_index       numeric(8,4),
    turnover_rate             numeric(8,4),
    component_backtest_ids    jsonb,
    portfolio_equity_curve    jsonb,
    portfolio_weights_history jsonb,
    status                    varchar(20)   DEFAULT 'completed',
    notes                     text,
    created_at                timestamptz   NOT NULL DEFAULT now(),
    updated_at                timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_backtest_portfolios_pkey PRIMARY KEY (portfolio_backtest_id)
);

CREATE INDEX mcp_backtest_portfolios_name_idx ON mcp_backtest_portfolios (portfolio_name);
CREATE INDEX mcp_backtest_portfolios_date_idx ON mcp_backtest_portfolios (backtest_date);
CREATE INDEX mcp_backtest_portfolios_return_idx ON mcp_backtest_portfolios (total_return);

CREATE TRIGGER mcp_backtest_portfolios_set_updated_at
    BEFORE UPDATE ON mcp_backtest_portfolios
    FOR EACH ROW EXECUTE FUNCTION mcp_set_updated_at();

COMMENT ON TABLE mcp_backtest_portfolios IS
    'One portfolio backtest: several symbols traded together with weights, risk limits, portfolio metrics and series.';
COMMENT ON COLUMN mcp_backtest_portfolios.portfolio_backtest_id IS 'Primary key; gen_random_uuid() unless given.';
COMMENT ON COLUMN mcp_backtest_portfolios.portfolio_name IS 'Name of the portfolio (at most 100 characters).';
COMMENT ON COLUMN mcp_backtest_portfolios.description IS 'Free-form description.';
COMMENT ON COLUMN mcp_backtest_portfolios.backtest_date IS 'When the portfolio backtest was run (recorded); defaults to now().';
COMMENT ON COLUMN mcp_backtest_portfolios.start_date IS 'First day of the tested period.';
COMMENT ON COLUMN mcp_backtest_portfolios.end_date IS 'Last day of the tested period; not before start_date.';
COMMENT ON COLUMN mcp_backtest_portfolios.symbols IS 'The symbols in the portfolio, as a JSON array of strings.';
COMMENT ON COLUMN mcp_backtest_portfolios.weights IS 'Target weight per symbol as fractions, as a JSON object, e.g. {"AAPL": 0.6, "MSFT": 0.4}.';
COMMENT ON COLUMN mcp_backtest_portfolios.rebalance_frequency IS 'daily | weekly | monthly | ... (at most 20 characters).';
COMMENT ON COLUMN mcp_backtest_portfolios.initial_capital IS 'Starting capital in account currency; default 100000.00.';
COMMENT ON COLUMN mcp_backtest_portfolios.max_positions IS 'Maximum number of open positions; >= 0.';
COMMENT ON COLUMN mcp_backtest_portfolios.position_sizing_method IS 'How positions are sized, e.g. equal_weight (at most 50 characters).';
COMMENT ON COLUMN mcp_backtest_portfolios.portfolio_stop_loss IS 'Portfolio-level stop loss as a fraction of equity (0.10 = 10 %).';
COMMENT ON COLUMN mcp_backtest_portfolios.max_sector_allocation IS 'Maximum allocation to one sector as a fraction between 0 and 1.';
COMMENT ON COLUMN mcp_backtest_portfolios.correlation_threshold IS 'Correlation above which positions are considered redundant (-1 to 1).';
COMMENT ON COLUMN mcp_backtest_portfolios.total_return IS 'Total return as a fraction (0.15 = 15 %).';
COMMENT ON COLUMN mcp_backtest_portfolios.annualized_return IS 'Annualized return as a fraction.';
COMMENT ON COLUMN mcp_backtest_portfolios.sharpe_ratio IS 'Annualized Sharpe ratio; dimensionless.';
COMMENT ON COLUMN mcp_backtest_portfolios.sortino_ratio IS 'Annualized Sortino ratio; dimensionless.';
COMMENT ON COLUMN mcp_backtest_portfolios.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity; <= 0.';
COMMENT ON COLUMN mcp_backtest_portfolios.volatility IS 'Annualized volatility as a fraction; >= 0.';
COMMENT ON COLUMN mcp_backtest_portfolios.diversification_ratio IS 'Weighted mean volatility / portfolio volatility; dimensionless.';
COMMENT ON COLUMN mcp_backtest_portfolios.concentration_index IS 'Herfindahl concentration of weights, between 0 and 1.';
COMMENT ON COLUMN mcp_backtest_portfolios.turnover_rate IS 'Annualized turnover as a fraction of equity.';
COMMENT ON COLUMN mcp_backtest_portfolios.component_backtest_ids IS 'backtest_id of each component backtest, as a JSON array of uuid strings.';
COMMENT ON COLUMN mcp_backtest_portfolios.portfolio_equity_curve IS 'Portfolio equity time series as a JSON array. List queries leave it out.';
COMMENT ON COLUMN mcp_backtest_portfolios.portfolio_weights_history IS 'Weights over time as a JSON array. List queries leave it out.';
COMMENT ON COLUMN mcp_backtest_portfolios.status IS 'completed | failed | in_progress; default completed.';
COMMENT ON COLUMN mcp_backtest_portfolios.notes IS 'Free-form notes.';
COMMENT ON COLUMN mcp_backtest_portfolios.created_at IS 'When the row was inserted; never changes.';
COMMENT ON COLUMN mcp_backtest_portfolios.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_portfolios_set_updated_at.';
