"""Records as JSON objects and back, exactly: the shape of ``--json`` output and of
``backtest-store export`` files.

A record is an object keyed by its field names, in column order. Numeric columns are
decimal strings (``"0.1235"``): exactly the stored value, never a binary float. Integers
and booleans are JSON numbers and booleans, ids strings, timestamps ISO 8601 strings
with their offset (``"2024-03-01T12:00:00+00:00"``), dates ISO 8601 (``"2024-03-01"``),
jsonb values as they are. A series a list query did not load is left out.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from uuid import UUID

from backtest_store.errors import ValidationError
from backtest_store.json_policy import dump_gaps
from backtest_store.records import AUTO, NOT_LOADED, Record
from backtest_store.tables import spec_for

R = TypeVar("R", bound=Record)


def plain(value: Any) -> Any:
    """One value as JSON: Decimal as a plain decimal string (no exponent), ids and times as
    strings."""
    if isinstance(value, Decimal):
        return f"{value:f}"  # every digit, never an exponent: 0.00000000, not 0E-8
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def to_json(record: Record) -> dict[str, Any]:
    """A record as a JSON object (series that were not loaded left out)."""
    spec = spec_for(type(record))
    out: dict[str, Any] = {}
    for name, column in spec.columns.items():
        value = getattr(record, name)
        if value is NOT_LOADED:
            continue
        if value is AUTO:  # left to the store, and not saved yet: nothing is recorded
            value = None
        out[name] = value if column.kind == "jsonb" else plain(value)
    return out


def from_json(record_type: type[R], data: dict[str, Any], *, where: str = "") -> R:
    """The record ``to_json`` made; a ValidationError names the field it cannot read. A
    provenance field the object leaves out (a file written before 0011) is None: what the
    file says, never what the reading process would detect."""
    spec = spec_for(record_type)
    if not isinstance(data, dict):
        raise ValidationError(record_type.__name__, "(record)", data, "a JSON object",
                              problem=f"is not an object{where}")  # fmt: skip
    unknown = set(data) - set(spec.columns)
    if unknown:
        raise ValidationError(
            record_type.__name__, sorted(unknown)[0], data[sorted(unknown)[0]],
            f"one of the {spec.name} columns", problem=f"is not a field{where}",
        )  # fmt: skip
    values: dict[str, Any] = {
        f.name: None for f in dataclasses.fields(record_type) if f.default is AUTO
    }
    for name, value in data.items():
        kind = spec.columns[name].kind
        try:
            values[name] = _parse(kind, value)
        except (ValueError, TypeError, InvalidOperation):
            raise ValidationError(
                record_type.__name__, name, value, _EXPECTED[kind], problem=f"cannot be read{where}"
            ) from None
    try:
        return record_type(**values)
    except TypeError as error:  # a required field is absent
        raise ValidationError(
            record_type.__name__, "(record)", data, "every required field", problem=str(error)
        ) from None


_EXPECTED = {
    "uuid": "a uuid string",
    "timestamptz": "an ISO 8601 timestamp with offset",
    "date": "an ISO 8601 date",
    "numeric": "a decimal string or number",
    "integer": "an integer",
    "boolean": "true or false",
    "varchar": "a string",
    "text": "a string",
    "jsonb": "JSON",
}


def _parse(kind: str, value: Any) -> Any:
    if value is None or kind == "jsonb":
        return value
    if kind in ("uuid", "timestamptz", "date") and not isinstance(value, str):
        raise TypeError
    if kind == "uuid":
        return UUID(value)
    if kind == "timestamptz":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "numeric":
        if isinstance(value, bool):
            raise TypeError
        return Decimal(str(value))
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError
        return value
    if not isinstance(value, str):
        raise TypeError
    return value


def figure_json(figure: Any) -> str:
    """JSON for a chart's figure: NaN and Infinity as null, which plotly.js draws as a gap
    (json_policy.dump_gaps; a stored value's JSON refuses them instead)."""
    return dump_gaps(figure)
