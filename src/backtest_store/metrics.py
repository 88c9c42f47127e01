"""The result metrics and their units, read from the columns' COMMENTs, and how a value
is shown in its unit (the command line, the HTML report)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from backtest_store import rules
from backtest_store.tables import RESULTS

# The result columns that are measurements of the run (not its set-up or bookkeeping).
MEASURES = tuple(
    name
    for name, column in RESULTS.columns.items()
    if column.kind in ("numeric", "integer")
    and name not in ("initial_capital", "fees", "slippage", "bars_per_year")
)
SHORT_COMMIT = 12  # hex digits of a code version shown (as a short id), +dirty kept


def origin(result: Any) -> list[tuple[str, str]]:
    """Where a run came from, as (label, text) pairs for the CLI's ``show``, the web
    view's tearsheet and the report: the experiment, who ran and who saved it, the code,
    the engine, the data, the annualization and the tags; what was not recorded is left
    out."""
    code = result.code_version
    if isinstance(code, str):
        head, plus, mark = code.partition("+")
        code = head[:SHORT_COMMIT] + plus + mark
    saved = f" (saved as {result.saved_by})" if result.saved_by else ""
    tags = result.tags if isinstance(result.tags, dict) else {}
    pairs = [
        ("experiment", result.experiment),
        ("run by", f"{result.run_by}{saved}" if result.run_by else saved.strip(" ()")),
        ("code", code),
        ("engine", result.engine),
        ("data", result.data_fingerprint),
        ("bars a year", None if result.bars_per_year is None else exact(result.bars_per_year)),
        ("tags", " ".join(f"{k}={v}" for k, v in tags.items()) or None),
    ]
    return [(name, str(text)) for name, text in pairs if isinstance(text, str) and text]


def benchmark(result: Any) -> str | None:
    """The benchmark and the excess return over it: ``GOOG buy & hold 607.37 % (the run:
    -270.03 % beside it)``; None without a benchmark return."""
    if result.benchmark_return is None:
        return None
    name = result.benchmark_symbol or "benchmark"
    text = f"{name} {percent(result.benchmark_return)}"
    if result.total_return is not None:
        excess = result.total_return - result.benchmark_return
        text += f"; excess return {percent(excess)}"
    return text


def units() -> dict[str, str]:
    """Each result column's unit, where it has one (``rules.UNITS``)."""
    return rules.UNITS[RESULTS.name]


# Why two stored figures differ from the libraries' printed ones: said wherever the
# metrics are shown (show, the tearsheet page, the report).
FOOTNOTE = (
    "profit_factor: gross profit / gross loss in money over the closed trades "
    "(backtesting.py divides summed trade returns); max_drawdown_duration: calendar days "
    "from peak to recovery (vectorbt counts bars): both differ from the libraries' printed "
    "figures on purpose."
)


def label(column: str) -> str:
    """A column's unit as a table shows its values: "%" for a fraction (shown in percent),
    else the unit's name."""
    unit = units().get(column, "")
    return "%" if unit == "fraction" else unit


def shown(column: str, value: Any) -> str:
    """A metric for the table, in its unit."""
    return formatter(column)(value)


@functools.cache
def formatter(column: str) -> Callable[[Any], str]:
    """How a column's values are shown, chosen once from its unit (the list page formats
    fifty rows of metrics with it, without looking the unit up per cell)."""
    unit = units().get(column, "")
    if unit == "fraction":
        return percent
    if unit == "currency":
        return lambda value: number(value, 2)
    if unit == "days":
        return lambda value: "" if value is None else f"{value} days"
    if unit == "seconds":
        return lambda value: "" if value is None else f"{number(value, 3)} s"
    if unit == "count":
        return lambda value: "" if value is None else f"{value:,}"
    return number


def percent(value: Any) -> str:
    return "" if value is None else f"{_exact(value) * 100:.2f} %"


def number(value: Any, places: int = 4) -> str:
    if value is None:
        return ""
    return f"{_exact(value):,.{places}f}"


