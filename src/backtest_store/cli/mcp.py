"""backtest-store mcp: the read-only MCP server (extra ``backtest-store[mcp]``) for AI
assistants. On stdio by default, as a desktop client starts it: stdout is the protocol,
so everything this command says goes to stderr. ``--http`` serves the streamable HTTP
transport for a team, with the token rules of ``serve``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest_store._extras import need
from backtest_store.cli.console import database_url
from backtest_store.cli.serve import TOKEN_ENV, bound, token, warn_if_open


def mcp(args: argparse.Namespace) -> int:
    need("mcp", "mcp", "backtest-store mcp")
    need("psycopg_pool", "mcp", "backtest-store mcp")
    import anyio

    from backtest_store.mcp_server import transports

    url = database_url(args.database)
    if not args.http:
        anyio.run(transports.stdio, url)
        return 0
    need("uvicorn", "mcp", "backtest-store mcp --http")
    secret = token(args)
    host = args.host or "127.0.0.1"
    warn_if_open("mcp", host, args.port, secret)
    listening = bound(host, args.port)
    print(f"backtest-store mcp: http://{host}:{args.port}/mcp (streamable HTTP, read-only"
          f"{', token required' if secret else ''}); Ctrl-C stops", file=sys.stderr)  # fmt: skip
    anyio.run(transports.http, url, listening, secret, [host, *args.allow_host])
    return 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("mcp", parents=[database],
                       help="the read-only MCP server for AI assistants (extra "
                       "backtest-store[mcp]): stdio, or --http")  # fmt: skip
    p.add_argument("--http", action="store_true",
                   help="serve the streamable HTTP transport at /mcp instead of stdio")  # fmt: skip
    p.add_argument("--host", default=None, help="with --http: default 127.0.0.1 (loopback only)")
    p.add_argument("--port", type=int, default=8766, help="with --http: default 8766")
    p.add_argument("--token-file", metavar="PATH",
                   help=f"with --http: ask for the bearer token in PATH's first line (or "
                   f"${TOKEN_ENV})")  # fmt: skip
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                   help="with --http: a Host header to accept besides --host, as a "
                   "reverse proxy sends it (repeatable; DNS-rebinding protection refuses "
                   "others)")  # fmt: skip
    p.set_defaults(handler=mcp)
