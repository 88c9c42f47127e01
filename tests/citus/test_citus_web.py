"""The read-only web view on the distributed database: every page answers, as on a single
node (its data comes from the same DAO calls, whose results tests/citus/test_citus_parity.py
compares)."""

from __future__ import annotations

import pytest
from devkit.web import pages, seed

from backtest_store import BacktestStore


def test_every_page_answers_on_the_distributed_database(distributed_url: str) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with BacktestStore.connect(distributed_url) as store:
        seeded = seed(store, 30)
        first = [str(r.backtest_id) for r in store.browse_backtests(limit=50)]
    every = {**pages(seeded), "/?symbol=AAPL&symbol=MSFT&sort=backtest_date": "Backtests"}
    with TestClient(create_app(distributed_url), follow_redirects=False) as client:
        for path, text in every.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:500])
            assert text in response.text, path
        listed = client.get("/api/").json()  # a list of the page's backtests
    assert [b["backtest_id"] for b in listed] == first[: len(listed)] and listed
