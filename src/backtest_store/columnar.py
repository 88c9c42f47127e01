"""Trades from a pandas DataFrame, validated and encoded column by column for binary COPY.

``save_trades`` and ``save_backtest`` take a DataFrame whose columns are named as the trade
table's (a subset: missing columns get their defaults, as a record's None does). Each
column is checked with numpy for what the record path refuses (non-finite numbers under
the store's policy, numeric overflow after rounding, int4 range, fractional integers,
varchar length, NUL, naive timestamps, dates that are not whole days); the first offending
row of a column is then put through the record path's own converter, so the error has the
same wording, with the row's position and its index label. Rows are encoded column by
column into PostgreSQL's binary COPY format, a chunk of rows at a time: no Python object
per row, memory bounded by the chunk.

dtypes: float64/float32, the integer types, nullable Int64/Float64, bool, datetime64
(with a time zone for timestamptz; whole days for date), object and string columns.
NaN, NaT, None and pandas.NA are missing values, as pandas means them (an open trade's
exit price, a gap in an integer column): NULL, or the column's default where it has one,
as a record's None. Infinity follows the store's non-finite policy (refused, or NULL with
``nonfinite="null"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from backtest_store.columns import Column
from backtest_store.convert import NOT_FINITE, WAY_OUT, NonFinite, Refused, converter
from backtest_store.errors import ValidationError
from backtest_store.tables import TableSpec
from backtest_store.values import plain_scalar

CHUNK = 16_384  # rows: ~3 MB encoded, ~12 MB of numpy temporaries while encoding
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400_000_000


def is_frame(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def plan(
    spec: TableSpec[Any],
    frame: Any,
    fixed: dict[str, Any],
    number: str | None,
    nonfinite: NonFinite = "refuse",
) -> tuple[str, ...]:
    """The columns a COPY of ``frame`` writes: the frame's own (checked against the
    table), the ``fixed`` ones (the parent id), the numbered column, and the defaulted
    ones; database-filled columns only when the frame has them."""
    names = [str(c) for c in frame.columns]
    for name in names:
        if name not in spec.columns:
            raise ValidationError(
                spec.record.__name__, name, "(a DataFrame column)",
                f"one of the columns of {spec.name}", problem="is not a column of the table",
            )  # fmt: skip
        if name in fixed:
            raise ValidationError(
                spec.record.__name__, name, "(a DataFrame column)", "left to the store",
                problem="is set by the store from the parent it is saved under",
            )  # fmt: skip
    for name, column in spec.columns.items():
        required = column.not_null and not column.db_fills and column.default is None
        if required and name not in names and name not in fixed and name != number:
            raise ValidationError(
                spec.record.__name__, name, None, "a column of the DataFrame",
                problem="is required",
            )  # fmt: skip
    # pandas counts a Decimal NaN as missing (and a signaling one raises): a record's is
    # refused, and so is a frame's, before anything reads the column
    for name in names:
        if frame[name].dtype == object:
            for row, value in enumerate(frame[name].tolist()):
                if isinstance(value, Decimal) and not value.is_finite():
                    _refuse(spec, name, spec.columns[name], frame, row, 0, value, nonfinite)
    # a database-filled column (an id, a timestamp) that the frame leaves empty is the
    # database's to fill, as a record's None is
    empty = {n for n in names if spec.columns[n].db_fills and bool(frame[n].isna().all())}
    return tuple(
        name
        for name, column in spec.columns.items()
        if (name in names and name not in empty)
        or name in fixed
        or name == number
        or column.default is not None
    )


def chunks(
    spec: TableSpec[Any],
    frame: Any,
    columns: tuple[str, ...],
    fixed: dict[str, Any],
    number: str | None,
    first_number: int,
    nonfinite: NonFinite,
) -> Iterator[bytes | memoryview]:
    """The binary COPY stream of ``frame``: header, rows a chunk at a time, trailer."""
    import numpy as np

    yield HEADER
    for start in range(0, len(frame), CHUNK):
        part = frame.iloc[start : start + CHUNK]
        fields = []
        for name in columns:
            column = spec.columns[name]
            if name in fixed:
                fields.append(_constant(column, fixed[name], len(part)))
            elif name in part.columns:
                fields.append(
                    _encode(spec, name, column, part, start, nonfinite, number, first_number)
                )
            elif name == number:
                numbers = np.arange(first_number + start, first_number + start + len(part))
                fields.append(_fixed(numbers.astype(">i4").view(np.uint8).reshape(-1, 4), None))
            else:  # a default the record path would fill in
                fields.append(_constant(column, column.default, len(part)))
        yield _rows(fields, len(part))
    yield TRAILER


# -- one column ---------------------------------------------------------------------------


class _Field:
    """One column of a chunk, encoded: fixed-width bytes per row (``data``: n x width
    uint8, ``null``: mask) or variable-width values by code (``codes``, ``values``)."""

    def __init__(self, data: Any = None, null: Any = None, codes: Any = None,
                 values: list[bytes] | None = None) -> None:  # fmt: skip
        self.data, self.null, self.codes, self.values = data, null, codes, values


def _fixed(data: Any, null: Any) -> _Field:
    return _Field(data=data, null=null)


def _constant(column: Column, value: Any, n: int) -> _Field:
    import numpy as np

    if value is None:
        return _Field(data=np.zeros((n, 0), np.uint8), null=np.ones(n, bool))
    encoded = _scalar_bytes(column, value)
    row = np.frombuffer(encoded, np.uint8)
    return _Field(data=np.broadcast_to(row, (n, len(row))), null=None)


def _scalar_bytes(column: Column, value: Any) -> bytes:
    import numpy as np

    if column.kind == "uuid":
        return UUID(str(value)).bytes
    if column.kind == "numeric":
        field = _numeric_field(column, np.array([float(value)]))
        return bytes(field.data[0])
    if column.kind == "integer":
        return int(value).to_bytes(4, "big", signed=True)
    if column.kind in ("varchar", "text"):
        return str(value).encode()
    raise AssertionError(f"no constant encoding for {column.kind}")


def _refuse(spec: TableSpec[Any], name: str, column: Column, part: Any, row: int,
            start: int, value: Any, nonfinite: NonFinite) -> None:  # fmt: skip
    """Put one value through the record path's converter: raise its refusal, worded the
    same, naming the row's position and index label."""
    value = plain_scalar(value)  # np.float64(1.5) is shown as 1.5, as records show it
    try:
        converter(column, nonfinite)(value)
    except Refused as refused:
        label = part.index[row]
        way_out = WAY_OUT if refused.problem == NOT_FINITE else ""
        raise ValidationError(
            spec.record.__name__, name, value, refused.limit or column.describe(),
            index=start + row, problem=f"{refused.problem} (index label {label!r}){way_out}",
        ) from None  # fmt: skip


