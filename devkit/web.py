"""The web view's test data: backtests with timestamped curves, metrics (some missing),
trades, an optimization grid, walk-forward windows and a portfolio; optionally with
hostile text in every string field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from backtest_store import BacktestStore
from devkit.records import optimization, portfolio, result, trade, window

SYMBOLS = ("AAPL", "MSFT", "EURUSD")
STRATEGIES = ("sma_cross", "rsi")
START = datetime(2022, 1, 3, tzinfo=UTC)
# each runs a script that sets window.__xss; shown as text, none may run
PAYLOADS = (
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=2">',
    "</script><script>window.__xss=3</script>",
)
SHORT = ("<script>", "</script>", '"><b>x')  # symbol is varchar(10)


@dataclass
class Seeded:
    ids: list[UUID] = field(default_factory=list)  # newest first
    rich: UUID | None = None  # the one with optimizations and walk-forward windows
    portfolio: UUID | None = None


def curve(n: int, days: int = 400) -> list[list[Any]]:
    """A daily equity curve with drawdowns, different per backtest."""
    points, value = [], 10_000.0
    for d in range(days):
        value *= 1 + 0.0008 * ((n % 5) - 1) + 0.01 * math.sin((d + n * 7) / 9)
        when = START + timedelta(days=d)
        points.append([when.strftime("%Y-%m-%dT%H:%M:%SZ"), round(value, 2)])
    return points


def seed(store: BacktestStore, count: int = 60, *, hostile: bool = False) -> Seeded:
    out = Seeded()
    for n in range(count):
        text = PAYLOADS[n % 3] if hostile else None
        params: dict[str, Any] = {"fast": (10, 20, 30)[n % 3], "slow": (50, 100)[n % 2]}
        if hostile:
            params = {PAYLOADS[0]: PAYLOADS[1], "fast": PAYLOADS[2]}
        saved = store.save_backtest(
            result(
                symbol=SHORT[n % 3] if hostile else SYMBOLS[n % 3],
                strategy_type=text or STRATEGIES[n % 2],
                parameters=params,
                backtest_date=START + timedelta(hours=n),
                start_date=date(2022, 1, 3), end_date=date(2023, 2, 6),
                equity_curve=curve(n),
                sharpe_ratio=None if n % 11 == 5 else Decimal(str(round((n % 13) * 0.2 - 0.8, 2))),
                total_return=Decimal(str(round((n % 17) * 0.03 - 0.2, 4))),
                max_drawdown=Decimal(str(round(-0.01 * (n % 23) - 0.02, 4))),
                win_rate=Decimal(str(round((n % 9) / 10, 2))),
                total_trades=n % 25, winning_trades=0, losing_trades=0,
                notes=text, error_message=text,
            ),
            [trade(i, entry_date=date(2022, 2, 1) + timedelta(days=20 * i),
                   exit_date=date(2022, 2, 11) + timedelta(days=20 * i), exit_price=101 + i,
                   exit_reason=text or ("stop", "target")[i % 2]) for i in range(12)],
        )  # fmt: skip
        assert saved.backtest_id is not None
        out.ids.insert(0, saved.backtest_id)
    rich = out.ids[0]
    out.rich = rich
    store.save_optimization_results(rich, [
        optimization(i, parameters={"fast": 5 * (i % 4 + 1), "slow": 50 * (i // 4 + 1),
                                    **({PAYLOADS[0]: PAYLOADS[1]} if hostile else {})},
                     objective_function=PAYLOADS[1] if hostile else "sharpe_ratio",
                     objective_value=Decimal(i % 7) / 3)
        for i in range(12)
    ])  # fmt: skip
    store.save_walk_forward_tests(rich, [
        window(i, training_performance=Decimal("0.1") + i / Decimal(50),
               out_of_sample_return=Decimal("0.02") - i / Decimal(100),
               optimal_parameters={"fast": 10 + i, **({PAYLOADS[2]: PAYLOADS[0]} if hostile else {})})
        for i in range(4)
    ])  # fmt: skip
    kept = store.save_portfolio(portfolio(
        portfolio_name=PAYLOADS[1] if hostile else "tech", description=PAYLOADS[0] if hostile else None,
        notes=PAYLOADS[2] if hostile else None, component_backtest_ids=[str(i) for i in out.ids[:3]],
        portfolio_equity_curve=curve(99), symbols=list(SHORT if hostile else SYMBOLS),
        total_return=Decimal("0.12"),
    ))  # fmt: skip
    out.portfolio = kept.portfolio_backtest_id
    return out


def pages(seeded: Seeded) -> dict[str, str]:
    """Every page of the view, with a text it shows."""
    rich = str(seeded.rich)
    return {
        "/": "Backtests", f"/backtests/{rich}": "worst drawdowns",
        f"/backtests/{rich[:8]}": "worst drawdowns",
        f"/compare?ids={seeded.ids[0]}&ids={seeded.ids[1]}": "Comparing 2 backtests",
        "/summary": "by strategy", "/portfolios": "tech",
        f"/portfolios/{seeded.portfolio}": "Component backtests",
    }  # fmt: skip


def listed_ids(html: str) -> list[str]:
    """The backtest ids of a list page's rows, in order (their compare checkboxes)."""
    return re.findall(r'name="ids" value="([0-9a-f-]{36})"', html)


def link(html: str, rel: str) -> str | None:
    """The href of the page's rel=next or rel=prev link, unescaped."""
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return None if found is None else found.group(1).replace("&amp;", "&")
