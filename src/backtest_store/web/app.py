"""``create_app``: the read-only web view as an ASGI app (Starlette), over an
AsyncBacktestStore on a connection pool that the app's lifespan opens and closes.

Every session is read-only: the app's own pool sets ``default_transaction_read_only``
on each connection, and a pool the caller passes in must do the same (the app checks at
startup and refuses one that does not). With the database down, pages answer 503 and
the pool keeps trying: the view recovers by itself when the database is back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from backtest_store.aio import AsyncBacktestStore
from backtest_store.errors import UNAVAILABLE, NotFoundError, ValidationError
from backtest_store.guard import Guard
from backtest_store.list_state import BadRequest
from backtest_store.lookup import NotFound
from backtest_store.urls import READ_ONLY, read_only
from backtest_store.web import pages
from backtest_store.web.figure_cache import FigureCache
from backtest_store.web.render import document, page, wants_json
from backtest_store.web.summary import SummaryCache

log = logging.getLogger("backtest_store.web")


def create_app(
    database: str | AsyncConnectionPool[Any],
    *,
    token: str | None = None,
    summary_ttl: float = 60.0,
    pool_timeout: float = 3.0,
    max_connections: int = 4,
) -> Starlette:
    """The web view of the store at ``database`` (a postgresql:// URL, or an open or
    unopened AsyncConnectionPool whose sessions are read-only). ``token``: ask every
    request for it (a bearer token or the login cookie). ``summary_ttl``: seconds the
    summary page's figures are served before they are computed again in the background.
    ``pool_timeout``: how long a request waits for a connection before it answers 503."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(database, str):
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                read_only(database), min_size=1, max_size=max_connections, open=False,
                timeout=pool_timeout,
                check=AsyncConnectionPool.check_connection, name="backtest-store-web",
            )  # fmt: skip
        else:
            pool = database
        opened = pool.closed  # the app closes what it opened, and only that
        if opened:
            await pool.open(wait=False)  # the view starts, and says 503, with the database down
        summaries = SummaryCache(summary_ttl)
        try:
            if pool is database:
                await _check_read_only(pool)
            app.state.store = AsyncBacktestStore(pool)
            app.state.summaries = summaries
            yield
        finally:
            summaries.close()
            if opened:
                await pool.close()

    routes = _routes()
    static = resources.files("backtest_store.web") / "static"
    app = Starlette(
        routes=[
            *routes,
            Route("/healthz", pages.healthz),
            Route("/login", pages.login),
            Route("/static/plotly.min.js", _plotly_js),
            Mount("/static", StaticFiles(directory=Path(str(static))), name="static"),
        ],
        exception_handlers={
            BadRequest: _bad_request, ValidationError: _bad_request, NotFoundError: _not_found,
            NotFound: _not_found, HTTPException: _http_error,
            **dict.fromkeys(UNAVAILABLE, _unavailable),
        },
        middleware=[Middleware(Guard, token=token)],
        lifespan=lifespan,
    )  # fmt: skip
    # Starlette answers /summary/ with a redirect to the Host header's origin, which a
    # client chooses (http://evil.example/summary): a path the view does not have is a 404.
    app.router.redirect_slashes = False
    app.state.token = token
    # where a worker process may read a tearsheet's series itself (web/compute.py)
    app.state.url = read_only(database) if isinstance(database, str) else None
    # the charts of tearsheets and comparisons, kept while their rows are unchanged
    app.state.figures = FigureCache()
    return app


def _routes() -> list[Route]:
    return [
        Route("/", pages.backtests),
        Route("/backtests/{id}", pages.backtest),
        Route("/backtests/{id}/report.html", pages.report),
        Route("/compare", pages.compare),
        Route("/summary", pages.summary),
        Route("/experiments", pages.experiments),
        Route("/experiments/{name}", pages.experiment),
        Route("/duplicates", pages.duplicates),
        Route("/backtests/{id}/assess", pages.assess_backtest),
        Route("/experiments/{name}/assess", pages.assess_experiment),
        Route("/portfolios", pages.portfolios),
        Route("/portfolios/{id}", pages.portfolio),
    ]


async def _check_read_only(pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        row = await (await conn.execute("SHOW default_transaction_read_only")).fetchone()
    if row is None or row[0] != "on":
        raise ValueError(
            "create_app: the pool's sessions are not read-only; make it with "
            f"kwargs={{'options': {READ_ONLY!r}}}"
        )


_PLOTLY: bytes | None = None


async def _plotly_js(request: Request) -> Response:
    """plotly.js from the plotly package (extra ``[web]``): served from here, never a CDN."""
    global _PLOTLY
    if _PLOTLY is None:
        _PLOTLY = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return Response(_PLOTLY, media_type="text/javascript",
                    headers={"cache-control": "public, max-age=86400"})  # fmt: skip


def _error(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return document({"error": title, "message": message}, status)
    return page(request, "error.html", status=status, title=title, message=message)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, "Bad request", str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, "Not found", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(request, 404, "Not found", f"no page {request.url.path}")
    return _error(request, exc.status_code, "Error", str(exc.detail))


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc)
    response = _error(request, 503, "Database unavailable",
                      f"{exc} — this page will work again once the database is back.")  # fmt: skip
    response.headers["retry-after"] = "5"
    return response
