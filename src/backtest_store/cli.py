"""backtest-store: the schema commands (migrate, rollback, status, break-lock, adopt) and
the data commands (list, show, trades, top, compare, summary in browse.py; export and
import in transfer.py; prune in prune.py; report in report.py).

Every command takes --database URL (default: $DATABASE_URL). The data commands exit 1
when something is not found, 2 for bad usage or input, 3 when the database cannot be
reached or is not migrated (console.py)."""

from __future__ import annotations

import argparse
import os
import sys

from backtest_store import migrations
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

    sub.add_parser("migrate", parents=[database], help="apply every pending migration")
    rb = sub.add_parser("rollback", parents=[database], help="roll back the last migration")
    how = rb.add_mutually_exclusive_group()
    how.add_argument("--all", action="store_true", help="roll back every migration")
    how.add_argument("--steps", type=int, default=1, help="how many migrations (default 1)")
    st = sub.add_parser("status", parents=[database], help="list applied and pending migrations")
    st.add_argument(
        "--check", action="store_true",
        help="exit 1 unless every migration is applied (pending, unknown or edited ones)",
    )  # fmt: skip
    sub.add_parser(
        "break-lock", parents=[database], help="remove a migration lock left by a killed run"
    )
    ad = sub.add_parser(
        "adopt",
        parents=[database],
        help="take over a database the Alembic revision 013 (or its models) created",
        description="Verify the tables, check every row against the package's rules, then "
        "convert them to the package's schema in one transaction and apply the later "
        "migrations. Nothing is changed if anything is found.",
    )
    ad.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    ad.add_argument(
        "--nan-to-null", action="store_true", help="store NULL for NaN in numeric columns"
    )
    from backtest_store import browse, prune, transfer
    from backtest_store import report as report_command

    for commands in (browse, transfer, prune, report_command):
        commands.add_commands(sub, database)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(args, "handler"):
        return _data_command(args)
    try:
        url = migrations.resolve_url(args.database)
        where = migrations.redact(url)
        if args.command == "migrate":
            from backtest_store.adoption import terminal_progress

            done = migrations.apply(url, progress=terminal_progress())
            if done:
                print(f"applied {len(done)} migration(s) to {where}:")
                for m in done:
                    print(f"  {m}")
            else:
                print(f"{where} is up to date at {migrations.required_version()}")
        elif args.command == "rollback":
            done = migrations.rollback(url, steps=None if args.all else args.steps)
            print(f"rolled back {len(done)} migration(s) on {where}:")
            for m in done:
                print(f"  {m}")
        elif args.command == "adopt":
            return _adopt(url, dry_run=args.dry_run, nan_to_null=args.nan_to_null)
        elif args.command == "status":
            st = migrations.status(url)
            for m in st.applied:
                mark = "EDITED " if m in st.edited else "applied"
                print(f"{mark}  {m}")
            for m in st.pending:
                print(f"pending  {m}")
            for m in st.unknown:
                print(f"unknown  {m} (applied by a newer release)")
            if st.edited:
                migrations.refuse_edited(st)
            migrations.refuse_clashes(st, url)
            if args.check and (st.pending or st.unknown):  # a deploy script gates on it
                print(f"backtest-store: {where} is not at {migrations.required_version()}",
                      file=sys.stderr)  # fmt: skip
                return 1
        elif args.command == "break-lock":
            cleared = migrations.break_lock(url)
            print("lock removed" if cleared else "there was no lock")
    except BacktestStoreError as exc:
        from backtest_store.console import exit_code

        print(f"backtest-store: {exc}", file=sys.stderr)
        return exit_code(exc)
    return 0


def _data_command(args: argparse.Namespace) -> int:
    from backtest_store.console import exit_code

    try:
        code: int = args.handler(args)
    except BacktestStoreError as exc:
        print(f"backtest-store {args.command}: {exc}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:  # `backtest-store list --json | head -c 100`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except OSError as exc:  # a file the command was told to read or write
        print(f"backtest-store {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"backtest-store {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


def _adopt(url: str, *, dry_run: bool, nan_to_null: bool) -> int:
    from backtest_store.adoption import terminal_progress
    from backtest_store.errors import AdoptionError

    try:
        plan = migrations.adopt(
            url, dry_run=dry_run, nan_to_null=nan_to_null, progress=terminal_progress()
        )
    except AdoptionError as exc:
        if exc.plan is not None and dry_run:
            print(exc.plan.render())
        print(f"backtest-store: {exc}", file=sys.stderr)
        return 1
    print(plan.render())
    if not dry_run:
        repaired = ", ".join(f"{c} {n}" for c, n in plan.nan_repairs.items())
        if repaired:
            print(f"NaN set to NULL: {repaired}")
        print(f"adopted; applied afterwards: {', '.join(plan.applied) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
