"""The view's pages. Each reads through the app's AsyncBacktestStore and answers HTML or,
for ``/api/...`` and ``Accept: application/json``, the CLI's ``--json`` document.

Bad input raises ``BadRequest`` (400), an unknown id ``NotFound`` (404); ``app.py``
turns those, and a database that cannot be reached (503), into pages.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backtest_store import charts, cursor_of, documents, list_state, tearsheet
from backtest_store.aio import AsyncBacktestStore
from backtest_store.facts import METRICS, SORTS
from backtest_store.guard import COOKIE, JSON, route_path, same
from backtest_store.list_state import PAGE, BadRequest, cursor_text
from backtest_store.lookup import NotFound, backtest_id
from backtest_store.metrics import MEASURES, incomparable, label, number, percent, shown
from backtest_store.records import BacktestPortfolio, BacktestResult, BacktestTrade
from backtest_store.serialize import to_json
from backtest_store.web import compute, table
from backtest_store.web.figure_cache import FigureCache, Figures, state
from backtest_store.web.render import document, page, root_of, wants_json

TRADES_PAGE = 100
MAX_COMPARED = 10


def store_of(request: Request) -> AsyncBacktestStore:
    store: AsyncBacktestStore = request.app.state.store
    return store


def _links(request: Request, **links: str | None) -> dict[str, str]:
    """A Link header naming the next and previous pages, for JSON clients."""
    api = "/api" if request.scope.get(JSON) else ""
    base = root_of(request) + api + route_path(request.scope)
    parts = [f'<{base}{query}>; rel="{rel}"' for rel, query in links.items() if query]
    return {"link": ", ".join(parts)} if parts else {}


async def backtests(request: Request) -> Response:
    listing = list_state.listing(request.query_params)
    rows = await store_of(request).browse_backtests(**listing.arguments())
    more = len(rows) > PAGE
    if listing.before is not None:
        rows = rows[1:] if more else rows  # read backwards: the extra row is the farthest
        previous_exists, next_exists = more, True
    else:
        rows = rows[:PAGE]
        previous_exists, next_exists = listing.after is not None, more
    previous = next_ = None
    if rows and previous_exists:
        previous = listing.link(before=cursor_text(*cursor_of(rows[0], listing.sort)))
    if rows and next_exists:
        next_ = listing.link(after=cursor_text(*cursor_of(rows[-1], listing.sort)))
    if wants_json(request):
        response = document([to_json(r) for r in rows])
        response.headers.update(_links(request, next=next_, prev=previous))
        return response
    root = root_of(request)
    repeats: dict[Any, int] = await store_of(request).duplicate_counts(rows)
    return page(request, "backtests.html", listing=listing,
                rows=table.rows([table.row(r, root, repeats.get(r.backtest_id, 0)) for r in rows]),
                count=len(rows),
                previous=previous, next=next_, sorts=("backtest_date", *METRICS),
                page_size=PAGE, columns=_columns(listing))  # fmt: skip


def _columns(listing: list_state.Listing) -> list[tuple[str, str, str | None, str]]:
    """The metric columns' headers: name, unit, the link that sorts by it (the other way
    when it is the sort already; None for a column without an index to sort by) and the
    arrow of the current sort."""
    out = []
    for name in table.COLUMNS:
        here = listing.sort == name
        order = "asc" if here and listing.descending else "desc"
        arrow = Markup("&#9660;" if listing.descending else "&#9650;") if here else ""
        link = listing.link(sort=name, order=order, after=None, before=None)
        out.append((name, label(name), link if name in SORTS else None,
                    arrow))  # fmt: skip
    return out


async def stored(request: Request) -> tuple[AsyncBacktestStore, UUID, BacktestResult]:
    """The store, and the backtest the path's id (or prefix) names; NotFound if none."""
    store = store_of(request)
    the_id = await backtest_id(store, request.path_params["id"])
    result = await store.get_backtest(the_id)
    if result is None:
        raise NotFound(f"no backtest {the_id}")
    return store, the_id, result


