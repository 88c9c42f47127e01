"""A page's charts, kept while the rows they are drawn from are unchanged.

A tearsheet's figures are work over its whole curve (3 ms for five years of days, more
than a second for a year of minutes), and their JSON is most of the page; the compare
page draws up to ten curves. Each app keeps them here, as the JSON the page embeds, made
once per state of their rows: a later view of an unchanged backtest reads its rows
without their series, and renders.

The key is the state of every row a figure is drawn from (``state``): the backtest's
``updated_at``, which its trigger sets on every UPDATE, and, for each child table, how
many rows it has and a hash of the id and ``updated_at`` of each, so that an insert, a
delete or an update of any one makes a new key. Figures are kept under the state of the
rows they were made from, never of rows read at another moment; a write between a page's
reads and its figures leaves that entry to be missed, not a stale chart to be shown. (A
write with triggers disabled, ``session_replication_role = replica``, is not seen:
restart the view after one.)

Pages that want the same figures at once share one making of them (``made``). At most
``max_bytes`` of JSON are kept, the least recently used going first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from operator import attrgetter
from typing import Any

from markupsafe import Markup, escape

from backtest_store.facts import KEYS
from backtest_store.serialize import figure_json

MAX_BYTES = 64 * 1024 * 1024
CHARTS = ("equity", "calendar", "rolling", "grid", "walk_forward")
Figures = dict[str, Any]


class FigureJSON(Markup):
    """A chart's figure as its ``data-figure`` attribute holds it: its JSON, escaped for
    the attribute as the template would escape it (markupsafe's ``escape``), made once."""


def serialized(figures: Figures) -> Figures:
    """``figures`` with each chart as its escaped JSON, made where the figures are (away
    from the event loop). A chart that is not drawn (None, empty) stays as it is."""
    return {
        name: FigureJSON(escape(figure_json(value))) if name in CHARTS and value else value
        for name, value in figures.items()
    }


def state(result: Any, children: Sequence[Sequence[Any]] = ()) -> Hashable:
    """The state of a backtest's row and of its children's rows (each a list of one
    table's records), as a key: the backtest's id and ``updated_at``, and for each child
    table how many rows it has and the hash of their ids and ``updated_at`` (a key of a
    few numbers, whatever the rows: a million trades are not kept twice)."""
    return (
        result.backtest_id,
        result.updated_at,
        *((len(rows), hash(tuple(map(attrgetter(KEYS[type(rows[0])], "updated_at"), rows))))
          if rows else (0, 0) for rows in children),
    )  # fmt: skip


class FigureCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._kept: OrderedDict[Hashable, tuple[Figures, int]] = OrderedDict()
        self._making: dict[tuple[Any, Hashable], asyncio.Task[Figures]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable) -> Figures | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        self._kept.move_to_end(key)
        return kept[0]

    def put(self, key: Hashable, figures: Figures) -> None:
        """Keep ``figures`` under ``key``; the least recently used go while more than
        ``max_bytes`` of JSON is kept (figures larger than that alone are not kept)."""
        size = sum(len(v) for v in figures.values() if isinstance(v, FigureJSON))
        if size > self.max_bytes:
            return
        old = self._kept.pop(key, None)
        if old is not None:
            self.size -= old[1]
        self._kept[key] = (figures, size)
        self.size += size
        while self.size > self.max_bytes:
            _, (_, dropped) = self._kept.popitem(last=False)
            self.size -= dropped

    async def made(self, key: Hashable, make: Callable[[], Awaitable[Figures]]) -> Figures:
        """The figures kept under ``key``, or those ``make()`` makes, one making for the
        pages that want them at once (``make`` keeps them, under the state it read). A page
        that goes away does not stop the making the others wait for."""
        kept = self.get(key)
        if kept is not None:
            return kept
        loop = asyncio.get_running_loop()
        making = self._making.get((loop, key))
        if making is None:
            making = loop.create_task(_call(make))
            self._making[(loop, key)] = making

            def done(task: asyncio.Task[Figures]) -> None:
                self._making.pop((loop, key), None)
                if not task.cancelled():
                    task.exception()  # seen: with every page gone, not logged as lost

            making.add_done_callback(done)
        return await asyncio.shield(making)


async def _call(make: Callable[[], Awaitable[Figures]]) -> Figures:
    return await make()
