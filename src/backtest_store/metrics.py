"""The result metrics and their units, read from the columns' COMMENTs, and how a value
is shown in its unit (the command line, the HTML report)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from backtest_store.schema import files
from backtest_store.tables import RESULTS

# The result columns that are measurements of the run (not its set-up or bookkeeping).
MEASURES = tuple(
    name
    for name, column in RESULTS.columns.items()
    if column.kind in ("numeric", "integer") and name not in ("initial_capital", "fees", "slippage")
)


@functools.cache
def units() -> dict[str, str]:
    """Each result column's unit, read from its COMMENT in the migration files."""
    return {
        column: _unit(comment)
        for (table, column), comment in files.column_comments().items()
        if table == RESULTS.name
    }


def _unit(comment: str) -> str:
    text = comment.lower()
    if "fraction" in text:
        return "fraction"
    if "account currency" in text:
        return "currency"
    if "in days" in text:
        return "days"
    if "in seconds" in text:
        return "seconds"
    if "dimensionless" in text:
        return "ratio"
    if text.startswith(("number of", "trades with")):
        return "count"
    return ""


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
    return "" if value is None else f"{float(value) * 100:.2f} %"


def number(value: Any, places: int = 4) -> str:
    if value is None:
        return ""
    return f"{float(value):,.{places}f}"


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
