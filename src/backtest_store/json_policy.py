"""The JSON policy: strict JSON out (no NaN or Infinity, valid UTF-8, UUIDs as strings),
orjson when installed (the ``fast`` extra) and the standard library as the reference."""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import UUID

from psycopg.types.json import set_json_loads

try:
    import orjson
except ImportError:  # pragma: no cover - the fast extra is optional
    orjson = None  # type: ignore[assignment]

from backtest_store.values import json_ready

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


def dump_gaps(value: Any) -> str:
    """JSON for a chart's figure: NaN and Infinity as null, which plotly.js draws as a gap
    (``dump_json`` refuses them: a stored value must not lose one silently)."""
    if orjson is not None:
        return orjson.dumps(value, default=_json_default).decode()
    return json.dumps(_finite_or_none(value), allow_nan=False, separators=(",", ":"),
                      default=_json_default)  # fmt: skip


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
