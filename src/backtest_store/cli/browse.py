"""The read commands: list, show, trades, top, compare, summary.

Each prints a table on a terminal (rich) or, with ``--json``, one JSON document on stdout
(records as ``serialize.to_json`` makes them). ``show`` gives every metric with the unit
its column's ``COMMENT`` in ``sql/`` names: fractions shown as percent in the table and
raw in JSON.
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from backtest_store import documents, pairs
from backtest_store.assessment import assess_backtest
from backtest_store.cli.console import (
    BAD_INPUT,
    NOT_FOUND,
    Col,
    CommandError,
    backtest_id,
    console,
    day,
    open_store,
    positive,
    print_json,
    print_table,
    short_id,
    status_filter,
)
from backtest_store.cli.experiments import duplicates
from backtest_store.facts import MAX_LIMIT, METRICS, TRADE_COLUMNS
from backtest_store.metrics import (
    FOOTNOTE,
    MEASURES,
    aligned,
    benchmark,
    differing,
    exact,
    incomparable,
    label,
    number,
    origin,
    params_text,
    percent,
    shown,
    sparkline,
)
from backtest_store.pairs import BadPair
from backtest_store.records import BacktestResult, BacktestTrade
from backtest_store.serialize import to_json

# -- commands -------------------------------------------------------------------------


def param_filters(given: list[str] | None) -> dict[str, Any] | None:
    """--param key=value ...: a jsonb containment filter; a value that reads as JSON is
    taken as such (fast=10 is the number 10, flag=true a boolean), else as text."""
    try:
        return pairs.parameters(given) if given else None
    except BadPair as error:
        raise CommandError(f"--param {error}", BAD_INPUT) from None


def tag_filters(given: list[str] | None) -> dict[str, str] | None:
    """--tag key=value ...: runs whose tags hold every pair (values are text)."""
    try:
        return pairs.tags(given) if given else None
    except BadPair as error:
        raise CommandError(f"--tag {error}", BAD_INPUT) from None


def origin_filters(args: argparse.Namespace) -> dict[str, Any]:
    """--experiment, --run-by, --code-version, --tag: where the runs came from."""
    return {"experiment": args.experiment, "run_by": args.run_by,
            "code_version": args.code_version, "tags": tag_filters(args.tag)}  # fmt: skip


def list_(args: argparse.Namespace) -> int:
    if args.duplicates:
        return duplicates(args)
    status = status_filter(args.status)
    limit = positive("--limit", args.limit, MAX_LIMIT)
    parameters = param_filters(args.param)
    origin = origin_filters(args)
    if parameters is not None and (status or args.since):
        raise CommandError("--param does not combine with --status or --since", BAD_INPUT)
    with open_store(args.database) as store:
        if parameters is not None and not any(origin.values()):
            rows = store.find_backtests(parameters=parameters, symbol=args.symbol,
                                        strategy_type=args.strategy, limit=limit)  # fmt: skip
        elif parameters is not None:  # with where the runs came from: the browsing read
            rows = store.browse_backtests(
                parameters_any=[parameters], symbols=[args.symbol] if args.symbol else None,
                strategy_type=args.strategy, limit=limit, **origin,
            )  # fmt: skip
        else:
            rows = store.list_backtests(
                symbol=args.symbol, strategy_type=args.strategy, status=status,
                since=day(args.since), limit=limit, **origin,
            )  # fmt: skip
        if not rows:
            _suggest_symbol(store, args.symbol)
        repeats = {} if args.json else store.duplicate_counts(rows)
    if args.json:
        print_json([to_json(r) for r in rows])
    else:
        _results_table(rows, "backtests, newest first", wide=args.wide, repeats=repeats)
    return 0


def rate(value: Any) -> str:
    """A fee or slippage rate in percent with the digits it has (0.00005 is 0.005 %)."""
    return "" if value is None else f"{exact(value * 100)} %"


def when(day_: Any, time_: Any) -> str:
    """A trade's date, with its time where it has one that is not midnight (hourly bars)."""
    if time_ is not None and (time_.hour, time_.minute, time_.second) != (0, 0, 0):
        return str(time_.strftime("%Y-%m-%d %H:%M"))
    return "" if day_ is None else str(day_)