def _first(mask: Any) -> int | None:
    import numpy as np

    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _encode(spec: TableSpec[Any], name: str, column: Column, part: Any, start: int,
            nonfinite: NonFinite, number: str | None, first_number: int) -> _Field:  # fmt: skip
    import numpy as np
    import pandas as pd

    series = part[name]
    missing = series.isna().to_numpy()
    if column.default is not None and missing.any():  # as a record's None: the default
        series = series.astype(object).where(~missing, column.default)
        missing = np.zeros(len(series), bool)
    if column.not_null and not column.db_fills and name != number and missing.any():
        row = _first(missing)
        assert row is not None
        label = part.index[row]
        raise ValidationError(
            spec.record.__name__, name, None, "NOT NULL", index=start + row,
            problem=f"is required (index label {label!r})",
        )  # fmt: skip
    if column.db_fills and missing.any():  # a COPY cannot leave one row to the database
        row = _first(missing)
        assert row is not None
        raise ValidationError(
            spec.record.__name__, name, None,
            "a value in every row, or no value at all (the database fills the column)",
            index=start + row, problem=f"is missing (index label {part.index[row]!r})",
        )  # fmt: skip
    kind = column.kind
    if kind in ("numeric", "integer"):
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            for row, value in enumerate(series.tolist()):  # strings stay refused for numbers
                if not (
                    value is None
                    or isinstance(value, int | float | Decimal)
                    or hasattr(value, "dtype")
                ):
                    _refuse(spec, name, column, part, row, start, value, nonfinite)
        if series.dtype == bool:
            _refuse(spec, name, column, part, 0, start, series.iloc[0], nonfinite)
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if kind == "integer":
            field = _integer_field(
                spec, name, column, part, start, values, missing, nonfinite, number, first_number
            )
        else:
            nonfinite_rows = ~np.isfinite(values) & ~missing
            row = _first(nonfinite_rows)
            if row is not None and (nonfinite == "refuse" or column.not_null):
                _refuse(spec, name, column, part, row, start, values[row], nonfinite)
            over = np.abs(values) >= float(column.numeric_limit)
            over &= np.isfinite(values)
            row = _first(over)
            if row is not None:
                _refuse(spec, name, column, part, row, start, values[row], nonfinite)
            null = missing | ~np.isfinite(values)
            field = _numeric_field(column, np.where(null, 0.0, values))
            field.null = null
        return field
    if kind == "date":
        stamps = _datetimes(spec, name, column, part, start, series, nonfinite, aware=False)
        days = stamps.astype("datetime64[D]")
        whole = (stamps == days) | missing
        row = _first(~whole)
        if row is not None:
            _refuse(spec, name, column, part, row, start, series.iloc[row], nonfinite)
        count = (days.astype("int64") - _PG_EPOCH_DAYS).astype(">i4")
        return _fixed(count.view(np.uint8).reshape(-1, 4), missing)
    if kind == "timestamptz":
        stamps = _datetimes(spec, name, column, part, start, series, nonfinite, aware=True)
        micros = stamps.astype("datetime64[us]").astype("int64") - _PG_EPOCH_US
        return _fixed(micros.astype(">i8").view(np.uint8).reshape(-1, 8), missing)
    if kind in ("varchar", "text"):
        return _text_field(spec, name, column, part, start, series, missing, nonfinite)
    if kind == "uuid":
        data = np.zeros((len(series), 16), np.uint8)
        for row, value in enumerate(series.tolist()):
            if not missing[row]:
                if not isinstance(value, UUID):
                    _refuse(spec, name, column, part, row, start, value, nonfinite)
                data[row] = np.frombuffer(value.bytes, np.uint8)
        return _fixed(data, missing)
    raise ValidationError(spec.record.__name__, name, "(a DataFrame column)", "a trade column",
                          problem=f"is a {kind} column, which a DataFrame cannot fill")  # fmt: skip


