"""The MCP server's tools, driven by the MCP SDK's own client connected in process to a
real database: pages, filters and series; each bad argument a tool error naming it;
nothing written whatever a tool is handed; hostile text back as data; the resources and
prompts; a database that goes away and comes back. (The command, over stdio and HTTP:
test_mcp_command.py.)"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

pytest.importorskip("mcp", reason="the MCP server's extra: pip install 'backtest-store[mcp]'")

from devkit.assistants import COUNT, connected, document, error, seeded_database
from devkit.dbs import maintenance, scratch_database, url_for
from devkit.minutes import YEAR_OF_MINUTES
from devkit.records import result
from devkit.web import PAYLOADS, Seeded, seed
from mcp import Client
from psycopg import sql

from backtest_store import BacktestStore, documents, migrations
from backtest_store.cli.main import main as cli
from backtest_store.list_state import PAGE
from backtest_store.mcp_server import create_server, read_only_store
from backtest_store.mcp_server.tools import MAX_SERIES, TRADES_PAGE
from backtest_store.serialize import to_json
from backtest_store.tables import RESULTS


@pytest.fixture(scope="module")
def mcp_db() -> Iterator[tuple[str, Seeded, UUID]]:
    with seeded_database("bt_mcp") as made:
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


async def test_the_list_pages_through_every_backtest_both_ways(db_url: str) -> None:
    async with connected(db_url) as client:
        with BacktestStore.connect(db_url) as store:
            expected = [str(r.backtest_id) for r in store.list_backtests(limit=200)]
        assert len(expected) == COUNT + 1
        seen: list[str] = []
        arguments: dict[str, Any] = {}
        firsts = []
        while True:
            answer = await client.call_tool("list_backtests", arguments)
            rows = document(answer)
            firsts.append(arguments)
            seen += [r["backtest_id"] for r in rows]
            nxt = answer.structured_content["next"]
            if nxt is None:
                break
            assert f"after={nxt['after']!r}" in answer.content[1].text  # type: ignore[union-attr]
            arguments = nxt
        assert seen == expected and len(firsts) == 2
        back = await client.call_tool("list_backtests", answer.structured_content["previous"])
        assert [r["backtest_id"] for r in document(back)] == expected[:PAGE]


async def test_sorted_and_filtered_as_the_web_list(db_url: str) -> None:
    async with connected(db_url) as client:
        answer = document(await client.call_tool("list_backtests", {
            "symbol": ["AAPL", "MSFT"], "where": "total_return >= 5%, max_drawdown > -0.15",
            "params": "fast=10 | fast=30", "sort": "sharpe_ratio", "order": "asc"}))  # fmt: skip
        with BacktestStore.connect(db_url) as store:
            rows = store.browse_backtests(
                symbols=["AAPL", "MSFT"], ranges=[("total_return", ">=", Decimal("0.05")),
                                                  ("max_drawdown", ">", Decimal("-0.15"))],
                parameters_any=[{"fast": 10}, {"fast": 30}], sort="sharpe_ratio", descending=False,
                limit=PAGE,
            )  # fmt: skip
        assert answer == [json.loads(documents.dumps(to_json(r))) for r in rows]
        assert 0 < len(answer) < COUNT
        assert all(r["symbol"] in ("AAPL", "MSFT") and Decimal(r["total_return"]) >= Decimal("0.05")
                   for r in answer)  # fmt: skip


async def test_trades_come_in_pages(db_url: str, seeded: Seeded) -> None:
    async with connected(db_url) as client:
        rich = str(seeded.rich)
        answer = await client.call_tool("get_trades", {"id": rich})
        assert len(document(answer)) == 12 <= TRADES_PAGE
        assert answer.structured_content["next"] is None
        assert "page: from 1 to 1" in error(
            await client.call_tool("get_trades", {"id": rich, "page": 2})
        )


async def test_series_left_out_summarized_or_whole(
    db_url: str, seeded: Seeded, mcp_db: tuple[str, Seeded, UUID]
) -> None:
    async with connected(db_url) as client:
        rich = str(seeded.rich)
        bare = document(await client.call_tool("get_backtest", {"id": rich}))
        assert "series" not in bare and "equity_curve" not in bare["backtest"]
        summary = document(
            await client.call_tool("get_backtest", {"id": rich, "series": "summary"})
        )
        whole = document(await client.call_tool("get_backtest", {"id": rich, "series": "full"}))
        curve = whole["series"]["equity_curve"]
        assert len(curve) == 400 and summary["series"]["equity_curve"]["points"] == 400
        values = [v for _, v in curve]
        got = summary["series"]["equity_curve"]
        assert got["first"]["value"] == values[0] and got["last"]["value"] == values[-1]
        assert got["min"]["value"] == min(values) and got["max"]["value"] == max(values)
        assert datetime.fromisoformat(got["first"]["at"]) == datetime.fromisoformat(curve[0][0])
        long = str(mcp_db[2])
        refused = error(await client.call_tool("get_backtest", {"id": long, "series": "full"}))
        assert f"{MAX_SERIES + 1:,} points" in refused and f"at most {MAX_SERIES:,}" in refused
        assert document(await client.call_tool("get_backtest", {"id": long, "series": "summary"}))

    # -- bad arguments: a tool error that names the argument, and the session goes on ------


@pytest.mark.parametrize(("tool", "arguments", "names"), [
    ("get_backtest", {"id": "zz"}, ["id", "at least 6"]),
    ("get_backtest", {"id": "abc"}, ["id", "at least 6"]),
    ("get_backtest", {"id": "0000000000"}, ["no backtest id starts with 0000000000"]),
    ("get_backtest", {"id": str(UUID(int=7))}, [f"no backtest {UUID(int=7)}"]),
    ("get_backtest", {"id": "x" * 65}, ["id", "at most 64"]),
    ("get_backtest", {"id": "ab12cd", "series": "all"}, ["series", "'none', 'summary' or 'full'"]),
    ("get_trades", {"id": "ab12cd", "outcome": "won"}, ["outcome"]),
    ("get_trades", {"id": "ab12cd", "page": 0}, ["page", "greater than or equal to 1"]),
    ("top_backtests", {"limit": 0}, ["limit", "greater than or equal to 1"]),
    ("top_backtests", {"limit": 10_001}, ["limit", "less than or equal to 10000"]),
    ("top_backtests", {"metric": "pnl"}, ["metric", "sharpe_ratio"]),
    ("top_backtests", {"param": ["fast"]}, ["param", "key=value"]),
    ("top_backtests", {"param": ["fast=" + "[" * 20]}, ["param", "at most 8 levels"]),
    ("best_parameters", {"id": "ab12cd", "limit": -1}, ["limit"]),
    ("list_backtests", {"after": "garbage"}, ["after", "is not a page cursor"]),
    ("list_backtests", {"after": "2024-01-01T00:00:00+00:00~nope"}, ["after", "page cursor"]),
    ("list_backtests", {"sort": "symbol"}, ["sort"]),
    ("list_backtests", {"where": "sharpe_ratio >= lots"}, ["where", "is not a number"]),
    ("list_backtests", {"where": "total_return >= 20"}, ["where", "out of -1..1"]),
    ("list_backtests", {"params": "fast"}, ["params", "key=value"]),
    ("list_backtests", {"since": "2024-13-01"}, ["since", "is not a date"]),
    ("list_backtests", {"since": "yesterday"}, ["since", "pattern"]),
    ("list_backtests", {"min_trades": -1}, ["min_trades"]),
    ("list_backtests", {"symbol": ["A"] * 51}, ["symbol", "at most 50"]),
    ("compare_backtests", {"ids": []}, ["ids", "at least 1"]),
    ("compare_backtests", {"ids": ["ab12cd"] * 11}, ["ids", "at most 10"]),
    ("compare_backtests", {"ids": ["ab12cd"], "metrics": ["pnl"]}, ["metrics"]),
    ("summary", {"since": "2024-02-30"}, ["since", "is not a date"]),
    ("tearsheet", {}, ["id", "required"]),
    ("assess", {"id": "ab12cd", "alpha": 1.5}, ["alpha", "less than 1"]),
    ("assess_experiment", {"experiment": "x", "blocks": 7}, ["blocks", "multiple of 2"]),
    ("assess_experiment", {"experiment": "nope"}, ["no run of experiment 'nope'"]),
])  # fmt: skip
async def test_a_bad_argument_is_a_tool_error_naming_it(
    db_url: str, tool: str, arguments: dict[str, Any], names: list[str]
) -> None:
    async with connected(db_url) as client:
        text = error(await client.call_tool(tool, arguments))
        for name in names:
            assert name in text, (name, text)
        assert document(await client.call_tool("summary", {}))  # the session goes on


async def test_an_ambiguous_prefix_says_so(db_url: str) -> None:
    with scratch_database("bt_mcp_ambiguous") as url:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            for n in range(2):
                store.save_backtest(result(backtest_id=UUID(f"abcdef{n:02d}" + "0" * 24)))
        async with read_only_store(url) as ro, Client(create_server(ro)) as c:
            text = error(await c.call_tool("get_backtest", {"id": "abcdef"}))
            assert "id: abcdef is ambiguous: 2 backtests start with it" in text
            one = document(await c.call_tool("get_backtest", {"id": "abcdef01"}))
            assert one["backtest"]["backtest_id"] == "abcdef01-0000-0000-0000-000000000000"


# -- read-only: nothing a tool is handed writes ----------------------------------------


WRITES = ("x'); DELETE FROM mcp_backtest_results; --", "1; DROP TABLE mcp_backtest_trades",
          "$$; TRUNCATE mcp_backtest_results; $$", "') OR 1=1; UPDATE mcp_backtest_results "
          "SET symbol = 'X'; --")  # fmt: skip


async def test_no_tool_writes_even_when_handed_sql(db_url: str) -> None:
    async with connected(db_url) as client:

        def fingerprint() -> Any:
            with BacktestStore.connect(db_url) as store:
                return [(str(r.backtest_id), r.symbol, r.strategy_type)
                        for r in store.list_backtests(limit=1000)]  # fmt: skip

        before = fingerprint()
        for text in WRITES:
            for tool, arguments in (
                ("list_backtests", {"symbol": [text]}), ("list_backtests", {"strategy": text}),
                ("list_backtests", {"params": f"fast={text!r}"}),
                ("list_backtests", {"params": f"{text.split()[0]}=1"}),
                ("top_backtests", {"symbol": text}), ("top_backtests", {"param": [f"fast={text}"]}),
                ("summary", {"strategy": text}), ("get_backtest", {"id": text[:60]}),
                ("compare_backtests", {"ids": [text[:60]]}),
            ):  # fmt: skip
                answer = await client.call_tool(tool, arguments)
                if not answer.is_error:
                    found = document(answer)
                    assert found in ([], {}) or tool == "summary", (tool, arguments)
        assert fingerprint() == before


async def test_every_session_is_read_only(db_url: str, seeded: Seeded) -> None:
    """The store the server reads through refuses a write: were a tool to try one, the
    database would say no."""
    async with read_only_store(db_url) as store:
        with pytest.raises(Exception, match="read-only transaction"):
            await store.delete_backtest(seeded.ids[0])
    with BacktestStore.connect(db_url) as store:
        assert store.get_backtest(seeded.ids[0]) is not None


async def test_hostile_text_comes_back_as_data() -> None:
    with scratch_database("bt_mcp_hostile") as url:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            seeded = seed(store, 6, hostile=True)
            stored = {i: store.get_backtest(i) for i in seeded.ids}
            trades = store.get_trades(seeded.ids[0])
        async with read_only_store(url) as ro, Client(create_server(ro)) as c:
            for the_id, record in stored.items():
                assert record is not None
                shown = document(await c.call_tool("get_backtest", {"id": str(the_id)}))
                expected = {k: v for k, v in to_json(record).items()
                            if k not in RESULTS.series}  # fmt: skip
                assert shown["backtest"] == json.loads(documents.dumps(expected))
                assert shown["backtest"]["strategy_type"] in PAYLOADS
                assert shown["backtest"]["parameters"] == {PAYLOADS[0]: PAYLOADS[1],
                                                           "fast": PAYLOADS[2]}  # fmt: skip
            listed = document(await c.call_tool("get_trades", {"id": str(seeded.ids[0])}))
            assert [t["exit_reason"] for t in listed] == [t.exit_reason for t in trades]
            rich = document(await c.call_tool("get_backtest", {"id": str(seeded.rich)}))
            assert rich["optimizations"][0]["objective_function"] == PAYLOADS[1]
            assert rich["walk_forward"][0]["optimal_parameters"][PAYLOADS[2]] == PAYLOADS[0]
            top = document(await c.call_tool("top_backtests", {"min_trades": 0,
                                                               "symbol": "<script>"}))  # fmt: skip
            assert top and all(r["symbol"] == "<script>" for r in top)


# -- resources and prompts --------------------------------------------------------------


async def test_resources_and_prompts(db_url: str, seeded: Seeded) -> None:
    async with connected(db_url) as client:
        rich = str(seeded.rich)
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert templates == {"backtest://{id}", "backtest://{id}/tearsheet"}
        whole = json.loads((await client.read_resource(f"backtest://{rich[:8]}")).contents[0].text)  # type: ignore[union-attr]
        assert whole == document(await client.call_tool("get_backtest", {"id": rich}))
        figures = (await client.read_resource(f"backtest://{rich}/tearsheet")).contents[0]
        assert json.loads(figures.text) == document(  # type: ignore[union-attr]
            await client.call_tool("tearsheet", {"id": rich})
        )
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == {"review_backtest", "compare_runs"}
        review = await client.get_prompt("review_backtest", {"id": rich[:8]})
        text = review.messages[0].content.text  # type: ignore[union-attr]
        for call in (f"get_backtest with id={rich[:8]!r}", "tearsheet", "get_trades"):
            assert call in text
        compare = await client.get_prompt("compare_runs", {"ids": f"{rich[:8]}, {seeded.ids[1]}"})
        assert f"ids={[rich[:8], str(seeded.ids[1])]!r}" in compare.messages[0].content.text  # type: ignore[union-attr]

    # -- the database goes away, and comes back ----------------------------------------------


async def test_a_tool_error_while_the_database_is_away_then_recovery(db_url: str) -> None:
    name = f"bt_mcp_later_{os.getpid()}"
    async with read_only_store(url_for(name), timeout=0.5) as store, \
            Client(create_server(store)) as c:  # fmt: skip
        down = error(await c.call_tool("summary", {}))
        assert "the database cannot be reached" in down and "call again" in down
        with maintenance() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (db_url.rsplit("/", 1)[1],))  # fmt: skip
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(db_url.rsplit("/", 1)[1])))  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while (await c.call_tool("summary", {})).is_error:
                assert time.monotonic() < deadline, "the server did not recover"
                time.sleep(0.3)
            answer = document(await c.call_tool("summary", {}))
            assert answer["overall"]["count"] == COUNT + 1
        finally:
            await store._source.close()
            with maintenance() as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def test_a_year_of_minutes_is_figured_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tearsheet of a year of minute bars (525,600 points) is computed in a worker
    thread: the server's event loop answers other clients meanwhile."""
    figured_on: list[int] = []
    tearsheet = documents.tearsheet

    def watched(*args: Any) -> Any:
        figured_on.append(threading.get_ident())
        return tearsheet(*args)

    monkeypatch.setattr(documents, "tearsheet", watched)
    with scratch_database("bt_mcp_minutes") as url:
        migrations.apply(url)
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(YEAR_OF_MINUTES).fetchone()
            assert row is not None
        async with connected(url) as client:
            figures = document(await client.call_tool("tearsheet", {"id": str(row[0])}))
    assert len(figures["monthly_returns"]) == 12 and figures["worst_drawdowns"]
    assert figured_on and threading.get_ident() not in figured_on
