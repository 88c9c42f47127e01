"""The MCP server's tests' data and helpers: a database with the web view's data and one
backtest whose curve is longer than get_backtest gives whole, the SDK's client connected
in process, and a tool's answer read as a client reads it."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from mcp import Client

from backtest_store import BacktestStore, migrations
from backtest_store.mcp_server import create_server, read_only_store
from backtest_store.mcp_server.tools import MAX_SERIES
from devkit.dbs import scratch_database
from devkit.records import result
from devkit.web import Seeded, seed

COUNT = 60  # more than a page of the list (50)


@contextmanager
def seeded_database(prefix: str) -> Iterator[tuple[str, Seeded, UUID]]:
    """A migrated database with the web view's data, and the id of a backtest whose curve
    has MAX_SERIES + 1 points."""
    with scratch_database(prefix) as url:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            seeded = seed(store, COUNT)
            start = datetime(2020, 1, 1, tzinfo=UTC)
            long = store.save_backtest(result(
                symbol="LONG", backtest_date=datetime(2019, 1, 1, tzinfo=UTC),
                experiment="long-curves", tags={"bars": "hourly"},
                equity_curve=[[(start + timedelta(hours=h)).isoformat(), 100 + h % 50]
                              for h in range(MAX_SERIES + 1)]))  # fmt: skip
        assert long.backtest_id is not None
        yield url, seeded, long.backtest_id


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    """The SDK's client, connected in process to a server over read-only sessions (in the
    test's own task: anyio's scopes end where they began)."""
    async with read_only_store(url) as store, Client(create_server(store)) as c:
        yield c


def document(answer: Any) -> Any:
    """A tool's answer as the client reads it: its first text is the --json document, and
    its structured content the same (an array under "result")."""
    assert not answer.is_error, answer.content
    text = json.loads(answer.content[0].text)
    structured = answer.structured_content
    assert (structured["result"] if isinstance(text, list) else structured) == text
    return text


def error(answer: Any) -> str:
    assert answer.is_error
    text: str = answer.content[0].text
    assert "Traceback" not in text and 'File "' not in text
    return text


def server_command(*args: str) -> list[str]:
    """``backtest-store mcp`` with ``args``, as a client starts it."""
    return [sys.executable, "-m", "backtest_store.cli", "mcp", *args]
