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
    if name == "bars_per_year":
        return decimals(column, lo=Decimal(1))
    if name == "tags":  # an object of strings (ck_mcp_backtest_results_tags)
        return st.dictionaries(texts(20), texts(40), max_size=4)
    if name == "extra_metrics":  # an object of numbers (ck_mcp_backtest_results_extra_metrics)
        finite = st.floats(-1e9, 1e9, width=32) | st.integers(-999, 999)  # as jsonb gives back
        return st.dictionaries(texts(20), finite, max_size=4)
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
        if name == spec.parent_key or name == "saved_by":
            values[name] = None  # the store fills it from the parent; the database saved_by
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


# -- numpy and pandas twins -----------------------------------------------------------------
# The values quant libraries hand over, each beside the plain Python value it stands for:
# the store must treat the twin exactly as that plain value.

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def _twin_scalar(value: Any, column: Column) -> st.SearchStrategy[tuple[Any, Any]]:
    import numpy as np
    import pandas as pd

    if value is None:
        return st.sampled_from(
            [(None, None), (pd.NA, None), (pd.NaT, None), (np.nan, np.nan)]
        ).filter(lambda pair: pair[0] is not np.nan or column.kind == "numeric")
    kind = column.kind
    if kind == "integer":
        fitting = [d for d in INT_DTYPES if np.iinfo(d).min <= value <= np.iinfo(d).max]
        ints = st.sampled_from(fitting).map(lambda d: (np.dtype(d).type(value), value))
        return ints | st.just((np.float64(value), value))  # pandas' integer column with a gap
    if kind == "numeric":
        floats = st.sampled_from(["float64", "float32", "float16", "longdouble"]).map(
            lambda d: _cast(d, float(value))
        )
        twins = floats.map(lambda f: (f, float(f)))
        if value == int(value):
            twins |= st.just((np.int64(int(value)), int(value)))
        return twins
    if kind == "boolean":
        return st.just((np.bool_(value), value))
    if kind == "timestamptz":
        return (
            st.just((pd.Timestamp(value), value))
            if 1678 <= value.year <= 2261
            else st.just((value, value))
        )
    if kind == "jsonb":
        return _twin_json(value)
    return st.just((value, value))


def _twin_json(value: Any) -> st.SearchStrategy[tuple[Any, Any]]:
    import numpy as np

    if isinstance(value, bool):
        return st.sampled_from([(value, value), (np.bool_(value), value)])
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return st.sampled_from([(value, value), (np.int64(value), value)])
    if isinstance(value, float):
        return st.sampled_from([(value, value), (np.float64(value), value)])
    if isinstance(value, list):
        items = st.tuples(*(_twin_json(v) for v in value))
        as_list = items.map(lambda pairs: ([t for t, _ in pairs], [p for _, p in pairs]))
        as_tuple = items.map(lambda pairs: (tuple(t for t, _ in pairs), [p for _, p in pairs]))
        twins: st.SearchStrategy[tuple[Any, Any]] = as_list | as_tuple
        if value and all(type(v) is float for v in value):
            twins |= st.just((np.array(value, dtype="float64"), value))
        return twins
    if isinstance(value, dict):
        keys = list(value)
        items = st.tuples(*(_twin_json(value[k]) for k in keys))
        return items.map(
            lambda pairs: (
                {k: t for k, (t, _) in zip(keys, pairs, strict=True)},
                {k: p for k, (_, p) in zip(keys, pairs, strict=True)},
            )
        )
    return st.just((value, value))


def _cast(dtype: str, value: float) -> Any:
    import numpy as np

    with np.errstate(over="ignore"):  # float16 overflows to inf: refused as non-finite
        return np.dtype(dtype).type(value)


@st.composite
def numpy_twins(draw: st.DrawFn, spec: TableSpec[Any]) -> tuple[Any, Any]:
    """A record of numpy/pandas values and the same record in plain Python values."""
    plain = draw(records(spec))
    twin_fields: dict[str, Any] = {}
    plain_fields: dict[str, Any] = {}
    for name, column in spec.columns.items():
        twin, same = draw(_twin_scalar(getattr(plain, name), column))
        twin_fields[name], plain_fields[name] = twin, same
    return spec.record(**twin_fields), spec.record(**plain_fields)
