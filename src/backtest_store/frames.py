"""Records as pandas DataFrames, for notebooks (extra ``backtest-store[pandas]``).

``trades_frame``, ``results_frame`` and ``frame`` (any record type) make one row per
record and one column per field, with dtypes from the column facts: ``float64`` for
numeric columns (or the exact ``Decimal`` objects with ``exact=True``), nullable
``Int64`` for integers and ``boolean`` for booleans, ``datetime64[us, UTC]`` for
timestamps, ``datetime64`` (midnight) for dates, ``string`` for text, objects for
uuids and jsonb. Time series are left out of these frames; ``equity_frame`` gives a
result's (or a portfolio's) equity and drawdown, indexed by time when they were
stored with timestamps.

``series`` reads one stored curve, in any of the shapes the store meets: the
``[[timestamp, value], ...]`` pairs it writes for a time-indexed Series, an object keyed
by timestamp strings (the replaced service's shape, found in adopted databases), or a
plain list of values (indexed 0..n-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backtest_store._extras import need
from backtest_store.errors import SeriesNotLoadedError
from backtest_store.records import (
    NOT_LOADED,
    BacktestPortfolio,
    BacktestResult,
    BacktestTrade,
    Record,
)
from backtest_store.tables import TableSpec, spec_for

__all__ = ["equity_frame", "frame", "results_frame", "series", "trades_frame"]


def _pd() -> Any:
    return need("pandas", "pandas", "backtest_store.frames")


def trades_frame(trades: Iterable[BacktestTrade], *, exact: bool = False) -> Any:
    """One row per trade (``get_trades``' records), in the given order."""
    return _frame(spec_for(BacktestTrade), list(trades), exact)


def results_frame(results: Iterable[BacktestResult], *, exact: bool = False) -> Any:
    """One row per backtest (``list_backtests``/``top_backtests``' records); the equity
    and drawdown series are left out (see ``equity_frame``)."""
    return _frame(spec_for(BacktestResult), list(results), exact)


def frame(records: Iterable[Record], *, exact: bool = False) -> Any:
    """One row per record, for any one record type (optimization results, walk-forward
    windows, portfolios too); time series are left out."""
    rows = list(records)
    if not rows:
        raise ValueError(
            "frame() needs at least one record to know the columns; "
            "use trades_frame/results_frame for possibly empty lists"
        )
    return _frame(spec_for(type(rows[0])), rows, exact)


def equity_frame(result: BacktestResult | BacktestPortfolio) -> Any:
    """The equity curve and drawdown series of a result (columns ``equity`` and
    ``drawdown``; a portfolio has ``equity`` only), indexed by time when they were
    stored with timestamps, else by bar number."""
    pd = _pd()
    if isinstance(result, BacktestPortfolio):
        parts = {"equity": series(result.portfolio_equity_curve)}
    else:
        parts = {
            "equity": series(result.equity_curve),
            "drawdown": series(result.drawdown_series),
        }
    return pd.concat(parts, axis=1).astype("float64")


def series(value: Any) -> Any:
    """One stored curve as a pandas Series: time-indexed for ``[timestamp, value]`` pairs
    and for an object keyed by timestamps, else indexed 0..n-1."""
    pd = _pd()
    if value is NOT_LOADED:
        raise SeriesNotLoadedError(
            "this time series was not loaded: read the record with get_backtest (or a "
            "list query with with_series=True)"
        )
    if value is None:
        return pd.Series([], dtype="float64")
    if isinstance(value, dict):  # {"2023-01-03 00:00:00": 10000.0, ...}
        index = pd.to_datetime(list(value), format="ISO8601")
        return pd.Series(list(value.values()), index=index, dtype="float64").sort_index()
    if value and all(_is_pair(v) for v in value):
        stamps = [v[0] for v in value]
        index = pd.to_datetime(stamps, format="ISO8601")
        return pd.Series([v[1] for v in value], index=index, dtype="float64")
    return pd.Series(value, dtype="float64")


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _frame(spec: TableSpec[Any], rows: list[Any], exact: bool) -> Any:
    pd = _pd()
    for i, row in enumerate(rows):
        if type(row) is not spec.record:
            raise TypeError(f"record {i} is a {type(row).__name__}, not a {spec.record.__name__}")
    data = {}
    for name in spec.light_columns:
        values = [getattr(row, name) for row in rows]
        data[name] = _column(pd, spec.columns[name].kind, values, exact)
    return pd.DataFrame(data, columns=list(spec.light_columns))


def _column(pd: Any, kind: str, values: list[Any], exact: bool) -> Any:
    if kind == "numeric":
        if exact:
            return pd.Series(values, dtype="object")
        return pd.Series([float("nan") if v is None else float(v) for v in values], dtype="float64")
    if kind == "integer":
        return pd.Series(values, dtype="Int64")
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    if kind == "timestamptz":
        return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[us, UTC]")
    if kind == "date":
        return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
    if kind in ("varchar", "text"):
        return pd.Series(values, dtype="string")
    return pd.Series(values, dtype="object")  # uuid, jsonb
