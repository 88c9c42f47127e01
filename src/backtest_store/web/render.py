"""Pages and documents: Jinja2 templates with autoescape on (every stored string is text,
never markup), the JSON documents of the CLI's ``--json``, and which of the two a
request asks for (``/api/...`` or ``Accept: application/json``)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

try:
    import orjson
except ImportError:  # the [fast] extra; the web view works without it
    orjson = None  # type: ignore[assignment]

from backtest_store.metrics import MEASURES, number, params_text, percent, shown, units
from backtest_store.serialize import plain
from backtest_store.web.guard import JSON


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("backtest_store.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates are the package's: no stat() of each per page
    )
    env.globals.update(MEASURES=MEASURES, units=units, shown=shown, params_text=params_text,
                       percent=percent, number=number, figure=figure, day=day)  # fmt: skip
    return env


def figure(fig: Any) -> str:
    """A chart's figure as JSON for its ``data-figure`` attribute (autoescaped there, so
    no stored text can close the attribute; the page's script parses it). orjson, when
    installed, writes it ten times faster, NaN as null."""
    if orjson is not None:
        return orjson.dumps(fig, default=str).decode()
    return json.dumps(_finite(fig), separators=(",", ":"), allow_nan=False, default=str)


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no other word for them, and plotly.js leaves
    a gap there."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def day(value: Any) -> str:
    """A date, or a time to the minute; a time at midnight (a daily bar's) as its date.
    ISO text as the charts' x (``charts.iso``) is read first."""
    if isinstance(value, str):
        text: str = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def wants_json(request: Request) -> bool:
    if request.scope.get(JSON):
        return True
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("application/json")


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    root = request.scope.get("root_path", "")
    body = environment().get_template(template).render(root=root, request=request, **context)
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def document(value: Any, status: int = 200) -> Response:
    """A JSON document, as the CLI's ``--json`` prints it."""
    body = json.dumps(plain(value), ensure_ascii=False, default=_text)
    return Response(body, status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store"})  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
