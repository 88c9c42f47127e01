"""The code the package writes at run time: the row preparers' fast paths (preparer.py)
and the record makers (``slots_maker``). Each source is registered with ``linecache``, so a
traceback through generated code shows its lines; each guard is a check that raises,
which ``python -O`` keeps (an ``assert`` it strips)."""

from __future__ import annotations

import dataclasses
import hashlib
import linecache
from collections.abc import Callable
from typing import Any


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
