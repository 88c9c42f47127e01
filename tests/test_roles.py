"""Least privilege: sql/extras/roles.sql's application role saves and reads but has no DDL
rights; its read-only role reads and is refused writes with a clear error."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from devkit.records import result, trade

from backtest_store import BacktestStore, PermissionDeniedError


def test_the_application_role_saves_and_reads_but_cannot_change_the_schema(
    logins: dict[str, str],
) -> None:
    with BacktestStore.connect(logins["app"]) as store:
        saved = store.save_backtest(result(), [trade(0), trade(1)])
        assert store.save_trades(saved.backtest_id, [trade(2)]) == 1
        assert len(store.get_trades(saved.backtest_id)) == 3
        assert store.delete_backtest(saved.backtest_id) is True
    with psycopg.connect(logins["app"], autocommit=True) as conn:
        for ddl in (
            "CREATE TABLE evil (i int)",
            "DROP TABLE mcp_backtest_trades",
            "ALTER TABLE mcp_backtest_results ADD COLUMN x int",
            "TRUNCATE mcp_backtest_results",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(ddl)


def test_the_read_only_role_reads_and_is_refused_writes(logins: dict[str, str]) -> None:
    with BacktestStore.connect(logins["app"]) as app:
        saved = app.save_backtest(result(), [trade(0)])
    with BacktestStore.connect(logins["readonly"]) as store:
        assert store.get_backtest(saved.backtest_id) == saved
        assert len(store.list_backtests()) == 1 and len(store.get_trades(saved.backtest_id)) == 1
        with pytest.raises(PermissionDeniedError) as caught:
            store.save_backtest(result())
        assert caught.value.sqlstate == "42501" and "permission denied" in str(caught.value)
        with pytest.raises(PermissionDeniedError):
            store.delete_backtest(saved.backtest_id)


async def test_the_mcp_server_serves_under_the_read_only_role(logins: dict[str, str]) -> None:
    """The MCP server needs no more than the read-only role: each tool answers under it."""
    pytest.importorskip("mcp", reason="the MCP server's extra: pip install 'backtest-store[mcp]'")
    from mcp import Client

    from backtest_store.mcp_server import create_server, read_only_store

    with BacktestStore.connect(logins["app"]) as app:
        saved = app.save_backtest(result(), [trade(0), trade(1)])
    the_id = str(saved.backtest_id)
    calls: dict[str, dict[str, Any]] = {"list_backtests": {}, "get_backtest": {"id": the_id[:8], "series": "summary"},
             "get_trades": {"id": the_id}, "top_backtests": {"min_trades": 0},
             "compare_backtests": {"ids": [the_id]}, "summary": {},
             "best_parameters": {"id": the_id}, "tearsheet": {"id": the_id},
             "list_experiments": {}, "assess": {"id": the_id},
             "assess_experiment": {"experiment": "none"}}  # fmt: skip
    async with read_only_store(logins["readonly"]) as store, Client(create_server(store)) as c:
        assert {t.name for t in (await c.list_tools()).tools} == set(calls)
        for name, arguments in calls.items():
            answer = await c.call_tool(name, arguments)
            if name == "assess_experiment":  # no such experiment: said, as a tool error
                text = answer.content[0].text  # type: ignore[union-attr]
                assert answer.is_error and "no run of experiment" in text
                continue
            assert not answer.is_error, (name, answer.content)
