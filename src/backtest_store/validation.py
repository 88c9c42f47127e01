"""Refuse bad input before anything is written; turn records into row values.

Every column gets a converter built once from its facts (tables.py). A
converter returns the value to send (a ``Decimal`` for numeric columns, a
pre-serialised ``Jsonb`` for jsonb columns) or raises ``Refused``, which the
caller turns into a ``ValidationError`` naming the record, its position in a
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

import json
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb, set_json_loads

try:
    import orjson
except ImportError:  # pragma: no cover - the fast extra is optional
    orjson = None  # type: ignore[assignment]

from backtest_store import migrations
from backtest_store.columns import Column
from backtest_store.errors import ValidationError
from backtest_store.records import NOT_LOADED
from backtest_store.tables import TableSpec
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


_ORJSON_OPTIONS = (
    (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson else 0
)  # datetimes and dataclasses are not JSON here, as in the standard library


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    return json_ready(value)  # numpy and pandas values; raises TypeError for the rest


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def dump_json(value: Any) -> bytes:
    """Strict JSON: no NaN/Infinity, valid UTF-8, UUIDs as strings.

    With orjson installed (the ``fast`` extra) large series serialise ~20x faster. orjson
    writes NaN and Infinity as null, so output holding a null is decided again by the
    standard library, which is the reference: both paths accept and refuse the same values.
    """
    if orjson is not None:
        try:
            data: bytes = orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
        except (TypeError, orjson.JSONEncodeError):
            pass  # the standard library below words the refusal (or accepts, e.g. int keys)
        else:
            if b"null" not in data:
                return data
    return json.dumps(
        value, allow_nan=False, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode("utf-8")


def fast_json(cursor: Any) -> None:
    """Read json/jsonb with orjson on this cursor, when orjson is installed."""
    if orjson is not None:
        set_json_loads(load_json, cursor)


def load_json(data: bytes | bytearray | memoryview | str) -> Any:
    """jsonb to Python: orjson when installed, the standard library where it declines
    (integers beyond 64 bits)."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data).decode("utf-8")
    return json.loads(data)


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
        if b"\\u0000" in data:
            raise Refused("holds a NUL character, which jsonb cannot store", limit)
        return Jsonb(data, dumps=_identity)

    return convert


class _Missing(Exception):
    """pandas.NA or NaT met by a converter: the row is decided by the exact path, which
    treats it as None (NULL, the default, or "is required")."""


def _plain(value: Any) -> Any:
    """A numpy scalar as its plain value; pandas' missing values are None to the caller."""
    if type(value) in (int, float, str, bool, Decimal, date, datetime):
        return value
    if is_missing(value):
        raise _Missing
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


class _Slow(Exception):
    """The fast path met something it does not decide: take the exact path."""


_NO_OVERRIDE: dict[str, Any] = {}


def _fast_check(i: int, column: Column, env: dict[str, Any]) -> list[str]:
    """Source lines that check v<i> (known not None) inline, or hand it to its converter."""
    v, convert = f"v{i}", f"convert_{i}"
    kind = column.kind
    if kind == "numeric":
        bound = column.numeric_limit
        # Floats a hair inside the bound take the fast path; the rest is decided exactly.
        env[f"fbound_{i}"] = float(bound) * (1 - 1e-9)
        env[f"bound_{i}"] = bound
        return [
            f"elif type({v}) is float and -fbound_{i} < {v} < fbound_{i}: {v} = Decimal(repr({v}))",
            f"elif type({v}) is int and -bound_{i} < {v} < bound_{i}: pass",
            f"else: {v} = {convert}({v})",
        ]
    if kind in ("varchar", "text"):
        too_long = f" or len({v}) > {column.length}" if column.length is not None else ""
        return [
            f"elif type({v}) is not str{too_long} or not {v}.isascii() or '\\x00' in {v}:",
            f"    {v} = {convert}({v})",
        ]
    if kind == "integer":
        return [
            f"elif type({v}) is not int or not -2147483648 <= {v} <= 2147483647:",
            f"    {v} = {convert}({v})",
        ]
    if kind == "date":
        return [f"elif type({v}) is not date: {v} = {convert}({v})"]
    if kind == "uuid":
        return [f"elif type({v}) is not UUID: {v} = {convert}({v})"]
    return [f"else: {v} = {convert}({v})"]


