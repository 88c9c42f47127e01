"""The web view in process (Starlette's TestClient, a real database): every page's status,
headers and content, every filter and sort against the store's own answer, keyset pages
forward and back, the JSON documents against the CLI's --json, and bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")

from devkit.dbs import copy_of, scratch_database
from devkit.records import result
from devkit.web import Seeded, link, listed_ids, pages, seed
from starlette.testclient import TestClient

from backtest_store import BacktestStore, migrations
from backtest_store.cli.main import main as cli
from backtest_store.list_state import PAGE
from backtest_store.operations.browse import SORTS
from backtest_store.web import create_app


@pytest.fixture(scope="module")
def web_db() -> Iterator[tuple[str, Seeded, str]]:
    """One database with the pages' data for the module (its tests only read it), and a
    copy for the one that writes, made before anything connects to it."""
    with scratch_database("bt_web") as url:
        migrations.apply(url)
        with BacktestStore.connect(url) as store:
            seeded = seed(store, 120)
        with copy_of(url, "bt_web_copy") as copy:
            yield url, seeded, copy


@pytest.fixture
def db_url(web_db: tuple[str, Seeded, str]) -> str:
    return web_db[0]


@pytest.fixture
def seeded(web_db: tuple[str, Seeded, str]) -> Seeded:
    return web_db[1]


@pytest.fixture(scope="module")
def client(web_db: tuple[str, Seeded, str]) -> Iterator[TestClient]:
    with TestClient(create_app(web_db[0]), follow_redirects=False) as c:
        yield c


def ids_of(store: BacktestStore, **arguments: Any) -> list[str]:
    return [str(r.backtest_id) for r in store.browse_backtests(limit=PAGE, **arguments)]


def test_every_page_answers(client: TestClient, seeded: Seeded) -> None:
    for path, text in pages(seeded).items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert text in response.text, path
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""


def test_the_view_s_own_markup_is_ascii(client: TestClient, seeded: Seeded) -> None:
    """A page of ASCII is encoded by a copy. One character past it in the layout (a
    "·" in the title) made Python transcode every byte of each page: 0.14 ms of a 245 KB
    tearsheet, against 0.006 ms. Only stored text may bring such a character in."""
    paths = [*pages(seeded), "/?sort=sharpe_ratio", "/?sort=sharpe_ratio&order=asc",
             "/experiments", "/duplicates", "/nowhere"]  # fmt: skip
    for path in paths:
        text = client.get(path).text
        assert text.isascii(), (path, sorted({c for c in text if not c.isascii()}))


def test_the_tearsheet(client: TestClient, seeded: Seeded) -> None:
    page = client.get(f"/backtests/{seeded.rich}").text
    for part in ("monthly returns %", "yearly returns %", "rolling Sharpe ratio", "in-sample"):
        assert part in page
    assert page.count('class="chart"') == 5  # equity+underwater, calendar, rolling, grid, windows
    assert '<td class="note">%</td>' in page and "days" in page  # each metric's unit, as shown
    assert "backtesting.py divides summed trade returns" in page  # why profit_factor differs
    assert page.count("<tr><td>", page.index("worst drawdowns"), page.index('id="trades"')) == 5
    figures = [json.loads(f.replace("&#34;", '"').replace("&amp;", "&").replace("&lt;", "<")
               .replace("&gt;", ">").replace("&#39;", "'")) for f in _figures(page)]  # fmt: skip
    equity = figures[0]
    assert [t["name"] for t in equity["data"]][-2:] == ["entries", "exits"]  # trades marked
    assert equity["layout"]["yaxis"]["type"] == "linear"
    assert {t["type"] for f in figures for t in f["data"]} <= {"scatter", "heatmap", "bar"}  # SVG
    grid = next(f for f in figures if "over the grid" in str(f["layout"].get("title")))
    # the tested values as categories: no tick between them, every cell one wide
    assert grid["data"][0]["x"] == ["5", "10", "15", "20"]
    assert grid["layout"]["xaxis"]["type"] == grid["layout"]["yaxis"]["type"] == "category"
    logged = client.get(f"/backtests/{seeded.rich}?log=1").text
    assert "&#34;type&#34;:&#34;log&#34;" in logged
    winning = client.get(f"/backtests/{seeded.rich}?outcome=winning").text
    assert winning.count('<td class="num">') < page.count('<td class="num">')
    download = client.get(f"/backtests/{seeded.rich}/report.html")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "Tearsheet: " in download.text
    assert "backtesting.py divides summed trade returns" in download.text


def _figures(page: str) -> list[str]:
    import re

    return re.findall(r'data-figure="([^"]*)"', page)


@pytest.mark.parametrize(
    ("query", "arguments"),
    [
        ("symbol=AAPL,EURUSD", {"symbols": ["AAPL", "EURUSD"]}),
        ("symbol=AAPL&symbol=MSFT", {"symbols": ["AAPL", "MSFT"]}),
        ("strategy=rsi", {"strategy_type": "rsi"}),
        ("min_trades=20", {"min_trades": 20}),
        ("params=fast%3D10+%7C+fast%3D20", {"parameters_any": [{"fast": 10}, {"fast": 20}]}),
        ("params=fast%3D30+slow%3D100", {"parameters_any": [{"fast": 30, "slow": 100}]}),
        ("where=sharpe_ratio+%3E%3D+1", {"ranges": [("sharpe_ratio", ">=", 1)]}),
        ("where=total_return+%3E+0%2C+max_drawdown+%3E%3D+-0.1",
         {"ranges": [("total_return", ">", 0), ("max_drawdown", ">=", -0.1)]}),
        ("since=2022-01-04&until=2022-01-06", {"since": "2022-01-04", "until": "2022-01-06"}),
        # a metric shown in percent is filtered as shown, or as the fraction it is stored as
        ("where=max_drawdown+%3E%3D+-10%25", {"ranges": [("max_drawdown", ">=", -0.1)]}),
        ("where=total_return+%3E+0.5%25", {"ranges": [("total_return", ">", 0.005)]}),
    ],
)  # fmt: skip
def test_filters_match_the_store(
    client: TestClient, db_url: str, query: str, arguments: dict[str, Any]
) -> None:
    from datetime import UTC, datetime

    for name in ("since", "until"):
        if name in arguments:
            arguments[name] = datetime.fromisoformat(arguments[name]).replace(tzinfo=UTC)
    with BacktestStore.connect(db_url) as store:
        want = ids_of(store, **arguments)
    assert want  # each filter leaves rows, and leaves some out
    got = listed_ids(client.get(f"/?{query}").text)
    assert got == want
    assert got != listed_ids(client.get("/").text)


def test_a_list_says_how_many_rows_it_shows_and_when_none_match(client: TestClient) -> None:
    """The rows go to the template as one piece of HTML (web/table.py): the count and
    the empty state are still the page's."""
    full = client.get("/").text
    assert len(listed_ids(full)) == PAGE and f"{PAGE} shown, {PAGE} a page" in full
    assert "No backtests match." not in full
    none = client.get("/?strategy=no-such-strategy").text
    assert listed_ids(none) == [] and ">0 shown, " in none and "No backtests match." in none
    portfolios = client.get("/portfolios").text
    assert portfolios.count("/portfolios/") > 0 and "No portfolios." not in portfolios
    assert "No portfolios." in client.get("/portfolios?name=no-such-portfolio").text