async def backtest(request: Request) -> Response:
    list_state.known(request.query_params, ("outcome", "trades_page", "log"))
    outcome = request.query_params.get("outcome") or "all"
    if outcome not in ("all", "winning", "losing"):
        raise BadRequest("outcome", "all, winning or losing")
    number = _whole(request.query_params.get("trades_page"), "trades_page", 1)
    log = request.query_params.get("log") == "1"
    store = store_of(request)
    the_id = await backtest_id(store, request.path_params["id"])

    async def children() -> tuple[list[BacktestTrade], list[Any], list[Any]]:
        return (await store.get_trades(the_id),
                documents.best_first(await store.optimization_results(the_id)),
                await store.walk_forward_tests(the_id))  # fmt: skip

    if wants_json(request):
        full, (trades, optimizations, windows) = await asyncio.gather(
            store.get_backtest(the_id), children())  # fmt: skip
        if full is None:
            raise NotFound(f"no backtest {the_id}")
        return document(documents.backtest(full, trades, optimizations, windows))
    # the rows the page shows, read without the series; the figures those kept for this
    # state of the rows, or made (web/figure_cache.py)
    found, (trades, optimizations, windows) = await asyncio.gather(
        store.get_backtest(the_id, with_series=False), children())  # fmt: skip
    if found is None:
        raise NotFound(f"no backtest {the_id}")
    result = found
    kept: FigureCache = request.app.state.figures
    url: str | None = request.app.state.url

    async def make() -> Figures:
        if url is not None:  # the series read and the figures made in a worker process
            made = await compute.in_process(url, the_id, log)
            if made is None:
                raise NotFound(f"no backtest {the_id}")
            if isinstance(made, tuple):
                _, figures, made_from = made
                kept.put(("tearsheet", made_from, log), figures)
                return figures
        # a caller's pool, or the worker failed: the series read here, figures in a thread
        full = await store.get_backtest(the_id)
        if full is None:
            raise NotFound(f"no backtest {the_id}")
        figures = await compute.in_thread(compute.figures, full, trades, optimizations,
                                          windows, log)  # fmt: skip
        kept.put(("tearsheet", compute.state_of(full, trades, optimizations, windows), log),
                 figures)  # fmt: skip
        return figures

    shows = compute.state_of(result, trades, optimizations, windows)
    figures = await kept.made(("tearsheet", shows, log), make)
    shown = _outcome(trades, outcome)
    pages = max(1, -(-len(shown) // TRADES_PAGE))
    if number > pages:
        raise BadRequest("trades_page", f"from 1 to {pages}")
    on_page = shown[(number - 1) * TRADES_PAGE : number * TRADES_PAGE]
    return page(
        request, "backtest.html", result=result, measures=table.measures(result),
        tally=documents.tally(trades),
        trade_rows=table.trades(on_page, outcome), outcome=outcome,
        trades_page=number, trades_pages=pages, log=log, **figures,
        optimizations=optimizations, windows=windows, iso=tearsheet.iso,
        query=lambda **q: "?" + urlencode({k: v for k, v in {"log": "1" if log else None,
                                           "outcome": outcome if outcome != "all" else None,
                                           **q}.items() if v}),
    )  # fmt: skip


def _outcome(trades: list[BacktestTrade], outcome: str) -> list[BacktestTrade]:
    """As get_trades(outcome=...) selects: pnl > 0 (NaN is no win) or pnl < 0."""
    if outcome == "winning":
        return [t for t in trades if t.pnl is not None and t.pnl == t.pnl and t.pnl > 0]
    if outcome == "losing":
        return [t for t in trades if t.pnl is not None and t.pnl < 0]
    return trades


def _whole(text: str | None, field: str, default: int) -> int:
    return list_state.whole(text, field, 1) if text else default


async def report(request: Request) -> Response:
    """The offline report of one backtest, as ``backtest-store report`` writes it."""
    from backtest_store.report import render

    list_state.known(request.query_params, ())
    store, the_id, result = await stored(request)
    trades = await store.get_trades(the_id)
    judged = await store.assess(the_id)
    # plotly writes the file in a worker thread: the other pages go on meanwhile
    body = await compute.in_thread(render, [result], {the_id: trades}, {the_id: judged})
    name = f"backtest-{str(the_id)[:8]}.html"
    return Response(body, media_type="text/html", headers={
        "content-disposition": f'attachment; filename="{name}"',
        # opened from this server, the report's inline scripts run in a sandbox
        "content-security-policy": "sandbox allow-scripts; default-src 'none'; "
                                   "script-src 'unsafe-inline'; style-src 'unsafe-inline'",
    })  # fmt: skip


async def compare(request: Request) -> Response:
    list_state.known(request.query_params, ("ids",))
    store = store_of(request)
    texts = [t for v in request.query_params.getlist("ids") for t in re.split(r"[,\s]+", v) if t]
    if not 2 <= len(texts) <= MAX_COMPARED:
        raise BadRequest("ids", f"give 2 to {MAX_COMPARED} backtest ids to compare "
                                f"(got {len(texts)})")  # fmt: skip
    ids = list(dict.fromkeys([await backtest_id(store, t, "ids") for t in texts]))
    if len(ids) < 2:
        raise BadRequest("ids", "give 2 different backtests to compare")
    rows = await store.compare_backtests(ids)
    missing = set(ids) - {r.backtest_id for r in rows}
    if missing:
        raise NotFound(f"no backtest {', '.join(sorted(map(str, missing)))}")
    if wants_json(request):
        return document(rows)
    # the runs read without their series; their chart the one kept for this state of
    # their rows, or drawn (web/figure_cache.py)
    results = [r for r in [await store.get_backtest(i, with_series=False) for i in ids]
               if r is not None]  # fmt: skip
    kept: FigureCache = request.app.state.figures

    async def make() -> Figures:
        full = [r for r in [await store.get_backtest(i) for i in ids] if r is not None]
        figures = await compute.in_thread(compute.compared, full)
        kept.put(("compare", tuple(map(state, full))), figures)
        return figures

    figures = await kept.made(("compare", tuple(map(state, results))), make)
    differs, affected = incomparable(results)
    return page(request, "compare.html", rows=rows, results={r.backtest_id: r for r in results},
                metrics=list(rows[0].values), differs=differs, affected=affected,
                **figures)  # fmt: skip


async def summary(request: Request) -> Response:
    store = store_of(request)
    params = request.query_params
    list_state.known(params, ("since", "symbol", "strategy"))
    since = list_state.day(params.get("since"), "since")
    symbol, strategy = params.get("symbol") or None, params.get("strategy") or None
    when = None if since is None else datetime(since.year, since.month, since.day, tzinfo=UTC)

    async def compute() -> Any:
        return await store.performance_summary(since=when, symbol=symbol, strategy_type=strategy)

    kept = await request.app.state.summaries.get((since, symbol, strategy), compute)
    age = {"age": str(int(kept.age()))}
    if wants_json(request):
        response = document(documents.summary(kept.summary))
        response.headers.update(age)
        return response
    s = kept.summary
    sections = [
        ("all backtests", "", {"all": s.overall}),
        ("by strategy", "strategy", s.by_strategy),
        ("by symbol", "symbol", s.by_symbol),
    ]
    tables = [(title, [_group(name, stats, key) for name, stats in groups.items()])
              for title, key, groups in sections]  # fmt: skip
    response = page(request, "summary.html", tables=tables, kept=kept, since=since,
                    symbol=symbol, strategy=strategy)  # fmt: skip
    response.headers.update(age)
    return response


def _group(name: str, s: Any, key: str) -> tuple[str, str | None, tuple[str, ...]]:
    """A summary row: the group, its list's link (by strategy or symbol), the figures."""
    link = "?" + urlencode({key: name}) if key else None
    figures = (f"{s.count:,}", percent(s.mean_return), percent(s.best_return),
               percent(s.worst_return), number(s.mean_sharpe),
               percent(s.mean_win_rate))  # fmt: skip
    return name, link, figures


async def portfolios(request: Request) -> Response:
    store = store_of(request)
    list_state.known(request.query_params, ("name", "after"))
    name = request.query_params.get("name") or None
    after = _portfolio_cursor(request.query_params.get("after"))
    rows = await store.list_portfolios(portfolio_name=name, limit=PAGE + 1, after=after)
    more, rows = len(rows) > PAGE, rows[:PAGE]
    next_ = None
    if more and rows and rows[-1].backtest_date is not None:
        cursor = cursor_text(rows[-1].backtest_date, rows[-1].portfolio_backtest_id)
        next_ = "?" + urlencode({k: v for k, v in (("name", name), ("after", cursor)) if v})
    if wants_json(request):
        response = document([to_json(p) for p in rows])
        response.headers.update(_links(request, next=next_))
        return response
    root = root_of(request)
    return page(request, "portfolios.html",
                rows=table.rows([table.portfolio_row(p, root) for p in rows]),
                name=name, next=next_, first=after is not None)  # fmt: skip


def _portfolio_cursor(text: str | None) -> BacktestPortfolio | None:
    """list_portfolios' ``after``: a record standing for the last one of the page."""
    edge = list_state.cursor(text, "after", "backtest_date")
    if edge is None:
        return None
    moment, the_id = edge
    return BacktestPortfolio(portfolio_name="", start_date=date.min, end_date=date.min, symbols=[],
                             backtest_date=moment, portfolio_backtest_id=the_id)  # fmt: skip


async def portfolio(request: Request) -> Response:
    list_state.known(request.query_params, ())
    text = request.path_params["id"]
    try:
        the_id = UUID(text)
    except ValueError:
        raise BadRequest("id", f"{text!r} is not a portfolio id (a UUID)") from None
    found = await store_of(request).get_portfolio(the_id)
    if found is None:
        raise NotFound(f"no portfolio {the_id}")
    if wants_json(request):
        return document(to_json(found))
    components = found.component_backtest_ids if isinstance(found.component_backtest_ids,
                                                            list) else []  # fmt: skip
    # a curve is drawn in a worker thread; without one there is nothing to hand over
    stored = found.portfolio_equity_curve
    equity = await compute.in_thread(charts.portfolio_figure, found) if stored else None
    figures = [(m, shown(m, getattr(found, m)) if m in MEASURES else number(getattr(found, m)))
               for m in PORTFOLIO_FIGURES]  # fmt: skip
    return page(request, "portfolio.html", portfolio=found, components=components,
                equity=equity, figures=figures)  # fmt: skip


PORTFOLIO_FIGURES = ("total_return", "annualized_return", "sharpe_ratio", "sortino_ratio",
                     "max_drawdown", "volatility", "diversification_ratio",
                     "concentration_index", "turnover_rate")  # fmt: skip


async def experiments(request: Request) -> Response:
    """The experiments, the one with the newest run first."""
    list_state.known(request.query_params, ())
    rows = await store_of(request).list_experiments(limit=PAGE)
    if wants_json(request):
        return document(documents.experiments(rows))
    return page(request, "experiments.html", rows=rows)


async def experiment(request: Request) -> Response:
    """One experiment: its runs, who ran them, the code versions and the best run."""
    list_state.known(request.query_params, ())
    name = request.path_params["name"]
    store = store_of(request)
    found = await store.list_experiments(experiment=name, limit=1)
    if not found:
        raise NotFound(f"no run of experiment {name!r}")
    best = await store.top_backtests(experiment=name, limit=1, min_trades=0)
    runs = await store.browse_backtests(experiment=name, limit=PAGE)
    if wants_json(request):
        return document(documents.experiment(found[0], best[0] if best else None))
    judged = await store.assess_experiment(name)
    return page(request, "experiment.html", summary=found[0], best=best[0] if best else None,
                runs=runs, judged=judged,
                overfit=await compute.in_thread(charts.overfitting_figures, judged))  # fmt: skip


def _alpha_blocks(request: Request, blocks: bool) -> tuple[float, int]:
    params = request.query_params
    list_state.known(params, ("alpha", "blocks") if blocks else ("alpha",))
    text = params.get("alpha") or "0.05"
    try:
        alpha = float(text)
    except ValueError:
        raise BadRequest("alpha", f"{text[:20]!r} is not a number between 0 and 1") from None
    if not 0 < alpha < 1:
        raise BadRequest("alpha", f"{text[:20]!r} is not a number between 0 and 1")
    count = _whole(params.get("blocks"), "blocks", 16) if blocks else 16
    return alpha, count


async def assess_backtest(request: Request) -> Response:
    """Skill or selection for one backtest (``assess ID``)."""
    alpha, _ = _alpha_blocks(request, blocks=False)
    store, the_id, _result = await stored(request)
    found = await store.assess(the_id, alpha=alpha)
    return _assessed(request, found, f"backtest {str(the_id)[:8]}")


async def assess_experiment(request: Request) -> Response:
    """Skill or selection for an experiment's runs (``assess --experiment NAME``)."""
    alpha, blocks = _alpha_blocks(request, blocks=True)
    name = request.path_params["name"]
    found = await store_of(request).assess_experiment(name, blocks=blocks, alpha=alpha)
    return _assessed(request, found, f"experiment {name}")


def _assessed(request: Request, found: Any, subject: str) -> Response:
    doc = documents.assessment(found)
    if wants_json(request):
        return document(doc)
    return page(request, "assess.html", found=found, subject=subject,
                path=route_path(request.scope), figures=_figures(doc))  # fmt: skip


def _figures(found: dict[str, Any]) -> list[tuple[str, str]]:
    """A document's figures as (name, text) rows: numbers to 4 places, none as -."""
    rows = []
    for name, value in found.items():
        if name in ("verdict", "reason") or isinstance(value, dict | list):
            continue
        text = "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        rows.append((name, text))
    return rows


async def duplicates(request: Request) -> Response:
    """The runs repeated: each group of the same run, the newest group first."""
    list_state.known(request.query_params, ())
    groups = await store_of(request).list_duplicates(limit=PAGE)
    if wants_json(request):
        return document(documents.duplicates(groups))
    return page(request, "duplicates.html", groups=groups)


async def healthz(request: Request) -> Response:
    """200 when the database answers and its schema is this package's; 503 otherwise."""
    await store_of(request).check_schema()
    return document({"status": "ok"})


async def login(request: Request) -> Response:
    """The login form (a GET form: the view serves nothing else); with the right token it
    sets the cookie and goes to the list."""
    list_state.known(request.query_params, ("token",))
    token = request.app.state.token
    given = request.query_params.get("token")
    root = root_of(request)
    if token is None:
        return RedirectResponse(f"{root}/", status_code=303)
    if given is None:
        return page(request, "login.html", wrong=False)
    if not same(given, token):
        return page(request, "login.html", status=401, wrong=True)
    response = RedirectResponse(f"{root}/", status_code=303)
    response.set_cookie(COOKIE, given, httponly=True, samesite="strict", path=f"{root}/",
                        secure=request.url.scheme == "https")  # fmt: skip
    return response
