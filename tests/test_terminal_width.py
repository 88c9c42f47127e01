"""Tables fit the terminal: run through a real pseudo-terminal at 80, 100 and 160
columns, no line is wider than the terminal, no number is cut (every figure of the JSON
output stands whole in the table), every short id shown resolves, and --wide shows all."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from devkit.records import optimization, random_curve, result, trade
from devkit.terminal import BIN, on_terminal

from backtest_store import BacktestStore


@pytest.fixture
def grid(db_url: str) -> list[str]:
    ids = []
    with BacktestStore.connect(db_url) as store:
        for fast in (10, 20, 30):
            saved = store.save_backtest(
                result(symbol="EURUSD", strategy_type="sma_cross_with_a_long_name",
                       parameters={"fast": fast, "slow": 50}, total_return=Decimal("2.2615"),
                       sharpe_ratio=Decimal("-1.2345"), max_drawdown=Decimal("-0.4321"),
                       win_rate=Decimal("0.5213"), total_trades=1200, winning_trades=600,
                       losing_trades=500),
                [trade(i, entry_price=Decimal("12345.12345678"), position_size=0.004,
                       pnl=Decimal("-98765.4321")) for i in range(3)],
            )  # fmt: skip
            ids.append(str(saved.backtest_id))
    return ids


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_list_fits_and_cuts_no_number(db_url: str, grid: list[str], columns: int) -> None:
    shown = on_terminal(["list", "--database", db_url], columns)
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= columns, shown
    assert "…" not in shown
    for figure in ("226.15 %", "-1.2345", "id", "symbol"):
        assert figure in shown, (figure, shown)
    # what tells the rows apart is in every row; what they share, once in the title
    assert "fast=10" in shown and "fast=20" in shown and "fast=30" in shown
    assert "every row:" in shown and "slow=50" in shown and shown.count("slow=50") == 1
    short = [line.split()[1] for line in lines if line.startswith("│ ")]
    assert sorted(short) == sorted(i[:8] for i in grid)
    for prefix in short:  # every shown id resolves
        run = subprocess.run([str(BIN / "backtest-store"), "show", prefix, "--json",
                              "--database", db_url], capture_output=True)  # fmt: skip
        assert run.returncode == 0
    if columns < 160:
        assert "--wide shows all" in shown


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_trades_and_compare_fit_and_cut_no_number(
    db_url: str, grid: list[str], columns: int
) -> None:
    trades = on_terminal(["trades", grid[0][:8], "--database", db_url], columns)
    assert max(len(line) for line in trades.splitlines()) <= columns, trades
    assert "…" not in trades
    assert "12,345.12345678" in trades and "-98,765.43" in trades  # pnl: account currency
    compared = on_terminal(["compare", *(i[:8] for i in grid), "--database", db_url], columns)
    assert max(len(line) for line in compared.splitlines()) <= columns, compared
    assert "…" not in compared and all(i[:8] in compared for i in grid)
    # metrics as rows, runs as columns: every metric shows at any width
    for metric in ("total_return %", "sharpe_ratio", "max_drawdown %", "win_rate %",
                   "profit_factor", "226.15 (1)", "-1.2345 (1)"):  # fmt: skip
        assert metric in compared, (metric, compared)
    words = " ".join(compared.split())  # the title wraps
    assert "│ fast " in compared and "every run: symbol EURUSD" in words


def test_wide_shows_every_column(db_url: str, grid: list[str]) -> None:
    shown = on_terminal(["list", "--wide", "--database", db_url], 80)
    for column in ("strategy_type", "parameters", "backtest_date", "status", "total_trades"):
        assert column in shown
    assert "sma_cross_with_a_long_name" in shown and "left out" not in shown


CLI_PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def readme_grid(db_url: str) -> None:
    """docs/cli.md's example: three runs of a grid, fixed ids and dates."""
    from datetime import UTC, datetime
    from uuid import UUID

    with BacktestStore.connect(db_url) as store:
        for n, (fast, ret, sharpe) in enumerate(((10, "0.2615", "1.3101"),
                                                 (20, "0.1877", "0.9822"),
                                                 (50, "-0.0431", "-0.2107"))):  # fmt: skip
            store.save_backtest(result(
                backtest_id=UUID(f"{'3f9c2a71' if n == 0 else ('a04be1d2', 'c7715e09')[n - 1]}"
                                 f"-0000-4000-8000-00000000000{n}"),
                symbol="GOOG", strategy_type="sma_cross", parameters={"fast": fast, "slow": 100},
                backtest_date=datetime(2026, 11, 30, 9, 15 + n, tzinfo=UTC),
                total_return=Decimal(ret), sharpe_ratio=Decimal(sharpe),
                max_drawdown=Decimal("-0.1834"), win_rate=Decimal("0.5417"), total_trades=48,
                winning_trades=26, losing_trades=22,
            ))  # fmt: skip


