"""The charts a page keeps (web/figure_cache.py): a later view of an unchanged backtest
makes no figures and shows the same page; a change to any row they are drawn from (the
backtest, a trade, an optimization result, a walk-forward window: added, updated or
deleted) draws them again; pages that want the same figures at once share one making;
at most so many bytes are kept."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")

from devkit.records import optimization, result, trade
from starlette.testclient import TestClient

from backtest_store import BacktestStore
from backtest_store.web import compute, create_app
from backtest_store.web.figure_cache import FigureCache, FigureJSON


def curve(points: int, step: float = 1.0) -> list[list[Any]]:
    start = datetime(2023, 1, 2, tzinfo=UTC)
    return [[(start + timedelta(days=i)).isoformat().replace("+00:00", "Z"),
             10_000 + step * i + 50 * (i % 7)] for i in range(points)]  # fmt: skip


def charts(page: str) -> list[str]:
    return [html.unescape(f) for f in re.findall(r'data-figure="([^"]*)"', page)]


@pytest.fixture
def backtest(db_url: str) -> UUID:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(
            result(equity_curve=curve(300), bars_per_year=252, sharpe_ratio=1.1),
            [trade(i) for i in range(3)],
        )
        assert saved.backtest_id is not None
        store.save_optimization_results(
            saved.backtest_id,
            [optimization(i, objective_value=1.0 + i, sharpe_ratio=0.5 + i) for i in range(3)],
        )
        return saved.backtest_id


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each making of figures, by page: the tearsheet's (in the worker process) and the
    compare page's (in a thread)."""
    calls: list[str] = []
    in_process, compared = compute.in_process, compute.compared

    async def counted_in_process(*args: Any) -> Any:
        calls.append("tearsheet")
        return await in_process(*args)

    def counted_compared(*args: Any) -> Any:
        calls.append("compare")
        return compared(*args)

    monkeypatch.setattr(compute, "in_process", counted_in_process)
    monkeypatch.setattr(compute, "compared", counted_compared)
    yield calls


def test_a_second_view_makes_no_figures_and_shows_the_same_page(
    db_url: str, backtest: UUID, made: list[str]
) -> None:
    with TestClient(create_app(db_url)) as client:
        first = client.get(f"/backtests/{backtest}")
        second = client.get(f"/backtests/{backtest}")
        logarithmic = client.get(f"/backtests/{backtest}?log=1")  # other figures: made
        assert client.app.state.figures.size > 0  # type: ignore[attr-defined]
    assert first.status_code == second.status_code == logarithmic.status_code == 200
    assert made == ["tearsheet", "tearsheet"]
    assert second.text == first.text
    assert len(charts(first.text)) >= 3 and charts(logarithmic.text) != charts(first.text)


CHANGES = {
    "a trade added": "INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date,"
    " entry_price, direction, exit_date, exit_price, pnl) SELECT backtest_id, 9,"
    " '2023-03-01', 10100, 'long', '2023-03-05', 10200, 100 FROM mcp_backtest_results",
    "a trade updated": "UPDATE mcp_backtest_trades SET pnl = pnl + 7 WHERE trade_number = 2",
    "a trade deleted": "DELETE FROM mcp_backtest_trades WHERE trade_number = 2",
    "an optimization result updated": "UPDATE mcp_optimization_results"
    " SET objective_value = objective_value + 5 WHERE parameter_set = 1",
    "a walk-forward window added": "INSERT INTO mcp_walk_forward_tests (parent_backtest_id,"
    " window_size_months, step_size_months, training_start, training_end,"
    " test_period_start, test_period_end, out_of_sample_return) SELECT backtest_id, 12, 3,"
    " '2022-01-01', '2022-12-31', '2023-01-01', '2023-03-31', 0.05"
    " FROM mcp_backtest_results",
    "the curve updated": "UPDATE mcp_backtest_results SET equity_curve = ("
    " SELECT jsonb_agg(jsonb_build_array(p->0, (p->>1)::float * 2))"
    " FROM jsonb_array_elements(equity_curve) p)",
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_any_row_the_figures_are_drawn_from_draws_them_again(
    db_url: str, conn: psycopg.Connection[Any], backtest: UUID, made: list[str], change: str
) -> None:
    with TestClient(create_app(db_url)) as client:
        before = client.get(f"/backtests/{backtest}").text
        conn.execute(CHANGES[change])
        after = client.get(f"/backtests/{backtest}").text
        again = client.get(f"/backtests/{backtest}").text
    assert made == ["tearsheet", "tearsheet"]  # the change made them again, once
    assert charts(after) != charts(before)
    assert again == after


def test_the_compare_chart_is_kept_until_a_run_changes(
    db_url: str, conn: psycopg.Connection[Any], backtest: UUID, made: list[str]
) -> None:
    with BacktestStore.connect(db_url) as store:
        other = store.save_backtest(result(symbol="MSFT", equity_curve=curve(200, 3.0)))
    path = f"/compare?ids={backtest},{other.backtest_id}"
    with TestClient(create_app(db_url)) as client:
        first = client.get(path).text
        assert client.get(path).text == first
        conn.execute("UPDATE mcp_backtest_results SET equity_curve = '[]'"
                     " WHERE symbol = 'MSFT'")  # fmt: skip
        changed = client.get(path).text
    assert made == ["compare", "compare"]
    assert charts(changed) != charts(first)


def test_pages_that_want_the_same_figures_at_once_share_one_making() -> None:
    cache = FigureCache()
    makings: list[int] = []

    async def make() -> dict[str, Any]:
        makings.append(1)
        await asyncio.sleep(0.05)
        figures = {"equity": FigureJSON("[1]")}
        cache.put("key", figures)
        return figures

    async def pages() -> list[dict[str, Any]]:
        gone = asyncio.ensure_future(cache.made("key", make))  # a page whose client leaves
        await asyncio.sleep(0.01)
        gone.cancel()
        return await asyncio.gather(*(cache.made("key", make) for _ in range(5)))

    shown = asyncio.run(pages())
    assert makings == [1] and all(f == {"equity": "[1]"} for f in shown)
    assert cache.get("key") == {"equity": "[1]"}


def test_at_most_max_bytes_are_kept_the_least_recently_used_going_first() -> None:
    cache = FigureCache(max_bytes=100)
    for key in "abc":
        cache.put(key, {"equity": FigureJSON("x" * 40), "notes": ["not counted"]})
    assert cache.get("a") is None and len(cache) == 2 and cache.size == 80
    assert cache.get("b") is not None  # b used last: c goes next
    cache.put("d", {"equity": FigureJSON("x" * 40)})
    assert cache.get("c") is None and cache.get("b") is not None and cache.size == 80
    cache.put("huge", {"equity": FigureJSON("x" * 101)})  # larger than all: not kept
    assert cache.get("huge") is None and cache.size == 80
    cache.put("b", {"equity": FigureJSON("x" * 10)})  # kept again: its size replaced
    assert cache.size == 50
