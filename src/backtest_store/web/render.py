"""Pages and documents: Jinja2 templates with autoescape on (every stored string is text,
never markup), the JSON documents of the CLI's ``--json``, and which of the two a
request asks for (``/api/...`` or ``Accept: application/json``)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from backtest_store import documents
from backtest_store.guard import JSON
from backtest_store.metrics import (
    FOOTNOTE,
    benchmark,
    number,
    origin,
    params_text,
    percent,
    shown,
)
from backtest_store.serialize import figure_json
from backtest_store.web.figure_cache import FigureJSON


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("backtest_store.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates are the package's: no stat() of each per page
    )
    env.globals.update(FOOTNOTE=FOOTNOTE, shown=shown,
                       params_text=params_text, origin=origin, benchmark=benchmark,
                       percent=percent, number=number, figure=figure, day=day,
                       symbols_text=symbols_text)  # fmt: skip
    return env


def figure(fig: Any) -> str:
    """A chart's figure as JSON for its ``data-figure`` attribute (autoescaped there, so
    no stored text can close the attribute; the page's script parses it). A figure made
    already (figure_cache.FigureJSON: its JSON, escaped as here) goes in as it is."""
    return fig if isinstance(fig, FigureJSON) else figure_json(fig)


def day(value: Any) -> str:
    """A date, or a time to the minute; a time at midnight (a daily bar's) as its date.
    ISO text as the charts' x (``tearsheet.iso``) is read first."""
    if isinstance(value, str):
        text: str = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        if value.hour or value.minute or value.second:
            return minutes(value)
        return value.date().isoformat()
    return "" if value is None else str(value)


def minutes(t: datetime) -> str:
    """A time to the minute, ``2024-01-31 14:05``, in its own zone. A printf format: an
    aware time's isoformat costs half again as much (it writes the offset, to be cut
    off), strftime three times as much."""
    return "%04d-%02d-%02d %02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute)  # noqa: UP031


def symbols_text(symbols: Any) -> str:
    """A portfolio's symbols as a page shows them: a list joined by commas."""
    if type(symbols) is list:
        try:
            return ", ".join(symbols)  # a list of strings: a sixth of map(str)'s cost
        except TypeError:
            pass
    if isinstance(symbols, list | tuple | dict):
        return ", ".join(map(str, symbols))
    return "" if symbols is None else str(symbols)


def wants_json(request: Request) -> bool:
    if request.scope.get(JSON):
        return True
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("application/json")


def root_of(request: Request) -> str:
    """The path the view is mounted at ("" at the top): every link of a page starts with it."""
    root: str = request.scope.get("root_path", "")
    return root


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    body = environment().get_template(template).render(root=root_of(request), request=request,
                                                       **context)  # fmt: skip
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def document(value: Any, status: int = 200) -> Response:
    """A JSON document, written as the CLI's ``--json`` writes it."""
    return Response(documents.dumps(value), status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store"})  # fmt: skip
