"""What a person or an assistant types to name a backtest, read one way for the web view
and the MCP server: the whole id, or a unique prefix of at least ``MIN_ID_PREFIX`` hex
digits of one, as git takes a short hash. (The CLI's twin over the sync store is
``cli.console.backtest_id``: the same rule, with exit codes.)

``BadArgument`` names the argument and says what it takes; ``NotFound`` says what is
missing. The web view answers them with 400 and 404, the MCP server with a tool error.
"""

from __future__ import annotations

from uuid import UUID

from backtest_store.aio import AsyncBacktestStore
from backtest_store.facts import MIN_ID_PREFIX, id_or_prefix


class BadArgument(ValueError):
    """A value that cannot be read: ``field`` names it, the message says what it takes."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(LookupError):
    """No backtest (or portfolio) has the id given."""


async def backtest_id(store: AsyncBacktestStore, text: str, field: str = "id") -> UUID:
    """The backtest ``text`` names: its whole id, or a unique prefix of one."""
    digits = id_or_prefix(text)
    if isinstance(digits, UUID):
        return digits
    if digits is None:
        raise BadArgument(field, f"{text[:40]!r} is not a backtest id: give the id, or at least "
                                 f"{MIN_ID_PREFIX} of its first hex digits")  # fmt: skip
    found = await store.backtest_ids(digits, limit=11)
    if not found:
        raise NotFound(f"no backtest id starts with {text}")
    if len(found) > 1:
        count = len(found) if len(found) < 11 else "over 10"
        raise BadArgument(field, f"{text} is ambiguous: {count} backtests start with it")
    return found[0]
