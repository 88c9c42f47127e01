"""The list page's state, read from its URL: filters, sort and page. Every state is in
the URL, so a link can be shared; a value that cannot be read is a ``BadRequest`` that
names the field and says what it takes (a 400 page, never a 500).

- ``symbol``: one or more, repeated or separated by commas or spaces (any of them);
- ``strategy``; ``since`` and ``until`` (run dates, YYYY-MM-DD, until exclusive);
- ``min_trades``;
- ``params``: ``fast=10 slow=50 | fast=20``: ``|`` separates alternatives (any may hold),
  spaces the conditions of one (all must hold); a value that reads as JSON is taken as
  such (10 is a number), else as text; quote a value with spaces;
- ``where``: metric ranges, ``sharpe_ratio >= 1, max_drawdown > -0.2`` (all must hold);
- ``experiment``, ``run_by``, ``code_version`` (each exactly) and ``tag`` (``key=value``,
  repeatable: every pair must hold): where the runs came from;
- ``sort`` (``backtest_date`` or a rankable metric) and ``order`` (``desc`` or ``asc``);
- ``after`` or ``before``: the page's cursor, ``<sort value>~<backtest id>``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from backtest_store import pairs
from backtest_store.facts import MAX_ALTERNATIVES, MAX_RANGES, RANGED, SORTS, Cursor
from backtest_store.lookup import BadArgument
from backtest_store.metrics import units
from backtest_store.pairs import MAX_DIGITS, MAX_VALUE, BadPair

PAGE = 50
MAX_SYMBOLS = 50
MAX_CONDITIONS = 20  # key=value conditions of one alternative
# The list page's query parameters: any other name is refused (a 400 that lists these).
NAMES = ("symbol", "strategy", "since", "until", "min_trades", "params", "where", "sort",
         "order", "after", "before", "experiment", "run_by", "code_version", "tag")  # fmt: skip
ORIGIN = ("experiment", "run_by", "code_version")  # where the runs came from, exactly


# A URL's value that cannot be read: ``field`` names it (a 400).
BadRequest = BadArgument


@dataclass(frozen=True)
class Listing:
    symbols: tuple[str, ...] = ()
    strategy: str | None = None
    since: date | None = None
    until: date | None = None
    min_trades: int = 0
    params: str = ""
    alternatives: tuple[dict[str, Any], ...] = ()
    where: str = ""
    ranges: tuple[tuple[str, str, Decimal], ...] = ()
    sort: str = "backtest_date"
    descending: bool = True
    after: Cursor | None = None
    before: Cursor | None = None
    origin: dict[str, Any] = field(default_factory=dict)  # experiment, ..., tags
    query: dict[str, Any] = field(default_factory=dict)  # the filters as given, for links

    def arguments(self) -> dict[str, Any]:
        """browse_backtests' keyword arguments."""
        return {
            "symbols": list(self.symbols) or None, "strategy_type": self.strategy,
            "since": _midnight(self.since), "until": _midnight(self.until),
            "min_trades": self.min_trades, "parameters_any": list(self.alternatives) or None,
            "ranges": list(self.ranges) or None, "sort": self.sort,
            "descending": self.descending, "after": self.after, "before": self.before,
            "limit": PAGE + 1,  # one more: is there a page beyond?
            **self.origin,
        }  # fmt: skip

    def link(self, **changes: str | None) -> str:
        """This listing's query string with some values changed (None: left out)."""
        values: dict[str, Any] = {**self.query, "sort": self.sort,
                                  "order": "desc" if self.descending else "asc"}  # fmt: skip
        values.update(changes)
        return "?" + urlencode({k: v for k, v in values.items() if v}, doseq=True)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def known(params: Any, names: tuple[str, ...]) -> None:
    """Refuse a query parameter that the page does not take (it would be ignored, and the
    page would look filtered when it is not)."""
    for name in params:
        if name not in names:
            takes = ", ".join(names) if names else "no query parameters"
            raise BadRequest(name, f"this page does not take {name!r}; it takes {takes}")


def listing(params: Any) -> Listing:
    """The Listing of a request's query parameters (a Starlette ``QueryParams``)."""
    known(params, NAMES)
    query: dict[str, Any] = {}
    symbols: list[str] = []
    for value in params.getlist("symbol"):
        symbols += [s for s in re.split(r"[,\s]+", value) if s]
    if len(symbols) > MAX_SYMBOLS:
        raise BadRequest("symbol", f"at most {MAX_SYMBOLS} symbols")
    if symbols:
        query["symbol"] = ",".join(symbols)
    strategy = params.get("strategy") or None
    if strategy:
        query["strategy"] = strategy
    since, until = _day(params, "since", query), _day(params, "until", query)
    min_trades = _count(params, "min_trades", query)
    text = (params.get("params") or "").strip()
    alternatives = _alternatives(text)
    if text:
        query["params"] = text
    where = (params.get("where") or "").strip()
    ranges = _ranges(where)
    if where:
        query["where"] = where
    sort = params.get("sort") or "backtest_date"
    if sort not in SORTS:
        raise BadRequest("sort", "one of " + ", ".join(SORTS))
    order = params.get("order") or "desc"
    if order not in ("desc", "asc"):
        raise BadRequest("order", "desc or asc")
    origin: dict[str, Any] = {}
    for name in ORIGIN:
        given = params.get(name) or None
        if given is not None:
            if len(given) > MAX_VALUE:
                raise BadRequest(name, f"at most {MAX_VALUE} characters")
            origin[name] = query[name] = given
    tags = tag_pairs(params.getlist("tag"))
    if tags:
        origin["tags"] = tags
        query["tag"] = [f"{k}={v}" for k, v in tags.items()]
    after, before = (
        cursor(params.get("after"), "after", sort),
        cursor(params.get("before"), "before", sort),
    )
    if after is not None and before is not None:
        raise BadRequest("before", "give after or before, not both")
    return Listing(
        symbols=tuple(symbols), strategy=strategy, since=since, until=until,
        min_trades=min_trades, params=text, alternatives=alternatives, where=where,
        ranges=ranges, sort=sort, descending=order == "desc", after=after, before=before,
        origin=origin, query=query,
    )  # fmt: skip


