"""browse_backtests' plans at volume (devkit/volume.sql: 200,000 results, a twentieth
of them without a Sharpe ratio): every sort either way, first pages and deep pages
forward and back, pages among the rows without the metric, and combined filters read an
index and stop early, never the table."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from devkit.plans import assert_index_friendly, explain, index_names, nodes

from backtest_store.operations import browse
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.browse import SORTS

SETTINGS = StoreSettings("refuse")
LIMIT = 51  # the web view's page and one more


def op(**arguments: Any) -> Any:
    base: dict[str, Any] = dict(
        symbols=None, strategy_type=None, status=None, since=None, until=None, min_trades=0,
        parameters_any=None, ranges=None, sort="backtest_date", descending=True, after=None,
        before=None, limit=LIMIT, with_series=False,
    )  # fmt: skip
    return browse.browse_backtests(SETTINGS, **{**base, **arguments})


def deep_cursor(conn: psycopg.Connection[Any], sort: str, descending: bool) -> tuple[Any, Any]:
    """The cursor of the 50,000th row in the sort's order, among the rows that have it."""
    way = "DESC" if descending else "ASC"
    row = conn.execute(
        f"SELECT {sort}, backtest_id FROM mcp_backtest_results WHERE {sort} IS NOT NULL "  # noqa: S608
        f"ORDER BY {sort} {way}, backtest_id {way} OFFSET 49999 LIMIT 1"
    ).fetchone()
    assert row is not None
    return (row[0], row[1])


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [True, False])
def test_every_sort_reads_its_index_and_stops_early(
    volume: psycopg.Connection[Any], sort: str, descending: bool
) -> None:
    cursor = deep_cursor(volume, sort, descending)
    for arguments in ({}, {"after": cursor}, {"before": cursor}):
        plan = explain(volume, op(sort=sort, descending=descending, **arguments))
        assert_index_friendly(plan, limit=LIMIT)
        assert any(sort.split("_")[0] in name for name in index_names(plan)), index_names(plan)


def test_pages_among_the_rows_without_the_metric(volume: psycopg.Connection[Any]) -> None:
    row = volume.execute(
        "SELECT backtest_id FROM mcp_backtest_results WHERE sharpe_ratio IS NULL"
        " ORDER BY backtest_id DESC OFFSET 500 LIMIT 1"
    ).fetchone()
    assert row is not None
    for arguments in ({"after": (None, row[0])}, {"before": (None, row[0])}):
        plan = explain(volume, op(sort="sharpe_ratio", **arguments))
        assert_index_friendly(plan, limit=LIMIT)
        assert plan["Actual Rows"] == LIMIT


@pytest.mark.parametrize(
    "filters",
    [
        {"symbols": ["S1", "S2", "S3"]},
        {"parameters_any": [{"fast": 3}, {"fast": 7}]},
        {"ranges": [("sharpe_ratio", ">=", 1)], "sort": "sharpe_ratio"},
        {"symbols": ["S1", "S2"], "ranges": [("total_return", ">", 0)], "sort": "total_return"},
        {"strategy_type": "strategy_3", "min_trades": 10},
    ],
)
def test_filters_combine_without_reading_the_table(
    volume: psycopg.Connection[Any], filters: dict[str, Any]
) -> None:
    plan = explain(volume, op(**filters))
    seq = [n for n in nodes(plan) if n["Node Type"] == "Seq Scan"]
    assert seq == [], "a sequential scan"
    assert plan["Actual Rows"] <= LIMIT
