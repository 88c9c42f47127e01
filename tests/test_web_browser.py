"""The web view in a real browser (Playwright on Debian's chromium, offline): browse,
filter, sort, page forward and back, select two rows and compare, open a backtest; every
chart drawn, no console error, no request to another host. Hostile text in every string
field shows as text on every page, and no script of it runs."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")
pytest.importorskip("playwright", reason="the browser tests need playwright (a dev dependency)")

from devkit.browser import chromium
from devkit.records import random_curve, result
from devkit.serving import Watched, browser, served
from devkit.web import PAYLOADS, Seeded, seed

from backtest_store import BacktestStore
from backtest_store.assessment import panel
from backtest_store.list_state import PAGE
from backtest_store.web import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def have_chromium() -> None:
    try:
        chromium()
    except Exception as exc:  # not installed and not installable here
        pytest.skip(f"no chromium for the browser tests: {exc}")
    assert shutil.which("chromium")


@pytest.fixture
def page(have_chromium: None) -> Iterator[Watched]:
    with browser() as watched:
        yield watched


def serve_seeded(db_url: str, *, hostile: bool) -> tuple[Any, Seeded]:
    with BacktestStore.connect(db_url) as store:
        seeded = seed(store, 90 if not hostile else 6, hostile=hostile)
    return served(create_app(db_url)), seeded


def rows(page: Watched) -> list[str]:
    ids: list[str] = page.page.eval_on_selector_all(
        "input[name=ids]", "els => els.map(e => e.value)"
    )
    return ids


def test_browse_filter_sort_page_compare_and_open(page: Watched, db_url: str) -> None:
    server, seeded = serve_seeded(db_url, hostile=False)
    with server as base:
        p = page.page
        p.goto(base + "/")
        assert rows(page) == [str(i) for i in seeded.ids[:PAGE]]
        p.fill("input[name=symbol]", "AAPL, MSFT")
        p.click("form.filters button[type=submit]")
        p.wait_for_url("**/?symbol=*")
        symbols = p.eval_on_selector_all("table.results tbody tr td:nth-child(3)",
                                         "els => els.map(e => e.textContent)")  # fmt: skip
        assert symbols and set(symbols) <= {"AAPL", "MSFT"}
        p.click("th a:has-text('sharpe_ratio')")
        p.wait_for_url("**sort=sharpe_ratio**")
        with BacktestStore.connect(db_url) as store:
            want = [str(r.backtest_id) for r in store.browse_backtests(
                symbols=["AAPL", "MSFT"], sort="sharpe_ratio", limit=90)]  # fmt: skip
        assert rows(page) == want[:PAGE]
        first = rows(page)
        p.click("a[rel=next]")
        p.wait_for_url("**after=**")
        assert rows(page) == want[PAGE:]
        p.click("a[rel=prev]")
        p.wait_for_url("**before=**")
        assert rows(page) == first
        boxes = p.locator("input[name=ids]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        p.click("text=compare selected")
        p.wait_for_url("**/compare?**")
        assert "Comparing 2 backtests" in p.inner_text("h1")
        assert page.charts_drawn() == [True]
        p.click("table.compare a >> nth=0")
        p.wait_for_url("**/backtests/**")
        assert page.charts_drawn() == [True] * 3  # equity+underwater, calendar, rolling
        p.goto(f"{base}/backtests/{seeded.rich}")
        assert page.charts_drawn() == [True] * 5  # and the grid and the windows
        assert p.locator("table.drawdowns tbody tr").count() == 5
    assert page.errors == []
    assert page.hosts == {base.split("/")[2]}


def test_hostile_text_shows_as_text_and_never_runs(page: Watched, db_url: str) -> None:
    server, seeded = serve_seeded(db_url, hostile=True)
    with server as base:
        pages = ["/", f"/backtests/{seeded.rich}", f"/compare?ids={seeded.ids[0]},{seeded.ids[1]}",
                 "/summary", "/portfolios", f"/portfolios/{seeded.portfolio}",
                 f"/backtests/{seeded.rich}?outcome=winning", "/?strategy=" + PAYLOADS[0],
                 "/?where=" + PAYLOADS[1]]  # fmt: skip
        for path in pages:
            page.page.goto(base + path)
            if page.page.locator(".chart").count():
                assert all(page.charts_drawn()), path
            assert page.page.evaluate("window.__xss") is None, path
            assert page.page.locator("img[src=x]").count() == 0, path
            text = page.page.inner_text("body")
            if path != "/?where=" + PAYLOADS[1]:  # that one is a 400 page: it quotes the input
                assert any(p in text for p in PAYLOADS), path
        page.page.goto(f"{base}/backtests/{seeded.rich}")
        page.page.hover(".chart#equity .legend")  # plotly's own text: its legend and hover
        assert page.page.evaluate("window.__xss") is None
    assert page.dialogs == []
    assert page.errors == [] or all("400" in e for e in page.errors)


def test_skill_or_selection_draws(page: Watched, db_url: str) -> None:
    """The tearsheet's panel shows its figures, and the experiment page draws the
    histogram of λ (a bar per bin) and the selected runs' scatter."""
    rng = random.Random(5)
    with BacktestStore.connect(db_url) as store:
        ids = []
        for n in range(8):
            points = random_curve(rng, 513)
            saved = store.save_backtest(result(experiment="grid", equity_curve=points,
                                               bars_per_year=252, parameters={"n": n}))  # fmt: skip
            ids.append(saved.backtest_id)
        judged = store.assess(ids[0])
        found = store.assess_experiment("grid")
    assert found.pbo is not None
    with served(create_app(db_url)) as base:
        p = page.page
        p.goto(f"{base}/backtests/{ids[0]}")
        cells = p.eval_on_selector_all("section.skill td", "els => els.map(e => e.textContent)")
        assert dict(zip(cells[::2], cells[1::2], strict=True)) == dict(panel(judged))
        assert p.inner_text("section.skill .verdict") == judged.verdict
        p.goto(f"{base}/experiments/grid")
        assert page.charts_drawn() == [True, True]
        bars = p.locator(".chart.overfit >> nth=0").locator("g.point").count()
        assert bars == len(found.logit_histogram["counts"])  # a bar per bin
        dots = p.locator(".chart.overfit >> nth=1").locator("path.point").count()
        # a point per split, spread evenly over the 12,870 when there are more than 2,000
        assert dots == len(found.selected) == -(-found.combinations // 7) == 1_839
        assert f"PBO {found.pbo:.2f}" in p.inner_text(".chart.overfit >> nth=0")
    assert page.errors == []
