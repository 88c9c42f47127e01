"""``backtest-store mcp``, driven by the MCP SDK's own client against a real database:
over stdio, as a desktop client starts it (every tool's document held to the CLI's
``--json`` of the same query, field for field), and over streamable HTTP with and without
the token; its end when the client closes stdin, and its refusals."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

pytest.importorskip("mcp", reason="the MCP server's extra: pip install 'backtest-store[mcp]'")

import httpx2
from devkit.assistants import (
    document,
    error,
    seeded_database,
    server_command,
)
from devkit.web import Seeded
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from backtest_store import BacktestStore, tearsheet
from backtest_store.cli.main import _parser
from backtest_store.cli.main import main as cli
from backtest_store.list_state import PAGE
from backtest_store.mcp_server.server import NAMES


@pytest.fixture(scope="module")
def mcp_db() -> Iterator[tuple[str, Seeded, UUID]]:
    with seeded_database("bt_mcp_command") as made:
        yield made


@pytest.fixture
def db_url(mcp_db: tuple[str, Seeded, UUID]) -> str:
    return mcp_db[0]


@pytest.fixture
def seeded(mcp_db: tuple[str, Seeded, UUID]) -> Seeded:
    return mcp_db[1]


def printed(capsys: pytest.CaptureFixture[str], db_url: str, *argv: str) -> Any:
    """The CLI's ``--json`` document of a command."""
    assert cli([*argv, "--database", db_url]) == 0
    return json.loads(capsys.readouterr().out)


# -- over stdio: the tool list, and every tool against the CLI's --json ----------------


async def test_over_stdio_every_tool_answers_the_cli_document(
    db_url: str, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    rich, other = str(seeded.rich), str(seeded.ids[1])
    params = StdioServerParameters(command=sys.executable, args=server_command()[1:],
                                   env={"DATABASE_URL": db_url})  # fmt: skip
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), \
                ClientSession(read, write) as session:  # fmt: skip
            await session.initialize()
            listed = (await session.list_tools()).tools
            assert sorted(t.name for t in listed) == sorted(NAMES)
            for tool in listed:
                assert tool.annotations is not None and tool.annotations.read_only_hint is True
                assert tool.annotations.destructive_hint is False, tool.name
                assert tool.description and len(tool.description) > 60, tool.name
                assert tool.input_schema["type"] == "object"

            async def call(name: str, **arguments: Any) -> Any:
                return document(await session.call_tool(name, arguments))

            calls = {
                ("list", "--symbol", "AAPL", "--limit", str(PAGE)):
                    await call("list_backtests", symbol=["AAPL"]),
                ("show", rich): await call("get_backtest", id=rich[:8]),
                ("trades", rich): await call("get_trades", id=rich),
                ("trades", rich, "--outcome", "losing"):
                    await call("get_trades", id=rich, outcome="losing"),
                ("top", "--metric", "total_return", "--limit", "7", "--min-trades", "3"):
                    await call("top_backtests", metric="total_return", limit=7, min_trades=3),
                ("top", "--param", "fast=10", "--strategy", "rsi"):
                    await call("top_backtests", param=["fast=10"], strategy="rsi"),
                ("compare", rich, other): await call("compare_backtests", ids=[rich, other]),
                ("compare", rich, other, "--metrics", "win_rate,sharpe_ratio"):
                    await call("compare_backtests", ids=[rich[:6], other],
                               metrics=["win_rate", "sharpe_ratio"]),
                ("summary", "--symbol", "MSFT"): await call("summary", symbol="MSFT"),
                ("summary", "--since", "2022-01-04"): await call("summary", since="2022-01-04"),
                ("experiments",): await call("list_experiments"),
                ("assess", rich): await call("assess", id=rich[:8]),
                ("assess", "--experiment", "long-curves"):
                    await call("assess_experiment", experiment="long-curves"),
                ("experiments", "long-curves"): await call("list_experiments",
                                                           experiment="long-curves"),
                ("list", "--experiment", "long-curves", "--tag", "bars=hourly"):
                    await call("list_backtests", experiment="long-curves", tag=["bars=hourly"]),
            }  # fmt: skip
            best = await call("best_parameters", id=rich, limit=12)
            figures = await call("tearsheet", id=rich)
            resource = await session.read_resource(f"backtest://{rich}")
    for argv, answered in calls.items():
        assert answered == printed(capsys, db_url, *argv, "--json"), argv
        assert answered, argv  # each query finds something: the comparison is not of nothing
    shown = printed(capsys, db_url, "show", rich, "--json")
    assert best == shown["optimizations"] and len(best) == 12
    assert json.loads(resource.contents[0].text) == shown  # type: ignore[union-attr]
    with BacktestStore.connect(db_url) as store:
        stored = store.get_backtest(UUID(rich))
    assert stored is not None
    curve = tearsheet.curve_of(stored.equity_curve)
    months = tearsheet.monthly_returns(curve)
    assert figures["monthly_returns"] == {f"{y}-{m:02d}": r for (y, m), r in months.items()}
    assert len(figures["monthly_returns"]) == 14  # 400 days from 2022-01-03
    deepest = tearsheet.worst_drawdowns(curve, 5)
    assert [d["depth"] for d in figures["worst_drawdowns"]] == [d.depth for d in deepest]


# -- the command: stdio's end, HTTP with and without the token, the missing extra -------


