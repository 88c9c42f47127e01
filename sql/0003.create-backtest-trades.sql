-- 0003 create-backtest-trades
-- depends: 0002.create-backtest-results
--
-- What: mcp_backtest_trades, one row per trade of a backtest, its five
--   indexes and its updated_at trigger.
-- Why: trade lists are the bulk of the data (thousands per backtest) and are
--   written by COPY. Columns and index names are those of the Alembic
--   revision 013; trade_id defaults to gen_random_uuid(), created_at and
--   updated_at default to now().
-- Conventions: prices and pnl in account currency; pnl_percent, mae and mfe
--   are fractions of the entry value (0.05 = 5 %).
-- Locks: SHARE ROW EXCLUSIVE on mcp_backtest_results while the foreign key
--   is added (the table is new in the same release, so this is instant).
-- Undo: 0003.create-backtest-trades.rollback.sql drops the table.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mcp_backtest_trades (
    trade_id        uuid          NOT NULL DEFAULT gen_random_uuid(),
    backtest_id     uuid          NOT NULL,
    trade_number    integer       NOT NULL,
    entry_date      date          NOT NULL,
    entry_price     numeric(12,4) NOT NULL,
    entry_time      timestamptz,
    exit_date       date,
    exit_price      numeric(12,4),
    exit_time       timestamptz,
    position_size   numeric(15,2),
    direction       varchar(5)    NOT NULL,
    pnl             numeric(12,4),
    pnl_percent     numeric(8,4),
    mae             numeric(8,4),
    mfe             numeric(8,4),
    duration_days   integer,
    duration_hours  numeric(8,2),
    exit_reason     varchar(50),
    fees_paid       numeric(10,4) DEFAULT 0,
    slippage_cost   numeric(10,4) DEFAULT 0,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_backtest_trades_pkey PRIMARY KEY (trade_id),
    CONSTRAINT mcp_backtest_trades_backtest_id_fkey FOREIGN KEY (backtest_id)
        REFERENCES mcp_backtest_results (backtest_id) ON DELETE CASCADE
);

CREATE INDEX mcp_backtest_trades_backtest_idx ON mcp_backtest_trades (backtest_id);
CREATE INDEX mcp_backtest_trades_entry_date_idx ON mcp_backtest_trades (entry_date);
CREATE INDEX mcp_backtest_trades_exit_date_idx ON mcp_backtest_trades (exit_date);
CREATE INDEX mcp_backtest_trades_pnl_idx ON mcp_backtest_trades (pnl);
CREATE INDEX mcp_backtest_trades_backtest_entry_idx ON mcp_backtest_trades (backtest_id, entry_date);

CREATE TRIGGER mcp_backtest_trades_set_updated_at
    BEFORE UPDATE ON mcp_backtest_trades
    FOR EACH ROW EXECUTE FUNCTION mcp_set_updated_at();

COMMENT ON TABLE mcp_backtest_trades IS
    'One trade of a backtest (mcp_backtest_results); deleted with its backtest (ON DELETE CASCADE).';
COMMENT ON COLUMN mcp_backtest_trades.trade_id IS 'Primary key; gen_random_uuid() unless given.';
COMMENT ON COLUMN mcp_backtest_trades.backtest_id IS 'The backtest this trade belongs to.';
COMMENT ON COLUMN mcp_backtest_trades.trade_number IS 'Sequence number of the trade within its backtest, 1..n; >= 0.';
COMMENT ON COLUMN mcp_backtest_trades.entry_date IS 'Day the position was opened.';
COMMENT ON COLUMN mcp_backtest_trades.entry_price IS 'Fill price at entry, in account currency.';
COMMENT ON COLUMN mcp_backtest_trades.entry_time IS 'Exact entry time, for intraday strategies.';
COMMENT ON COLUMN mcp_backtest_trades.exit_date IS 'Day the position was closed; NULL while open; not before entry_date.';
COMMENT ON COLUMN mcp_backtest_trades.exit_price IS 'Fill price at exit, in account currency.';
COMMENT ON COLUMN mcp_backtest_trades.exit_time IS 'Exact exit time; not before entry_time.';
COMMENT ON COLUMN mcp_backtest_trades.position_size IS 'Position size (shares or contracts).';
COMMENT ON COLUMN mcp_backtest_trades.direction IS 'long | short.';
COMMENT ON COLUMN mcp_backtest_trades.pnl IS 'Realized profit or loss after costs, in account currency; > 0 winning, < 0 losing.';
COMMENT ON COLUMN mcp_backtest_trades.pnl_percent IS 'Return of the trade as a fraction of the entry value (0.05 = 5 %).';
COMMENT ON COLUMN mcp_backtest_trades.mae IS 'Maximum adverse excursion as a fraction of the entry price.';
COMMENT ON COLUMN mcp_backtest_trades.mfe IS 'Maximum favorable excursion as a fraction of the entry price.';
COMMENT ON COLUMN mcp_backtest_trades.duration_days IS 'Holding period in whole days; >= 0.';
COMMENT ON COLUMN mcp_backtest_trades.duration_hours IS 'Holding period in hours; >= 0.';
COMMENT ON COLUMN mcp_backtest_trades.exit_reason IS 'Why the trade closed, e.g. signal, stop_loss, take_profit (at most 50 characters).';
COMMENT ON COLUMN mcp_backtest_trades.fees_paid IS 'Commissions paid on the trade, in account currency; default 0.';
COMMENT ON COLUMN mcp_backtest_trades.slippage_cost IS 'Slippage cost of the trade, in account currency; default 0.';
COMMENT ON COLUMN mcp_backtest_trades.created_at IS 'When the row was inserted; never changes.';
COMMENT ON COLUMN mcp_backtest_trades.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_trades_set_updated_at.';
