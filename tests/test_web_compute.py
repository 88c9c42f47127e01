"""The tearsheet's work over a whole curve, out of the server's process (web/compute.py):
an app made from a URL reads a tearsheet's series and makes its figures in a worker
process, and the page is the one an app over a caller's pool makes in a worker thread;
a failure there, or a worker process that dies, gives the same page made here, and the
database down is still a 503. (How long the event loop is held is measured in
``make bench``, section 9, not asserted here.)"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")

from devkit.dbs import scratch_database
from devkit.web import Seeded, seed
from psycopg_pool import AsyncConnectionPool
from starlette.testclient import TestClient

from backtest_store import BacktestStore, documents, migrations
from backtest_store.records import NOT_LOADED
from backtest_store.urls import read_only
from backtest_store.web import compute, create_app


@pytest.fixture(scope="module")
def seeded_url() -> Iterator[tuple[str, Seeded]]:
    with scratch_database("bt_compute") as url:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            seeded = seed(store, 12)
        yield url, seeded


def page_of(app: Any, path: str) -> str:
    with TestClient(app) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    return re.sub(r'nonce="[^"]*"', "", response.text)


def test_the_worker_process_makes_the_page_a_worker_thread_makes(
    seeded_url: tuple[str, Seeded],
) -> None:
    url, seeded = seeded_url
    path = f"/backtests/{seeded.rich}?log=1"
    by_process = page_of(create_app(url), path)
    pool = AsyncConnectionPool(read_only(url), open=False, min_size=1, max_size=2)
    by_thread = page_of(create_app(pool), path)
    assert by_process == by_thread
    drawn = re.search(r'id="equity" data-figure="([^"]+)"', by_process)
    assert drawn is not None and "2022-01-03" in drawn.group(1)  # the curve, as drawn


def test_the_worker_sends_back_the_record_without_its_series_and_the_figures(
    seeded_url: tuple[str, Seeded],
) -> None:
    url, seeded = seeded_url
    assert seeded.rich is not None
    made = asyncio.run(compute.in_process(read_only(url), seeded.rich, False))
    assert isinstance(made, tuple)
    result, figures, made_from = made
    assert result.backtest_id == seeded.rich and result.equity_curve is NOT_LOADED
    with BacktestStore.connect(url) as store:
        full = store.get_backtest(seeded.rich)
        assert full is not None
        trades = store.get_trades(seeded.rich)
        optimizations = store.optimization_results(seeded.rich)
        windows = store.walk_forward_tests(seeded.rich)
    here = compute.figures(full, trades, documents.best_first(optimizations), windows, False)
    assert figures == here
    # the state of the rows they were made from: the key they are kept under
    assert made_from == compute.state_of(full, trades, documents.best_first(optimizations),
                                         windows)  # fmt: skip


def test_a_failure_in_the_worker_process_is_answered_failed(
    seeded_url: tuple[str, Seeded],
) -> None:
    _, seeded = seeded_url
    assert seeded.rich is not None
    nowhere = "host=127.0.0.1 port=1 dbname=none connect_timeout=2"
    assert asyncio.run(compute.in_process(nowhere, seeded.rich, False)) == compute.FAILED


def test_a_worker_process_that_dies_fails_one_page_and_the_next_has_a_new_one(
    seeded_url: tuple[str, Seeded],
) -> None:
    url, seeded = seeded_url
    assert seeded.rich is not None
    conninfo = read_only(url)
    assert isinstance(asyncio.run(compute.in_process(conninfo, seeded.rich, False)), tuple)
    pool = compute._pool()
    for pid in list(pool._processes):  # the worker, killed as the OOM killer would
        os.kill(pid, signal.SIGKILL)
    assert asyncio.run(compute.in_process(conninfo, seeded.rich, False)) == compute.FAILED
    again = asyncio.run(compute.in_process(conninfo, seeded.rich, False))
    assert isinstance(again, tuple) and compute._pool() is not pool
    # and the page itself, over a URL, is whole whatever the worker went through
    with TestClient(create_app(url)) as client:
        assert client.get(f"/backtests/{seeded.rich}").status_code == 200
        assert client.get("/backtests/00000000-0000-0000-0000-000000000000").status_code == 404
