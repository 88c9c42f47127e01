"""A refusal says what was wrong with which values: the rule a CHECK holds (as the
migration writes it) and the row's values, an allowed-values list that is case-sensitive,
and a fraction given in percent."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from backtest_store import ConstraintViolation, ValidationError
from tests.support.records import result, trade


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
