"""numpy and pandas values as the plain Python values they stand for.

Every quant library hands over numpy scalars (``np.float64``, ``np.int64``,
``np.bool_``), arrays, pandas Series and ``pandas.NA``/``NaT``. The store takes them
wherever it takes a value (record fields, jsonb contents at any depth, query filters)
and treats each exactly as its plain equivalent. Neither library is imported here:
values are recognised by what they are (a 0-d ``dtype``, a ``tolist``), so
``import backtest_store`` works without them.

One shape for time-indexed series in jsonb: a pandas Series with a DatetimeIndex (an
equity curve) is stored as ``[[timestamp, value], ...]`` pairs, the timestamp an ISO
8601 string (UTC with ``Z`` when the index has a time zone, as it is when naive).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

_MISSING_TYPES = ("NAType", "NaTType")


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


Ranked = TypeVar("Ranked", bound=_Ordered)


def ranks(values: Sequence[Ranked | None]) -> list[int | None]:
    """Competition ranks: 1 = the highest, equal values share the best rank of their
    group (1, 2, 2, 4); None has no rank. The one ranking of a grid's rows, for the
    adapters and for save_optimization_results alike."""
    ordered = sorted((v for v in values if v is not None), reverse=True)
    first: dict[Any, int] = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return [None if v is None else first[v] for v in values]


def is_missing(value: Any) -> bool:
    """True for ``pandas.NA`` and ``pandas.NaT``: a missing value, stored as NULL."""
    kind = type(value)
    return kind.__name__ in _MISSING_TYPES and kind.__module__.startswith("pandas")


def plain_scalar(value: Any) -> Any:
    """A numpy scalar as the Python int, float or bool of the same value, a pandas
    Timestamp as a datetime, pandas' missing values as None; anything else unchanged."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and getattr(value, "ndim", None) == 0:
        kind = dtype.kind
        if kind in "iu":
            return int(value)
        if kind == "f":
            return float(value)
        if kind == "b":
            return bool(value)
        return value
    if is_missing(value):
        return None
    if isinstance(value, datetime) and type(value) is not datetime:
        to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas.Timestamp
        if to_pydatetime is not None:
            return to_pydatetime()
    return value


def json_ready(value: Any) -> Any:
    """What ``json.dumps`` cannot take by itself, as JSON-ready Python; raises TypeError
    for what is not JSON (a datetime outside a time index, a set, an object)."""
    if isinstance(value, datetime):
        raise TypeError(f"a {type(value).__name__} is not JSON")  # outside a time index
    scalar = plain_scalar(value)
    if scalar is not value:
        return scalar
    if type(value).__name__ == "Series" and hasattr(value, "index"):
        return _series(value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # ndarray, Index
        return value.tolist()
    raise TypeError(f"a {type(value).__name__} is not JSON")


def plain_json(value: Any) -> Any:
    """``value`` with every numpy and pandas value inside it made plain, at any depth
    (tuples become lists): for the non-finite policy, which walks plain containers."""
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    try:
        ready = json_ready(value)
    except TypeError:
        return value  # dump_json words the refusal
    return plain_json(ready) if isinstance(ready, list | dict) else ready


def _series(series: Any) -> list[Any]:
    index = series.index
    values = [plain_json(v) for v in series.tolist()]
    if type(index).__name__ != "DatetimeIndex":
        return values
    import numpy as np  # present: pandas is

    if index.tz is not None:
        stamps = index.tz_convert("UTC").tz_localize(None).values
        suffix = "Z"
    else:
        stamps = index.values
        suffix = ""
    whole_seconds = not (index.microsecond.any() or index.nanosecond.any())
    text = np.datetime_as_string(stamps, unit="s" if whole_seconds else "us").tolist()
    return [[None if t == "NaT" else t + suffix, v] for t, v in zip(text, values, strict=True)]
