"""``create_server``: the tools of ``tools.py`` on the MCP SDK's server, with read-only
annotations, the ``backtest://`` resources and two prompts; and the stdio and streamable
HTTP transports that ``backtest-store mcp`` runs.

A tool's answer is a ``CallToolResult``: its first text is the ``--json`` document,
exactly as the CLI prints it; its structured content is that document (an array under
``result``, as the SDK wraps one), with ``next`` and ``previous``: the arguments that
fetch the page beside it. Bad input, a missing backtest and a database that cannot be
reached are tool errors that say which argument or what to do; the session goes on.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pydantic
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from psycopg_pool import AsyncConnectionPool

from backtest_store import documents
from backtest_store.aio import AsyncBacktestStore
from backtest_store.errors import UNAVAILABLE, BacktestStoreError
from backtest_store.lookup import BadArgument, NotFound
from backtest_store.mcp_server.tools import UNITS, Answer, Tools, names
from backtest_store.urls import read_only

log = logging.getLogger("backtest_store.mcp")
NAMES = names()  # the tools, Tools' public coroutines in their order
INSTRUCTIONS = (
    "Read-only access to a store of trading-strategy backtest results. Find runs with "
    "list_backtests or top_backtests, read one with get_backtest (a 6+ hex-digit id prefix "
    "is enough), its trades with get_trades, its monthly returns and drawdowns with "
    "tearsheet; compare runs with compare_backtests. " + UNITS
)


class _Server(MCPServer[Any]):
    """The SDK's server, whose argument errors read as the CLI's: the argument, then what
    it takes (never pydantic's report, with its links)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            cause = error.__cause__
            if isinstance(cause, pydantic.ValidationError):
                raise ToolError(
                    f"Error executing tool {name}: " + "; ".join(_said(e) for e in cause.errors())
                ) from None
            raise


def _said(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "arguments"
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (got {repr(given)[:40]})"
    return f"{where}: {error['msg']}{shown}"


def create_server(store: AsyncBacktestStore) -> MCPServer[Any]:
    """The MCP server of the store (whose sessions must be read-only: ``read_only_store``
    opens such a store from a URL)."""
    server = _Server(name="backtest-store", instructions=INSTRUCTIONS, log_level="WARNING")
    tools = Tools(store)
    for name in NAMES:
        method = getattr(tools, name)
        title = name.replace("_", " ")
        server.add_tool(_answered(method), name=name, title=title,
                        annotations=ToolAnnotations(title=title, read_only_hint=True,
                                                    destructive_hint=False, idempotent_hint=True,
                                                    open_world_hint=False))  # fmt: skip
    _resources(server, tools)
    _prompts(server)
    return server


def _answered(method: Callable[..., Awaitable[Answer]]) -> Callable[..., Awaitable[CallToolResult]]:
    """The tool ``method`` as the SDK calls it: its Answer as a CallToolResult, and the
    store's refusals as tool errors that name the argument (never a traceback)."""

    async def tool(*args: Any, **kwargs: Any) -> CallToolResult:
        try:
            answer = await method(*args, **kwargs)
        except (BadArgument, NotFound) as error:
            raise ToolError(str(error)) from None
        except UNAVAILABLE as error:
            raise ToolError(f"the database cannot be reached ({error}); the server keeps "
                            "trying: call again in a few seconds") from None  # fmt: skip
        except BacktestStoreError as error:  # a ValidationError names the argument
            raise ToolError(str(error)) from None
        return result(answer, method.__name__)

    # the SDK reads the arguments' schema from the signature, and the docstring
    tool.__signature__ = inspect.signature(method, eval_str=True).replace(  # type: ignore[attr-defined]
        return_annotation=CallToolResult
    )
    tool.__name__, tool.__doc__ = method.__name__, method.__doc__
    return tool


def result(answer: Answer, name: str) -> CallToolResult:
    """An Answer as the client reads it: the document's text first, then how to get the
    page beside it."""
    text = documents.dumps(answer.document)
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    for side, arguments in answer.pages.items():
        given = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        said = f"{side} page: call {name} again with the same arguments and {given}"
        content.append(TextContent(type="text", text=said))
    structured = json.loads(text)
    if not isinstance(structured, dict):
        structured = {"result": structured}
    if "result" in structured:
        structured.update({side: answer.pages.get(side) for side in ("next", "previous")})
    return CallToolResult(content=content, structured_content=structured)


def _resources(server: MCPServer[Any], tools: Tools) -> None:
    @server.resource("backtest://{id}", name="backtest", mime_type="application/json",
                     description="a backtest's document, as get_backtest gives it")  # fmt: skip
    async def backtest(id: str) -> str:
        return documents.dumps((await _read(tools.get_backtest(id))).document)

    @server.resource("backtest://{id}/tearsheet", name="tearsheet", mime_type="application/json",
                     description="a backtest's monthly and yearly returns and worst "
                                 "drawdowns, as the tearsheet tool gives them")  # fmt: skip
    async def tearsheet(id: str) -> str:
        return documents.dumps((await _read(tools.tearsheet(id))).document)


async def _read(answer: Awaitable[Answer]) -> Answer:
    from mcp.server.mcpserver.exceptions import ResourceError as Unreadable

    try:
        return await answer
    except (BadArgument, NotFound, BacktestStoreError) as error:
        raise Unreadable(str(error)) from None


def _prompts(server: MCPServer[Any]) -> None:
    @server.prompt(name="review_backtest", description="Review one stored backtest")
    def review_backtest(id: str) -> str:
        return (
            f"Review the backtest {id} in backtest-store. Call get_backtest with id={id!r} "
            f"and series='summary', then tearsheet with id={id!r}, then get_trades with "
            f"id={id!r} and outcome='losing'. Say how it did (total and annual return, "
            "Sharpe ratio, worst drawdown and how long it lasted, win rate, trades), which "
            "months and trades hurt it, and whether its optimization (best_parameters) or "
            "walk-forward windows suggest the result would hold out of sample. " + UNITS
        )

    @server.prompt(name="compare_runs", description="Compare stored backtests side by side")
    def compare_runs(ids: str) -> str:
        chosen = [i for i in ids.replace(",", " ").split() if i]
        return (
            f"Compare the backtests {', '.join(chosen)} in backtest-store. Call "
            f"compare_backtests with ids={chosen!r}, then get_backtest for each. Say which "
            "run is best on risk-adjusted return (Sharpe, Sortino, Calmar) and drawdown, "
            "whether they differ in symbol, period, parameters, fees or slippage in ways that "
            "make the figures incomparable, and what you would test next. " + UNITS
        )


@asynccontextmanager
async def read_only_store(url: str, *, max_connections: int = 4,
                          timeout: float = 5.0) -> AsyncIterator[AsyncBacktestStore]:  # fmt: skip
    """A store over a pool of read-only sessions to ``url``. The pool starts without
    waiting for the database: a tool called while it is down is a tool error, and the
    pool keeps trying, so the server recovers by itself."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        read_only(url), min_size=1, max_size=max_connections, open=False, timeout=timeout,
        check=AsyncConnectionPool.check_connection, name="backtest-store-mcp",
    )  # fmt: skip
    await pool.open(wait=False)
    try:
        yield AsyncBacktestStore(pool)
    finally:
        await pool.close()
