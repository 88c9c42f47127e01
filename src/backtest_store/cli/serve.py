"""backtest-store serve: the read-only web view (extra ``backtest-store[web]``), served by
uvicorn. It binds to 127.0.0.1 unless ``--host`` says otherwise; without a token it
warns when it binds to anything else, since whoever reaches the port reads every
backtest."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Any

from backtest_store._extras import need
from backtest_store.cli.console import BAD_INPUT, PORT_IN_USE, CommandError, database_url

TOKEN_ENV = "BACKTEST_STORE_WEB_TOKEN"
MIN_TOKEN = 16  # characters


def token(args: argparse.Namespace) -> str | None:
    """--token-file's first line, else $BACKTEST_STORE_WEB_TOKEN, else none."""
    if args.token_file:
        lines = Path(args.token_file).read_text(encoding="utf-8").splitlines()
        text = lines[0].strip() if lines else ""
        where = f"--token-file {args.token_file}"
    else:
        text = os.environ.get(TOKEN_ENV, "").strip()
        where = f"${TOKEN_ENV}"
        if not text:
            return None
    if len(text) < MIN_TOKEN:
        hint = "python -c 'import secrets; print(secrets.token_urlsafe())'"
        raise CommandError(f"{where}: the token has {len(text)} characters; give at least "
                           f"{MIN_TOKEN} ({hint})", BAD_INPUT)  # fmt: skip
    return text


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_open(command: str, host: str, port: int, secret: str | None) -> None:
    """A server bound beyond loopback without a token: say so on stderr."""
    if secret is None and not loopback(host):
        print(f"backtest-store {command}: warning: serving {host} without a token: anyone "
              f"who reaches port {port} reads every backtest (--token-file FILE)",
              file=sys.stderr)  # fmt: skip


def serve(args: argparse.Namespace) -> int:
    uvicorn = need("uvicorn", "web", "backtest-store serve")
    from backtest_store.web import create_app

    url = database_url(args.database)
    secret = token(args)
    host = args.host or "127.0.0.1"
    warn_if_open("serve", host, args.port, secret)
    root = args.root_path.rstrip("/")
    if root and not root.startswith("/"):
        raise CommandError(f"--root-path {args.root_path!r}: give a path such as /backtests",
                           BAD_INPUT)  # fmt: skip
    listening = bound(host, args.port)  # before anything says "serving"
    app = create_app(url, token=secret)
    print(f"backtest-store serve: http://{host}:{args.port}{root}/ (read-only"
          f"{', token required' if secret else ''}); Ctrl-C stops", file=sys.stderr)  # fmt: skip
    config = uvicorn.Config(app, host=host, port=args.port, root_path=root, log_level="warning",
                            proxy_headers=True, server_header=False)  # fmt: skip
    uvicorn.Server(config).run(sockets=[listening])
    return 0


def bound(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, for the server to serve on (no window
    between a check and the bind): a port in use is exit 5, an address this machine does
    not have exit 2."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, OverflowError) as exc:
        raise CommandError(f"--host {host} --port {port}: {exc}", BAD_INPUT) from None
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(f"port {port} on {host} is in use (another server is listening "
                               "there): stop it, or choose another with --port",
                               PORT_IN_USE) from None  # fmt: skip
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}", BAD_INPUT) from None
    listening.set_inheritable(True)
    return listening


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[database],
                       help="the read-only web view (extra backtest-store[web])")  # fmt: skip
    p.add_argument("--host", default=None, help="default 127.0.0.1 (loopback only)")
    p.add_argument("--port", type=int, default=8765, help="default 8765")
    p.add_argument("--root-path", default="", metavar="/PREFIX",
                   help="served behind a reverse proxy under this prefix")  # fmt: skip
    p.add_argument("--token-file", metavar="PATH",
                   help=f"ask for the token in PATH's first line (or ${TOKEN_ENV})")  # fmt: skip
    p.set_defaults(handler=serve)
