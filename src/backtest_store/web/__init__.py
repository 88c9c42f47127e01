"""The read-only web view (extra ``backtest-store[web]``): ``backtest-store serve``, or
``create_app(database)`` for an ASGI server of your own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backtest_store._extras import need

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["create_app"]


def create_app(database: Any, **options: Any) -> Starlette:
    """The ASGI app of the web view; see ``backtest_store.web.app.create_app``."""
    for module in ("starlette", "jinja2", "psycopg_pool"):
        need(module, "web", "backtest_store.web")
    from backtest_store.web.app import create_app as create

    return create(database, **options)
