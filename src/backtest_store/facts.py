"""The facts of the API that the faces (the CLI, the web view, the MCP server) build on,
from where they are kept: which metrics rank and which way is better, the sorts a browse
takes, the limits of a read and of a browse's filters, the columns a browse ranges over,
a page's cursor, the trades' columns, the series a result holds and each record's key.
Nothing is defined here: each name is the one its query or operation enforces."""

from __future__ import annotations

from backtest_store.operations.arguments import MAX_LIMIT, MIN_ID_PREFIX, id_or_prefix
from backtest_store.operations.browse import MAX_ALTERNATIVES, MAX_RANGES, RANGED, SORTS, Cursor
from backtest_store.operations.sql import METRICS
from backtest_store.tables import ALL, RESULTS, TRADES

TRADE_COLUMNS = TRADES.column_names  # the trades table's columns, in order
SERIES = RESULTS.series  # a result's time series, left out of lists unless asked for
KEYS: dict[type, str] = {spec.record: spec.key for spec in ALL}  # a record's primary key

__all__ = [
    "KEYS",
    "MAX_ALTERNATIVES",
    "MAX_LIMIT",
    "MAX_RANGES",
    "METRICS",
    "MIN_ID_PREFIX",
    "RANGED",
    "SERIES",
    "SORTS",
    "TRADE_COLUMNS",
    "Cursor",
    "id_or_prefix",
]
