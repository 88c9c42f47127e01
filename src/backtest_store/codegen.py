"""The code the package writes at run time: the row preparers' fast paths (preparer.py)
and the record makers (``slots_maker``). Each source is registered with ``linecache``, so a
traceback through generated code shows its lines; each guard is a check that raises,
which ``python -O`` keeps (an ``assert`` it strips)."""

from __future__ import annotations

import dataclasses
import hashlib
import linecache
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from backtest_store.columns import Column


class Slow(Exception):
    """The fast path met something it does not decide: take the exact path."""


def row_preparer(
    table: str,
    record: type[Any],
    plan: list[tuple[str, Column, Callable[[Any], Any]]],
    overridden: frozenset[str],
    fill: bool,
) -> Callable[[Any, dict[str, Any]], tuple[Any, ...]]:
    """Compile a row preparer's fast path: ``row(record, override)``, the values of the
    columns of ``plan`` (name, facts, converter) with inline type and range checks, the
    ``overridden`` columns' values taken from ``override``. What the inline checks do not
    decide raises ``Slow`` (or goes to the column's converter), and the preparer takes the
    exact path, which words the error."""
    env = _env(record)
    lines = ["def row(record, override):", "    if type(record) is not Record: raise Slow"]
    for i, (name, column, convert) in enumerate(plan):
        source = f"override[{name!r}]" if name in overridden else f"record.{name}"
        lines.extend("    " + line for line in _column(i, name, column, convert, source, fill, env))
    lines.append(f"    return ({', '.join(f'v{i}' for i in range(len(plan)))},)")
    row: Callable[[Any, dict[str, Any]], tuple[Any, ...]] = compile_function(
        lines, "row", env, f"row preparer {table}"
    )
    return row


def rows_preparer(
    table: str,
    record: type[Any],
    plan: list[tuple[str, Column, Callable[[Any], Any]]],
    parent: str,
    number: str | None,
    fill: bool,
    fallback: tuple[type[Exception], ...],
) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """Compile the bulk fast path of child rows: ``rows(records, parent_id, first,
    checked)``, a generator of each record's values as ``row_preparer``'s make them, the
    ``parent`` column given ``parent_id`` and the ``number`` column ``first`` + the record's
    place, both checked by the caller once for all. A record the inline checks do not
    decide (it raises one of ``fallback``) is ``checked(record, place)``, the exact path.
    One loop in generated code: a million rows make no million calls."""
    env = _env(record)
    env["FALLBACK"] = fallback
    lines = [
        "def rows(records, parent_id, first, checked):",
        "    i = -1",
        "    for record in records:",
        "        i += 1",
        "        try:",
        "            if type(record) is not Record: raise Slow",
    ]
    for i, (name, column, convert) in enumerate(plan):
        if name in (parent, number):
            lines.append(f"            v{i} = {'parent_id' if name == parent else 'first + i'}")
            continue
        source = f"record.{name}"
        body = _column(i, name, column, convert, source, fill, env)
        lines.extend("            " + line for line in body)
    lines += [
        "        except FALLBACK:",
        "            yield checked(record, i)",
        "            continue",
        f"        yield ({', '.join(f'v{i}' for i in range(len(plan)))},)",
    ]
    rows: Callable[..., Iterator[tuple[Any, ...]]] = compile_function(
        lines, "rows", env, f"rows preparer {table}"
    )
    return rows


@lru_cache(maxsize=256)
def unset_finder(names: tuple[str, ...]) -> Callable[[Iterable[Any]], list[str]]:
    """Compile ``unset(records)``: those of ``names`` that no record sets (None in every
    one), in one loop that stops reading a field once a record sets it. Four times
    cheaper than a scan per field with ``attrgetter`` (a field read by bytecode is
    specialised to its slot), which matters over a million trades."""
    for name in names:
        if not name.isidentifier():  # column names come from the table facts
            raise ValueError(f"unset_finder: {name!r} is not a column name")
    flags = [f"u{i}" for i in range(len(names))]
    lines = ["def unset(records):", *(f"    {u} = True" for u in flags), "    for r in records:"]
    lines += [
        f"        if {u} and r.{n} is not None: {u} = False"
        for u, n in zip(flags, names, strict=True)
    ]
    lines.append(f"    return [n for n, u in zip(NAMES, ({', '.join(flags)},)) if u]")
    unset: Callable[[Iterable[Any]], list[str]] = compile_function(
        lines, "unset", {"NAMES": names}, "unset finder"
    )
    return unset


def _env(record: type[Any]) -> dict[str, Any]:
    return {
        "Record": record, "Slow": Slow, "Decimal": Decimal,
        "date": date, "UUID": UUID, "repr": repr, "type": type, "len": len,
    }  # fmt: skip