def test_the_cli_page_shows_list_as_it_prints_at_80_columns(db_url: str) -> None:
    readme_grid(db_url)
    shown = on_terminal(["list", "--database", db_url], 80)
    block = CLI_PAGE.read_text().split("<!-- list at 80 columns -->", 1)[1]
    text = re.search(r"```text\n(.*?)```", block, flags=re.S)
    assert text is not None
    assert [line.rstrip() for line in text.group(1).splitlines()] == [
        line.rstrip() for line in shown.strip("\n").splitlines()
    ]


def test_at_80_columns_what_tells_rows_apart_stays(db_url: str) -> None:
    """The first user's 80-column findings: list dropped the parameters and the strategy
    (two runs looked identical), trades dropped the direction and exit but kept the
    trade number, show's optimization table cut its headers and printed parameters as a
    dict over three lines, summary cut strategy names, top ranked a run that never traded
    first by drawdown."""
    long_names = {"fast_moving_average_window": 10, "slow_moving_average_window": 50}
    with BacktestStore.connect(db_url) as store:
        runs = [store.save_backtest(
            result(symbol="GOOG", strategy_type="mean_reversion_with_volatility_filter",
                   parameters={**long_names, "fast_moving_average_window": fast},
                   max_drawdown=Decimal("-0.2") if fast else Decimal(0),
                   total_trades=4 if fast else 0),
            [trade(i, direction="long" if i % 2 else "short", exit_date=date(2024, 3, 1 + i))
             for i in range(4)] if fast else [],
        ) for fast in (10, 20, 0)]  # fmt: skip
        store.save_optimization_results(runs[0].backtest_id, [
            optimization(i, parameters={**long_names, "fast_moving_average_window": i},
                         objective_function="sharpe_ratio", objective_value=i)
            for i in range(3)])  # fmt: skip
    listed = on_terminal(["list", "--database", db_url], 80)
    for text in ("fast_moving_average_window=10", "fast_moving_average_window=20"):
        assert text in listed, listed
    words = " ".join(listed.split())
    assert "strategy_type mean_reversion_with_volatility_filter" in words
    trades = on_terminal(["trades", str(runs[0].backtest_id)[:8], "--database", db_url], 80)
    header = next(line for line in trades.splitlines() if "entry_date" in line)
    for column in ("direction", "entry_date", "exit_date", "pnl"):
        assert column in header, trades
    shown = on_terminal(["show", str(runs[0].backtest_id)[:8], "--database", db_url], 80)
    table = shown[shown.index("optimization:") :]
    assert "objective_f…" not in table and "{'" not in table
    assert "fast_moving_average_window=2" in table and "objective_value" in table
    assert "slow_moving_average_window=50" in " ".join(table.split())  # shared, in the title
    summary = on_terminal(["summary", "--database", db_url], 80)
    assert "mean_reversion_with_volatility_filter" in summary and "…" not in summary
    top = on_terminal(["top", "--metric", "max_drawdown", "--database", db_url], 80)
    assert str(runs[2].backtest_id)[:8] not in top  # never traded: not ranked
    assert "--min-trades 0" in " ".join(top.split())
    every = on_terminal(["top", "--metric", "max_drawdown", "--min-trades", "0", "--database",
                         db_url], 80)  # fmt: skip
    assert str(runs[2].backtest_id)[:8] in every


def test_assess_fits_80_columns_and_keeps_every_figure(db_url: str) -> None:
    """Skill or selection on a terminal 80 wide: every line fits, the verdict stands
    whole (wrapped, never cut), and every figure of --json is shown."""
    import random

    from backtest_store import OptimizationResult

    rng = random.Random(3)
    with BacktestStore.connect(db_url) as store:
        for n in range(6):
            points = random_curve(rng, 400, drift=0.0005)
            saved = store.save_backtest(result(experiment="wide-research", equity_curve=points,
                                               bars_per_year=252, parameters={"n": n}))  # fmt: skip
        store.save_optimization_results(saved.backtest_id, [
            OptimizationResult(parameters={"n": k}, sharpe_ratio=rng.gauss(0.5, 0.5),
                               objective_value=k) for k in range(12)])  # fmt: skip
        judged, together = (
            store.assess(saved.backtest_id),
            store.assess_experiment("wide-research", blocks=4),
        )
    for args, found in (([str(saved.backtest_id)], judged),
                        (["--experiment", "wide-research", "--blocks", "4"], together)):  # fmt: skip
        shown = on_terminal(["assess", *args, "--database", db_url], 80)
        assert max(len(line) for line in shown.splitlines()) <= 80, shown
        flat = " ".join(shown.split())
        assert " ".join(found.verdict.split()) in flat, shown
        for name in ("dsr", "p_value", "trials"):
            value = getattr(found, name)
            assert value is not None
            assert (f"{value:,}" if isinstance(value, int) else f"{value:.4f}") in flat, name
