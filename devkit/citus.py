"""The Citus cluster the tests in tests/citus run on, and what they read from it.

CITUS_URL names the coordinator's database (``make test-citus`` starts a coordinator and
two workers with scripts/citus.sh and sets it). Each test works in a schema of its own in
that database (the URL's search_path), dropped afterwards: a schema is created and dropped
on every node by Citus itself, while a new database would need the extension and the
workers registered again. Nothing outside the tests' schemas is touched."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

CITUS_URL = os.environ.get("CITUS_URL")
SKIP_REASON = (
    "no Citus cluster: CITUS_URL is not set. `make test-citus` builds Citus from "
    "../shared/vendor/citus-13.2.2.tar.gz and starts a coordinator and two workers; "
    "CITUS_URL=postgresql://... make test-citus uses a cluster you have"
)


def in_schema(url: str, schema: str) -> str:
    """``url`` with its search_path set to ``schema`` (every connection made from it)."""
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def admin() -> psycopg.Connection[Any]:
    assert CITUS_URL is not None
    return psycopg.connect(CITUS_URL, autocommit=True)


@contextmanager
def schema(prefix: str = "bt_citus") -> Iterator[str]:
    """A new schema on the cluster for the block; yields a URL that works in it."""
    assert CITUS_URL is not None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield in_schema(CITUS_URL, name)
    finally:
        with admin() as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def schema_of(url: str) -> str:
    match = re.search(r"search_path%3D(\w+)", url)
    assert match, url
    return match.group(1)


class RemoteCommands:
    """The commands the coordinator sends to the workers, as Citus reports them
    (citus.log_remote_commands): a NOTICE "issuing <command>" per command."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.commands: list[str] = []
        self.conn = conn
        conn.add_notice_handler(self._heard)
        conn.execute("SET citus.log_remote_commands = on")

    def _heard(self, diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        if message.startswith("issuing "):
            self.commands.append(message.removeprefix("issuing "))

    @contextmanager
    def during(self) -> Iterator[list[str]]:
        """The commands issued during the block."""
        start = len(self.commands)
        out: list[str] = []
        try:
            yield out
        finally:
            out.extend(self.commands[start:])

    def shard_groups(self, commands: list[str]) -> set[int]:
        """The shard groups (positions in the colocation group) the commands touched."""
        ids = {int(m) for c in commands for m in re.findall(r"\bmcp_\w+?_(\d{6,})\b", c)}
        if not ids:
            return set()
        rows = self.conn.execute(
            """SELECT s.shardid, s.shardminvalue FROM pg_dist_shard s
               WHERE s.shardid = ANY(%s)""",
            (list(ids),),
        ).fetchall()
        return {int(low) for _, low in rows}