def _integer_field(spec: TableSpec[Any], name: str, column: Column, part: Any, start: int,
                   values: Any, missing: Any, nonfinite: NonFinite, number: str | None,
                   first_number: int) -> _Field:  # fmt: skip
    import numpy as np

    finite = np.isfinite(values)
    bad = ~finite & ~missing
    row = _first(bad)
    if row is not None and (nonfinite == "refuse" or column.not_null):
        _refuse(spec, name, column, part, row, start, values[row], nonfinite)
    safe = np.where(finite, values, 0.0)
    bad = (safe != np.floor(safe)) | (np.abs(safe) > 2**31)
    row = _first(bad)
    if row is not None:
        _refuse(spec, name, column, part, row, start, float(values[row]), nonfinite)
    ints = safe.astype("int64")
    row = _first((ints < -(2**31)) | (ints > 2**31 - 1))
    if row is not None:
        _refuse(spec, name, column, part, row, start, int(ints[row]), nonfinite)
    null = ~finite
    if name == number and null.any():  # absent numbers are filled 1..n, as for records
        positions = np.arange(start, start + len(values)) + first_number
        ints = np.where(null, positions, ints)
        null = np.zeros(len(values), bool)
    return _fixed(ints.astype(">i4").view(np.uint8).reshape(-1, 4), null)


def _numeric_field(column: Column, values: Any) -> _Field:
    """numeric(p, s) in PostgreSQL's binary form, a fixed number of base-10000 digits per
    value (leading zeros allowed; the server normalises). Rounded as the record path
    rounds: the float's shortest repr, half away from zero, to ``s`` places."""
    import numpy as np

    p, s = column.precision, column.scale
    if p is None or s is None:
        raise TypeError(f"numeric column without precision and scale: {column}")
    scaled = np.abs(values) * 10.0**s
    units = np.floor(scaled + 0.5)
    fraction = scaled - np.floor(scaled)
    # The float product, and the float itself, each differ from the shortest repr times
    # 10**s by at most 2**-53 of it. Where that could move the rounding (near a tie, or a
    # product too large to tell), the value is rounded exactly, from its repr.
    exact_rows = np.flatnonzero(np.abs(fraction - 0.5) <= 1e-6 + 1e-15 * scaled)
    frac_groups = math.ceil(s / 4)
    groups = math.ceil((p - s) / 4) + frac_groups
    pad = 10 ** (4 * frac_groups - s)
    n = np.where(scaled < 2.0**62 / pad, units, 0.0).astype("int64")
    step = Decimal(1).scaleb(-s)
    wide: dict[int, int] = {}  # rows whose digits do not fit an int64 (numeric(21,8))
    for i in exact_rows.tolist():
        exact = int(abs(Decimal(repr(float(values[i])))).quantize(step, ROUND_HALF_UP).scaleb(s))
        if exact * pad < 2**62:
            n[i] = exact
        else:
            n[i] = 0
            wide[i] = exact * pad
    padded = n * pad
    digits = np.zeros((len(values), groups), ">i2")
    for k in range(groups):
        power = 4 * (groups - 1 - k)
        if power < 19:  # padded < 2**62: higher groups are zero but in the wide rows
            digits[:, k] = (padded // 10**power) % 10_000
        for i, whole in wide.items():
            digits[i, k] = (whole // 10**power) % 10_000
    head = np.empty((len(values), 4), ">i2")
    head[:, 0] = groups
    head[:, 1] = groups - frac_groups - 1
    head[:, 2] = np.where(values < 0, 0x4000, 0).astype(np.int32).astype(">i2")
    head[:, 3] = s
    data = np.concatenate([head, digits], axis=1).astype(">i2").view(np.uint8)
    data = data.reshape(len(values), -1)
    return _Field(data=data, null=None)


def _datetimes(spec: TableSpec[Any], name: str, column: Column, part: Any, start: int,
               series: Any, nonfinite: NonFinite, *, aware: bool) -> Any:  # fmt: skip
    import numpy as np
    import pandas as pd

    values = series
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        # pandas reads numbers as times since the epoch (0 is 1970-01-01): the record path
        # refuses a number for a date or a time, and so does this one
        numbers = pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        )
        for row, value in enumerate(series.tolist()):
            if (numbers or isinstance(value, int | float | np.number)) and not pd.isna(value):
                _refuse(spec, name, column, part, row, start, value, nonfinite)
        try:
            values = pd.to_datetime(values, utc=aware) if aware else pd.to_datetime(values)
        except (TypeError, ValueError):
            for row, value in enumerate(series.tolist()):
                _refuse(spec, name, column, part, row, start, value, nonfinite)
            raise
        # objects, as the record path takes them: for a time, each an aware datetime (a
        # date, a string, a naive datetime refused); and nothing that is not missing may
        # become NaT (pandas reads "" as NaT, whose int64 would be stored as a time)
        for row, (value, made) in enumerate(zip(series.tolist(), values.tolist(), strict=True)):
            if value is None or value is pd.NA or value is pd.NaT or value != value:
                continue  # missing, as pandas means it
            if aware and not (isinstance(value, datetime) and value.utcoffset() is not None):
                _refuse(spec, name, column, part, row, start, value, nonfinite)
            if made is pd.NaT or made is None:
                _refuse(spec, name, column, part, row, start, value, nonfinite)
    tz = getattr(values.dt, "tz", None)
    if aware and tz is None:
        hit = _first(values.notna().to_numpy())
        if hit is not None:
            _refuse(spec, name, column, part, hit, start, values.iloc[hit], nonfinite)
    if tz is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        if not aware:  # a date column given aware timestamps: refused as datetimes
            hit = _first(values.notna().to_numpy())
            if hit is not None:
                _refuse(spec, name, column, part, hit, start, series.iloc[hit], nonfinite)
    return values.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))