def _suggest_symbol(store: Any, symbol: str | None) -> None:
    """Nothing matched a symbol that is not upper case: say whether its upper case has
    backtests (symbols are stored as given, and matched exactly)."""
    if symbol and symbol != symbol.upper() and store.list_backtests(symbol=symbol.upper(),
                                                                    limit=1):  # fmt: skip
        print(f"backtest-store: no backtests for symbol {symbol!r}; symbols match exactly: "
              f"try --symbol {symbol.upper()}", file=sys.stderr)  # fmt: skip


def top(args: argparse.Namespace) -> int:
    if args.metric not in METRICS:
        raise CommandError(f"--metric {args.metric!r}: one of {', '.join(sorted(METRICS))}", 2)
    limit = positive("--limit", args.limit, MAX_LIMIT)
    with open_store(args.database) as store:
        rows = store.top_backtests(
            metric=args.metric, symbol=args.symbol, strategy_type=args.strategy,
            min_trades=args.min_trades, limit=limit, parameters=param_filters(args.param),
            **origin_filters(args),
        )  # fmt: skip
        if not rows:
            _suggest_symbol(store, args.symbol)
    if args.json:
        print_json([to_json(r) for r in rows])
    else:
        among = ("every run, traded or not" if args.min_trades == 0 else
                 f"runs with {args.min_trades:,}+ trades; --min-trades 0 for all")  # fmt: skip
        _results_table(rows, f"best by {args.metric} ({among})", first=args.metric,
                       wide=args.wide)  # fmt: skip
    return 0


def _results_table(rows: list[BacktestResult], title: str, first: str | None = None, *,
                   wide: bool = False, repeats: dict[Any, int] | None = None) -> None:  # fmt: skip
    # least important first to go: what every row shares, status, the run's date, the
    # strategy, trades, win rate, ...; the parameters that tell the rows apart stay longest
    columns = [Col("id"), Col("symbol"), Col("strategy_type", 3, text=True),
               Col("parameters", 9, text=True), Col("backtest_date", 2),
               Col("status", 1)]  # fmt: skip
    metrics = ["total_return", "sharpe_ratio", "max_drawdown", "win_rate", "total_trades"]
    keep = {"total_return": 8, "sharpe_ratio": 8, "max_drawdown": 7, "win_rate": 5,
            "total_trades": 4}  # fmt: skip
    if first and first not in metrics:
        metrics.insert(0, first)
    columns += [Col(m, 0 if m == first else keep.get(m, 8), right=True) for m in metrics]
    cells = []
    texts, shared = _parameters([r.parameters for r in rows], wide)
    for r, params in zip(rows, texts, strict=True):
        date_text = r.backtest_date.strftime("%Y-%m-%d %H:%M") if r.backtest_date else ""
        the_id = short_id(r.backtest_id)
        if repeats and repeats.get(r.backtest_id):
            the_id += f" x{repeats[r.backtest_id]}"  # that many other runs are the same run
        cells.append([the_id, r.symbol, r.strategy_type, params, date_text,
                      r.status or "", *(shown(m, getattr(r, m)) for m in metrics)])  # fmt: skip
    if repeats:
        title += " (xN: N other runs of the same strategy, parameters, period, data and code)"
    print_table(f"{len(rows)} {title}", columns, cells, wide=wide, shared=shared)


def _parameters(parameters: list[Any], wide: bool) -> tuple[list[str], str]:
    """The parameters column: on a terminal, only what differs between the rows, and what
    they share for the title; ``--wide``: each row's whole parameters."""
    if wide:
        return [params_text(p) for p in parameters], ""
    return differing(parameters)


