"""EXPLAIN ANALYZE of the statements an operation sends, and what the plan tests assert
of them: no sequential scan of an mcp_ table, and a LIMIT query that stops early."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from backtest_store.operations.steps import Fetch


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def explain(conn: psycopg.Connection[Any], op: Any) -> dict[str, Any]:
    """EXPLAIN ANALYZE the first statement an operation sends, exactly as the store sends it."""
    step = next(op)
    assert isinstance(step, Fetch)
    with conn.transaction(force_rollback=True):  # a DELETE's plan is measured, then undone
        row = conn.execute(b"EXPLAIN (ANALYZE, FORMAT JSON) " + _sql(step), step.params).fetchone()
    assert row is not None
    return row[0][0]["Plan"]  # type: ignore[no-any-return]


def _sql(step: Fetch) -> bytes:
    assert isinstance(step.statement, str)
    return step.statement.encode()


def scanned(plan: dict[str, Any]) -> int:
    """Rows produced by the scans of tables: what the query read to answer (a CTE's own
    rows, read again by a CTE Scan, are not read from a table twice)."""
    return sum(
        int(n["Actual Rows"] * n.get("Actual Loops", 1))
        for n in nodes(plan)
        if "Relation Name" in n and "Bitmap Index" not in n["Node Type"]
    )


def assert_index_friendly(plan: dict[str, Any], limit: int | None = None) -> None:
    seq = [n["Relation Name"] for n in nodes(plan) if n["Node Type"] == "Seq Scan"]
    assert seq == [], f"sequential scan of {seq}"
    if limit is not None:
        assert plan["Node Type"] == "Limit" or any(n["Node Type"] == "Limit" for n in nodes(plan))
        assert scanned(plan) <= 20 * limit + 500, f"read {scanned(plan)} rows for LIMIT {limit}"


def index_names(plan: dict[str, Any]) -> set[str]:
    return {n["Index Name"] for n in nodes(plan) if "Index Name" in n}
