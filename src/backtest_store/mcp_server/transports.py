"""The two ways ``backtest-store mcp`` serves: stdio (a desktop client starts it and
talks over its stdin and stdout; it ends when the client closes stdin) and streamable
HTTP at ``/mcp`` (uvicorn, on a socket the command has bound), behind a bearer token when
one is given."""

from __future__ import annotations

import re
import socket
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from backtest_store.guard import ASGIApp, Receive, Scope, Send, same, token_of
from backtest_store.mcp_server.server import create_server, read_only_store

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_WITH_PORT = re.compile(r"(\[[^\]]+\]|[^:\[\]]+):[0-9]+")


async def stdio(url: str) -> None:
    async with read_only_store(url) as store:
        await create_server(store).run_stdio_async()


async def http(url: str, listening: socket.socket, token: str | None, hosts: list[str]) -> None:
    """Serve until stopped. ``hosts``: the Host headers to accept (``--host`` first, then
    ``--allow-host``'s)."""
    import uvicorn

    async with read_only_store(url) as store:
        app = create_server(store).streamable_http_app(transport_security=security(hosts))
        config = uvicorn.Config(Bearer(app, token), log_level="warning", server_header=False,
                                proxy_headers=True)  # fmt: skip
        await uvicorn.Server(config).serve(sockets=[listening])


def security(hosts: list[str]) -> TransportSecuritySettings | None:
    """DNS-rebinding protection: on loopback, only loopback names and the allowed hosts
    (a web page's script cannot reach the server through a name it resolves to
    127.0.0.1); on another address, only the allowed hosts when any are given."""
    bound, allowed = hosts[0], hosts[1:]
    names = [*LOOPBACK, *allowed] if bound in ("127.0.0.1", "localhost", "::1") else allowed
    if not names:
        return None
    exact = [n for n in names if _WITH_PORT.fullmatch(n)]  # name:port, [v6]:port
    any_port = [n for n in names if n not in exact]
    accepted = [*exact, *any_port, *(f"{n}:*" for n in any_port)]
    return TransportSecuritySettings(
        allowed_hosts=accepted,
        allowed_origins=[f"{scheme}://{n}" for n in accepted for scheme in ("http", "https")],
    )


class Bearer:
    """The token, as ``Authorization: Bearer <token>`` on every HTTP request (compared in
    constant time); none needed when the server has none."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.token is not None and not same(token_of(scope),
                                                                           self.token):  # fmt: skip
            body = b"401 Unauthorized: send Authorization: Bearer <token>"
            headers: list[Any] = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="backtest-store"'),
            ]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