def show(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        the_id = backtest_id(store, args.id)
        result = store.get_backtest(the_id)
        if result is None:
            raise CommandError(f"no backtest {the_id}", NOT_FOUND)
        trades = store.get_trades(the_id)
        optimizations = documents.best_first(store.optimization_results(the_id))
        windows = store.walk_forward_tests(the_id)
    if args.json:
        print_json(documents.backtest(result, trades, optimizations, windows))
        return 0
    tally = documents.tally(trades)
    _show_table(result, tally, optimizations, windows, wide=args.wide)
    return 0


def _show_table(result: BacktestResult, tally: dict[str, int], optimizations: list[Any],
                windows: list[Any], *, wide: bool) -> None:  # fmt: skip
    from rich.markup import escape
    from rich.table import Table

    out = console()
    out.print(f"[bold]{result.symbol}[/bold] {result.strategy_type}  {result.start_date} .. "
              f"{result.end_date}  [dim]{result.backtest_id}[/dim]")  # fmt: skip
    run = result.backtest_date.isoformat(timespec="seconds") if result.backtest_date else ""
    out.print(f"run {run}  status {result.status}  capital "
              f"{number(result.initial_capital, 2)}  fees {rate(result.fees)}  slippage "
              f"{rate(result.slippage)} per trade")  # fmt: skip
    out.print(f"parameters {params_text(result.parameters)}")
    came = origin(result)
    if came:
        out.print("from " + "  ".join(f"[dim]{name}[/dim] {escape(text)}" for name, text in came))
    against = benchmark(result)
    if against:
        out.print(f"benchmark {escape(against)}")
    if result.equity_curve:
        out.print(f"equity  {sparkline(result.equity_curve)}")
    metrics = Table(title="metrics")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    metrics.add_column("unit")
    for name in MEASURES:
        metrics.add_row(name, shown(name, getattr(result, name)), label(name))
    out.print(metrics)
    out.print(f"[dim]{FOOTNOTE}[/dim]")
    out.print(
        f"trades: {tally['count']:,} ({tally['winning']:,} winning, {tally['losing']:,} losing,"
        f" {tally['open']:,} open)"
    )
    judged = assess_backtest(result, optimizations, windows)
    out.print(f"skill or selection: {escape(judged.verdict)}")
    if optimizations:
        _optimization_table(optimizations[:20], len(optimizations), wide,
                            judged.trial_p_values, judged.alpha)  # fmt: skip
    if windows:
        texts, shared = differing([w.optimal_parameters for w in windows])
        table = Table(title=f"walk-forward: {len(windows)} windows"
                            + (f" (every window: {shared})" if shared else ""))  # fmt: skip
        for c in ("test period", "optimal parameters", "out-of-sample return",
                  "out-of-sample Sharpe", "profitable"):  # fmt: skip
            table.add_column(c, justify="left" if c.endswith(("period", "parameters")) else
                             "right")  # fmt: skip
        for w, params in zip(windows, texts, strict=True):
            table.add_row(f"{w.test_period_start} .. {w.test_period_end}", params,
                          percent(w.out_of_sample_return), number(w.out_of_sample_sharpe),
                          "" if w.is_profitable is None else "yes" if w.is_profitable
                          else "no")  # fmt: skip
        out.print(table)


def _optimization_table(best: list[Any], count: int, wide: bool,
                        p_values: dict[Any, float | None] | None = None,
                        alpha: float = 0.05) -> None:  # fmt: skip
    """The best parameter sets: each a line, its parameters as ``fast=10`` (only those
    that differ: the title says what they share), headers whole; ``p``: each set's
    Sharpe ratio tested against the grid's hurdle SR0, ``*`` where below ``alpha``."""
    p_values = p_values or {}
    texts, shared = _parameters([o.parameters for o in best], wide)
    columns = [Col("rank"), Col("parameters", 9, text=True),
               Col("objective", 2, text=True), Col("objective_value", 5, right=True),
               Col("sharpe_ratio", 4, right=True), Col("total_return", 3, right=True),
               Col("p", 6, right=True)]  # fmt: skip
    cells = [[str(o.rank), params, o.objective_function or "", number(o.objective_value),
              number(o.sharpe_ratio), percent(o.total_return),
              _p(p_values.get(o.optimization_id), alpha)]
             for o, params in zip(best, texts, strict=True)]  # fmt: skip
    print_table(f"optimization: {count} parameter sets, best {len(best)} first (p: against "
                "the hurdle of the whole grid; * significant)", columns, cells, wide=wide,
                shared=shared)  # fmt: skip


def _p(value: float | None, alpha: float) -> str:
    return "" if value is None else f"{value:.3f}" + (" *" if value < alpha else "")


def trades(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        the_id = backtest_id(store, args.id)
        if store.get_backtest(the_id) is None:
            raise CommandError(f"no backtest {the_id}", NOT_FOUND)
        rows = store.get_trades(the_id, outcome=args.outcome or "all")
    if args.json:
        print_json([to_json(t) for t in rows])
    elif args.csv:
        _trades_csv(rows)
    else:
        _trades_table(rows, wide=args.wide)
    return 0


def _trades_csv(rows: list[BacktestTrade]) -> None:

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for t in rows:
        writer.writerow(["" if v is None else v for v in to_json(t).values()])


def _trades_table(rows: list[BacktestTrade], *, wide: bool = False) -> None:
    # what a trade is (direction, entry, exit, pnl) stays; its number, size and reason go
    # first (the rows are in trade order)
    columns = [Col("trade_number", 2), Col("direction", 10), Col("entry_date"),
               Col("entry_price", 8, right=True), Col("exit_date", 9),
               Col("exit_price", 7, right=True), Col("position_size", 3, right=True),
               Col("pnl", right=True), Col("pnl_percent", 6, right=True),
               Col("exit_reason", 4, text=True)]  # fmt: skip
    entry, exit_, size = (aligned([getattr(t, name) for t in rows])
                          for name in ("entry_price", "exit_price", "position_size"))  # fmt: skip
    cells = [[str(t.trade_number), t.direction, when(t.entry_date, t.entry_time), entry[n],
              when(t.exit_date, t.exit_time), exit_[n], size[n], number(t.pnl, 2),
              percent(t.pnl_percent), t.exit_reason or ""]
             for n, t in enumerate(rows)]  # fmt: skip
    print_table(f"{len(rows)} trades (pnl in the account currency)", columns, cells, wide=wide)


def compare(args: argparse.Namespace) -> int:
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    for m in metrics or ():
        if m not in METRICS:
            raise CommandError(f"--metrics: {m!r} is not one of {', '.join(sorted(METRICS))}", 2)
    with open_store(args.database) as store:
        ids = [backtest_id(store, i) for i in args.ids]
        rows = store.compare_backtests(ids, metrics=metrics)
        results = [r for r in map(store.get_backtest, ids) if r]
        parameters = {r.backtest_id: r.parameters for r in results}
    missing = set(ids) - {r.backtest_id for r in rows}
    if missing:
        raise CommandError(f"no backtest {', '.join(sorted(map(str, missing)))}", NOT_FOUND)
    if args.json:
        print_json(rows)
        return 0

    chosen = metrics if metrics is not None else list(rows[0].values)  # rows: one per id
    notes, affected = incomparable(results)
    _comparison(rows, chosen, [parameters.get(r.backtest_id) for r in rows], wide=args.wide,
                affected=affected)  # fmt: skip
    for note in notes:
        console(args.wide).print(f"[bold]*[/bold] {note}")
    return 0


def _comparison(rows: list[Any], metrics: list[str], parameters: list[Any], *,
                wide: bool, affected: frozenset[str] | set[str] = frozenset()) -> None:  # fmt: skip
    """The comparison as the web view shows it: a column per backtest, a row per metric
    (so every metric shows, however many), each value with its rank in brackets. What
    tells the runs apart comes first: the symbol and strategy where they differ, then a
    row per parameter that differs; what every run shares is in the title."""
    from rich.table import Table

    described = [("symbol", [r.symbol for r in rows]),
                 ("strategy_type", [r.strategy_type for r in rows])]  # fmt: skip
    if all(isinstance(p, dict) for p in parameters):
        keys = dict.fromkeys(k for p in parameters for k in p)
        described += [(k, [params_text({k: p[k]}).partition("=")[2] if k in p else ""
                           for p in parameters]) for k in keys]  # fmt: skip
    else:
        described.append(("parameters", [params_text(p) for p in parameters]))
    common = [f"{name} {values[0]}" if name in ("symbol", "strategy_type") else
              f"{name}={values[0]}" for name, values in described
              if len(rows) > 1 and len(set(values)) == 1]  # fmt: skip
    title = "comparison, best first (rank in brackets)"
    table = Table(title=title + (f" (every run: {', '.join(common)})" if common else ""))
    names = [n for n, values in described if len(rows) == 1 or len(set(values)) > 1]
    labels = [(f"{m} %" if label(m) == "%" else m) + (" *" if m in affected else "")
              for m in metrics]  # fmt: skip
    table.add_column("", no_wrap=True, min_width=max(map(len, [*names, *labels])))
    for r in rows:
        table.add_column(short_id(r.backtest_id), justify="right", overflow="fold")
    for name, values in described:
        if name in names:
            table.add_row(name, *values)
    for m, text in zip(metrics, labels, strict=True):
        table.add_row(text, *(f"{shown(m, r.values[m]).removesuffix(' %')} "
                               f"({r.ranks[m] or '-'})" for r in rows))  # fmt: skip
    console(wide).print(table)


def summary(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        result = store.performance_summary(
            since=day(args.since), symbol=args.symbol, strategy_type=args.strategy
        )
    if args.json:
        print_json(documents.summary(result))
        return 0
    sections = [("all backtests", {"all": result.overall}),
                ("by strategy", result.by_strategy), ("by symbol", result.by_symbol)]  # fmt: skip
    # a group's name is never cut; the figures go first, the worst, then the best
    columns = [Col("group"), Col("count", right=True), Col("return", right=True),
               Col("best", 3, right=True), Col("worst", 2, right=True),
               Col("Sharpe", right=True), Col("win rate", 1, right=True)]  # fmt: skip
    for title, groups in sections:
        cells = [[name, f"{s.count:,}", percent(s.mean_return), percent(s.best_return),
                  percent(s.worst_return), number(s.mean_sharpe), percent(s.mean_win_rate)]
                 for name, s in groups.items()]  # fmt: skip
        order = " (by count, most first; then by name)" if len(groups) > 1 else ""
        print_table(f"{title}{order}: mean total return, best, worst; mean Sharpe ratio, "
                    "win rate", columns, cells, wide=args.wide)  # fmt: skip
    return 0


# -- the parsers --------------------------------------------------------------------


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="one JSON document on stdout")
    json_flag.add_argument("--wide", action="store_true",
                           help="every column, however wide the terminal")  # fmt: skip
    common = [database, json_flag]
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--symbol", metavar="S")
    filters.add_argument("--strategy", metavar="NAME", help="strategy_type")
    params = argparse.ArgumentParser(add_help=False)
    params.add_argument(
        "--param", action="append", metavar="KEY=VALUE",
        help="parameters containing KEY=VALUE (repeatable: all must hold)",
    )  # fmt: skip
    params.add_argument("--experiment", metavar="NAME", help="runs of this experiment")
    params.add_argument("--run-by", metavar="WHO", help="runs this person or service ran")
    params.add_argument("--code-version", metavar="COMMIT",
                        help="runs of this code version (a git commit, +dirty)")  # fmt: skip
    params.add_argument("--tag", action="append", metavar="KEY=VALUE",
                        help="runs tagged KEY=VALUE (repeatable: all must hold)")  # fmt: skip

    p = sub.add_parser("list", parents=[*common, filters, params], help="backtests, newest first")
    p.add_argument("--status", metavar="S", help="completed | failed | in_progress")
    p.add_argument("--since", metavar="DATE", help="run on or after DATE (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="default 50")
    p.add_argument("--duplicates", action="store_true",
                   help="only the runs repeated (same strategy, parameters, period, data, "
                   "code)")  # fmt: skip
    p.set_defaults(handler=list_)

    p = sub.add_parser("show", parents=common, help="one backtest: metrics, trades, children")
    p.add_argument("id", metavar="ID")
    p.set_defaults(handler=show)

    p = sub.add_parser("trades", parents=[database], help="a backtest's trades")
    p.add_argument("id", metavar="ID")
    p.add_argument("--outcome", choices=("winning", "losing"))
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    fmt.add_argument("--json", action="store_true", help="a JSON array of trades")
    p.add_argument("--wide", action="store_true", help="every column, however wide the terminal")
    p.set_defaults(handler=trades)

    p = sub.add_parser("top", parents=[*common, filters, params], help="best backtests by a metric")
    p.add_argument("--metric", default="sharpe_ratio", metavar="M", help="default sharpe_ratio")
    p.add_argument("--min-trades", type=int, default=1, metavar="N",
                   help="rank runs with at least N trades (default 1: a run that never "
                   "traded has no drawdown to rank; 0 ranks every run)")  # fmt: skip
    p.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
    p.set_defaults(handler=top)

    p = sub.add_parser("compare", parents=common, help="backtests side by side, with ranks")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--metrics", metavar="M,...", help="default: every metric")
    p.set_defaults(handler=compare)

    p = sub.add_parser("summary", parents=[*common, filters], help="aggregates over backtests")
    p.add_argument("--since", metavar="DATE", help="run on or after DATE (YYYY-MM-DD)")
    p.set_defaults(handler=summary)