def test_the_list_never_wraps_inside_a_parameter(client: TestClient) -> None:
    """The cell wraps between pairs: a number is never cut (fast_window=1 / 0)."""
    page = client.get("/").text
    assert '<td class="params"><span class="nowrap">fast=' in page
    assert '</span> <span class="nowrap">slow=' in page


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("total_return", "3.37340000", "337.34 %"),
        ("max_drawdown", "-0.34540000", "-34.54 %"),
        ("sharpe_ratio", "0.5305", "0.5305"),
        ("profit_factor", "1570.2", "1,570.2000"),
        ("average_win", "1234.5678", "1,234.57"),
        ("max_drawdown_duration", 12, "12 days"),
        ("execution_time_seconds", "1.5", "1.500 s"),
        ("total_trades", 1200, "1,200"),
        ("sharpe_ratio", None, ""),
        ("max_drawdown_duration", None, ""),
        # a stored decimal is rounded as the decimal it is (half to even), not as the
        # nearest binary float, which gives 1.01 % and 1.0001 here
        ("total_return", "0.01015", "1.02 %"),
        ("sharpe_ratio", "1.00005", "1.0000"),
        ("sharpe_ratio", 0.5, "0.5000"),
    ],
)  # fmt: skip
def test_each_metric_is_shown_in_its_unit(metric: str, value: Any, text: str) -> None:
    """One formatter per unit (metrics.formatter), read from the column COMMENTs: the
    list page, the CLI and the report show a metric alike."""
    from decimal import Decimal

    from devkit.records import result

    from backtest_store.metrics import shown
    from backtest_store.web.table import row

    number = Decimal(value) if isinstance(value, str) else value
    assert shown(metric, number) == text
    if metric in ("total_return", "sharpe_ratio", "max_drawdown"):
        assert f'<td class="num">{text}</td>' in row(result(**{metric: number}), "")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2024-01-02T00:00:00", "2024-01-02"), ("2024-01-02T03:04:59+02:00", "2024-01-02 03:04"),
        ("not a time", "not a time"), (None, ""), (date(2024, 1, 2), "2024-01-02"),
        (datetime(2024, 1, 2, 0, 0, 1, tzinfo=UTC), "2024-01-02 00:00"),
    ],
)  # fmt: skip
def test_a_day_is_its_date_or_its_time_to_the_minute(value: Any, text: str) -> None:
    from backtest_store.web.render import day

    assert day(value) == text


