"""The row makers: result rows to records (compiled once per column list) and to the
summary's statistics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from psycopg.rows import BaseRowFactory

from backtest_store.analytics import SummaryStats
from backtest_store.codegen import slots_maker
from backtest_store.records import (
    NOT_LOADED,
)
from backtest_store.tables import (
    TableSpec,
)


class RecordRow:
    """Rows to records, a psycopg row factory; series a query left out become NOT_LOADED.
    ``of(sql)``: the same for one statement, which reads the result's column names once,
    the first time, and keeps the maker (a statement names its columns: the same text
    gives the same columns). Reading 54 names from each result cost a fifth of a one-row
    read's overhead."""

    __slots__ = ("spec",)

    def __init__(self, spec: TableSpec[Any]) -> None:
        self.spec = spec

    def __call__(self, cursor: Any) -> Any:
        # the names straight from the result: ``cursor.description`` would build a
        # Column object per column on every call, a third of a one-row read's cost
        res = cursor.pgresult
        names = tuple(res.fname(i).decode() for i in range(res.nfields)) if res else ()
        return _record_maker(self.spec, names)

    def of(self, sql: Any) -> BaseRowFactory[Any]:
        if not isinstance(sql, str):
            return self
        key = (self.spec, sql)

        def factory(cursor: Any) -> Any:
            maker = _BY_STATEMENT.get(key)
            if maker is None:
                maker = self(cursor)
                if cursor.pgresult is not None and len(_BY_STATEMENT) < MAX_STATEMENTS:
                    _BY_STATEMENT[key] = maker
            return maker

        return factory


MAX_STATEMENTS = 1024  # the statements the operations render are a few hundred at most
_BY_STATEMENT: dict[tuple[TableSpec[Any], str], Callable[[Any], Any]] = {}


def record_row(spec: TableSpec[Any]) -> RecordRow:
    """Rows to records (``RecordRow``)."""
    return RecordRow(spec)


@lru_cache(maxsize=256)
def _record_maker(spec: TableSpec[Any], names: tuple[str, ...]) -> Callable[[Any], Any]:
    """A compiled ``values -> record`` for one column list (see ``slots_maker``). Fields
    the query left out: series NOT_LOADED, the rest their default."""
    unknown = set(names) - set(spec.columns)
    if unknown:  # column names come from the table facts: a query of another table
        raise AssertionError(f"{spec.name} has no columns {sorted(unknown)}")
    position = {name: i for i, name in enumerate(names)}
    values: dict[str, str] = {}
    constants: dict[str, Any] = {}
    for field in dataclasses.fields(spec.record):
        if field.name in position:
            values[field.name] = f"v[{position[field.name]}]"
        elif field.name in spec.series:
            values[field.name] = "NOT_LOADED"
            constants["NOT_LOADED"] = NOT_LOADED
        elif field.default is not dataclasses.MISSING:
            values[field.name] = f"default_{field.name}"
            constants[f"default_{field.name}"] = field.default
        else:
            raise AssertionError(f"{spec.name}: a query left out required {field.name}")
    return slots_maker(spec.record, values, constants)


@lru_cache(maxsize=1)
def _stats_maker() -> Callable[[Any], SummaryStats]:
    """SummaryStats from a summary row (its fields after the four grouping columns); a
    summary by symbol has a row per symbol."""
    names = [f.name for f in dataclasses.fields(SummaryStats)]
    return slots_maker(SummaryStats, {name: f"v[{4 + i}]" for i, name in enumerate(names)})
