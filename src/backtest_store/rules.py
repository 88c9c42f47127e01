"""The schema's rules as the DAO words them: each CHECK constraint's rule, the statuses a
run may have, and each column's unit. Kept here once, in Python; ``tests/test_catalog.py``
proves each equal to the migrated database's own catalog (``pg_constraint``: each rule
parses to the constraint PostgreSQL holds; ``pg_description``: each column's COMMENT
names the unit given here, and no other). Nothing reads ``sql/`` at run time for them.
"""

from __future__ import annotations

from backtest_store.tables import ALL, OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, WALK_FORWARD

STATUSES = ("completed", "failed", "in_progress")  # ck_mcp_backtest_results_status
_STATUS_RULE = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"

# ck_<table>_<what>: the rule, in the words of its migration
_RULES: dict[str, dict[str, str]] = {
    RESULTS.name: {
        "date_range": "end_date >= start_date",
        "status": _STATUS_RULE,
        "trade_counts": "total_trades >= 0 AND winning_trades >= 0 AND losing_trades >= 0",
        "trades_add_up": "winning_trades::bigint + losing_trades <= total_trades",
        "win_rate": "win_rate BETWEEN 0 AND 1",
        "max_drawdown": "max_drawdown <= 0",
        "volatility": "volatility >= 0 AND downside_volatility >= 0",
        "durations": "max_drawdown_duration >= 0 AND execution_time_seconds >= 0"
        " AND data_points >= 0",
        "tags": "jsonb_typeof(tags) = 'object'"
        " AND NOT jsonb_path_exists(tags, '$.* ? (@.type() != \"string\")')",
        "extra_metrics": "jsonb_typeof(extra_metrics) = 'object'"
        " AND NOT jsonb_path_exists(extra_metrics, '$.* ? (@.type() != \"number\")')",
        "bars_per_year": "bars_per_year > 0",
    },
    TRADES.name: {
        "direction": "direction IN ('long', 'short')",
        "exit_after_entry": "exit_date >= entry_date AND exit_time >= entry_time",
        "trade_number": "trade_number >= 0",
        "durations": "duration_days >= 0 AND duration_hours >= 0",
    },
    OPTIMIZATIONS.name: {
        "parameter_set": "parameter_set >= 0",
        "rank": "rank >= 1",
        "total_trades": "total_trades >= 0",
        "win_rate": "win_rate BETWEEN 0 AND 1",
        "max_drawdown": "max_drawdown <= 0",
        "p_value": "p_value BETWEEN 0 AND 1",
    },
    WALK_FORWARD.name: {
        "training_period": "training_end >= training_start",
        "test_period": "test_period_end >= test_period_start",
        "window": "window_size_months >= 1 AND step_size_months >= 1",
        "trades": "out_of_sample_trades >= 0",
        "drawdown": "out_of_sample_drawdown <= 0",
    },
    PORTFOLIOS.name: {
        "date_range": "end_date >= start_date",
        "status": _STATUS_RULE,
        "max_positions": "max_positions >= 0",
        "max_drawdown": "max_drawdown <= 0",
        "volatility": "volatility >= 0",
        "max_sector_allocation": "max_sector_allocation BETWEEN 0 AND 1",
        "symbols_array": "jsonb_typeof(symbols) = 'array'",
    },
}

# ck_<table>: every rule by constraint name; and, for every numeric column (0009, 0011),
# ck_<table>_<column>_not_nan: NaN is no number
CHECKS: dict[str, str] = {
    f"ck_{table}_{what}": rule for table, rules in _RULES.items() for what, rule in rules.items()
} | {
    f"ck_{spec.name}_{column}_not_nan": f"{column} <> 'NaN'"
    for spec in ALL
    for column in spec.columns
    if column in spec.numeric
}

# Each column's unit, where it has one: a fraction (0.52 = 52 %), money in the account's
# currency, days, seconds, a dimensionless ratio, or a count. A column's COMMENT says it.
_FRACTION, _CURRENCY, _RATIO, _COUNT = "fraction", "currency", "ratio", "count"
UNITS: dict[str, dict[str, str]] = {
    RESULTS.name: {
        "initial_capital": _CURRENCY, "fees": _FRACTION, "slippage": _FRACTION,
        "total_return": _FRACTION, "annualized_return": _FRACTION, "sharpe_ratio": _RATIO,
        "sortino_ratio": _RATIO, "calmar_ratio": _RATIO, "max_drawdown": _FRACTION,
        "max_drawdown_duration": "days", "volatility": _FRACTION,
        "downside_volatility": _FRACTION, "total_trades": _COUNT, "winning_trades": _COUNT,
        "losing_trades": _COUNT, "win_rate": _FRACTION, "profit_factor": _RATIO,
        "average_win": _CURRENCY, "average_loss": _CURRENCY, "largest_win": _CURRENCY,
        "largest_loss": _CURRENCY, "final_portfolio_value": _CURRENCY,
        "peak_portfolio_value": _CURRENCY, "beta": _RATIO, "alpha": _FRACTION,
        "drawdown_series": _FRACTION, "execution_time_seconds": "seconds",
        "data_points": _COUNT, "benchmark_return": _FRACTION,
    },
    TRADES.name: {
        "entry_price": _CURRENCY, "exit_price": _CURRENCY, "pnl": _CURRENCY,
        "pnl_percent": _FRACTION, "mae": _FRACTION, "mfe": _FRACTION,
        "fees_paid": _CURRENCY, "slippage_cost": _CURRENCY,
    },
    OPTIMIZATIONS.name: {
        "parameter_set": _COUNT, "total_return": _FRACTION, "sharpe_ratio": _RATIO,
        "max_drawdown": _FRACTION, "win_rate": _FRACTION, "profit_factor": _RATIO,
        "total_trades": _COUNT,
    },
    WALK_FORWARD.name: {
        "out_of_sample_return": _FRACTION, "out_of_sample_sharpe": _RATIO,
        "out_of_sample_drawdown": _FRACTION, "out_of_sample_trades": _COUNT,
        "performance_ratio": _RATIO, "degradation_factor": _RATIO,
    },
    PORTFOLIOS.name: {
        "weights": _FRACTION, "initial_capital": _CURRENCY, "portfolio_stop_loss": _FRACTION,
        "max_sector_allocation": _FRACTION, "total_return": _FRACTION,
        "annualized_return": _FRACTION, "sharpe_ratio": _RATIO, "sortino_ratio": _RATIO,
        "max_drawdown": _FRACTION, "volatility": _FRACTION, "diversification_ratio": _RATIO,
        "turnover_rate": _FRACTION,
    },
}  # fmt: skip


def unit(table: str, column: str) -> str:
    """The column's unit ("" when it has none)."""
    return UNITS.get(table, {}).get(column, "")
