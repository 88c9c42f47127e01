"""The read-only MCP server (extra ``backtest-store[mcp]``): ``backtest-store mcp`` serves
it on stdio or streamable HTTP; ``create_server(store)`` builds it over a store of your
own (whose sessions are read-only: ``read_only_store(url)`` opens one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backtest_store._extras import need

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from backtest_store.aio import AsyncBacktestStore

__all__ = ["create_server", "read_only_store"]


def create_server(store: AsyncBacktestStore) -> Any:
    """The MCP server (``mcp.server.MCPServer``) of the store; see ``server.create_server``."""
    for module in ("mcp", "psycopg_pool"):
        need(module, "mcp", "backtest_store.mcp_server")
    from backtest_store.mcp_server.server import create_server as create

    return create(store)


def read_only_store(url: str, **options: Any) -> AbstractAsyncContextManager[AsyncBacktestStore]:
    """``async with read_only_store(url) as store``: a store over read-only sessions."""
    need("psycopg_pool", "mcp", "backtest_store.mcp_server")
    from backtest_store.mcp_server.server import read_only_store as opened

    return opened(url, **options)