def test_a_portfolio_row_escapes_its_text_and_shows_each_figure_in_its_unit() -> None:
    """The portfolio list's rows, made in Python as the backtest list's are."""
    from decimal import Decimal
    from uuid import uuid4

    from devkit.records import portfolio

    from backtest_store.web.table import portfolio_row

    listed = portfolio(portfolio_backtest_id=uuid4(), portfolio_name="<b>x</b>&", symbols=["AAPL", "<s>"],
                       total_return=Decimal("0.1234"), sharpe_ratio=None,
                       max_drawdown=Decimal("-0.25"),
                       backtest_date=datetime(2024, 1, 2, 3, 4, tzinfo=UTC))  # fmt: skip
    html = str(portfolio_row(listed, "/r<"))
    assert f'<a href="/r&lt;/portfolios/{listed.portfolio_backtest_id}">' in html
    assert "&lt;b&gt;x&lt;/b&gt;&amp;</a>" in html and "<td>AAPL, &lt;s&gt;</td>" in html
    assert '<td class="nowrap">2024-01-02 03:04</td>' in html
    assert '<td class="num">12.34 %</td><td class="num"></td><td class="num">-25.00 %</td>' in html
    # a run time that is not a time (adopted text) is escaped; symbols that are not all text
    odd = portfolio(portfolio_name="p", symbols=[1, "<s>"], backtest_date="<i>")
    html = str(portfolio_row(odd, ""))
    assert '<td class="nowrap">&lt;i&gt;</td>' in html and "<td>1, &lt;s&gt;</td>" in html


def test_the_tearsheet_s_tables_made_in_python() -> None:
    """table.measures and table.trades, which the template's loops were: every measure in
    its unit, stored text escaped, and a page without trades says which it has none of."""
    from decimal import Decimal

    from devkit.records import result, trade

    from backtest_store.metrics import MEASURES
    from backtest_store.web.table import measures, trades

    shown = str(measures(result(total_return=Decimal("0.5"), total_trades=1200)))
    assert shown.count("<tr>") == len(MEASURES)
    assert '<tr><td>total_return</td><td class="num">50.00 %</td><td class="note">%</td>' in shown
    assert '<td>total_trades</td><td class="num">1,200</td>' in shown
    made = str(trades([trade(0, exit_reason="<b>", pnl=Decimal("-1.5"), entry_price=Decimal("1.5"),
                             exit_price=Decimal("2"))], "all"))  # fmt: skip
    assert "<td>&lt;b&gt;</td>" in made and '<td class="num">-1.50</td>' in made
    assert '<td class="num">1.5</td><td></td><td class="num">2</td>' in made  # each column aligned
    assert "no winning trades" in trades([], "winning") and "no trades<" in trades([], "all")


