"""Where a result came from, as the store records it without being asked: who ran it
(the login name of the saving process), with which code (the git commit of the working
directory's repository, ``+dirty`` when it has uncommitted changes), and on which data
(a digest of the price bars, for the adapters).

A record's ``experiment``, ``run_by``, ``code_version`` and ``tags`` are ``AUTO`` unless
the caller gives them: a save fills them from the store's ``defaults`` and, for
``run_by`` and ``code_version``, from what ``detect`` finds once per store, never per
save. An explicit value, None included, wins.
"""

from __future__ import annotations

import getpass
import hashlib
import math
import os
import subprocess
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from backtest_store.errors import ValidationError
from backtest_store.values import is_missing, plain_scalar


class Origin(TypedDict, total=False):
    """The filters by where runs came from that the list reads take: each equal to the
    value given (tags: containing the pairs given)."""

    experiment: str | None
    run_by: str | None
    code_version: str | None
    data_fingerprint: str | None
    tags: dict[str, str] | None


# The fields a store fills when a record leaves them AUTO, and may take defaults for.
FILLED = ("experiment", "run_by", "code_version", "tags")
DETECTED = ("run_by", "code_version")
GIT_TIMEOUT = 5.0  # seconds: a repository on a hung network share must not hang saves


def checked_defaults(defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """A store's ``defaults``: only the fields it fills, each of the record's type."""
    if defaults is None:
        return {}
    if not isinstance(defaults, Mapping):
        raise ValidationError("BacktestStore", "defaults", defaults,
                              f"a mapping of {', '.join(FILLED)}")  # fmt: skip
    out = dict(defaults)
    for name, value in out.items():
        if name not in FILLED:
            raise ValidationError("BacktestStore", f"defaults[{name!r}]", value,
                                  f"one of {', '.join(FILLED)}", problem="is not a default a "
                                  "store takes")  # fmt: skip
        if name == "tags":
            check_tags("BacktestStore", value, "defaults['tags']")
        elif value is not None and not isinstance(value, str):
            raise ValidationError("BacktestStore", f"defaults[{name!r}]", value, "a string or None")
    return out


def check_tags(record: str, value: Any, field: str = "tags") -> None:
    """tags: a JSON object of string keys to string values (or None)."""
    if value is None or is_missing(value):
        return
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(record, field, value, 'an object of strings, {"key": "value"}')


def check_extra_metrics(record: str, value: Any) -> None:
    """extra_metrics: a JSON object of names to finite numbers (or None)."""
    if value is None or is_missing(value):
        return
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and _finite_number(v) for k, v in value.items()
    ):
        raise ValidationError(record, "extra_metrics", value,
                              'an object of finite numbers, {"sqn": 1.9}')  # fmt: skip


def _finite_number(value: Any) -> bool:
    value = plain_scalar(value)  # numpy's numbers, as every backtest library hands them over
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def detect(names: Sequence[str] = DETECTED, path: str | None = None) -> dict[str, str | None]:
    """``run_by`` and ``code_version`` (those of ``names``) of the process saving in
    ``path`` (default: the working directory)."""
    found: dict[str, str | None] = {}
    if "run_by" in names:
        found["run_by"] = login_name()
    if "code_version" in names:
        found["code_version"] = git_version(path or os.getcwd())
    return found


def login_name() -> str | None:
    try:
        return getpass.getuser() or None
    except (KeyError, OSError):  # no login name: a container's uid without a passwd entry
        return None


def git_version(path: str) -> str | None:
    """The commit checked out in the repository that holds ``path``, with ``+dirty`` when a
    tracked file has changes not committed; None outside a repository (or without git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", path, *args], capture_output=True, text=True,
                                  timeout=GIT_TIMEOUT, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "--verify", "--quiet", "HEAD")
    if not head:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    return f"{head}+dirty" if changes else head


def fingerprint(frame: Any) -> str:
    """A digest of a frame of price bars (pandas): its index and its columns' names and
    values, as ``sha256:<hex>``. The same bars give the same digest; a changed bar, time
    or column, or a bar more or less, another."""
    digest = hashlib.sha256()
    index = frame.index
    digest.update(str(list(frame.columns)).encode())
    digest.update(str(index.dtype).encode())
    digest.update(index.astype("int64").to_numpy().tobytes() if hasattr(index, "asi8")
                  else str(list(index)).encode())  # fmt: skip
    for name in frame.columns:
        column = frame[name].to_numpy()
        digest.update(str(column.dtype).encode())
        digest.update(
            column.tobytes() if column.dtype.kind in "fiub" else str(list(column)).encode()
        )
    return f"sha256:{digest.hexdigest()}"
