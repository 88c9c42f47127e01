"""The row preparer: a record to the row values of given columns, validated. The common
case runs a compiled fast path (codegen.py); anything else the converters, which decide
exactly and word the error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import InvalidOperation
from operator import attrgetter
from typing import Any

from backtest_store.codegen import Slow, row_preparer, rows_preparer
from backtest_store.columns import Column
from backtest_store.convert import (
    NOT_FINITE,
    WAY_OUT,
    Converter,
    Missing,
    NonFinite,
    Refused,
    converter,
    not_finite,
)
from backtest_store.errors import ValidationError
from backtest_store.rules import unit
from backtest_store.tables import TableSpec
from backtest_store.values import is_missing

_NO_OVERRIDE: dict[str, Any] = {}

# What a compiled fast path raises when a value is not the common case.
FALLBACK = (Slow, Missing, Refused, InvalidOperation, OverflowError, AttributeError)


class RowPreparer:
    """Validates records of one table and turns them into row tuples for given columns.

    ``row`` is compiled once per table and column set: the common case (a value of the
    expected type, well inside its limits) is a few inline checks per column, which keeps
    bulk saves close to the speed of a raw COPY. Anything else falls back to the
    converters, which decide exactly and word the error.
    """

    def __init__(
        self,
        spec: TableSpec[Any],
        columns: tuple[str, ...],
        nonfinite: NonFinite,
        fill: bool = True,
    ) -> None:
        self.spec = spec
        self.columns = columns
        self.fill = fill  # None gets the column's default (False: None is NULL)
        self._get = attrgetter(*columns)
        self._plan: list[tuple[str, Column, Converter]] = []
        for name in columns:
            column = spec.columns[name]
            self._plan.append((name, column, converter(column, nonfinite)))
        # compiled fast paths, one per set of overridden columns (a handful: the key,
        # the parent, a number, database-filled columns)
        self._fast: dict[tuple[str, ...], Callable[[Any, dict[str, Any]], tuple[Any, ...]]] = {}
        self._bulk: dict[tuple[str, ...], Callable[..., Iterator[tuple[Any, ...]]]] = {}

    def refuse(self, name: str, value: Any, refused: Refused, index: int | None) -> ValidationError:
        column = self.spec.columns[name]
        problem = refused.problem
        if problem.startswith("overflows") and unit(self.spec.name, name) == "fraction":
            problem += "; it is a fraction: 0.52 = 52 %"  # win_rate=52 meant 52 %
        return ValidationError(
            self.spec.record.__name__,
            name,
            value,
            refused.limit or column.describe(),
            index=index,
            problem=problem,
        )

    def row(
        self, record: Any, index: int | None = None, override: dict[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """The validated values of ``record`` (with ``override`` applied) in column order."""
        override = override or _NO_OVERRIDE
        try:
            return self.fast(tuple(override))(record, override)
        except FALLBACK:
            return self.checked_row(record, index, override)  # raises, naming the field

    def bulk(self, parent: str, number: str | None) -> Callable[..., Iterator[tuple[Any, ...]]]:
        """The compiled loop over child records: ``rows(records, parent_id, first,
        checked)`` (codegen.rows_preparer); ``parent_id`` and the numbers from ``first``
        are the caller's to check, once."""
        key = ("bulk", parent, number or "")
        made = self._bulk.get(key)
        if made is None:
            made = self._bulk[key] = rows_preparer(self.spec.name, self.spec.record, self._plan,
                                                   parent, number, self.fill, FALLBACK)  # fmt: skip
        return made

    def fast(self, given: tuple[str, ...]) -> Callable[[Any, dict[str, Any]], tuple[Any, ...]]:
        """The compiled fast path for records whose ``given`` columns are overridden. It
        raises one of ``FALLBACK`` for anything but the common case: the caller then calls
        ``checked_row``, which decides exactly (``row`` does both)."""
        fast = self._fast.get(given)
        if fast is None:
            fast = self._fast[given] = self._compile(frozenset(given))
        return fast

    def _compile(
        self, overridden: frozenset[str]
    ) -> Callable[[Any, dict[str, Any]], tuple[Any, ...]]:
        return row_preparer(self.spec.name, self.spec.record, self._plan, overridden, self.fill)

    def _every_nonfinite(self, record: Any, first: str, refused: Refused) -> Refused:
        """The refusal of a non-finite number, naming the record's other non-finite
        numbers too, and the way to store them all (as NULL)."""
        others = [
            f"{name} = {getattr(record, name)!r}"
            for name, column, _ in self._plan
            if name != first
            and column.kind in ("numeric", "integer")
            and not_finite(getattr(record, name))
        ]
        also = f"; so are {', '.join(others)}" if others else ""
        return Refused(NOT_FINITE + also + WAY_OUT, refused.limit)

    def checked_row(
        self, record: Any, index: int | None = None, override: dict[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """The slow, exact path: each value through its converter, errors worded."""
        if type(record) is not self.spec.record:
            raise ValidationError(
                self.spec.record.__name__,
                "(record)",
                record,
                f"a {self.spec.record.__name__}",
                index=index,
                problem="is not of the right type",
            )
        values = self._get(record)
        if len(self.columns) == 1:
            values = (values,)
        out = []
        override = override or {}
        for (name, column, convert), value in zip(self._plan, values, strict=True):
            if name in override:
                value = override[name]
            if value is not None and is_missing(value):
                value = None  # pandas.NA, NaT
            if value is None:
                if column.default is not None and self.fill:
                    value = column.default  # the server default, as the catalog test proves
                elif column.not_null and not column.db_fills:
                    raise self.refuse(name, None, Refused("is required", "NOT NULL"), index)
                out.append(value)
                continue
            try:
                out.append(convert(value))
            except Refused as refused:
                if refused.problem == NOT_FINITE:
                    refused = self._every_nonfinite(record, name, refused)
                raise self.refuse(name, value, refused, index) from None
            except (InvalidOperation, OverflowError):  # exotic Decimal contexts
                raise self.refuse(name, value, Refused("is not a valid number"), index) from None
        return tuple(out)
