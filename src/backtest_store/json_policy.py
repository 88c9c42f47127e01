"""The JSON policy: strict JSON out (no NaN or Infinity, valid UTF-8, UUIDs as strings),
orjson when installed (the ``fast`` extra) and the standard library as the reference."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg.abc import Loader
from psycopg.types.json import JsonbLoader, JsonLoader

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
    """Read json/jsonb with orjson on this cursor, when orjson is installed. The store's
    cursors read text results: the text loaders alone are registered, made once
    (``set_json_loads`` registers the binary ones too, and looks the classes up each time:
    twice the cost, a quarter of a one-row read's overhead)."""
    if orjson is not None:
        _register(cursor, _FAST)


def _text_loaders(loads: Callable[[Any], Any]) -> tuple[type[Loader], type[Loader]]:
    """json and jsonb loaders of text results reading with ``loads``."""
    return (type("FastJsonLoader", (JsonLoader,), {"_loads": loads}),
            type("FastJsonbLoader", (JsonbLoader,), {"_loads": loads}))  # fmt: skip


def _register(cursor: Any, loaders: tuple[type[Loader], type[Loader]]) -> None:
    adapters = cursor.adapters
    adapters.register_loader("json", loaders[0])
    adapters.register_loader("jsonb", loaders[1])


# jsonb text from this size on is not parsed where it is read by the async store: the
# event loop would wait for it (a year of minute bars is 19 MB, 0.3 s of parsing, and no
# thread can hide one parser call: it holds the GIL). It is kept as text (``Deferred``)
# and parsed in a worker thread in pieces (``resolve``), between which the loop runs.
DEFER_AT = 256 * 1024  # bytes: about 4 ms of parsing
PIECE = 64 * 1024  # bytes of text parsed at a time: about 1 ms


class Deferred:
    """jsonb text left unparsed by ``deferring``, until ``resolve`` parses it."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def deferring(cursor: Any) -> None:
    """``fast_json`` for the async store: a value of ``DEFER_AT`` bytes or more is left as
    text, a ``Deferred``, for ``resolve`` to parse off the event loop."""
    _register(cursor, _DEFERRING)


# How many values were left as text since the process started: a fetch that left none
# is not walked for them (``deferred``), which for a page of records (600 fields) cost
# more than a quarter of the read.
_deferrals = 0
_COUNTING = threading.Lock()  # a deferral is a large value: the lock is taken seldom


def deferrals() -> int:
    """How many values ``deferring`` cursors have left as text so far, in this process
    (it only grows)."""
    return _deferrals


def _defer_or_load(data: bytes | bytearray | memoryview | str) -> Any:
    global _deferrals
    if len(data) >= DEFER_AT:
        with _COUNTING:
            _deferrals += 1
        return Deferred(data.encode() if isinstance(data, str) else bytes(data))
    return load_json(data)


def deferred(result: Any, since: int | None = None) -> bool:
    """Whether a fetch's result (a record, a row, a list of them, a value) holds a
    ``Deferred``; with ``since`` (``deferrals()`` before the fetch), False at once when
    no value anywhere was deferred since (another cursor's deferral only costs the walk)."""
    if since is not None and deferrals() == since:
        return False
    if isinstance(result, Deferred):
        return True
    if isinstance(result, list):
        return any(deferred(r) for r in result)  # each without ``since``: checked above
    if isinstance(result, tuple):
        return any(isinstance(v, Deferred) for v in result)
    if dataclasses.is_dataclass(result):
        return any(
            isinstance(getattr(result, f.name), Deferred) for f in dataclasses.fields(result)
        )
    return False


# One large series parsed at a time: each parsing thread competes with the event loop for
# the GIL, and the loop waits longer the more of them there are.
_PARSING = threading.BoundedSemaphore(1)


def resolve(result: Any) -> Any:
    """``result`` with each ``Deferred`` parsed (``load_in_pieces``), one result at a time
    in the process: run it in a worker thread."""
    with _PARSING:
        return _resolved(result)


def _resolved(result: Any) -> Any:
    if isinstance(result, Deferred):
        return load_in_pieces(result.data)
    if isinstance(result, list):
        return [_resolved(r) for r in result]
    if isinstance(result, tuple):
        return tuple(load_in_pieces(v.data) if isinstance(v, Deferred) else v for v in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        changes = {f.name: load_in_pieces(v.data) for f in dataclasses.fields(result)
                   if isinstance(v := getattr(result, f.name), Deferred)}  # fmt: skip
        return dataclasses.replace(result, **changes) if changes else result
    return result


def load_in_pieces(data: bytes, piece: int = PIECE) -> Any:
    """jsonb text parsed as ``load_json`` parses it, an array of arrays (a curve of
    ``[time, value]`` pairs) ``piece`` bytes at a time: the thread that parses lets others
    run between pieces. The pieces are cut where PostgreSQL's text separates two elements
    (``], [``); a cut inside a string leaves a piece that is not JSON, and the text is
    then parsed whole, so the answer is always ``load_json``'s."""
    if not data.startswith(b"[[") or len(data) <= piece:
        return load_json(data)
    out: list[Any] = []
    start = 1  # after the outer "["
    try:
        while (cut := data.find(b"], [", start + piece)) != -1:
            out += load_json(b"[" + data[start : cut + 1] + b"]")
            start = cut + 3  # the next element's "["
        out += load_json(b"[" + data[start:])  # the last piece, with the outer "]"
    except ValueError:  # a cut inside a string (orjson's and json's errors are ValueErrors)
        return load_json(data)
    return out


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


# the loader classes, made once: the json and jsonb text loaders of the stores' cursors
_FAST = _text_loaders(load_json)
_DEFERRING = _text_loaders(_defer_or_load)
