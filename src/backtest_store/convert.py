"""The converters: one per column, built from its facts, refusing bad input before anything
is written.

Every column gets a converter built once from its facts (tables.py). A
converter returns the value to send (a ``Decimal`` for numeric columns, a
pre-serialised ``Jsonb`` for jsonb columns) or raises ``Refused``, which the
row preparer (preparer.py) turns into a ``ValidationError`` naming the record, its position in a
bulk save, the field, the value and the limit.

Policy for non-finite numbers (NaN, +/-Infinity; common in backtests: a profit
factor with no losing trade, a Sharpe ratio with zero volatility):
``nonfinite="refuse"`` (the default) refuses them; ``nonfinite="null"`` stores
NULL instead, in numeric columns that allow NULL and inside jsonb values.

Rounding: values with more decimals than the column's scale are sent as they
are and rounded by PostgreSQL (half away from zero). A float is first turned
into the Decimal of its shortest repr (0.1 -> Decimal("0.1")), so 0.12345 in
a numeric(8,4) column is stored as 0.1235, as the literal 0.12345 would be.
Saves return what PostgreSQL stored, so a save and a later read agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb

from backtest_store.columns import Column
from backtest_store.json_policy import _finite_or_none, dump_json
from backtest_store.records import NOT_LOADED
from backtest_store.values import is_missing, json_ready, plain_json, plain_scalar

NonFinite = Literal["refuse", "null"]
Converter = Callable[[Any], Any]

_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1


NOT_FINITE = "is not a finite number (NaN and Infinity are refused)"
WAY_OUT = (
    "; a run that never traded has such figures: store them as NULL with "
    'BacktestStore(..., nonfinite="null")'
)


def not_finite(value: Any) -> bool:
    value = plain_scalar(value) if type(value) not in (float, Decimal) else value
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, Decimal) and not value.is_finite()


class Refused(Exception):
    """A converter's refusal: what is wrong, and what the column allows."""

    def __init__(self, problem: str, limit: str | None = None) -> None:
        self.problem = problem
        self.limit = limit


def _identity(data: bytes) -> bytes:
    return data


def _text(column: Column) -> Converter:
    length = column.length
    limit = column.describe()

    def convert(value: Any) -> Any:
        if type(value) is not str:
            if isinstance(value, str):
                value = str(value)
            else:
                raise Refused(f"is a {type(value).__name__}, not a str", limit)
        if length is not None and len(value) > length:
            raise Refused(f"has {len(value)} characters", limit)
        if "\x00" in value:
            raise Refused("contains a NUL character, which PostgreSQL text cannot store", limit)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Refused("is not valid Unicode (it has a lone surrogate)", limit) from None
        return value

    return convert


def _integer(column: Column, nonfinite: NonFinite) -> Converter:
    limit = column.describe()
    to_null = nonfinite == "null" and not column.not_null

    def convert(value: Any) -> Any:
        value = _plain(value)
        if isinstance(value, float):  # pandas makes 3.0 of an int column with a gap
            if not math.isfinite(value):
                if to_null:
                    return None
                raise Refused(NOT_FINITE, limit)
            if not value.is_integer():
                raise Refused("is not a whole number", limit)
            value = int(value)
        if type(value) is not int:
            raise Refused(f"is a {type(value).__name__}, not an int", limit)
        if not _INT4_MIN <= value <= _INT4_MAX:
            raise Refused("does not fit in an integer column", limit)
        return value

    return convert


def _numeric(column: Column, nonfinite: NonFinite) -> Converter:
    bound = column.numeric_limit
    limit = column.describe()
    to_null = nonfinite == "null" and not column.not_null

    def convert(value: Any) -> Any:
        value = _plain(value)
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                if to_null:
                    return None
                raise Refused(NOT_FINITE, limit)
            value = Decimal(repr(value))
        elif kind is Decimal:
            if not value.is_finite():
                if to_null:
                    return None
                raise Refused(NOT_FINITE, limit)
        elif kind is not int:
            raise Refused(f"is a {kind.__name__}, not a number", limit)
        if not -bound < value < bound:
            raise Refused("overflows the column", limit)
        return value

    return convert


