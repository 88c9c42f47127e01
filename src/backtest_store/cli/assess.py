"""assess: skill or selection. ``assess ID`` judges a backtest's Sharpe ratio against the
trials of its optimization grid (PSR, the hurdle SR0, DSR and its p-value) and its
walk-forward windows; ``assess --experiment NAME`` judges an experiment's runs together
(the best run's DSR over every trial, and the probability of backtest overfitting)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest_store import documents
from backtest_store.cli.console import (
    BAD_INPUT,
    CommandError,
    backtest_id,
    console,
    open_store,
    print_json,
)


def _figure(value: float | None, places: int = 4) -> str:
    return "-" if value is None else f"{value:.{places}f}"


def assess(args: argparse.Namespace) -> int:
    if (args.id is None) == (args.experiment is None):
        raise CommandError("give a backtest ID or --experiment NAME (one of them)", BAD_INPUT)
    if (args.record or args.overwrite) and args.id is None:
        raise CommandError("--record writes a backtest's grid and windows: give its ID",
                           BAD_INPUT)  # fmt: skip
    if args.overwrite and not args.record:
        raise CommandError("--overwrite goes with --record", BAD_INPUT)
    recorded = None
    with open_store(args.database) as store:
        if args.experiment is not None:
            found: Any = store.assess_experiment(args.experiment, blocks=args.blocks,
                                                 alpha=args.alpha)  # fmt: skip
        else:
            the_id = backtest_id(store, args.id)
            if args.record:
                recorded = store.record_assessment(the_id, alpha=args.alpha,
                                                   overwrite=args.overwrite)  # fmt: skip
            found = store.assess(the_id, alpha=args.alpha)
    if args.json:
        print_json(documents.assessment(found))
        return 0
    out = console(args.wide)
    if recorded is not None:
        print(f"backtest-store assess: recorded {recorded['optimizations']:,} parameter set(s) "
              f"and {recorded['walk_forward']:,} walk-forward window(s)"
              + ("" if args.overwrite else " (only what was NULL)"), file=sys.stderr)  # fmt: skip
    if args.experiment is not None:
        out.print(f"[bold]experiment {args.experiment}[/bold]: {found.backtests:,} runs, "
                  f"{found.trials:,} trials")  # fmt: skip
        lines = [("best run", str(found.best_backtest_id or "-")),
                 ("its Sharpe ratio per bar", _figure(found.sharpe_ratio)),
                 ("hurdle SR0 per bar", _figure(found.expected_max_sharpe)),
                 ("DSR", _figure(found.dsr)), ("p-value", _figure(found.p_value)),
                 ("PBO", _figure(found.pbo, 3)),
                 ("P(the in-sample best loses)", _figure(found.probability_of_loss, 3)),
                 ("CSCV", f"{found.bars:,} bars in {found.blocks} blocks, "
                          f"{found.combinations:,} splits")]  # fmt: skip
    else:
        out.print(f"[bold]backtest {found.backtest_id}[/bold]: {found.observations:,} returns, "
                  f"{found.trials:,} trial(s)")  # fmt: skip
        scale = (f" ({_figure(found.annualized_sharpe, 2)} a year)"
                 if found.annualized_sharpe is not None else "")  # fmt: skip
        hurdle = (f" ({_figure(found.annualized_hurdle, 2)} a year)"
                  if found.annualized_hurdle is not None else "")  # fmt: skip
        lines = [("Sharpe ratio per bar", _figure(found.sharpe_ratio) + scale),
                 ("skewness, kurtosis", f"{_figure(found.skewness, 3)}, "
                                        f"{_figure(found.kurtosis, 3)}"),
                 ("PSR (against 0)", _figure(found.psr)),
                 ("hurdle SR0 per bar", _figure(found.expected_max_sharpe) + hurdle),
                 ("DSR", _figure(found.dsr)), ("p-value", _figure(found.p_value))]  # fmt: skip
        wf = found.walk_forward
        if wf is not None:
            lines += [("walk-forward windows", f"{wf.windows}, "
                       f"{_figure(wf.profitable_share, 2)} profitable"),
                      ("  mean out-of-sample return", _figure(wf.mean_return)),
                      ("  t-test p-value (mean > 0)", _figure(wf.p_value))]  # fmt: skip
    width = max(len(name) for name, _ in lines)
    for name, text in lines:
        out.print(f"  {name:<{width}}  {text}")
    out.print(found.verdict)
    if found.reason:
        out.print(f"[dim]why a figure is missing: {found.reason}[/dim]")
    return 0


def add_commands(sub: Any, database: argparse.ArgumentParser) -> None:
    p = sub.add_parser("assess", parents=[database],
                       help="skill or selection: DSR of a run, PBO of an experiment")  # fmt: skip
    p.add_argument("id", nargs="?", metavar="ID", help="a backtest id (or a unique prefix)")
    p.add_argument("--experiment", metavar="NAME", help="judge an experiment's runs together")
    p.add_argument("--alpha", type=float, default=0.05, metavar="A",
                   help="significance level (default 0.05)")  # fmt: skip
    p.add_argument("--blocks", type=int, default=16, metavar="S",
                   help="CSCV blocks for --experiment, even (default 16)")  # fmt: skip
    p.add_argument("--record", action="store_true",
                   help="write p_value and significance into the grid's rows, and the "
                   "walk-forward figures into its windows (only NULLs)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true",
                   help="with --record: replace values already stored")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--wide", action="store_true", help="however wide the terminal")
    p.set_defaults(handler=assess)
