"""key=value pairs as every front end reads them: the CLI's ``--param`` and ``--tag``,
the web list's ``params`` and ``tag``, the MCP tools' ``param``. One reading and one set
of limits; a pair that breaks them raises ``BadPair``, which names the limit, and each
front end words it as its own refusal (exit 2, HTTP 400, a tool error)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MAX_VALUE = 200  # characters of one value (a tag pair: of the pair)
MAX_NESTING = 8  # levels of [ and { in one parameter value
MAX_DIGITS = 30  # digits of a number in a parameter value
MAX_TAGS = 20  # tag pairs in one filter

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class BadPair(ValueError):
    """A pair that is not key=value, or breaks a limit; the message says which."""


def split(pair: str, example: str) -> tuple[str, str]:
    """``key=value`` as (key, value): the first ``=`` splits, the key is not empty."""
    key, sep, text = pair.partition("=")
    if not sep or not key:
        raise BadPair(f"{pair[:40]!r}: give key=value ({example})")
    return key, text


def value(key: str, text: str) -> Any:
    """A parameter's value: JSON when it reads as JSON (10 is a number, true a boolean),
    else the text; its size, nesting and digits capped, so that no value can exhaust the
    parser."""
    if len(text) > MAX_VALUE:
        raise BadPair(f"{key}: a value of at most {MAX_VALUE} characters")
    depth = most = 0
    for char in text:
        depth += 1 if char in "[{" else -1 if char in "]}" else 0
        most = max(most, depth)
    if most > MAX_NESTING:
        raise BadPair(f"{key}: at most {MAX_NESTING} levels of [ and {{ }}")
    for match in _NUMBER.finditer(text):
        if sum(c.isdigit() for c in match.group()) > MAX_DIGITS:
            raise BadPair(f"{key}: a number of at most {MAX_DIGITS} digits")
    try:
        return json.loads(text)
    except ValueError:  # JSONDecodeError, and numbers past Python's own limits
        return text


def parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``fast=10 slow=50``: the parameters a run must hold (a jsonb containment filter)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, text = split(pair, "fast=10")
        out[key] = value(key, text)
    return out


def tags(pairs: Iterable[str]) -> dict[str, str]:
    """``universe=sp500``: the tags a run must hold (values are text)."""
    given = list(pairs)
    if len(given) > MAX_TAGS:
        raise BadPair(f"at most {MAX_TAGS} tags")
    out: dict[str, str] = {}
    for pair in given:
        key, text = split(pair, "universe=sp500")
        if len(pair) > MAX_VALUE:
            raise BadPair(f"at most {MAX_VALUE} characters")
        out[key] = text
    return out
