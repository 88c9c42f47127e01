"""The view's gate, one ASGI middleware around every response: only GET and HEAD (else
405), the token when one is set, the security headers, and a plain 500 (logged, no
traceback) for an error that no handler took.

The token is a bearer token (``Authorization: Bearer ...``) or the login cookie that
``/login`` sets, compared in constant time (``hmac.compare_digest``). ``/healthz`` and
the static assets need none: the proxy's health check has no token, and the assets hold
no data.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("backtest_store.web")
COOKIE = "backtest_store_token"
JSON = "backtest_store.json"  # set in the scope of an /api/... request
OPEN = ("/healthz", "/login", "/static/")
# No script but the view's own files, no eval, no plugin, no frame, nothing from another
# host. Styles may be inline: plotly.js sets them on the elements it draws.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def route_path(scope: Scope) -> str:
    """The path below the root path (``--root-path``), as the routes see it."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def token_of(scope: Scope) -> str | None:
    """The bearer token or the login cookie a request carries, if any."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token:
                return token.strip()
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header carries no token
                continue
            if COOKIE in cookie:
                return str(cookie[COOKIE].value)
    return None


def same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class Guard:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *HEADERS]
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            await _plain(secured, 405, "405 Method Not Allowed: this view is read-only",
                         [(b"allow", b"GET, HEAD")])  # fmt: skip
            return
        path = route_path(scope)
        if path == "/api" or path.startswith("/api/"):  # the same pages, as JSON documents
            path = path[len("/api") :] or "/"
            scope = {k: v for k, v in scope.items() if k != "raw_path"}
            scope.update({"path": scope.get("root_path", "") + path, JSON: True})
        needs = self.token is not None and not path.startswith(OPEN)
        if needs and not same(token_of(scope), self.token or ""):
            await _refuse(scope, secured)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await secured(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:  # a bug, not bad input: logged, and never a traceback to the page
            log.exception("error on %s", path)
            if not started:
                await _plain(secured, 500, "500 Server error: the error is in the server's log", [])


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send) -> None:
    """401: a JSON client is told to send its bearer token; a browser goes to the login
    page."""
    accept = dict(scope.get("headers", ())).get(b"accept", b"")
    if scope.get(JSON) or accept.startswith(b"application/json"):
        await _plain(send, 401, "401 Unauthorized: send Authorization: Bearer <token>",
                     [(b"www-authenticate", b'Bearer realm="backtest-store"')])  # fmt: skip
        return
    login = (scope.get("root_path", "") + "/login").encode()
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", login), (b"content-length", b"0")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})