def test_every_sort_link_sorts(client: TestClient) -> None:
    """Each header's link is a sort the list takes; a column without an index has none."""
    import re

    html = client.get("/").text
    links = re.findall(r'<th class="num"><a href="/\?([^"]+)"', html)
    assert len(links) == 7 and all(client.get("/?" + q.replace("&amp;", "&")).status_code == 200
                                   for q in links)  # fmt: skip
    assert '<th class="num">total_trades' in html


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_either_way(client: TestClient, db_url: str, sort: str) -> None:
    with BacktestStore.connect(db_url) as store:
        for order in ("desc", "asc"):
            want = ids_of(store, sort=sort, descending=order == "desc")
            assert listed_ids(client.get(f"/?sort={sort}&order={order}").text) == want


@pytest.mark.parametrize("sort", ["backtest_date", "sharpe_ratio"])
def test_keyset_pages_forward_and_back(client: TestClient, seeded: Seeded, sort: str) -> None:
    pages: list[list[str]] = []
    url: str | None = f"/?sort={sort}&order=desc&min_trades=1"
    while url:
        assert "offset" not in url.lower()
        html = client.get(url).text
        pages.append(listed_ids(html))
        url = link(html, "next")
    assert [len(p) for p in pages][:-1] == [PAGE] * (len(pages) - 1) and len(pages) == 3
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == sum(1 for n in range(120) if n % 25)  # min_trades=1
    html = client.get(f"/?sort={sort}&order=desc&min_trades=1").text
    for _ in pages[1:]:  # forward again, then back: the same pages
        html = client.get(link(html, "next") or "").text
    back = [listed_ids(html)]
    while (url := link(html, "prev")) is not None:
        html = client.get(url).text
        back.append(listed_ids(html))
    assert back[::-1] == pages


