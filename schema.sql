--
-- PostgreSQL database dump
--

--
-- Name: mcp_set_saved_by(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.mcp_set_saved_by() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.saved_by := session_user;
    ELSE
        NEW.saved_by := OLD.saved_by;
    END IF;
    RETURN NEW;
END;
$$;

--
-- Name: FUNCTION mcp_set_saved_by(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.mcp_set_saved_by() IS 'BEFORE INSERT OR UPDATE trigger of mcp_backtest_results: saved_by is the inserting session''s role (session_user), whatever the client sends, and never changes afterwards.';

--
-- Name: mcp_set_updated_at(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.mcp_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- now() is the start of the writing transaction: every row touched by
    -- one transaction carries the same updated_at.
    NEW.created_at := OLD.created_at;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

--
-- Name: FUNCTION mcp_set_updated_at(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.mcp_set_updated_at() IS 'BEFORE UPDATE trigger of the mcp_backtest_* tables: sets updated_at to now() and keeps created_at unchanged.';

--
-- Name: mcp_backtest_portfolios; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_backtest_portfolios (
    portfolio_backtest_id uuid DEFAULT gen_random_uuid() NOT NULL,
    portfolio_name character varying(100) NOT NULL,
    description text,
    backtest_date timestamp with time zone DEFAULT now() NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    symbols jsonb NOT NULL,
    weights jsonb,
    rebalance_frequency character varying(20),
    initial_capital numeric(21,8) DEFAULT 100000.0,
    max_positions integer,
    position_sizing_method character varying(50),
    portfolio_stop_loss numeric(6,4),
    max_sector_allocation numeric(5,4),
    correlation_threshold numeric(5,4),
    total_return numeric(14,8),
    annualized_return numeric(14,8),
    sharpe_ratio numeric(8,4),
    sortino_ratio numeric(8,4),
    max_drawdown numeric(12,8),
    volatility numeric(12,8),
    diversification_ratio numeric(8,4),
    concentration_index numeric(8,4),
    turnover_rate numeric(8,4),
    component_backtest_ids jsonb,
    portfolio_equity_curve jsonb,
    portfolio_weights_history jsonb,
    status character varying(20) DEFAULT 'completed'::character varying,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ck_mcp_backtest_portfolios_annualized_return_not_nan CHECK ((annualized_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_concentration_index_not_nan CHECK ((concentration_index <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_correlation_threshold_not_nan CHECK ((correlation_threshold <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_date_range CHECK ((end_date >= start_date)),
    CONSTRAINT ck_mcp_backtest_portfolios_diversification_ratio_not_nan CHECK ((diversification_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_initial_capital_not_nan CHECK ((initial_capital <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown CHECK ((max_drawdown <= (0)::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_max_drawdown_not_nan CHECK ((max_drawdown <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_max_positions CHECK ((max_positions >= 0)),
    CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation CHECK (((max_sector_allocation >= (0)::numeric) AND (max_sector_allocation <= (1)::numeric))),
    CONSTRAINT ck_mcp_backtest_portfolios_max_sector_allocation_not_nan CHECK ((max_sector_allocation <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_portfolio_stop_loss_not_nan CHECK ((portfolio_stop_loss <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_sharpe_ratio_not_nan CHECK ((sharpe_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_sortino_ratio_not_nan CHECK ((sortino_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_status CHECK (((status)::text = ANY ((ARRAY['completed'::character varying, 'failed'::character varying, 'in_progress'::character varying])::text[]))),
    CONSTRAINT ck_mcp_backtest_portfolios_symbols_array CHECK ((jsonb_typeof(symbols) = 'array'::text)),
    CONSTRAINT ck_mcp_backtest_portfolios_total_return_not_nan CHECK ((total_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_turnover_rate_not_nan CHECK ((turnover_rate <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_volatility CHECK ((volatility >= (0)::numeric)),
    CONSTRAINT ck_mcp_backtest_portfolios_volatility_not_nan CHECK ((volatility <> 'NaN'::numeric))
);

--
-- Name: TABLE mcp_backtest_portfolios; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.mcp_backtest_portfolios IS 'One portfolio backtest: several symbols traded together with weights, risk limits, portfolio metrics and series.';

--
-- Name: COLUMN mcp_backtest_portfolios.portfolio_backtest_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.portfolio_backtest_id IS 'Primary key; gen_random_uuid() unless given.';

--
-- Name: COLUMN mcp_backtest_portfolios.portfolio_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.portfolio_name IS 'Name of the portfolio (at most 100 characters).';

--
-- Name: COLUMN mcp_backtest_portfolios.description; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.description IS 'Free-form description.';

--
-- Name: COLUMN mcp_backtest_portfolios.backtest_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.backtest_date IS 'When the portfolio backtest was run (recorded); defaults to now().';

--
-- Name: COLUMN mcp_backtest_portfolios.start_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.start_date IS 'First day of the tested period.';

--
-- Name: COLUMN mcp_backtest_portfolios.end_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.end_date IS 'Last day of the tested period; not before start_date.';

--
-- Name: COLUMN mcp_backtest_portfolios.symbols; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.symbols IS 'The symbols in the portfolio, as a JSON array of strings.';

--
-- Name: COLUMN mcp_backtest_portfolios.weights; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.weights IS 'Target weight per symbol as fractions, as a JSON object, e.g. {"AAPL": 0.6, "MSFT": 0.4}.';

--
-- Name: COLUMN mcp_backtest_portfolios.rebalance_frequency; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.rebalance_frequency IS 'daily | weekly | monthly | ... (at most 20 characters).';

--
-- Name: COLUMN mcp_backtest_portfolios.initial_capital; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.initial_capital IS 'Starting capital in account currency; default 100000.00.';

--
-- Name: COLUMN mcp_backtest_portfolios.max_positions; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.max_positions IS 'Maximum number of open positions; >= 0.';

--
-- Name: COLUMN mcp_backtest_portfolios.position_sizing_method; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.position_sizing_method IS 'How positions are sized, e.g. equal_weight (at most 50 characters).';

--
-- Name: COLUMN mcp_backtest_portfolios.portfolio_stop_loss; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.portfolio_stop_loss IS 'Portfolio-level stop loss as a fraction of equity (0.10 = 10 %).';

--
-- Name: COLUMN mcp_backtest_portfolios.max_sector_allocation; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.max_sector_allocation IS 'Maximum allocation to one sector as a fraction between 0 and 1.';

--
-- Name: COLUMN mcp_backtest_portfolios.correlation_threshold; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.correlation_threshold IS 'Correlation above which positions are considered redundant (-1 to 1).';

--
-- Name: COLUMN mcp_backtest_portfolios.total_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.total_return IS 'Total return as a fraction (0.15 = 15 %).';

--
-- Name: COLUMN mcp_backtest_portfolios.annualized_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.annualized_return IS 'Annualized return as a fraction.';

--
-- Name: COLUMN mcp_backtest_portfolios.sharpe_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.sharpe_ratio IS 'Annualized Sharpe ratio; dimensionless.';

--
-- Name: COLUMN mcp_backtest_portfolios.sortino_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.sortino_ratio IS 'Annualized Sortino ratio; dimensionless.';

--
-- Name: COLUMN mcp_backtest_portfolios.max_drawdown; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity; <= 0.';

--
-- Name: COLUMN mcp_backtest_portfolios.volatility; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.volatility IS 'Annualized volatility as a fraction; >= 0.';

--
-- Name: COLUMN mcp_backtest_portfolios.diversification_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.diversification_ratio IS 'Weighted mean volatility / portfolio volatility; dimensionless.';

--
-- Name: COLUMN mcp_backtest_portfolios.concentration_index; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.concentration_index IS 'Herfindahl concentration of weights, between 0 and 1.';

--
-- Name: COLUMN mcp_backtest_portfolios.turnover_rate; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.turnover_rate IS 'Annualized turnover as a fraction of equity.';

--
-- Name: COLUMN mcp_backtest_portfolios.component_backtest_ids; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.component_backtest_ids IS 'backtest_id of each component backtest, as a JSON array of uuid strings.';

--
-- Name: COLUMN mcp_backtest_portfolios.portfolio_equity_curve; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.portfolio_equity_curve IS 'Portfolio equity time series as a JSON array. List queries leave it out.';

--
-- Name: COLUMN mcp_backtest_portfolios.portfolio_weights_history; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.portfolio_weights_history IS 'Weights over time as a JSON array. List queries leave it out.';

--
-- Name: COLUMN mcp_backtest_portfolios.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.status IS 'completed | failed | in_progress; default completed.';

--
-- Name: COLUMN mcp_backtest_portfolios.notes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.notes IS 'Free-form notes.';

--
-- Name: COLUMN mcp_backtest_portfolios.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.created_at IS 'When the row was inserted; never changes.';

--
-- Name: COLUMN mcp_backtest_portfolios.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_portfolios.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_portfolios_set_updated_at.';

--
-- Name: mcp_backtest_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_backtest_results (
    backtest_id uuid DEFAULT gen_random_uuid() NOT NULL,
    symbol character varying(32) NOT NULL,
    strategy_type character varying(50) NOT NULL,
    backtest_date timestamp with time zone DEFAULT now() NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    initial_capital numeric(21,8) DEFAULT 10000.0,
    fees numeric(8,6) DEFAULT 0.001,
    slippage numeric(8,6) DEFAULT 0.001,
    parameters jsonb,
    total_return numeric(14,8),
    annualized_return numeric(14,8),
    sharpe_ratio numeric(8,4),
    sortino_ratio numeric(8,4),
    calmar_ratio numeric(8,4),
    max_drawdown numeric(12,8),
    max_drawdown_duration integer,
    volatility numeric(12,8),
    downside_volatility numeric(12,8),
    total_trades integer DEFAULT 0,
    winning_trades integer DEFAULT 0,
    losing_trades integer DEFAULT 0,
    win_rate numeric(9,8),
    profit_factor numeric(8,4),
    average_win numeric(18,8),
    average_loss numeric(18,8),
    largest_win numeric(18,8),
    largest_loss numeric(18,8),
    final_portfolio_value numeric(21,8),
    peak_portfolio_value numeric(21,8),
    beta numeric(8,4),
    alpha numeric(12,8),
    equity_curve jsonb,
    drawdown_series jsonb,
    execution_time_seconds numeric(8,3),
    data_points integer,
    status character varying(20) DEFAULT 'completed'::character varying,
    error_message text,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    experiment character varying(200),
    run_by character varying(200),
    saved_by character varying(63),
    code_version character varying(80),
    engine character varying(100),
    data_fingerprint character varying(100),
    bars_per_year numeric(12,4),
    benchmark_symbol character varying(32),
    benchmark_return numeric(14,8),
    benchmark_curve jsonb,
    tags jsonb,
    extra_metrics jsonb,
    CONSTRAINT ck_mcp_backtest_results_alpha_not_nan CHECK ((alpha <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_annualized_return_not_nan CHECK ((annualized_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_average_loss_not_nan CHECK ((average_loss <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_average_win_not_nan CHECK ((average_win <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_bars_per_year CHECK ((bars_per_year > (0)::numeric)),
    CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan CHECK ((bars_per_year <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan CHECK ((benchmark_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_beta_not_nan CHECK ((beta <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_calmar_ratio_not_nan CHECK ((calmar_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_date_range CHECK ((end_date >= start_date)),
    CONSTRAINT ck_mcp_backtest_results_downside_volatility_not_nan CHECK ((downside_volatility <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_durations CHECK (((max_drawdown_duration >= 0) AND (execution_time_seconds >= (0)::numeric) AND (data_points >= 0))),
    CONSTRAINT ck_mcp_backtest_results_execution_time_seconds_not_nan CHECK ((execution_time_seconds <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_extra_metrics CHECK (((jsonb_typeof(extra_metrics) = 'object'::text) AND (NOT jsonb_path_exists(extra_metrics, '$.*?(@.type() != "number")'::jsonpath)))),
    CONSTRAINT ck_mcp_backtest_results_fees_not_nan CHECK ((fees <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_final_portfolio_value_not_nan CHECK ((final_portfolio_value <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_initial_capital_not_nan CHECK ((initial_capital <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_largest_loss_not_nan CHECK ((largest_loss <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_largest_win_not_nan CHECK ((largest_win <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_max_drawdown CHECK ((max_drawdown <= (0)::numeric)),
    CONSTRAINT ck_mcp_backtest_results_max_drawdown_not_nan CHECK ((max_drawdown <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_peak_portfolio_value_not_nan CHECK ((peak_portfolio_value <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_profit_factor_not_nan CHECK ((profit_factor <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_sharpe_ratio_not_nan CHECK ((sharpe_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_slippage_not_nan CHECK ((slippage <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_sortino_ratio_not_nan CHECK ((sortino_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_status CHECK (((status)::text = ANY ((ARRAY['completed'::character varying, 'failed'::character varying, 'in_progress'::character varying])::text[]))),
    CONSTRAINT ck_mcp_backtest_results_tags CHECK (((jsonb_typeof(tags) = 'object'::text) AND (NOT jsonb_path_exists(tags, '$.*?(@.type() != "string")'::jsonpath)))),
    CONSTRAINT ck_mcp_backtest_results_total_return_not_nan CHECK ((total_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_trade_counts CHECK (((total_trades >= 0) AND (winning_trades >= 0) AND (losing_trades >= 0))),
    CONSTRAINT ck_mcp_backtest_results_trades_add_up CHECK ((((winning_trades)::bigint + losing_trades) <= total_trades)),
    CONSTRAINT ck_mcp_backtest_results_volatility CHECK (((volatility >= (0)::numeric) AND (downside_volatility >= (0)::numeric))),
    CONSTRAINT ck_mcp_backtest_results_volatility_not_nan CHECK ((volatility <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_results_win_rate CHECK (((win_rate >= (0)::numeric) AND (win_rate <= (1)::numeric))),
    CONSTRAINT ck_mcp_backtest_results_win_rate_not_nan CHECK ((win_rate <> 'NaN'::numeric))
);

--
-- Name: TABLE mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.mcp_backtest_results IS 'One backtest run of one strategy on one symbol: setup, parameters, performance and risk metrics, optional equity and drawdown series. Parent of mcp_backtest_trades, mcp_optimization_results and mcp_walk_forward_tests (ON DELETE CASCADE).';

--
-- Name: COLUMN mcp_backtest_results.backtest_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.backtest_id IS 'Primary key; gen_random_uuid() unless the caller chooses one (idempotent retries).';

--
-- Name: COLUMN mcp_backtest_results.symbol; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.symbol IS 'Ticker symbol tested, e.g. AAPL, BTC-USD-PERP (at most 32 characters).';

--
-- Name: COLUMN mcp_backtest_results.strategy_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.strategy_type IS 'Strategy name, e.g. sma_cross (at most 50 characters).';

--
-- Name: COLUMN mcp_backtest_results.backtest_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.backtest_date IS 'When the backtest was run (recorded); defaults to the inserting transaction''s now().';

--
-- Name: COLUMN mcp_backtest_results.start_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.start_date IS 'First day of the tested price history (inclusive).';

--
-- Name: COLUMN mcp_backtest_results.end_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.end_date IS 'Last day of the tested price history (inclusive); not before start_date.';

--
-- Name: COLUMN mcp_backtest_results.initial_capital; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.initial_capital IS 'Starting capital in account currency; default 10000.00.';

--
-- Name: COLUMN mcp_backtest_results.fees; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.fees IS 'Commission per trade as a fraction of traded value (0.001 = 0.1 %); default 0.001.';

--
-- Name: COLUMN mcp_backtest_results.slippage; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.slippage IS 'Assumed slippage per trade as a fraction of price (0.001 = 0.1 %); default 0.001.';

--
-- Name: COLUMN mcp_backtest_results.parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.parameters IS 'Strategy parameters as a JSON object, e.g. {"fast": 10, "slow": 50}; searched by jsonb containment.';

--
-- Name: COLUMN mcp_backtest_results.total_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.total_return IS 'Total return over the period as a fraction (0.15 = 15 %).';

--
-- Name: COLUMN mcp_backtest_results.annualized_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.annualized_return IS 'Annualized (compound) return as a fraction.';

--
-- Name: COLUMN mcp_backtest_results.sharpe_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.sharpe_ratio IS 'Annualized Sharpe ratio (excess return / volatility); dimensionless.';

--
-- Name: COLUMN mcp_backtest_results.sortino_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.sortino_ratio IS 'Annualized Sortino ratio (excess return / downside volatility); dimensionless.';

--
-- Name: COLUMN mcp_backtest_results.calmar_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.calmar_ratio IS 'Calmar ratio (annualized return / |max drawdown|); dimensionless.';

--
-- Name: COLUMN mcp_backtest_results.max_drawdown; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity (-0.20 = 20 % below the peak); <= 0.';

--
-- Name: COLUMN mcp_backtest_results.max_drawdown_duration; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.max_drawdown_duration IS 'Longest drawdown, peak to recovery, in days; >= 0.';

--
-- Name: COLUMN mcp_backtest_results.volatility; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.volatility IS 'Annualized volatility of returns as a fraction (0.25 = 25 %); >= 0.';

--
-- Name: COLUMN mcp_backtest_results.downside_volatility; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.downside_volatility IS 'Annualized downside volatility as a fraction; >= 0.';

--
-- Name: COLUMN mcp_backtest_results.total_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.total_trades IS 'Number of closed trades; default 0; >= winning_trades + losing_trades.';

--
-- Name: COLUMN mcp_backtest_results.winning_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.winning_trades IS 'Trades with pnl > 0; default 0.';

--
-- Name: COLUMN mcp_backtest_results.losing_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.losing_trades IS 'Trades with pnl < 0; default 0.';

--
-- Name: COLUMN mcp_backtest_results.win_rate; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.win_rate IS 'winning_trades / total_trades as a fraction between 0 and 1.';

--
-- Name: COLUMN mcp_backtest_results.profit_factor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.profit_factor IS 'Gross profit / gross loss; dimensionless; NULL when undefined (no losing trade).';

--
-- Name: COLUMN mcp_backtest_results.average_win; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.average_win IS 'Mean pnl of winning trades, in account currency.';

--
-- Name: COLUMN mcp_backtest_results.average_loss; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.average_loss IS 'Mean pnl of losing trades, in account currency (negative).';

--
-- Name: COLUMN mcp_backtest_results.largest_win; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.largest_win IS 'Largest single-trade pnl, in account currency.';

--
-- Name: COLUMN mcp_backtest_results.largest_loss; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.largest_loss IS 'Smallest (most negative) single-trade pnl, in account currency.';

--
-- Name: COLUMN mcp_backtest_results.final_portfolio_value; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.final_portfolio_value IS 'Equity at end_date, in account currency.';

--
-- Name: COLUMN mcp_backtest_results.peak_portfolio_value; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.peak_portfolio_value IS 'Highest equity reached, in account currency.';

--
-- Name: COLUMN mcp_backtest_results.beta; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.beta IS 'Beta against the benchmark; dimensionless.';

--
-- Name: COLUMN mcp_backtest_results.alpha; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.alpha IS 'Annualized alpha against the benchmark as a fraction.';

--
-- Name: COLUMN mcp_backtest_results.equity_curve; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.equity_curve IS 'Equity time series as a JSON array (e.g. of values or [timestamp, value] pairs); up to a year of minutes (~9 MB). List queries leave it out.';

--
-- Name: COLUMN mcp_backtest_results.drawdown_series; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.drawdown_series IS 'Drawdown time series (negative fractions) as a JSON array, aligned with equity_curve. List queries leave it out.';

--
-- Name: COLUMN mcp_backtest_results.execution_time_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.execution_time_seconds IS 'Wall-clock time the backtest took, in seconds; >= 0.';

--
-- Name: COLUMN mcp_backtest_results.data_points; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.data_points IS 'Number of bars the backtest processed (the length of equity_curve when stored); >= 0.';

--
-- Name: COLUMN mcp_backtest_results.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.status IS 'completed | failed | in_progress; default completed.';

--
-- Name: COLUMN mcp_backtest_results.error_message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.error_message IS 'Why the run failed, when status = failed.';

--
-- Name: COLUMN mcp_backtest_results.notes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.notes IS 'Free-form notes.';

--
-- Name: COLUMN mcp_backtest_results.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.created_at IS 'When the row was inserted; never changes.';

--
-- Name: COLUMN mcp_backtest_results.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_results_set_updated_at.';

--
-- Name: COLUMN mcp_backtest_results.experiment; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.experiment IS 'The research the run belongs to (an MLflow experiment, an Optuna study): one name groups a sweep, a grid and its walk-forward runs; at most 200 characters; NULL when not given.';

--
-- Name: COLUMN mcp_backtest_results.run_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.run_by IS 'The person or service that ran the backtest, as the client says (the saving process''s login name unless given); at most 200 characters.';

--
-- Name: COLUMN mcp_backtest_results.saved_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.saved_by IS 'The database role that wrote the row (session_user), set by trigger mcp_backtest_results_set_saved_by whatever the client sends; NULL for rows written before migration 0011.';

--
-- Name: COLUMN mcp_backtest_results.code_version; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.code_version IS 'The caller''s code: the git commit of the working tree that ran the backtest, with a +dirty mark when it had uncommitted changes; NULL outside a git repository.';

--
-- Name: COLUMN mcp_backtest_results.engine; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.engine IS 'The backtest library and its version, e.g. backtesting.py 0.6.5 or vectorbt 1.2.0.';

--
-- Name: COLUMN mcp_backtest_results.data_fingerprint; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.data_fingerprint IS 'A digest of the price data the run used (sha256 of its bars, as sha256:<hex>): the same bars give the same fingerprint, any changed bar a different one.';

--
-- Name: COLUMN mcp_backtest_results.bars_per_year; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.bars_per_year IS 'The annualization basis of the run''s annualized figures, in bars per year (252 for daily bars on trading days, 365 for daily crypto, the engine''s own setting); > 0.';

--
-- Name: COLUMN mcp_backtest_results.benchmark_symbol; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.benchmark_symbol IS 'What the run is measured against (by default the traded instrument, bought and held); at most 32 characters.';

--
-- Name: COLUMN mcp_backtest_results.benchmark_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.benchmark_return IS 'Total return of the benchmark over the period as a fraction (0.15 = 15 %).';

--
-- Name: COLUMN mcp_backtest_results.benchmark_curve; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.benchmark_curve IS 'The benchmark''s value over time, in the same shape and timestamps as equity_curve.';

--
-- Name: COLUMN mcp_backtest_results.tags; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.tags IS 'Free labels: a JSON object of string keys to string values, e.g. {"universe": "sp500"}; searched by jsonb containment.';

--
-- Name: COLUMN mcp_backtest_results.extra_metrics; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_results.extra_metrics IS 'The engine''s figures that no column holds (SQN, exposure, expectancy, Kelly criterion): a JSON object of name to number, each in the engine''s own unit.';

--
-- Name: CONSTRAINT ck_mcp_backtest_results_bars_per_year ON mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON CONSTRAINT ck_mcp_backtest_results_bars_per_year ON public.mcp_backtest_results IS 'bars_per_year is positive.';

--
-- Name: CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan ON mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON CONSTRAINT ck_mcp_backtest_results_bars_per_year_not_nan ON public.mcp_backtest_results IS 'bars_per_year is a number, not NaN.';

--
-- Name: CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan ON mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON CONSTRAINT ck_mcp_backtest_results_benchmark_return_not_nan ON public.mcp_backtest_results IS 'benchmark_return is a number, not NaN.';

--
-- Name: CONSTRAINT ck_mcp_backtest_results_extra_metrics ON mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON CONSTRAINT ck_mcp_backtest_results_extra_metrics ON public.mcp_backtest_results IS 'extra_metrics is a JSON object of numbers.';

--
-- Name: CONSTRAINT ck_mcp_backtest_results_tags ON mcp_backtest_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON CONSTRAINT ck_mcp_backtest_results_tags ON public.mcp_backtest_results IS 'tags is a JSON object of string values.';

--
-- Name: mcp_backtest_trades; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_backtest_trades (
    trade_id uuid DEFAULT gen_random_uuid() NOT NULL,
    backtest_id uuid NOT NULL,
    trade_number integer NOT NULL,
    entry_date date NOT NULL,
    entry_price numeric(18,8) NOT NULL,
    entry_time timestamp with time zone,
    exit_date date,
    exit_price numeric(18,8),
    exit_time timestamp with time zone,
    position_size numeric(21,8),
    direction character varying(5) NOT NULL,
    pnl numeric(18,8),
    pnl_percent numeric(12,8),
    mae numeric(12,8),
    mfe numeric(12,8),
    duration_days integer,
    duration_hours numeric(12,6),
    exit_reason character varying(50),
    fees_paid numeric(14,8) DEFAULT 0,
    slippage_cost numeric(14,8) DEFAULT 0,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ck_mcp_backtest_trades_direction CHECK (((direction)::text = ANY ((ARRAY['long'::character varying, 'short'::character varying])::text[]))),
    CONSTRAINT ck_mcp_backtest_trades_duration_hours_not_nan CHECK ((duration_hours <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_durations CHECK (((duration_days >= 0) AND (duration_hours >= (0)::numeric))),
    CONSTRAINT ck_mcp_backtest_trades_entry_price_not_nan CHECK ((entry_price <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_exit_after_entry CHECK (((exit_date >= entry_date) AND (exit_time >= entry_time))),
    CONSTRAINT ck_mcp_backtest_trades_exit_price_not_nan CHECK ((exit_price <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_fees_paid_not_nan CHECK ((fees_paid <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_mae_not_nan CHECK ((mae <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_mfe_not_nan CHECK ((mfe <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_pnl_not_nan CHECK ((pnl <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_pnl_percent_not_nan CHECK ((pnl_percent <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_position_size_not_nan CHECK ((position_size <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_slippage_cost_not_nan CHECK ((slippage_cost <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_backtest_trades_trade_number CHECK ((trade_number >= 0))
);

--
-- Name: TABLE mcp_backtest_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.mcp_backtest_trades IS 'One trade of a backtest (mcp_backtest_results); deleted with its backtest (ON DELETE CASCADE).';

--
-- Name: COLUMN mcp_backtest_trades.trade_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.trade_id IS 'Primary key; gen_random_uuid() unless given.';

--
-- Name: COLUMN mcp_backtest_trades.backtest_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.backtest_id IS 'The backtest this trade belongs to.';

--
-- Name: COLUMN mcp_backtest_trades.trade_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.trade_number IS 'Sequence number of the trade within its backtest, 1..n; >= 0.';

--
-- Name: COLUMN mcp_backtest_trades.entry_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.entry_date IS 'Day the position was opened.';

--
-- Name: COLUMN mcp_backtest_trades.entry_price; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.entry_price IS 'Fill price at entry, in account currency.';

--
-- Name: COLUMN mcp_backtest_trades.entry_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.entry_time IS 'Exact entry time, for intraday strategies.';

--
-- Name: COLUMN mcp_backtest_trades.exit_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.exit_date IS 'Day the position was closed; NULL while open; not before entry_date.';

--
-- Name: COLUMN mcp_backtest_trades.exit_price; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.exit_price IS 'Fill price at exit, in account currency.';

--
-- Name: COLUMN mcp_backtest_trades.exit_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.exit_time IS 'Exact exit time; not before entry_time.';

--
-- Name: COLUMN mcp_backtest_trades.position_size; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.position_size IS 'Position size (shares or contracts).';

--
-- Name: COLUMN mcp_backtest_trades.direction; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.direction IS 'long | short.';

--
-- Name: COLUMN mcp_backtest_trades.pnl; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.pnl IS 'Realized profit or loss after costs, in account currency; > 0 winning, < 0 losing.';

--
-- Name: COLUMN mcp_backtest_trades.pnl_percent; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.pnl_percent IS 'Return of the trade as a fraction of the entry value (0.05 = 5 %).';

--
-- Name: COLUMN mcp_backtest_trades.mae; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.mae IS 'Maximum adverse excursion as a fraction of the entry price.';

--
-- Name: COLUMN mcp_backtest_trades.mfe; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.mfe IS 'Maximum favorable excursion as a fraction of the entry price.';

--
-- Name: COLUMN mcp_backtest_trades.duration_days; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.duration_days IS 'Holding period in whole days; >= 0.';

--
-- Name: COLUMN mcp_backtest_trades.duration_hours; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.duration_hours IS 'Holding period in hours; >= 0.';

--
-- Name: COLUMN mcp_backtest_trades.exit_reason; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.exit_reason IS 'Why the trade closed, e.g. signal, stop_loss, take_profit (at most 50 characters).';

--
-- Name: COLUMN mcp_backtest_trades.fees_paid; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.fees_paid IS 'Commissions paid on the trade, in account currency; default 0.';

--
-- Name: COLUMN mcp_backtest_trades.slippage_cost; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.slippage_cost IS 'Slippage cost of the trade, in account currency; default 0.';

--
-- Name: COLUMN mcp_backtest_trades.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.created_at IS 'When the row was inserted; never changes.';

--
-- Name: COLUMN mcp_backtest_trades.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_backtest_trades.updated_at IS 'When the row was last changed; set by trigger mcp_backtest_trades_set_updated_at.';

--
-- Name: mcp_optimization_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_optimization_results (
    optimization_id uuid DEFAULT gen_random_uuid() NOT NULL,
    backtest_id uuid NOT NULL,
    optimization_date timestamp with time zone DEFAULT now() NOT NULL,
    parameter_set integer NOT NULL,
    parameters jsonb NOT NULL,
    objective_function character varying(50),
    objective_value numeric(16,8),
    total_return numeric(14,8),
    sharpe_ratio numeric(8,4),
    max_drawdown numeric(12,8),
    win_rate numeric(9,8),
    profit_factor numeric(8,4),
    total_trades integer,
    rank integer,
    is_statistically_significant boolean DEFAULT false,
    p_value numeric(8,6),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ck_mcp_optimization_results_max_drawdown CHECK ((max_drawdown <= (0)::numeric)),
    CONSTRAINT ck_mcp_optimization_results_max_drawdown_not_nan CHECK ((max_drawdown <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_objective_value_not_nan CHECK ((objective_value <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_p_value CHECK (((p_value >= (0)::numeric) AND (p_value <= (1)::numeric))),
    CONSTRAINT ck_mcp_optimization_results_p_value_not_nan CHECK ((p_value <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_parameter_set CHECK ((parameter_set >= 0)),
    CONSTRAINT ck_mcp_optimization_results_profit_factor_not_nan CHECK ((profit_factor <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_rank CHECK ((rank >= 1)),
    CONSTRAINT ck_mcp_optimization_results_sharpe_ratio_not_nan CHECK ((sharpe_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_total_return_not_nan CHECK ((total_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_optimization_results_total_trades CHECK ((total_trades >= 0)),
    CONSTRAINT ck_mcp_optimization_results_win_rate CHECK (((win_rate >= (0)::numeric) AND (win_rate <= (1)::numeric))),
    CONSTRAINT ck_mcp_optimization_results_win_rate_not_nan CHECK ((win_rate <> 'NaN'::numeric))
);

--
-- Name: TABLE mcp_optimization_results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.mcp_optimization_results IS 'One parameter set evaluated by a parameter optimization of a backtest (mcp_backtest_results); deleted with it (ON DELETE CASCADE).';

--
-- Name: COLUMN mcp_optimization_results.optimization_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.optimization_id IS 'Primary key; gen_random_uuid() unless given.';

--
-- Name: COLUMN mcp_optimization_results.backtest_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.backtest_id IS 'The backtest the optimization belongs to.';

--
-- Name: COLUMN mcp_optimization_results.optimization_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.optimization_date IS 'When the optimization ran (recorded); defaults to now().';

--
-- Name: COLUMN mcp_optimization_results.parameter_set; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.parameter_set IS 'Number of this parameter set within the optimization, 1..n; >= 0.';

--
-- Name: COLUMN mcp_optimization_results.parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.parameters IS 'The parameter values tried, as a JSON object.';

--
-- Name: COLUMN mcp_optimization_results.objective_function; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.objective_function IS 'Name of the optimized objective, e.g. sharpe_ratio (at most 50 characters).';

--
-- Name: COLUMN mcp_optimization_results.objective_value; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.objective_value IS 'Value of the objective for this parameter set; higher is better.';

--
-- Name: COLUMN mcp_optimization_results.total_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.total_return IS 'Total return as a fraction (0.15 = 15 %).';

--
-- Name: COLUMN mcp_optimization_results.sharpe_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.sharpe_ratio IS 'Annualized Sharpe ratio; dimensionless.';

--
-- Name: COLUMN mcp_optimization_results.max_drawdown; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.max_drawdown IS 'Maximum drawdown as a negative fraction of peak equity; <= 0.';

--
-- Name: COLUMN mcp_optimization_results.win_rate; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.win_rate IS 'Fraction of winning trades, between 0 and 1.';

--
-- Name: COLUMN mcp_optimization_results.profit_factor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.profit_factor IS 'Gross profit / gross loss; dimensionless.';

--
-- Name: COLUMN mcp_optimization_results.total_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.total_trades IS 'Number of trades with these parameters; >= 0.';

--
-- Name: COLUMN mcp_optimization_results.rank; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.rank IS 'Rank by objective_value within the optimization, 1 = best; >= 1.';

--
-- Name: COLUMN mcp_optimization_results.is_statistically_significant; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.is_statistically_significant IS 'Whether the result passed the significance test; default false.';

--
-- Name: COLUMN mcp_optimization_results.p_value; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.p_value IS 'p-value of the significance test, between 0 and 1.';

--
-- Name: COLUMN mcp_optimization_results.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.created_at IS 'When the row was inserted; never changes.';

--
-- Name: COLUMN mcp_optimization_results.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_optimization_results.updated_at IS 'When the row was last changed; set by trigger mcp_optimization_results_set_updated_at.';

--
-- Name: mcp_walk_forward_tests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_walk_forward_tests (
    walk_forward_id uuid DEFAULT gen_random_uuid() NOT NULL,
    parent_backtest_id uuid NOT NULL,
    test_date timestamp with time zone DEFAULT now() NOT NULL,
    window_size_months integer NOT NULL,
    step_size_months integer NOT NULL,
    training_start date NOT NULL,
    training_end date NOT NULL,
    test_period_start date NOT NULL,
    test_period_end date NOT NULL,
    optimal_parameters jsonb,
    training_performance numeric(14,8),
    out_of_sample_return numeric(14,8),
    out_of_sample_sharpe numeric(8,4),
    out_of_sample_drawdown numeric(12,8),
    out_of_sample_trades integer,
    performance_ratio numeric(8,4),
    degradation_factor numeric(8,4),
    is_profitable boolean,
    is_statistically_significant boolean DEFAULT false,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ck_mcp_walk_forward_tests_degradation_factor_not_nan CHECK ((degradation_factor <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_drawdown CHECK ((out_of_sample_drawdown <= (0)::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_drawdown_not_nan CHECK ((out_of_sample_drawdown <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_return_not_nan CHECK ((out_of_sample_return <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_out_of_sample_sharpe_not_nan CHECK ((out_of_sample_sharpe <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_performance_ratio_not_nan CHECK ((performance_ratio <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_test_period CHECK ((test_period_end >= test_period_start)),
    CONSTRAINT ck_mcp_walk_forward_tests_trades CHECK ((out_of_sample_trades >= 0)),
    CONSTRAINT ck_mcp_walk_forward_tests_training_performance_not_nan CHECK ((training_performance <> 'NaN'::numeric)),
    CONSTRAINT ck_mcp_walk_forward_tests_training_period CHECK ((training_end >= training_start)),
    CONSTRAINT ck_mcp_walk_forward_tests_window CHECK (((window_size_months >= 1) AND (step_size_months >= 1)))
);

--
-- Name: TABLE mcp_walk_forward_tests; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.mcp_walk_forward_tests IS 'One walk-forward window (in-sample training, out-of-sample test) of a parent backtest (mcp_backtest_results); deleted with it (ON DELETE CASCADE).';

--
-- Name: COLUMN mcp_walk_forward_tests.walk_forward_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.walk_forward_id IS 'Primary key; gen_random_uuid() unless given.';

--
-- Name: COLUMN mcp_walk_forward_tests.parent_backtest_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.parent_backtest_id IS 'The backtest whose strategy is validated.';

--
-- Name: COLUMN mcp_walk_forward_tests.test_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.test_date IS 'When the walk-forward test ran (recorded); defaults to now().';

--
-- Name: COLUMN mcp_walk_forward_tests.window_size_months; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.window_size_months IS 'Length of the training window in months; > 0.';

--
-- Name: COLUMN mcp_walk_forward_tests.step_size_months; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.step_size_months IS 'How far the window moves between tests, in months; > 0.';

--
-- Name: COLUMN mcp_walk_forward_tests.training_start; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.training_start IS 'First day of the in-sample training period.';

--
-- Name: COLUMN mcp_walk_forward_tests.training_end; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.training_end IS 'Last day of the training period; not before training_start.';

--
-- Name: COLUMN mcp_walk_forward_tests.test_period_start; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.test_period_start IS 'First day of the out-of-sample test period.';

--
-- Name: COLUMN mcp_walk_forward_tests.test_period_end; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.test_period_end IS 'Last day of the test period; not before test_period_start.';

--
-- Name: COLUMN mcp_walk_forward_tests.optimal_parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.optimal_parameters IS 'Parameters chosen on the training period, as a JSON object.';

--
-- Name: COLUMN mcp_walk_forward_tests.training_performance; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.training_performance IS 'Objective value reached on the training period.';

--
-- Name: COLUMN mcp_walk_forward_tests.out_of_sample_return; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.out_of_sample_return IS 'Return over the test period as a fraction (0.05 = 5 %).';

--
-- Name: COLUMN mcp_walk_forward_tests.out_of_sample_sharpe; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.out_of_sample_sharpe IS 'Sharpe ratio over the test period; dimensionless.';

--
-- Name: COLUMN mcp_walk_forward_tests.out_of_sample_drawdown; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.out_of_sample_drawdown IS 'Maximum drawdown over the test period as a negative fraction; <= 0.';

--
-- Name: COLUMN mcp_walk_forward_tests.out_of_sample_trades; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.out_of_sample_trades IS 'Number of trades in the test period; >= 0.';

--
-- Name: COLUMN mcp_walk_forward_tests.performance_ratio; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.performance_ratio IS 'Out-of-sample performance / in-sample performance; dimensionless.';

--
-- Name: COLUMN mcp_walk_forward_tests.degradation_factor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.degradation_factor IS 'How much performance degraded out of sample (1 - performance_ratio); dimensionless.';

--
-- Name: COLUMN mcp_walk_forward_tests.is_profitable; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.is_profitable IS 'Whether the test period made money.';

--
-- Name: COLUMN mcp_walk_forward_tests.is_statistically_significant; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.is_statistically_significant IS 'Whether the out-of-sample result is statistically significant; default false.';

--
-- Name: COLUMN mcp_walk_forward_tests.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.created_at IS 'When the row was inserted; never changes.';

--
-- Name: COLUMN mcp_walk_forward_tests.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.mcp_walk_forward_tests.updated_at IS 'When the row was last changed; set by trigger mcp_walk_forward_tests_set_updated_at.';

--
-- Name: mcp_backtest_portfolios mcp_backtest_portfolios_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_backtest_portfolios
    ADD CONSTRAINT mcp_backtest_portfolios_pkey PRIMARY KEY (portfolio_backtest_id);

--
-- Name: mcp_backtest_results mcp_backtest_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_backtest_results
    ADD CONSTRAINT mcp_backtest_results_pkey PRIMARY KEY (backtest_id);

--
-- Name: mcp_backtest_trades mcp_backtest_trades_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_backtest_trades
    ADD CONSTRAINT mcp_backtest_trades_pkey PRIMARY KEY (trade_id);

--
-- Name: mcp_optimization_results mcp_optimization_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_optimization_results
    ADD CONSTRAINT mcp_optimization_results_pkey PRIMARY KEY (optimization_id);

--
-- Name: mcp_walk_forward_tests mcp_walk_forward_tests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_walk_forward_tests
    ADD CONSTRAINT mcp_walk_forward_tests_pkey PRIMARY KEY (walk_forward_id);

--
-- Name: mcp_backtest_portfolios_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_portfolios_date_idx ON public.mcp_backtest_portfolios USING btree (backtest_date);

--
-- Name: mcp_backtest_portfolios_name_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_portfolios_name_date_idx ON public.mcp_backtest_portfolios USING btree (portfolio_name, backtest_date, portfolio_backtest_id);

--
-- Name: mcp_backtest_portfolios_name_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_portfolios_name_idx ON public.mcp_backtest_portfolios USING btree (portfolio_name);

--
-- Name: mcp_backtest_portfolios_return_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_portfolios_return_idx ON public.mcp_backtest_portfolios USING btree (total_return);

--
-- Name: mcp_backtest_results_alpha_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_alpha_idx ON public.mcp_backtest_results USING btree (alpha);

--
-- Name: mcp_backtest_results_annualized_return_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_annualized_return_idx ON public.mcp_backtest_results USING btree (annualized_return);

--
-- Name: mcp_backtest_results_calmar_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_calmar_idx ON public.mcp_backtest_results USING btree (calmar_ratio);

--
-- Name: mcp_backtest_results_code_version_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_code_version_date_idx ON public.mcp_backtest_results USING btree (code_version, backtest_date, backtest_id);

--
-- Name: mcp_backtest_results_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_date_idx ON public.mcp_backtest_results USING btree (backtest_date);

--
-- Name: mcp_backtest_results_downside_volatility_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_downside_volatility_idx ON public.mcp_backtest_results USING btree (downside_volatility);

--
-- Name: mcp_backtest_results_experiment_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_experiment_date_idx ON public.mcp_backtest_results USING btree (experiment, backtest_date, backtest_id);

--
-- Name: mcp_backtest_results_max_drawdown_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_max_drawdown_idx ON public.mcp_backtest_results USING btree (max_drawdown);

--
-- Name: mcp_backtest_results_parameters_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_parameters_idx ON public.mcp_backtest_results USING gin (parameters jsonb_path_ops) WITH (fastupdate=off);

--
-- Name: mcp_backtest_results_profit_factor_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_profit_factor_idx ON public.mcp_backtest_results USING btree (profit_factor);

--
-- Name: mcp_backtest_results_run_by_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_run_by_date_idx ON public.mcp_backtest_results USING btree (run_by, backtest_date, backtest_id);

--
-- Name: mcp_backtest_results_same_run_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_same_run_idx ON public.mcp_backtest_results USING btree (data_fingerprint, jsonb_hash(parameters));

--
-- Name: mcp_backtest_results_sharpe_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_sharpe_idx ON public.mcp_backtest_results USING btree (sharpe_ratio);

--
-- Name: mcp_backtest_results_sortino_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_sortino_idx ON public.mcp_backtest_results USING btree (sortino_ratio);

--
-- Name: mcp_backtest_results_strategy_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_strategy_date_idx ON public.mcp_backtest_results USING btree (strategy_type, backtest_date, backtest_id);

--
-- Name: mcp_backtest_results_strategy_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_strategy_idx ON public.mcp_backtest_results USING btree (strategy_type);

--
-- Name: mcp_backtest_results_symbol_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_symbol_date_idx ON public.mcp_backtest_results USING btree (symbol, backtest_date, backtest_id);

--
-- Name: mcp_backtest_results_symbol_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_symbol_idx ON public.mcp_backtest_results USING btree (symbol);

--
-- Name: mcp_backtest_results_symbol_strategy_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_symbol_strategy_idx ON public.mcp_backtest_results USING btree (symbol, strategy_type);

--
-- Name: mcp_backtest_results_tags_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_tags_idx ON public.mcp_backtest_results USING gin (tags jsonb_path_ops) WITH (fastupdate=off);

--
-- Name: mcp_backtest_results_total_return_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_total_return_idx ON public.mcp_backtest_results USING btree (total_return);

--
-- Name: mcp_backtest_results_volatility_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_volatility_idx ON public.mcp_backtest_results USING btree (volatility);

--
-- Name: mcp_backtest_results_win_rate_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_results_win_rate_idx ON public.mcp_backtest_results USING btree (win_rate);

--
-- Name: mcp_backtest_trades_backtest_entry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_trades_backtest_entry_idx ON public.mcp_backtest_trades USING btree (backtest_id, entry_date);

--
-- Name: mcp_backtest_trades_backtest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_trades_backtest_idx ON public.mcp_backtest_trades USING btree (backtest_id);

--
-- Name: mcp_backtest_trades_entry_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_trades_entry_date_idx ON public.mcp_backtest_trades USING btree (entry_date);

--
-- Name: mcp_backtest_trades_exit_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_trades_exit_date_idx ON public.mcp_backtest_trades USING btree (exit_date);

--
-- Name: mcp_backtest_trades_pnl_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_backtest_trades_pnl_idx ON public.mcp_backtest_trades USING btree (pnl);

--
-- Name: mcp_optimization_results_backtest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_optimization_results_backtest_idx ON public.mcp_optimization_results USING btree (backtest_id);

--
-- Name: mcp_optimization_results_objective_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_optimization_results_objective_idx ON public.mcp_optimization_results USING btree (objective_value);

--
-- Name: mcp_optimization_results_param_set_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_optimization_results_param_set_idx ON public.mcp_optimization_results USING btree (parameter_set);

--
-- Name: mcp_walk_forward_tests_parent_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_walk_forward_tests_parent_idx ON public.mcp_walk_forward_tests USING btree (parent_backtest_id);

--
-- Name: mcp_walk_forward_tests_performance_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_walk_forward_tests_performance_idx ON public.mcp_walk_forward_tests USING btree (out_of_sample_return);

--
-- Name: mcp_walk_forward_tests_period_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_walk_forward_tests_period_idx ON public.mcp_walk_forward_tests USING btree (test_period_start);

--
-- Name: mcp_backtest_portfolios mcp_backtest_portfolios_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_backtest_portfolios_set_updated_at BEFORE UPDATE ON public.mcp_backtest_portfolios FOR EACH ROW EXECUTE FUNCTION public.mcp_set_updated_at();

--
-- Name: mcp_backtest_results mcp_backtest_results_set_saved_by; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_backtest_results_set_saved_by BEFORE INSERT OR UPDATE ON public.mcp_backtest_results FOR EACH ROW EXECUTE FUNCTION public.mcp_set_saved_by();

--
-- Name: mcp_backtest_results mcp_backtest_results_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_backtest_results_set_updated_at BEFORE UPDATE ON public.mcp_backtest_results FOR EACH ROW EXECUTE FUNCTION public.mcp_set_updated_at();

--
-- Name: mcp_backtest_trades mcp_backtest_trades_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_backtest_trades_set_updated_at BEFORE UPDATE ON public.mcp_backtest_trades FOR EACH ROW EXECUTE FUNCTION public.mcp_set_updated_at();

--
-- Name: mcp_optimization_results mcp_optimization_results_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_optimization_results_set_updated_at BEFORE UPDATE ON public.mcp_optimization_results FOR EACH ROW EXECUTE FUNCTION public.mcp_set_updated_at();

--
-- Name: mcp_walk_forward_tests mcp_walk_forward_tests_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER mcp_walk_forward_tests_set_updated_at BEFORE UPDATE ON public.mcp_walk_forward_tests FOR EACH ROW EXECUTE FUNCTION public.mcp_set_updated_at();

--
-- Name: mcp_backtest_trades mcp_backtest_trades_backtest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_backtest_trades
    ADD CONSTRAINT mcp_backtest_trades_backtest_id_fkey FOREIGN KEY (backtest_id) REFERENCES public.mcp_backtest_results(backtest_id) ON DELETE CASCADE;

--
-- Name: mcp_optimization_results mcp_optimization_results_backtest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_optimization_results
    ADD CONSTRAINT mcp_optimization_results_backtest_id_fkey FOREIGN KEY (backtest_id) REFERENCES public.mcp_backtest_results(backtest_id) ON DELETE CASCADE;

--
-- Name: mcp_walk_forward_tests mcp_walk_forward_tests_parent_backtest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_walk_forward_tests
    ADD CONSTRAINT mcp_walk_forward_tests_parent_backtest_id_fkey FOREIGN KEY (parent_backtest_id) REFERENCES public.mcp_backtest_results(backtest_id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--