def _exact(value: Any) -> Decimal | float:
    """A stored numeric as it was stored: a Decimal is rounded as a decimal (no trip
    through a binary float, and a third of the cost), anything else as a float."""
    return value if type(value) is Decimal else float(value)


def params_text(parameters: Any) -> str:
    """Parameters compactly, as a grid differs by them: ``fast=10 slow=50``."""
    return " ".join(params_pairs(parameters))


def params_pairs(parameters: Any) -> list[str]:
    """Each parameter as ``key=value`` (a page keeps each pair on one line)."""
    if isinstance(parameters, dict):
        return [f"{k}={json.dumps(v) if isinstance(v, dict | list) else v}"
                for k, v in parameters.items()]  # fmt: skip
    return [] if parameters is None else [json.dumps(parameters)]


def differing(parameters: list[Any]) -> tuple[list[str], str]:
    """What tells rows apart: each row's parameters that differ between the rows, and the
    ones every row shares (``slow=50``), both as ``params_text`` writes them. With one row,
    or parameters that are not all objects, each row's own and nothing shared."""
    objects = [p for p in parameters if isinstance(p, dict)]
    if len(parameters) < 2 or len(objects) < len(parameters):
        return [params_text(p) for p in parameters], ""
    first = objects[0]
    shared = {k: v for k, v in first.items() if all(k in p and _same(p[k], v) for p in objects)}
    rows = [params_text({k: v for k, v in p.items() if k not in shared}) for p in objects]
    return rows, params_text(shared)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # 1, 1.0 and true are three values in JSON


def exact(value: Any) -> str:
    """A stored number with every digit it keeps and no trailing zeros (1.08515500 is
    1.085155): prices and sizes of FX and crypto lose nothing on the screen either."""
    if value is None:
        return ""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def aligned(values: list[Any]) -> list[str]:
    """A column of stored numbers with as many decimals as the most precise of them needs
    (prices at their tick: 182.00 beside 169.02), so the column lines up and no stored
    digit is lost; no exponent, and no zeros beyond what some value needs."""
    texts = [exact(v) for v in values]
    places = max((len(t) - t.index(".") - 1 for t in texts if "." in t), default=0)
    return ["" if v is None else f"{v:,.{places}f}" for v in values]


# The figures annualized on a run's clock (bars_per_year): runs on different clocks
# cannot be ranked by them.
ANNUALIZED = ("annualized_return", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
              "volatility", "downside_volatility", "alpha")  # fmt: skip


def incomparable(results: list[Any]) -> tuple[list[str], set[str]]:
    """What makes compared runs' figures incomparable: notes in words, and the metrics
    they concern. Runs annualized on different clocks (``bars_per_year``) differ in every
    annualized figure; runs of different engines in how each figure is defined."""
    notes: list[str] = []
    affected: set[str] = set()
    clocks = {exact(r.bars_per_year) for r in results if r.bars_per_year is not None}
    if len(clocks) > 1:
        notes.append(f"annualized on different clocks ({', '.join(sorted(clocks))} bars a "
                     f"year): {', '.join(ANNUALIZED)} are not comparable")  # fmt: skip
        affected.update(ANNUALIZED)
    engines = {r.engine for r in results if isinstance(r.engine, str)}
    if len(engines) > 1:
        notes.append(f"computed by different engines ({', '.join(sorted(engines))}): each "
                     "defines its figures its own way")  # fmt: skip
        affected.update(MEASURES)
    return notes, affected


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(curve: Any, width: int = 60) -> str:
    """One line of block characters for an equity curve (values or [time, value] pairs)."""
    if not curve:
        return ""
    if isinstance(curve, dict):
        values = [float(v) for _, v in sorted(curve.items())]
    else:
        values = [float(p[1] if isinstance(p, list) else p) for p in curve]
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int(i * step))] for i in range(width)]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[int((v - lo) / span * (len(SPARKS) - 1))] for v in values)
