"""Hypothesis strategies for records, built from the column facts over the full range each
column allows (lengths, precision and scale, integer bounds, NULL), then bent to satisfy the
ck_ constraints, so every generated record is one the schema accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from backtest_store.columns import Column
from backtest_store.tables import TableSpec

# Characters PostgreSQL text can store: anything but NUL and lone surrogates.
TEXT_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


def texts(max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(TEXT_CHARS, max_size=max_size if max_size is not None else 300)


def decimals(
    column: Column, lo: Decimal | None = None, hi: Decimal | None = None
) -> st.SearchStrategy[Decimal]:
    assert column.precision is not None and column.scale is not None
    largest = Decimal(10) ** (column.precision - column.scale) - Decimal(10) ** -column.scale
    low = -largest if lo is None else lo
    high = largest if hi is None else hi
    edges = st.sampled_from([v for v in (low, high, Decimal(0)) if low <= v <= high])
    return edges | st.decimals(
        low, high, places=column.scale, allow_nan=False, allow_infinity=False
    )


# JSON that survives jsonb exactly: finite floats below 2**53 (larger integral floats come back
# as ints), strings PostgreSQL can store, any depth.
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(-(2.0**53), 2.0**53, allow_nan=False, allow_infinity=False)
    | texts(40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(20), inner, max_size=4),
    max_leaves=25,
)
JSON_DOCS = st.lists(JSON_VALUES, max_size=6) | st.dictionaries(texts(20), JSON_VALUES, max_size=6)

INT4 = st.integers(-(2**31), 2**31 - 1)
TIMESTAMPS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
) | st.datetimes(
    timezones=st.just(UTC), min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)
)


def base(column: Column) -> st.SearchStrategy[Any]:
    kind = column.kind
    if kind == "varchar":
        return texts(column.length)
    if kind == "text":
        return texts()
    if kind == "integer":
        return INT4
    if kind == "numeric":
        return decimals(column)
    if kind == "uuid":
        return st.uuids()
    if kind == "date":
        return st.dates()
    if kind == "timestamptz":
        return TIMESTAMPS
    if kind == "boolean":
        return st.booleans()
    if kind == "jsonb":
        return JSON_DOCS
    raise AssertionError(kind)


def _constrained(spec: TableSpec[Any], name: str, column: Column) -> st.SearchStrategy[Any] | None:
    """The ck_ rules: a narrower strategy for the columns they cover."""
    if name == "status":
        return st.sampled_from(["completed", "failed", "in_progress"])
    if name == "direction":
        return st.sampled_from(["long", "short"])
    if name in ("win_rate", "p_value", "max_sector_allocation"):
        return decimals(column, Decimal(0), Decimal(1))
    if name in ("max_drawdown", "out_of_sample_drawdown"):
        return decimals(column, hi=Decimal(0))
    if name in ("volatility", "downside_volatility", "execution_time_seconds", "duration_hours"):
        return decimals(column, lo=Decimal(0))
    if name in ("window_size_months", "step_size_months", "rank"):
        return st.integers(1, 2**31 - 1)
    if column.kind == "integer":
        if name in ("total_trades", "winning_trades", "losing_trades"):
            return st.integers(0, 2**29)
        if name in ("max_drawdown_duration", "data_points", "trade_number", "duration_days",
                    "parameter_set", "out_of_sample_trades", "max_positions"):  # fmt: skip
            return st.integers(0, 2**31 - 1)
    if name == "symbols":
        return st.lists(texts(10), max_size=8)
    return None


PAIRS = [
    ("start_date", "end_date"),
    ("training_start", "training_end"),
    ("test_period_start", "test_period_end"),
    ("entry_date", "exit_date"),
    ("entry_time", "exit_time"),
]


@st.composite
def records(draw: st.DrawFn, spec: TableSpec[Any]) -> Any:
    values: dict[str, Any] = {}
    for name, column in spec.columns.items():
        strategy = _constrained(spec, name, column)
        if strategy is None:
            strategy = base(column)
        if name == spec.parent_key:
            values[name] = None  # the store fills it from the parent
            continue
        nullable = not column.not_null or column.db_fills
        values[name] = draw(st.none() | strategy) if nullable else draw(strategy)
    for lo, hi in PAIRS:
        if values.get(lo) is not None and values.get(hi) is not None and values[hi] < values[lo]:
            values[lo], values[hi] = values[hi], values[lo]
    if "total_trades" in values and "winning_trades" in values:
        counted = (values["winning_trades"] or 0) + (values["losing_trades"] or 0)
        if (values["total_trades"] or 0) < counted:  # None is stored as the default 0
            values["total_trades"] = counted
    return spec.record(**values)