def _uuid(column: Column) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, UUID):
            raise Refused(f"is a {type(value).__name__}, not a uuid.UUID", "uuid")
        return value

    return convert


def _date(column: Column) -> Converter:
    def convert(value: Any) -> Any:
        value = _plain(value)
        if type(value) is not date:
            hint = " (pass value.date())" if isinstance(value, datetime) else ""
            raise Refused(f"is a {type(value).__name__}, not a datetime.date{hint}", "date")
        return value

    return convert


def _timestamptz(column: Column) -> Converter:
    def convert(value: Any) -> Any:
        value = _plain(value)
        if not isinstance(value, datetime):
            raise Refused(f"is a {type(value).__name__}, not a datetime", "timestamptz")
        if value.utcoffset() is None:
            raise Refused(
                "is a naive datetime: localize it (value.replace(tzinfo=UTC), or "
                "ts.tz_localize('UTC') for a pandas Timestamp)",
                "timestamptz: a timezone-aware datetime (e.g. tzinfo=UTC)",
            )
        if type(value) is not datetime and hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()  # pandas.Timestamp (nanoseconds are dropped)
        return value

    return convert


def _boolean(column: Column) -> Converter:
    def convert(value: Any) -> Any:
        value = _plain(value)
        if type(value) is not bool:
            raise Refused(f"is a {type(value).__name__}, not a bool", "boolean")
        return value

    return convert


def _jsonb(column: Column, nonfinite: NonFinite) -> Converter:
    limit = "jsonb: a list or dict of JSON values (finite numbers, no NUL in strings)"

    def convert(value: Any) -> Any:
        if value is NOT_LOADED:
            raise Refused(
                "was not loaded (NOT_LOADED): read the record with get_backtest/get_portfolio "
                "before saving it",
                limit,
            )
        if not isinstance(value, dict | list):
            value = _json_container(value)
            if not isinstance(value, dict | list):
                raise Refused(f"is a {type(value).__name__}, not a list or dict", limit)
        try:
            try:
                data = dump_json(value)
            except ValueError as exc:
                if nonfinite != "null" or isinstance(exc, UnicodeError):
                    raise
                data = dump_json(_finite_or_none(plain_json(value)))
        except UnicodeEncodeError:
            raise Refused(
                "holds a string that is not valid Unicode (a lone surrogate)", limit
            ) from None
        except ValueError:
            raise Refused("holds NaN or Infinity, which JSON cannot represent", limit) from None
        except (TypeError, RecursionError) as exc:
            raise Refused(f"is not JSON: {exc}", limit) from None
        if b"\\u0000" in data and _NUL_ESCAPE.search(data):
            raise Refused("holds a NUL character, which jsonb cannot store", limit)
        return Jsonb(data, dumps=_identity)

    return convert


# JSON's escape of a NUL character, \u0000, where its backslash is not itself escaped
# ("C:\\u0000dir" is a backslash and the text u0000, which jsonb stores).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class Missing(Exception):
    """pandas.NA or NaT met by a converter: the row is decided by the exact path, which
    treats it as None (NULL, the default, or "is required")."""


def _plain(value: Any) -> Any:
    """A numpy scalar as its plain value; pandas' missing values are None to the caller."""
    if type(value) in (int, float, str, bool, Decimal, date, datetime):
        return value
    if is_missing(value):
        raise Missing
    return plain_scalar(value)


def _json_container(value: Any) -> Any:
    """A tuple, numpy array or pandas Series/Index as the list it stands for."""
    if isinstance(value, tuple):
        return list(value)
    try:
        return json_ready(value)
    except TypeError:
        return value


def converter(column: Column, nonfinite: NonFinite) -> Converter:
    """The converter of one column; None passes through (NOT NULL is checked by the caller)."""
    kind = column.kind
    if kind in ("varchar", "text"):
        return _text(column)
    if kind == "integer":
        return _integer(column, nonfinite)
    if kind == "numeric":
        return _numeric(column, nonfinite)
    if kind == "uuid":
        return _uuid(column)
    if kind == "date":
        return _date(column)
    if kind == "timestamptz":
        return _timestamptz(column)
    if kind == "boolean":
        return _boolean(column)
    if kind == "jsonb":
        return _jsonb(column, nonfinite)
    raise AssertionError(f"no converter for {kind}")
