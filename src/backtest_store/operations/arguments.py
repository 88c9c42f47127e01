"""The checks of the arguments every operation takes: ids, limits, times, pages, metric
names, parameter filters, and filter values checked like their columns (``StoreSettings``)."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from datetime import UTC, date, datetime
from typing import Any, TypeGuard
from uuid import UUID

from backtest_store import provenance
from backtest_store.columns import Column
from backtest_store.convert import NonFinite, Refused, converter
from backtest_store.errors import ValidationError
from backtest_store.operations.sql import METRICS
from backtest_store.preparer import RowPreparer
from backtest_store.records import AUTO
from backtest_store.tables import (
    RESULTS,
    TableSpec,
)
from backtest_store.values import plain_scalar

MAX_LIMIT = 10_000


class StoreSettings:
    """Validation settings of a store, with a cache of row preparers.

    ``fill=False`` stores records as given: None is NULL even where the column has a
    default, and no rank or data_points is computed (what ``import`` needs to copy rows
    exactly)."""

    def __init__(
        self, nonfinite: NonFinite, fill: bool = True, defaults: Mapping[str, Any] | None = None
    ) -> None:
        if nonfinite not in ("refuse", "null"):
            raise ValidationError("BacktestStore", "nonfinite", nonfinite, "'refuse' or 'null'")
        self.nonfinite: NonFinite = nonfinite
        self.fill = bool(fill)
        self.defaults = provenance.checked_defaults(defaults)
        self._known: dict[str, Any] | None = None  # defaults over what was detected, once
        self._cache: dict[tuple[str, tuple[str, ...]], RowPreparer] = {}

    def provenance(self, record: Any) -> dict[str, Any]:
        """The values of the provenance fields ``record`` leaves AUTO: the store's defaults,
        else (run_by, code_version) what was detected at the store's first save; None
        under ``fill=False``, which stores records exactly as given."""
        auto = [name for name in provenance.FILLED if getattr(record, name) is AUTO]
        if not auto:
            return {}
        if not self.fill:
            return dict.fromkeys(auto)
        if self._known is None:
            wanted = [n for n in provenance.DETECTED if n not in self.defaults]
            self._known = {**provenance.detect(wanted), **self.defaults}
        return {name: self._known.get(name) for name in auto}

    def preparer(self, spec: TableSpec[Any], columns: tuple[str, ...]) -> RowPreparer:
        key = (spec.name, columns)
        prep = self._cache.get(key)
        if prep is None:
            prep = self._cache[key] = RowPreparer(spec, columns, self.nonfinite, self.fill)
        return prep

    def argument(self, spec: TableSpec[Any], name: str, value: Any, *, method: str) -> Any:
        """Validate a filter argument like the column it is compared with (length aside)."""
        value = plain_scalar(value)  # numpy scalars; pandas.NA and NaT are None
        if value is None:
            return None
        column = spec.columns[name]
        if column.kind == "varchar":
            column = Column("text")  # a longer filter matches nothing; it is not an error
        try:
            return converter(column, "refuse")(value)
        except Refused as refused:
            limit = refused.limit or column.describe()
            raise ValidationError(method, name, value, limit, problem=refused.problem) from None


def is_series(value: Any) -> TypeGuard[Sized]:
    """A sequence of points: a list or tuple (of values or [timestamp, value] pairs), a
    numpy array or a pandas Series; not a dict, a string or NOT_LOADED."""
    return isinstance(value, list | tuple) or (
        hasattr(value, "__len__") and hasattr(value, "dtype") and getattr(value, "ndim", 0) == 1
    )


def unknown_metric(method: str, name: str, metric: Any) -> ValidationError:
    allowed = "one of " + ", ".join(sorted(METRICS))
    return ValidationError(method, name, metric, allowed, problem="is not a rankable metric")


def check_min_trades(method: str, min_trades: Any) -> int:
    min_trades = plain_scalar(min_trades)
    if type(min_trades) is not int or min_trades < 0:
        raise ValidationError(method, "min_trades", min_trades, "an int >= 0")
    return min_trades


MIN_ID_PREFIX = 6  # hex digits of a short id that the CLI and the web view take


def id_or_prefix(text: str) -> UUID | str | None:
    """A whole backtest id as given by a person; else the hex digits of a prefix of one
    (dashes left out, MIN_ID_PREFIX to 32 of them) for ``backtest_ids``; else None."""
    try:
        return UUID(text)
    except ValueError:
        pass
    digits = text.replace("-", "").lower()
    if not MIN_ID_PREFIX <= len(digits) <= 32 or any(c not in HEX for c in digits):
        return None
    return digits


HEX = frozenset("0123456789abcdef")


def check_limit(method: str, limit: Any, name: str = "limit") -> int:
    limit = plain_scalar(limit)
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(method, name, limit, f"an int from 1 to {MAX_LIMIT}")
    return limit


def check_id(method: str, name: str, value: Any) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(method, name, value, "a uuid.UUID", problem="is not a UUID")
    return value


def check_aware(method: str, name: str, value: Any) -> datetime | None:
    value = plain_scalar(value)
    if value is None:
        return None
    if type(value) is date:
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError(
            method, name, value, "a timezone-aware datetime (or a date, read as UTC midnight)"
        )
    return value


def page_key(method: str, after: Any, record: type[Any], key: str) -> tuple[datetime, UUID] | None:
    if after is None:
        return None
    if type(after) is not record or after.backtest_date is None or getattr(after, key) is None:
        raise ValidationError(
            method, "after", after, f"the last {record.__name__} of the previous page, as returned"
        )
    return (after.backtest_date, getattr(after, key))


def retention(
    method: str,
    settings: StoreSettings,
    older_than: Any,
    symbol: str | None,
    strategy_type: str | None,
) -> dict[str, Any]:
    """The checked arguments of a retention query: which backtests are old enough."""
    cutoff = check_aware(method, "older_than", older_than)
    if cutoff is None:
        raise ValidationError(method, "older_than", None, "a timezone-aware datetime")
    return {
        "older_than": cutoff,
        "symbol": settings.argument(RESULTS, "symbol", symbol, method=method),
        "strategy_type": settings.argument(RESULTS, "strategy_type", strategy_type, method=method),
    }


def parameters_filter(settings: StoreSettings, method: str, parameters: Any) -> Any:
    """A jsonb containment filter: a dict of parameter names to values."""
    if not isinstance(parameters, dict):
        raise ValidationError(method, "parameters", parameters,
                              "a dict of parameter names to values")  # fmt: skip
    return settings.argument(RESULTS, "parameters", parameters, method=method)


def origin(settings: StoreSettings, method: str, **values: Any) -> dict[str, Any]:
    """The provenance filters given (experiment, run_by, code_version, data_fingerprint:
    each checked like its column; tags: an object of strings, matched by containment)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "tags":
            provenance.check_tags(method, value)
            out[name] = settings.argument(RESULTS, "tags", value, method=method)
        else:
            out[name] = settings.argument(RESULTS, name, value, method=method)
    return out