def _column(
    i: int, name: str, column: Column, convert: Callable[[Any], Any], source: str, fill: bool,
    env: dict[str, Any],
) -> list[str]:  # fmt: skip
    """The source lines that set v<i> to the checked value of ``source``."""
    if not name.isidentifier():  # column names come from the table facts
        raise ValueError(f"row_preparer: {name!r} is not a column name")
    env[f"convert_{i}"] = convert
    lines = [f"v{i} = {source}"]
    if column.default is not None and fill:
        env[f"default_{i}"] = column.default
        return [*lines, f"if v{i} is None: v{i} = default_{i}", f"else: v{i} = convert_{i}(v{i})"]
    none = "raise Slow" if column.not_null and not column.db_fills else "pass"
    return [*lines, f"if v{i} is None: {none}", *_fast_check(i, column, env)]


def _fast_check(i: int, column: Column, env: dict[str, Any]) -> list[str]:
    """Source lines that check v<i> (known not None) inline, or hand it to its converter."""
    v, convert = f"v{i}", f"convert_{i}"
    kind = column.kind
    if kind == "numeric":
        bound = column.numeric_limit
        # Floats a hair inside the bound take the fast path; the rest is decided exactly.
        env[f"fbound_{i}"] = float(bound) * (1 - 1e-9)
        env[f"bound_{i}"] = bound
        return [
            f"elif type({v}) is float and -fbound_{i} < {v} < fbound_{i}: {v} = Decimal(repr({v}))",
            f"elif type({v}) is int and -bound_{i} < {v} < bound_{i}: pass",
            f"else: {v} = {convert}({v})",
        ]
    if kind in ("varchar", "text"):
        too_long = f" or len({v}) > {column.length}" if column.length is not None else ""
        return [
            f"elif type({v}) is not str{too_long} or not {v}.isascii() or '\\x00' in {v}:",
            f"    {v} = {convert}({v})",
        ]
    if kind == "integer":
        return [
            f"elif type({v}) is not int or not -2147483648 <= {v} <= 2147483647:",
            f"    {v} = {convert}({v})",
        ]
    if kind == "date":
        return [f"elif type({v}) is not date: {v} = {convert}({v})"]
    if kind == "uuid":
        return [f"elif type({v}) is not UUID: {v} = {convert}({v})"]
    return [f"else: {v} = {convert}({v})"]


def compile_function(lines: list[str], name: str, env: dict[str, Any], label: str) -> Any:
    """Compile the source ``lines`` defining function ``name`` over ``env`` and return it.

    The source is kept in ``linecache`` under a name made of ``label`` and the source's
    hash: the same source compiled twice shares one entry, so the cache grows with the
    distinct functions, not with the calls."""
    source = "\n".join(lines) + "\n"
    digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:12]
    filename = f"<backtest_store {label} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), env, namespace)
    return namespace[name]


def slots_maker(
    cls: type[Any], values: dict[str, str], constants: dict[str, Any] | None = None
) -> Callable[[Any], Any]:
    """Compile ``make(v)``: an instance of the frozen slots dataclass ``cls`` whose each
    field is the expression ``values[field]`` (over ``v`` and ``constants``); ten times
    cheaper than ``cls.__init__`` (a trade: 3.8 against 0.4 us).

    ``__init__`` must store each field through ``object.__setattr__``, by name, because
    the class is frozen. Instead a plain twin class with the very same slots, in the same
    order, is filled by ordinary attribute stores, and the object then becomes a ``cls``
    by ``__class__`` assignment, which Python allows between classes of one layout (and
    refuses, with TypeError, otherwise). Only for classes whose ``__init__`` does nothing
    else (no ``__post_init__``); tests hold every maker's object equal to ``__init__``'s.
    """
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"slots_maker: {cls.__name__} has a __post_init__, which it would skip")
    fields = [f.name for f in dataclasses.fields(cls)]
    if set(values) != set(fields):
        raise ValueError(
            f"slots_maker: {cls.__name__} has the fields {sorted(fields)}, given {sorted(values)}"
        )
    twin = type(f"{cls.__name__}Twin", (), {"__slots__": cls.__slots__})
    lines = ["def make(v):", "    o = new(Twin)"]
    lines += [f"    o.{name} = {values[name]}" for name in fields]
    lines += ["    o.__class__ = Cls", "    return o"]
    env = {**(constants or {}), "new": object.__new__, "Twin": twin, "Cls": cls}
    make: Callable[[Any], Any] = compile_function(lines, "make", env, f"{cls.__name__} maker")
    return make