def test_json_is_the_cli_document(
    client: TestClient, seeded: Seeded, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def printed(*argv: str) -> Any:
        assert cli([*argv, "--database", db_url]) == 0
        return json.loads(capsys.readouterr().out)

    rich, other = str(seeded.rich), str(seeded.ids[1])
    assert client.get("/api/").json() == printed("list", "--json", "--limit", str(PAGE), "--json")
    assert client.get("/", headers={"accept": "application/json"}).json() == printed(
        "list", "--json", "--limit", str(PAGE))  # fmt: skip
    assert client.get(f"/api/backtests/{rich}").json() == printed("show", rich, "--json")
    assert client.get(f"/api/compare?ids={rich},{other}").json() == printed(
        "compare", rich, other, "--json")  # fmt: skip
    assert client.get("/api/summary").json() == printed("summary", "--json")
    listed = client.get("/api/?min_trades=1")
    assert 'rel="next"' in listed.headers["link"] and "/api/?" in listed.headers["link"]
    assert client.get(f"/api/portfolios/{seeded.portfolio}").json()["portfolio_name"] == "tech"
    shown = client.get(f"/portfolios/{seeded.portfolio}").text  # figures in their units
    assert '<tr><td>total_return</td><td class="num">12.00 %</td></tr>' in shown
    assert '<tr><td>turnover_rate</td><td class="num"></td></tr>' in shown
    assert 'class="chart" id="equity"' in shown  # its curve drawn


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/?where=sharpe+%3E+high", "where"),
        ("/?where=notes+%3E+1", "where"),
        ("/?sort=notes", "sort"),
        ("/?order=up", "order"),
        ("/?since=yesterday", "since"),
        ("/?min_trades=-3", "min_trades"),
        ("/?params=fast", "params"),
        ("/?after=nonsense", "after"),
        ("/?after=1~" + "0" * 8, "after"),
        ("/backtests/xyz", "id"),
        ("/backtests/abc", "id"),  # fewer than 6 hex digits
        ("/compare?ids=" + "a" * 8, "ids"),
        ("/compare?ids=" + ("a" * 32 + ",") * 2, "ids"),  # one backtest, twice
        ("/portfolios/12", "id"),
        ("/summary?since=2024-13-01", "since"),
        # digits that str.isdigit() takes and int() does not
        ("/?min_trades=%C2%B2", "min_trades"),
        ("/backtests/{rich}?trades_page=%C2%B2", "trades_page"),
        # sizes capped before any parser can be exhausted: digits, nesting, conditions
        ("/?params=fast%3D" + "9" * 4301, "params"),
        ("/?params=fast%3D" + "9" * 31, "params"),
        ("/?params=fast%3D" + "%5B" * 964 + "%5D" * 964, "params"),
        ("/?params=fast%3D" + "%5B" * 9 + "%5D" * 9, "params"),
        ("/?params=" + "+".join(f"k{n}%3D1" for n in range(21)), "params"),
        ("/?where=" + "%2C".join(["sharpe_ratio+%3E+1"] * 479), "where"),
        ("/?where=sharpe_ratio+%3E+1" + "0" * 40, "where"),
        # a bare number out of a fraction's range reads as percent or fraction: refused
        ("/?where=max_drawdown+%3E+-20", "where"),
        ("/?where=total_return+%3E+100", "where"),
        ("/?where=sharpe_ratio+%3E+1%25", "where"),  # not a percentage
        # a name the page does not take would be ignored: the list looks filtered, is not
        ("/?symbols=GOOG", "symbols"),
        ("/?metrics=sharpe_ratio", "metrics"),
        ("/?limit=100000", "limit"),
        ("/backtests/{rich}?page=2", "page"),
        ("/compare?ids={rich}&ids={first}&sort=x", "sort"),
        ("/summary?strategy=x&limit=5", "limit"),
        ("/portfolios?page=2", "page"),
        ("/portfolios/{portfolio}?x=1", "x"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(
    client: TestClient, seeded: Seeded, path: str, field: str
) -> None:
    path = path.format(rich=seeded.rich, first=seeded.ids[0], portfolio=seeded.portfolio)
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert f"{field}:" in response.text and "Traceback" not in response.text
    assert client.get("/api" + path).json()["message"].startswith(f"{field}:")


def test_an_unknown_name_lists_the_names_the_page_takes(client: TestClient) -> None:
    message = client.get("/api/?symbols=GOOG").json()["message"]
    for name in ("symbol", "strategy", "since", "until", "min_trades", "params", "where",
                 "sort", "order", "after", "before"):  # fmt: skip
        assert name in message
    assert "limit" in client.get("/?limit=5").text  # the HTML page names it too


def test_a_trailing_slash_never_redirects_to_the_host_header(client: TestClient) -> None:
    """Starlette's redirect to the path without its slash was built from the Host header."""
    response = client.get("/summary/", headers={"host": "evil.example"})
    assert response.status_code == 404
    assert "evil.example" not in response.headers.get("location", "")
    assert "evil.example" not in response.text


def test_unknown_ids_and_pages_are_404(client: TestClient, seeded: Seeded) -> None:
    for path in ("/backtests/" + "0" * 32, "/backtests/000000", "/portfolios/" + "0" * 32,
                 "/no/such/page", f"/compare?ids={seeded.ids[0]},{'f' * 32}"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text


def test_the_summary_is_kept_and_says_how_old(web_db: tuple[str, Seeded, str]) -> None:
    kept_and_aged(web_db[2], web_db[1])


def kept_and_aged(db_url: str, seeded: Seeded) -> None:
    with TestClient(create_app(db_url, summary_ttl=0)) as fresh, BacktestStore.connect(db_url) as s:
        first = fresh.get("/api/summary").json()["overall"]["count"]
        assert "computed 0 s ago" in fresh.get("/summary").text
        s.save_backtest(result(symbol="NEW"))
        # recomputed in the background once it was stale: a later request sees it (asked
        # until it does, for at most 20 s: a busy machine delays the background task)
        deadline = time.monotonic() + 20
        while fresh.get("/api/summary").json()["overall"]["count"] != first + 1:
            assert time.monotonic() < deadline, "the stale summary was never recomputed"
            time.sleep(0.05)
    with (
        TestClient(create_app(db_url, summary_ttl=3600)) as kept,
        BacktestStore.connect(db_url) as s,
    ):
        before = kept.get("/api/summary")
        assert "age" in before.headers
        s.delete_backtest(seeded.ids[0])
        assert kept.get("/api/summary").json() == before.json()  # served from memory
