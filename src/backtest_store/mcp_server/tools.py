"""The MCP server's tools: each reads through an AsyncBacktestStore and answers the JSON
document that the CLI's ``--json`` and the web view's ``/api`` give for the same query.

A method's docstring is the description an assistant reads, and its annotated arguments
are the input schema (type, limits, allowed values). Bad input raises ``BadArgument``
naming the argument, a missing backtest ``NotFound``: ``server.py`` turns both into a
tool error.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import Field
from starlette.datastructures import QueryParams

from backtest_store import cursor_of, documents, list_state, pairs
from backtest_store.aio import AsyncBacktestStore
from backtest_store.facts import MAX_LIMIT, METRICS, SERIES, SORTS
from backtest_store.list_state import PAGE, cursor_text
from backtest_store.lookup import BadArgument, NotFound, backtest_id
from backtest_store.pairs import BadPair
from backtest_store.serialize import to_json

TRADES_PAGE = 100  # trades per get_trades page, as the web view pages them
MAX_COMPARED = 10
MAX_SERIES = 5_000  # points of a series that get_backtest gives whole
MAX_PARAMS = 20  # key=value conditions of top_backtests' param
WORST = 5  # drawdowns in the tearsheet figures

UNITS = ("Units: total_return, annual_return, max_drawdown, win_rate, volatility, fees and "
         "slippage are fractions (0.15 = 15 %); sharpe_ratio, sortino_ratio, calmar_ratio and "
         "profit_factor are ratios; pnl is in the account currency.")  # fmt: skip

Id = Annotated[str, Field(min_length=1, max_length=64, description=(
    "a backtest id (UUID), or a unique prefix of 6 or more of its hex digits"))]  # fmt: skip
Date = Annotated[str | None, Field(default=None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                   description="YYYY-MM-DD")]  # fmt: skip
if TYPE_CHECKING:  # the allowed values are the store's own lists, read at run time
    Metric: TypeAlias = str
    Sort: TypeAlias = str
else:
    Metric = Literal[tuple(sorted(METRICS))]
    Sort = Literal[tuple(SORTS)]
Name = Annotated[str | None, Field(default=None, max_length=200)]


@dataclass(frozen=True)
class Answer:
    """A tool's answer: the ``--json`` document, and for a page with more, the arguments
    that fetch the next (and previous) page."""

    document: Any
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)


class Tools:
    """The tools, over one store whose sessions are read-only: each public coroutine is
    one, named as it is (``names``), in the order written here."""

    def __init__(self, store: AsyncBacktestStore) -> None:
        self.store = store

    async def list_backtests(
        self,
        symbol: Annotated[
            list[str] | None,
            Field(
                default=None,
                max_length=list_state.MAX_SYMBOLS,
                description="any of these symbols (exact, case-sensitive)",
            ),
        ] = None,
        strategy: Name = None,
        since: Date = None,
        until: Date = None,
        min_trades: Annotated[int, Field(ge=0, le=999_999_999)] = 0,
        params: Annotated[
            str | None,
            Field(
                default=None,
                max_length=2000,
                description=(
                    "parameter filter: 'fast=10 slow=50 | fast=20' (spaces: all must hold; "
                    "'|': any alternative may); a value that reads as JSON is taken as such"
                ),
            ),
        ] = None,
        where: Annotated[
            str | None,
            Field(
                default=None,
                max_length=2000,
                description=(
                    "metric ranges, all must hold: 'sharpe_ratio >= 1, max_drawdown > -20%' "
                    "(a fraction metric takes -0.2 or -20%)"
                ),
            ),
        ] = None,
        sort: Sort = "backtest_date",
        order: Literal["desc", "asc"] = "desc",
        after: Annotated[
            str | None,
            Field(
                default=None,
                max_length=200,
                description="the cursor of the next page, as a page gives it",
            ),
        ] = None,
        before: Annotated[
            str | None,
            Field(default=None, max_length=200, description="the cursor of the previous page"),
        ] = None,
        experiment: Name = None,
        run_by: Name = None,
        code_version: Name = None,
        tag: Annotated[
            list[str] | None,
            Field(
                default=None,
                max_length=pairs.MAX_TAGS,
                description="runs tagged key=value (all must hold)",
            ),
        ] = None,
    ) -> Answer:
        """Backtests, filtered and sorted as the web view's list, 50 a page (newest first
        by default); ``experiment``, ``run_by``, ``code_version`` and ``tag`` select by
        where the runs came from. The answer is a JSON array of backtest records without
        their series; when there are more, it gives the ``after`` cursor of the next page:
        call again with the same filters and that cursor."""
        given: list[tuple[str, str]] = [("symbol", s) for s in symbol or ()]
        for name, value in (("strategy", strategy), ("since", since), ("until", until),
                            ("min_trades", str(min_trades) if min_trades else None),
                            ("params", params), ("where", where), ("sort", sort),
                            ("order", order), ("after", after), ("before", before),
                            ("experiment", experiment), ("run_by", run_by),
                            ("code_version", code_version)):  # fmt: skip
            if value:
                given.append((name, value))
        given += [("tag", t) for t in tag or ()]
        listing = list_state.listing(QueryParams(given))
        rows = await self.store.browse_backtests(**listing.arguments())
        more = len(rows) > PAGE
        if listing.before is not None:
            rows = rows[1:] if more else rows
            previous_exists, next_exists = more, True
        else:
            rows = rows[:PAGE]
            previous_exists, next_exists = listing.after is not None, more
        pages: dict[str, dict[str, Any]] = {}
        if rows and next_exists:
            pages["next"] = {"after": cursor_text(*cursor_of(rows[-1], listing.sort))}
        if rows and previous_exists:
            pages["previous"] = {"before": cursor_text(*cursor_of(rows[0], listing.sort))}
        return Answer([to_json(r) for r in rows], pages)

    async def get_backtest(
        self,
        id: Id,
        series: Annotated[
            Literal["none", "summary", "full"],
            Field(
                description=(
                    f"the equity and drawdown series: left out (none), as points, first, last, min "
                    f"and max (summary), or whole up to {MAX_SERIES:,} points each (full)"
                )
            ),
        ] = "none",
    ) -> Answer:
        """One backtest, as ``backtest-store show --json`` gives it: the record without its
        series, each metric's unit, the trades' tally (count, winning, losing, open), the
        optimization's parameter sets best first and the walk-forward windows. Trades
        themselves: get_trades."""
        store = self.store
        the_id = await backtest_id(store, id)
        result = await store.get_backtest(the_id)
        if result is None:
            raise NotFound(f"no backtest {the_id}")
        trades = await store.get_trades(the_id)
        optimizations = documents.best_first(await store.optimization_results(the_id))
        windows = await store.walk_forward_tests(the_id)
        document = documents.backtest(result, trades, optimizations, windows)
        if series == "summary":
            document["series"] = {name: documents.series_summary(getattr(result, name))
                                  for name in SERIES}  # fmt: skip
        elif series == "full":
            for name in SERIES:
                points = len(getattr(result, name) or ())
                if points > MAX_SERIES:
                    raise BadArgument(
                        "series",
                        (
                            f"{name} has {points:,} points; 'full' gives at most {MAX_SERIES:,}: "
                            "ask for 'summary', or export the backtest (backtest-store export)"
                        ),
                    )
            document["series"] = {name: to_json(result)[name] for name in SERIES}
        return Answer(document)

    async def get_trades(
        self,
        id: Id,
        outcome: Literal["all", "winning", "losing"] = "all",
        page: Annotated[
            int, Field(ge=1, le=999_999_999, description=f"{TRADES_PAGE} trades a page, from 1")
        ] = 1,
    ) -> Answer:
        """A backtest's trades by entry date, as ``backtest-store trades --json`` gives them
        (``winning``: pnl > 0, ``losing``: pnl < 0), 100 a page; when there are more, the
        answer gives the next page's number. pnl is in the account currency, pnl_percent a
        fraction."""
        store = self.store
        the_id = await backtest_id(store, id)
        if await store.get_backtest(the_id) is None:
            raise NotFound(f"no backtest {the_id}")
        rows = await store.get_trades(the_id, outcome=outcome)
        pages_count = max(1, -(-len(rows) // TRADES_PAGE))
        if page > pages_count:
            raise BadArgument("page", f"from 1 to {pages_count} ({len(rows):,} trades, "
                                      f"{TRADES_PAGE} a page)")  # fmt: skip
        shown = rows[(page - 1) * TRADES_PAGE : page * TRADES_PAGE]
        pages: dict[str, dict[str, Any]] = {}
        if page < pages_count:
            pages["next"] = {"page": page + 1}
        if page > 1:
            pages["previous"] = {"page": page - 1}
        return Answer([to_json(t) for t in shown], pages)

    async def top_backtests(
        self,
        metric: Metric = "sharpe_ratio",
        symbol: Name = None,
        strategy: Name = None,
        min_trades: Annotated[
            int,
            Field(
                ge=0,
                le=999_999_999,
                description=(
                    "rank runs with at least this many trades (a run that never traded has no "
                    "drawdown to rank)"
                ),
            ),
        ] = 1,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20,
        param: Annotated[
            list[str] | None,
            Field(
                default=None,
                max_length=MAX_PARAMS,
                description="parameters containing key=value (all must hold)",
            ),
        ] = None,
    ) -> Answer:
        """The best completed backtests by a metric, best first, as ``backtest-store top
        --json`` gives them (a JSON array of records without their series)."""
        rows = await self.store.top_backtests(
            metric=metric, symbol=symbol, strategy_type=strategy, min_trades=min_trades,
            limit=limit, parameters=_pairs(param),
        )  # fmt: skip
        return Answer([to_json(r) for r in rows])

    async def compare_backtests(
        self,
        ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_COMPARED)],
        metrics: Annotated[
            list[Metric] | None,
            Field(default=None, max_length=len(METRICS), description="default: every metric"),
        ] = None,
    ) -> Answer:
        """Backtests side by side, as ``backtest-store compare --json`` gives them: each
        one's metrics and its rank among them per metric (1 = best), best first by the
        first metric."""
        store = self.store
        chosen = list(dict.fromkeys([await backtest_id(store, i, "ids") for i in ids]))
        rows = await store.compare_backtests(chosen, metrics=metrics)
        missing = set(chosen) - {r.backtest_id for r in rows}
        if missing:
            raise NotFound(f"no backtest {', '.join(sorted(map(str, missing)))}")
        return Answer(rows)

    async def summary(
        self, symbol: Name = None, strategy: Name = None, since: Date = None
    ) -> Answer:
        """Aggregates over backtests, as ``backtest-store summary --json`` gives them:
        count, mean, best and worst total return, mean Sharpe ratio and win rate, over all,
        by strategy and by symbol; ``since``: runs on or after that date."""
        day = list_state.day(since, "since")
        found = await self.store.performance_summary(since=day, symbol=symbol,
                                                     strategy_type=strategy)  # fmt: skip
        return Answer(documents.summary(found))

    async def best_parameters(
        self, id: Id, limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 5
    ) -> Answer:
        """The best-ranked parameter sets of a backtest's optimization (rank 1 = best by its
        objective), as ``show --json`` lists its optimizations."""
        the_id = await backtest_id(self.store, id)
        if await self.store.get_backtest(the_id) is None:
            raise NotFound(f"no backtest {the_id}")
        rows = await self.store.best_parameters(the_id, limit=limit)
        return Answer([to_json(o) for o in rows])

    async def tearsheet(self, id: Id) -> Answer:
        """A backtest's tearsheet figures, computed from its equity curve as the web view
        and the report show them: the return of each month and year (fractions), and the
        5 worst drawdowns (depth a negative fraction, length in bars; recovery null while
        it lasts). Computed in a worker thread: a year of minutes is 0.4 s of work, which
        the event loop, serving the other clients, does not wait for."""
        the_id = await backtest_id(self.store, id)
        result = await self.store.get_backtest(the_id)
        if result is None:
            raise NotFound(f"no backtest {the_id}")
        return Answer(await asyncio.to_thread(documents.tearsheet, result.equity_curve, WORST))

    async def list_experiments(
        self, experiment: Name = None, limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50
    ) -> Answer:
        """The experiments (the research each run belongs to: a sweep, a grid, its
        walk-forward runs), the one with the newest run first, as ``backtest-store
        experiments --json`` gives them: each one's number of runs, first and last run, and
        its runs counted by who ran them and by code version. ``experiment``: that one
        alone. Its runs: list_backtests with ``experiment``."""
        found = await self.store.list_experiments(experiment=experiment, limit=limit)
        if experiment is not None and not found:
            raise NotFound(f"no run of experiment {experiment!r}")
        return Answer(documents.experiments(found))

    async def assess(self, id: Id, alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05) -> Answer:
        """Skill or selection for one backtest, as ``backtest-store assess ID --json``
        gives it: its Sharpe ratio per bar over its returns, skewness and kurtosis, PSR
        against 0, the trials of its optimization grid (N) and their hurdle SR0 (per
        bar; annualized beside it), the deflated Sharpe ratio DSR, its p-value and whether
        it is significant at alpha, the walk-forward figures, and a verdict. A figure that
        cannot be computed is null with a reason."""
        the_id = await backtest_id(self.store, id)
        return Answer(documents.assessment(await self.store.assess(the_id, alpha=alpha)))

    async def assess_experiment(
        self,
        experiment: Annotated[str, Field(min_length=1, max_length=200)],
        blocks: Annotated[int, Field(ge=2, le=24, multiple_of=2)] = 16,
        alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05,
    ) -> Answer:
        """Skill or selection for an experiment's runs together, as ``backtest-store
        assess --experiment NAME --json`` gives it: the runs and trials, the best run and
        its DSR over every trial, the probability of backtest overfitting (PBO) by CSCV
        in ``blocks`` blocks, the probability that the in-sample best loses out of
        sample, and the distribution of the logits. Null figures come with a reason."""
        found = await self.store.assess_experiment(experiment, blocks=blocks, alpha=alpha)
        return Answer(documents.assessment(found))


def names() -> tuple[str, ...]:
    """The tools' names: Tools' public coroutines, in the order they are written."""
    return tuple(name for name, f in vars(Tools).items()
                 if not name.startswith("_") and inspect.iscoroutinefunction(f))  # fmt: skip


def _pairs(given: list[str] | None) -> dict[str, Any] | None:
    """``param``'s key=value conditions, each value read as the web list reads one."""
    if not given:
        return None
    try:
        return pairs.parameters(given)
    except BadPair as error:
        raise BadArgument("param", str(error)) from None
