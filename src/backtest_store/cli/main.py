"""backtest-store: the parser and the dispatch. The commands are in one module per group:
schema.py (migrate, rollback, status, break-lock, adopt), distribute.py (Citus),
browse.py (list, show, trades, top, compare, summary), experiments.py, assess.py (skill
or selection), transfer.py (export, import), prune.py, report.py, serve.py (the web view)
and mcp.py (the MCP server).

Every command takes --database URL (default: $DATABASE_URL). The data commands exit 1
when something is not found, 2 for bad usage or input, 3 when the database cannot be
reached or is not migrated (console.py)."""

from __future__ import annotations

import argparse
import os
import sys

from backtest_store.cli import (
    assess,
    browse,
    distribute,
    experiments,
    mcp,
    prune,
    report,
    schema,
    serve,
    transfer,
)
from backtest_store.cli.console import exit_code
from backtest_store.errors import BacktestStoreError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backtest-store",
        description="Manage the backtest-store schema. The database is --database URL, "
        "else $DATABASE_URL (postgresql://, postgres:// and postgresql+psycopg:// URLs).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--database", metavar="URL", help="default: $DATABASE_URL")
    for commands in (schema, distribute, browse, experiments, assess, transfer, prune, report,
                     serve, mcp):  # fmt: skip
        commands.add_commands(sub, database)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # the schema commands say "backtest-store: ...", the data commands name themselves
    prefix = getattr(args, "prefix", None) or f"backtest-store {args.command}"
    try:
        code: int = args.handler(args)
    except BacktestStoreError as exc:
        print(f"{prefix}: {exc}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:  # `backtest-store list --json | head -c 100`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except ImportError as exc:  # an optional extra the command needs (report, serve)
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the command was told to read or write
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