def _text_field(spec: TableSpec[Any], name: str, column: Column, part: Any, start: int,
                series: Any, missing: Any, nonfinite: NonFinite) -> _Field:  # fmt: skip
    import numpy as np
    import pandas as pd

    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # an unhashable value (a list, a dict) cannot be text: refuse the first
        for at, value in enumerate(series.tolist()):
            try:
                hash(value)
            except TypeError:
                _refuse(spec, name, column, part, at, start, value, nonfinite)
        raise
    values: list[bytes] = []
    check = converter(column, nonfinite)
    for code, value in enumerate(uniques.tolist()):
        try:
            values.append(check(value).encode())
        except Refused:
            row = _first(codes == code)
            assert row is not None
            _refuse(spec, name, column, part, row, start, value, nonfinite)
    return _Field(codes=np.asarray(codes), values=values, null=missing)


# -- the rows -------------------------------------------------------------------------------


def _rows(fields: list[_Field], n: int) -> memoryview:
    """Interleave the encoded columns into COPY rows: int16 field count, then per field an
    int32 length (-1: NULL) and the bytes."""
    import numpy as np

    lengths = np.empty((n, len(fields)), np.int64)
    for f, field in enumerate(fields):
        if field.codes is not None:
            sizes = np.array([len(v) for v in field.values or []] or [0], np.int64)
            lengths[:, f] = np.where(field.codes >= 0, sizes[np.maximum(field.codes, 0)], -1)
        else:
            width = field.data.shape[1]
            lengths[:, f] = width if field.null is None else np.where(field.null, -1, width)
    sizes = 4 + np.maximum(lengths, 0)
    row_size = 2 + sizes.sum(axis=1)
    row_start = np.concatenate([[0], np.cumsum(row_size)[:-1]])
    out = np.zeros(int(row_size.sum()), np.uint8)
    count = np.frombuffer(len(fields).to_bytes(2, "big"), np.uint8)
    out[row_start[:, None] + np.arange(2)] = count
    at = row_start + 2
    for f, field in enumerate(fields):
        header = lengths[:, f].astype(">i4").view(np.uint8).reshape(n, 4)
        out[at[:, None] + np.arange(4)] = header
        body = at + 4
        if field.codes is not None:
            for code, value in enumerate(field.values or []):
                if value:
                    rows = body[field.codes == code]
                    out[rows[:, None] + np.arange(len(value))] = np.frombuffer(value, np.uint8)
        else:
            width = field.data.shape[1]
            if width:
                present = slice(None) if field.null is None else ~field.null
                out[body[present][:, None] + np.arange(width)] = field.data[present]
        at = body + np.maximum(lengths[:, f], 0)
    return out.data  # no copy: the writer thread sends it, then it is freed
