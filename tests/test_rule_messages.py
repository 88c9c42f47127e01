"""A refusal says what was wrong with which values: the rule a CHECK holds (as
``rules.CHECKS`` words it, proven the catalog's) and the row's values, an allowed-values list that is case-sensitive,
and a fraction given in percent."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from devkit.records import result, trade

from backtest_store import ConstraintViolation, ValidationError


def test_end_before_start_names_the_two_dates(store: Any) -> None:
    with pytest.raises(ConstraintViolation) as refused:
        store.save_backtest(result(start_date=date(2024, 6, 30), end_date=date(2024, 1, 1)))
    message = str(refused.value)
    assert "ck_mcp_backtest_results_date_range" in message
    assert "the rule is end_date >= start_date" in message
    assert "start_date = 2024-06-30" in message and "end_date = 2024-01-01" in message


@pytest.mark.parametrize("trades", [1, 150], ids=["one-statement", "copy"])
def test_a_direction_in_upper_case_says_the_allowed_values(store: Any, trades: int) -> None:
    rows = [trade(i) for i in range(trades)]
    rows[-1] = trade(trades - 1, direction="LONG")
    with pytest.raises(ConstraintViolation) as refused:
        store.save_backtest(result(), rows)
    message = str(refused.value)
    assert "direction IN ('long', 'short')" in message and "case-sensitive" in message
    if trades > 1:  # COPY names the line: the record and its value
        assert f"BacktestTrade[{trades - 1}] has direction = LONG" in message


def test_a_fraction_given_in_percent_says_so(store: Any) -> None:
    with pytest.raises(ValidationError, match=r"win_rate = 52 overflows.*0\.52 = 52 %"):
        store.save_backtest(result(win_rate=52))


def test_a_rule_written_over_several_lines_is_named_too(store: Any) -> None:
    """0011 writes its checks over several lines: the rule is still named (the parser of
    migration files this replaced missed them)."""
    with pytest.raises(ConstraintViolation) as refused:
        store.save_backtest(result(bars_per_year=-252))
    message = str(refused.value)
    assert "ck_mcp_backtest_results_bars_per_year" in message
    assert "the rule is bars_per_year > 0" in message and "bars_per_year = -252" in message
