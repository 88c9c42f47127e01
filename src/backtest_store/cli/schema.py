"""The schema commands: migrate, rollback, status (--check), break-lock and adopt
(--dry-run, --nan-to-null). Their errors are printed as ``backtest-store: ...``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest_store.cli.console import BAD_INPUT, CommandError
from backtest_store.cli.progress import terminal_progress
from backtest_store.errors import AdoptionError
from backtest_store.schema.adoption.run import adopt
from backtest_store.schema.files import migration_ids, required_version
from backtest_store.schema.runner import (
    apply,
    break_lock,
    refuse_clashes,
    refuse_edited,
    rollback,
    status,
)
from backtest_store.urls import redact, resolve_url


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    mg = sub.add_parser("migrate", parents=[database], help="apply every pending migration")
    mg.add_argument("--to", metavar="ID",
                    help="apply the pending migrations up to and including this one")  # fmt: skip
    mg.set_defaults(handler=migrate, prefix="backtest-store")
    rb = sub.add_parser("rollback", parents=[database], help="roll back the last migration")
    how = rb.add_mutually_exclusive_group()
    how.add_argument("--all", action="store_true", help="roll back every migration")
    how.add_argument("--steps", type=int, default=1, help="how many migrations (default 1)")
    st = sub.add_parser("status", parents=[database], help="list applied and pending migrations")
    st.add_argument(
        "--check", action="store_true",
        help="exit 1 unless every migration is applied (pending, unknown or edited ones)",
    )  # fmt: skip
    bl = sub.add_parser(
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
    rb.set_defaults(handler=rollback_, prefix="backtest-store")
    st.set_defaults(handler=status_, prefix="backtest-store")
    bl.set_defaults(handler=break_lock_, prefix="backtest-store")
    ad.set_defaults(handler=adopt_, prefix="backtest-store")


def migrate(args: argparse.Namespace) -> int:
    url = resolve_url(args.database)
    if args.to is not None and args.to not in migration_ids():
        raise CommandError(f"--to {args.to!r} is no migration of this package; they are "
                           f"{', '.join(migration_ids())}", BAD_INPUT)  # fmt: skip
    done = apply(url, progress=terminal_progress(), to=args.to)
    if done:
        print(f"applied {len(done)} migration(s) to {redact(url)}:")
        for m in done:
            print(f"  {m}")
    else:
        print(f"{redact(url)}: {args.to} is applied already, nothing to do" if args.to
              else f"{redact(url)} is up to date at {required_version()}")  # fmt: skip
    return 0


def rollback_(args: argparse.Namespace) -> int:
    url = resolve_url(args.database)
    done = rollback(url, steps=None if args.all else args.steps)
    print(f"rolled back {len(done)} migration(s) on {redact(url)}:")
    for m in done:
        print(f"  {m}")
    return 0


def status_(args: argparse.Namespace) -> int:
    url = resolve_url(args.database)
    st = status(url)
    for m in st.applied:
        mark = "EDITED " if m in st.edited else "applied"
        print(f"{mark}  {m}")
    for m in st.pending:
        print(f"pending  {m}")
    for m in st.unknown:
        print(f"unknown  {m} (applied by a newer release)")
    if st.distributed:
        print(st.distributed)
    if st.edited:
        refuse_edited(st)
    refuse_clashes(st, url)
    if args.check and (st.pending or st.unknown):  # a deploy script gates on it
        print(f"backtest-store: {redact(url)} is not at {required_version()}", file=sys.stderr)
        return 1
    return 0


def break_lock_(args: argparse.Namespace) -> int:
    cleared = break_lock(resolve_url(args.database))
    print("lock removed" if cleared else "there was no lock")
    return 0


def adopt_(args: argparse.Namespace) -> int:
    url = resolve_url(args.database)
    dry_run = args.dry_run
    try:
        plan = adopt(url, dry_run=dry_run, nan_to_null=args.nan_to_null,
                     progress=terminal_progress())  # fmt: skip
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