def test_a_client_that_closes_stdin_ends_the_server_cleanly(db_url: str) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}  # fmt: skip
    for given in (b"", (json.dumps(hello) + "\n").encode()):
        done = subprocess.run(server_command("--database", db_url), input=given,
                              capture_output=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert b"Traceback" not in done.stderr
        lines = done.stdout.decode().splitlines()
        assert [json.loads(line)["id"] for line in lines] == ([1] if given else [])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    secret = "s3cret-token-of-the-team-0123456789"
    (tmp_path / "token").write_text(secret + "\n")
    port = _free_port()
    process = subprocess.Popen(
        server_command("--http", "--port", str(port), "--token-file", str(tmp_path / "token"),
                       "--database", db_url),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", secret
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
        assert out == b"" and b"Traceback" not in err


async def test_over_http_with_the_token_and_without(
    http_server: tuple[str, str], seeded: Seeded
) -> None:
    url, secret = http_server
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {secret}"}) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:  # fmt: skip
        await session.initialize()
        assert sorted(t.name for t in (await session.list_tools()).tools) == sorted(NAMES)
        shown = document(await session.call_tool("get_backtest", {"id": str(seeded.rich)}))
        assert shown["backtest"]["backtest_id"] == str(seeded.rich)
        assert error(await session.call_tool("top_backtests", {"limit": 0}))
    for headers in ({}, {"authorization": "Bearer wrong-token-wrong-token"}):
        async with httpx2.AsyncClient(headers=headers) as http:
            answer = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                     headers={"accept": "application/json, text/event-stream"})  # fmt: skip
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"] == 'Bearer realm="backtest-store"'
        # the SDK's client cannot even start a session
        with pytest.raises(Exception):  # noqa: B017
            async with httpx2.AsyncClient(headers=headers) as http, \
                    streamable_http_client(url, http_client=http) as (read, write), \
                    ClientSession(read, write) as session:  # fmt: skip
                await session.initialize()


def test_http_beyond_loopback_without_a_token_warns(db_url: str) -> None:
    port = _free_port()
    process = subprocess.Popen(server_command("--http", "--host", "0.0.0.0", "--port", str(port),
                                              "--database", db_url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "BACKTEST_STORE_WEB_TOKEN": ""})  # fmt: skip
    try:
        time.sleep(3)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert b"warning: serving 0.0.0.0 without a token" in err and out == b""


def test_without_the_extra_the_command_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert cli(["mcp", "--database", db_url]) == 2
    assert "pip install 'backtest-store[mcp]'" in capsys.readouterr().err


def test_a_short_token_is_refused(tmp_path: Path, db_url: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    (tmp_path / "token").write_text("short\n")
    assert cli(["mcp", "--http", "--token-file", str(tmp_path / "token"),
                "--database", db_url]) == 2  # fmt: skip
    assert "at least 16" in capsys.readouterr().err


# -- the configurations that docs/web.md and docs/mcp.md give ----------------------------


ROOT = Path(__file__).resolve().parents[1]


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def mcp_arguments(words: list[str]) -> argparse.Namespace:
    """The arguments of a ``backtest-store mcp ...`` command, as the CLI's parser reads
    them (a flag it does not have is an error here)."""
    assert words[:2] == ["backtest-store", "mcp"], words
    return _parser().parse_args(words[1:])


async def test_the_claude_desktop_configuration_starts_the_server(db_url: str) -> None:
    """Both pages' JSON, run as Claude Desktop runs it (its DATABASE_URL pointed at the
    test's database): the client lists the tools."""
    configs = [json.loads(b) for page in (ROOT / "docs" / "web.md", ROOT / "docs" / "mcp.md")
               for b in blocks(page, "json")]  # fmt: skip
    assert len(configs) == 2 and configs[0] == configs[1]
    entry = configs[0]["mcpServers"]["backtest-store"]
    mcp_arguments([entry["command"], *entry["args"]])
    assert set(entry["env"]) == {"DATABASE_URL"}
    params = StdioServerParameters(command=str(Path(sys.executable).parent / entry["command"]),
                                   args=entry["args"], env={"DATABASE_URL": db_url})  # fmt: skip
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), \
                ClientSession(read, write) as session:  # fmt: skip
            await session.initialize()
            assert sorted(t.name for t in (await session.list_tools()).tools) == sorted(NAMES)


def test_the_shell_lines_and_the_proxy_are_well_formed() -> None:
    page = ROOT / "docs" / "mcp.md"
    lines = [line for b in [*blocks(ROOT / "docs" / "web.md", "sh"), *blocks(page, "sh")]
             for line in b.splitlines() if line.startswith(("claude mcp", "backtest-store mcp"))]  # fmt: skip
    assert len(lines) == 4
    served = None
    for line in lines:
        words = shlex.split(line)
        if words[0] == "claude":
            assert words[1:3] == ["mcp", "add"]
            if "--" in words:
                mcp_arguments(words[words.index("--") + 1 :])
            else:
                assert words[words.index("--transport") + 1] == "http"
                assert any(w.startswith("https://") and w.endswith("/mcp") for w in words)
        else:
            served = mcp_arguments(words)
    assert served is not None and served.http and served.allow_host == ["mcp.example.com"]
    (nginx,) = blocks(page, "nginx")
    assert nginx.count("{") == nginx.count("}") == 2
    assert all(
        line.rstrip().endswith((";", "{", "}")) for line in nginx.splitlines() if line.strip()
    )
    assert f"proxy_pass http://127.0.0.1:{served.port};" in nginx
    assert "server_name mcp.example.com;" in nginx and "location /mcp {" in nginx


def test_the_docs_python_example_runs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = blocks(ROOT / "docs" / "mcp.md", "python")
    exec(compile(code, "docs/mcp.md", "exec"), {"url": db_url})
    assert capsys.readouterr().out.strip() == str(list(NAMES))