class RowPreparer:
    """Validates records of one table and turns them into row tuples for given columns.

    ``row`` is compiled once per table and column set: the common case (a value of the
    expected type, well inside its limits) is a few inline checks per column, which keeps
    bulk saves close to the speed of a raw COPY. Anything else falls back to the
    converters, which decide exactly and word the error.
    """

    def __init__(
        self,
        spec: TableSpec[Any],
        columns: tuple[str, ...],
        nonfinite: NonFinite,
        fill: bool = True,
    ) -> None:
        self.spec = spec
        self.columns = columns
        self.fill = fill  # None gets the column's default (False: None is NULL)
        self._get = attrgetter(*columns)
        self._plan: list[tuple[str, Column, Converter]] = []
        for name in columns:
            column = spec.columns[name]
            self._plan.append((name, column, converter(column, nonfinite)))
        # compiled fast paths, one per set of overridden columns (a handful: the key,
        # the parent, a number, database-filled columns)
        self._fast: dict[tuple[str, ...], Callable[[Any, dict[str, Any]], tuple[Any, ...]]] = {}

    def refuse(self, name: str, value: Any, refused: Refused, index: int | None) -> ValidationError:
        column = self.spec.columns[name]
        problem = refused.problem
        comment = migrations.column_comments().get((self.spec.name, name), "")
        if problem.startswith("overflows") and "fraction" in comment:
            problem += "; it is a fraction: 0.52 = 52 %"  # win_rate=52 meant 52 %
        return ValidationError(
            self.spec.record.__name__,
            name,
            value,
            refused.limit or column.describe(),
            index=index,
            problem=problem,
        )

    def row(
        self, record: Any, index: int | None = None, override: dict[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """The validated values of ``record`` (with ``override`` applied) in column order."""
        override = override or _NO_OVERRIDE
        given = tuple(override)
        fast = self._fast.get(given)
        if fast is None:
            fast = self._fast[given] = self._compile(frozenset(given))
        try:
            return fast(record, override)
        except (_Slow, _Missing, Refused, InvalidOperation, OverflowError, AttributeError):
            return self.checked_row(record, index, override)  # raises, naming the field

    def _compile(
        self, overridden: frozenset[str]
    ) -> Callable[[Any, dict[str, Any]], tuple[Any, ...]]:
        """Generate the fast path: inline type and range checks, column by column; the
        ``overridden`` columns' values come from the override, the rest from the record."""
        env: dict[str, Any] = {
            "Record": self.spec.record, "Slow": _Slow, "Decimal": Decimal,
            "date": date, "UUID": UUID, "repr": repr, "type": type, "len": len,
        }  # fmt: skip
        lines = ["def row(record, override):", "    if type(record) is not Record: raise Slow"]
        for i, (name, column, convert) in enumerate(self._plan):
            env[f"convert_{i}"] = convert
            source = f"override[{name!r}]" if name in overridden else f"record.{name}"
            lines.append(f"    v{i} = {source}")
            if column.default is not None and self.fill:
                env[f"default_{i}"] = column.default
                lines.append(f"    if v{i} is None: v{i} = default_{i}")
                lines.append(f"    else: v{i} = convert_{i}(v{i})")
                continue
            none = "raise Slow" if column.not_null and not column.db_fills else "pass"
            lines.append(f"    if v{i} is None: {none}")
            lines.extend("    " + line for line in _fast_check(i, column, env))
        values = ", ".join(f"v{i}" for i in range(len(self._plan)))
        lines.append(f"    return ({values},)")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines), f"<row preparer {self.spec.name}>", "exec"), env, namespace)
        return namespace["row"]  # type: ignore[no-any-return]

    def _every_nonfinite(self, record: Any, first: str, refused: Refused) -> Refused:
        """The refusal of a non-finite number, naming the record's other non-finite
        numbers too, and the way to store them all (as NULL)."""
        others = [
            f"{name} = {getattr(record, name)!r}"
            for name, column, _ in self._plan
            if name != first
            and column.kind in ("numeric", "integer")
            and not_finite(getattr(record, name))
        ]
        also = f"; so are {', '.join(others)}" if others else ""
        return Refused(NOT_FINITE + also + WAY_OUT, refused.limit)

    def checked_row(
        self, record: Any, index: int | None = None, override: dict[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """The slow, exact path: each value through its converter, errors worded."""
        if type(record) is not self.spec.record:
            raise ValidationError(
                self.spec.record.__name__,
                "(record)",
                record,
                f"a {self.spec.record.__name__}",
                index=index,
                problem="is not of the right type",
            )
        values = self._get(record)
        if len(self.columns) == 1:
            values = (values,)
        out = []
        override = override or {}
        for (name, column, convert), value in zip(self._plan, values, strict=True):
            if name in override:
                value = override[name]
            if value is not None and is_missing(value):
                value = None  # pandas.NA, NaT
            if value is None:
                if column.default is not None and self.fill:
                    value = column.default  # the server default, as the catalog test proves
                elif column.not_null and not column.db_fills:
                    raise self.refuse(name, None, Refused("is required", "NOT NULL"), index)
                out.append(value)
                continue
            try:
                out.append(convert(value))
            except Refused as refused:
                if refused.problem == NOT_FINITE:
                    refused = self._every_nonfinite(record, name, refused)
                raise self.refuse(name, value, refused, index) from None
            except (InvalidOperation, OverflowError):  # exotic Decimal contexts
                raise self.refuse(name, value, Refused("is not a valid number"), index) from None
        return tuple(out)