def tag_pairs(values: list[str]) -> dict[str, str]:
    """``tag=key=value`` (repeatable): runs whose tags hold every pair."""
    try:
        return pairs.tags(values)
    except BadPair as error:
        raise BadRequest("tag", str(error)) from None


def _day(params: Any, name: str, query: dict[str, str]) -> date | None:
    found = day(params.get(name), name)
    if found is not None:
        query[name] = params.get(name)
    return found


def day(text: str | None, name: str) -> date | None:
    """A date from the URL (YYYY-MM-DD), None when not given."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _count(params: Any, name: str, query: dict[str, str]) -> int:
    text = params.get(name)
    if not text:
        return 0
    query[name] = text
    return whole(text, name, 0)


_WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes "²", int() not


def whole(text: str, name: str, least: int) -> int:
    """A whole number from the URL, ``least`` to 999999999."""
    if _WHOLE.fullmatch(text) is None or int(text) < least:
        raise BadRequest(name, f"{text[:20]!r} is not a whole number from {least} to 999999999")
    return int(text)


def _alternatives(text: str) -> tuple[dict[str, Any], ...]:
    if not text:
        return ()
    out = []
    for part in text.split("|"):
        try:
            words = shlex.split(part)
        except ValueError as error:
            raise BadRequest("params", f"{part.strip()!r}: {error}") from None
        if not words:
            raise BadRequest("params", "an empty alternative: give key=value on each side of |")
        if len(words) > MAX_CONDITIONS:
            raise BadRequest("params", f"at most {MAX_CONDITIONS} conditions in an alternative")
        try:
            out.append(pairs.parameters(words))
        except BadPair as error:
            raise BadRequest("params", str(error)) from None
    if len(out) > MAX_ALTERNATIVES:
        raise BadRequest("params", f"at most {MAX_ALTERNATIVES} alternatives")
    return tuple(out)


_RANGE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*(\S+?)\s*(%?)\s*$")


def _ranges(text: str) -> tuple[tuple[str, str, Decimal], ...]:
    """``where``'s conditions. A metric the page shows in percent takes its value as the
    page shows it (``-20%``) or as the fraction it is stored as (``-0.2``); a bare number
    out of -1..1 is refused, since it reads as either."""
    if not text:
        return ()
    parts = text.split(",")
    if len(parts) > MAX_RANGES:
        raise BadRequest("where", f"at most {MAX_RANGES} conditions")
    out = []
    for part in parts:
        match = _RANGE.match(part)
        if match is None:
            raise BadRequest("where", f"{part.strip()[:40]!r}: give metric >= number (>=, <=, > "
                                      "or <), conditions separated by commas")  # fmt: skip
        name, op, number, sign = match.groups()
        if name not in RANGED:
            raise BadRequest("where", f"{name!r} is not a metric: one of " + ", ".join(RANGED))
        if sum(c.isdigit() for c in number) > MAX_DIGITS:
            raise BadRequest("where", f"{name}: a number of at most {MAX_DIGITS} digits")
        try:
            value = Decimal(number)
        except InvalidOperation:
            raise BadRequest("where", f"{number!r} is not a number") from None
        if not value.is_finite():
            raise BadRequest("where", f"{number!r} is not a finite number")
        fraction = units().get(name) == "fraction"
        if sign and not fraction:
            raise BadRequest("where", f"{name} is not a percentage: give {number} without %")
        if sign:
            value = value / 100
        elif fraction and not -1 <= value <= 1:
            raise BadRequest("where", f"{name} is a fraction (0.15 = 15 %), shown in percent: "
                                      f"{number} is out of -1..1; write {number}% for "
                                      "percent")  # fmt: skip
        out.append((name, op, value))
    return tuple(out)


def cursor_text(value: Any, key: UUID | None) -> str:
    """A cursor for the URL: the sort value (empty for none), a tilde, the id."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{text}~{key}"


def cursor(text: str | None, name: str, sort: str) -> Cursor | None:
    """A page's cursor from the URL (``cursor_text``'s), None when not given."""
    if not text:
        return None
    value, sep, key = text.rpartition("~")
    problem = f"{text!r} is not a page cursor (<{sort} value>~<backtest id>)"
    if not sep:
        raise BadRequest(name, problem)
    try:
        the_id = UUID(key)
        if sort == "backtest_date":
            when = datetime.fromisoformat(value)
            if when.tzinfo is None:
                raise ValueError
            return (when, the_id)
        if not value:
            return (None, the_id)
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError
        return (number, the_id)
    except (ValueError, InvalidOperation):
        raise BadRequest(name, problem) from None
