"""Query plans at volume: every read the DAO sends is EXPLAIN ANALYZEd on devkit/volume.sql
(200,000 results, 2,000,000 trades, ...), built once per run in its own database.

Asserted for each: no mcp_ table is read by a sequential scan, and a LIMIT query stops early
(the rows its scans produce stay a small multiple of the limit, never the table).
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import md5
from typing import Any

import psycopg
import pytest
from devkit.plans import assert_index_friendly, explain, index_names, nodes, scanned
from devkit.records import row_counts

from backtest_store import BacktestPortfolio, BacktestResult
from backtest_store.operations import analytics, backtests, children, portfolios, retention
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.sql import METRICS
from backtest_store.operations.steps import Fetch
from backtest_store.tables import RESULTS

SETTINGS = StoreSettings("refuse")


@pytest.fixture(scope="session")
def sample(volume_url: str) -> dict[str, Any]:
    with psycopg.connect(volume_url) as volume:
        return _sample(volume)


def _sample(volume: psycopg.Connection[Any]) -> dict[str, Any]:
    row = volume.execute(
        "SELECT backtest_id, backtest_date FROM mcp_backtest_results "
        "ORDER BY backtest_date DESC, backtest_id DESC OFFSET 49950 LIMIT 1"  # last of page 999
    ).fetchone()
    assert row is not None
    opt = volume.execute("SELECT backtest_id FROM mcp_optimization_results LIMIT 1").fetchone()
    wf = volume.execute("SELECT parent_backtest_id FROM mcp_walk_forward_tests LIMIT 1").fetchone()
    port = volume.execute(
        "SELECT portfolio_backtest_id, backtest_date FROM mcp_backtest_portfolios "
        "ORDER BY backtest_date DESC OFFSET 9950 LIMIT 1"
    ).fetchone()
    assert opt and wf and port
    return {
        "page_1000_after": BacktestResult(
            backtest_id=row[0],
            backtest_date=row[1],
            symbol="",
            strategy_type="",
            start_date=datetime.now(UTC).date(),
            end_date=datetime.now(UTC).date(),
        ),
        "backtest_id": row[0],
        "optimized": opt[0],
        "walk_forward_parent": wf[0],
        "portfolio_after": BacktestPortfolio(
            portfolio_backtest_id=port[0],
            backtest_date=port[1],
            portfolio_name="",
            start_date=datetime.now(UTC).date(),
            end_date=datetime.now(UTC).date(),
            symbols=[],
        ),
    }


def list_op(**kw: Any) -> Any:
    args: dict[str, Any] = dict.fromkeys(("symbol", "strategy_type", "status", "since", "until"))
    args.update(limit=50, after=None, with_series=False)
    args.update(kw)
    return backtests.list_backtests(SETTINGS, **args)


def test_the_volume_is_there(volume: psycopg.Connection[Any]) -> None:
    assert tuple(row_counts(volume).values()) == (200_000, 2_000_000, 200_000, 50_000, 20_000)
    spread = volume.execute(
        "SELECT count(DISTINCT symbol), count(DISTINCT strategy_type) FROM mcp_backtest_results"
    ).fetchone()
    assert spread == (500, 20)


def test_get_backtest_is_a_primary_key_lookup(
    volume: psycopg.Connection[Any], sample: dict[str, Any]
) -> None:
    plan = explain(volume, backtests.get_one(RESULTS, sample["backtest_id"], "get_backtest"))
    assert_index_friendly(plan)
    assert index_names(plan) == {"mcp_backtest_results_pkey"} and scanned(plan) == 1


def test_list_backtests_page_1000_reads_as_little_as_page_1(
    volume: psycopg.Connection[Any], sample: dict[str, Any]
) -> None:
    first = explain(volume, list_op())
    deep = explain(volume, list_op(after=sample["page_1000_after"]))
    for plan in (first, deep):
        assert_index_friendly(plan, limit=50)
        assert "mcp_backtest_results_date_idx" in index_names(plan)
    assert scanned(deep) <= 2 * scanned(first) + 10
    assert deep["Actual Rows"] == 50


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"symbol": "S7"}, "mcp_backtest_results_symbol_date_idx"),
        ({"strategy_type": "strategy_3", "status": "completed"}, None),
        ({"symbol": "S7", "strategy_type": "strategy_7"}, None),
        (
            {
                "since": datetime(2025, 12, 1, tzinfo=UTC),
                "until": datetime(2025, 12, 15, tzinfo=UTC),
            },
            None,
        ),
        # where the runs came from (0011), each read through its own index (0012)
        ({"origin": {"experiment": "experiment_7"}}, "mcp_backtest_results_experiment_date_idx"),
        # 25 people ran the 200,000: one in 25 rows is theirs, and the newest 50 are found
        # sooner along the date index than through theirs (either way, index-only reads)
        ({"origin": {"run_by": "user_3"}}, None),
        (
            {"origin": {"code_version": md5(b"commit 7").hexdigest()}},
            "mcp_backtest_results_code_version_date_idx",
        ),
        (
            {"origin": {"data_fingerprint": "sha256:" + md5(b"bars 7 7").hexdigest()}},
            "mcp_backtest_results_same_run_idx",  # its leading column (0013)
        ),
        # jsonb containment has no statistics: the planner takes the GIN index or walks the
        # date index, by its run's estimate; either way it stops early (checked above)
        (
            {"origin": {"tags": {"batch": "b17"}}},
            ("mcp_backtest_results_tags_idx", "mcp_backtest_results_date_idx"),
        ),
    ],
)
def test_list_backtests_with_filters(
    volume: psycopg.Connection[Any], filters: dict[str, Any], index: str | tuple[str, ...] | None
) -> None:
    plan = explain(volume, list_op(**filters))
    assert_index_friendly(plan, limit=50)
    if index:
        accepted = {index} if isinstance(index, str) else set(index)
        assert accepted & index_names(plan), index_names(plan)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_top_backtests_orders_by_an_index_on_every_metric(
    volume: psycopg.Connection[Any], metric: str
) -> None:
    op = backtests.top_backtests(
        SETTINGS, metric=metric, symbol=None, strategy_type=None, min_trades=0,
        status="completed", limit=20, with_series=False,
    )  # fmt: skip
    plan = explain(volume, op)
    assert_index_friendly(plan, limit=20)
    seed_names = {"sharpe_ratio": "sharpe", "total_return": "total_return"}
    expected = f"mcp_backtest_results_{seed_names.get(metric, metric.removesuffix('_ratio'))}_idx"
    assert expected in index_names(plan), index_names(plan)
    assert not any(
        n["Node Type"] == "Sort" and n.get("Sort Method", "").startswith("external")
        for n in nodes(plan)
    )


def test_top_backtests_and_the_browsing_list_by_where_runs_came_from(
    volume: psycopg.Connection[Any],
) -> None:
    from backtest_store.operations import browse

    top = backtests.top_backtests(
        SETTINGS, metric="sharpe_ratio", symbol=None, strategy_type=None, min_trades=0,
        status="completed", limit=20, with_series=False, origin={"experiment": "experiment_9"},
    )  # fmt: skip
    plan = explain(volume, top)
    assert_index_friendly(plan, limit=20)
    listed = browse.browse_backtests(
        SETTINGS, symbols=None, strategy_type=None, status=None, since=None, until=None,
        min_trades=0, parameters_any=None, ranges=None, sort="backtest_date", descending=True,
        after=None, before=None, limit=51, with_series=False,
        origin={"run_by": "user_4", "tags": {"universe": "u4"}},
    )  # fmt: skip
    plan = explain(volume, listed)
    # two plans are index-friendly here, and the planner takes either as ANALYZE's sample
    # falls (a fresh volume database took the second): an index walked in date order until
    # 51 rows match, or the two origin indexes combined (the 4,000 runs of
    # user_4 in universe u4, 2 % of the table) and the newest 51 of them sorted. Neither
    # reads more rows than the filters select.
    assert_index_friendly(plan)
    (selected,) = volume.execute(
        "SELECT count(*) FROM mcp_backtest_results"
        " WHERE run_by = 'user_4' AND tags @> '{\"universe\": \"u4\"}'"
    ).fetchone() or (0,)
    assert scanned(plan) <= max(20 * 51 + 500, selected)
    assert plan["Actual Rows"] == 51


def test_top_backtests_filtered_by_symbol(volume: psycopg.Connection[Any]) -> None:
    op = backtests.top_backtests(
        SETTINGS, metric="sharpe_ratio", symbol="S9", strategy_type=None, min_trades=10,
        status="completed", limit=20, with_series=False,
    )  # fmt: skip
    assert_index_friendly(explain(volume, op), limit=20)


def test_find_backtests_uses_the_gin_index(volume: psycopg.Connection[Any]) -> None:
    op = backtests.find_backtests(
        SETTINGS,
        parameters={"seed": 1234},
        symbol=None,
        strategy_type=None,
        limit=50,
        with_series=False,
    )
    plan = explain(volume, op)
    assert_index_friendly(plan, limit=50)
    assert "mcp_backtest_results_parameters_idx" in index_names(plan)
    assert plan["Actual Rows"] == 1


@pytest.mark.parametrize("outcome", ["all", "winning", "losing"])
def test_get_trades_uses_the_backtest_entry_index(
    volume: psycopg.Connection[Any], sample: dict[str, Any], outcome: str
) -> None:
    """Found through an index on backtest_id: the (backtest_id, entry_date) one, or, where
    the planner costs it lower (indexes built in bulk are compact), the backtest_id one
    and a sort of the run's 10 trades; either way no more rows are read than it has."""
    plan = explain(volume, children.get_trades(sample["backtest_id"], outcome))  # type: ignore[arg-type]
    assert_index_friendly(plan)
    used = index_names(plan)
    assert used & {"mcp_backtest_trades_backtest_entry_idx", "mcp_backtest_trades_backtest_idx"}
    assert scanned(plan) <= 10


def test_iter_trades_streams_the_same_statement(sample: dict[str, Any]) -> None:
    streamed = children.iter_trades(sample["backtest_id"], 2000)
    step = next(children.get_trades(sample["backtest_id"], "all"))
    assert isinstance(step, Fetch) and (streamed.statement, streamed.params) == (
        step.statement,
        step.params,
    )


def test_children_and_keys(volume: psycopg.Connection[Any], sample: dict[str, Any]) -> None:
    plan = explain(volume, children.best_parameters(sample["optimized"], 5))
    assert_index_friendly(plan, limit=5)
    assert "mcp_optimization_results_backtest_idx" in index_names(plan)
    plan = explain(
        volume,
        children.children("walk_forward", sample["walk_forward_parent"], "walk_forward_tests"),
    )
    assert_index_friendly(plan)
    assert "mcp_walk_forward_tests_parent_idx" in index_names(plan)
    plan = explain(
        volume, analytics.compare_backtests([sample["backtest_id"], sample["optimized"]], None)
    )
    assert_index_friendly(plan)
    assert index_names(plan) == {"mcp_backtest_results_pkey"}


def test_list_portfolios_pages_and_names(
    volume: psycopg.Connection[Any], sample: dict[str, Any]
) -> None:
    for kw in ({}, {"after": sample["portfolio_after"]}):
        plan = explain(
            volume,
            portfolios.list_portfolios(
                SETTINGS, portfolio_name=None, limit=50, with_series=False, **{"after": None, **kw}
            ),
        )
        assert_index_friendly(plan, limit=50)
    plan = explain(
        volume,
        portfolios.list_portfolios(
            SETTINGS, portfolio_name="portfolio_7", limit=50, after=None, with_series=False
        ),
    )
    assert_index_friendly(plan, limit=50)
    assert "mcp_backtest_portfolios_name_date_idx" in index_names(plan)


@pytest.mark.parametrize(
    "filters",
    [
        {"symbol": "S5"},
        {"since": datetime(2025, 12, 31, tzinfo=UTC)},
        {"symbol": "S5", "strategy_type": "strategy_5"},
    ],
)
def test_performance_summary_filtered_reads_by_index(
    volume: psycopg.Connection[Any], filters: dict[str, Any]
) -> None:
    args = {"since": None, "symbol": None, "strategy_type": None, "status": None, **filters}
    plan = explain(volume, analytics.performance_summary(SETTINGS, **args))
    assert_index_friendly(plan)
    assert scanned(plan) <= 1000


def test_whole_table_summary_is_the_one_full_read(volume: psycopg.Connection[Any]) -> None:
    """An unfiltered summary aggregates every row by nature; it is the one read allowed to
    scan the table: in one pass (one aggregate per strategy and symbol, rolled up from
    those few rows), with no sort of the table."""
    args = {"since": None, "symbol": None, "strategy_type": None, "status": None}
    plan = explain(volume, analytics.performance_summary(SETTINGS, **args))
    table_reads = [n for n in nodes(plan) if "Relation Name" in n]
    assert [n["Relation Name"] for n in table_reads] == ["mcp_backtest_results"]
    # a parallel plan may sort the workers' partial aggregates (a row per pair: 500 here),
    # never the table's 200,000 rows
    sorted_rows = [n["Actual Rows"] for n in nodes(plan) if n["Node Type"] == "Sort"]
    assert all(rows <= 1000 for rows in sorted_rows), sorted_rows


def test_retention_batches_use_the_date_index(volume: psycopg.Connection[Any]) -> None:
    for symbol in (None, "S3"):
        op = retention.delete_batch(
            SETTINGS,
            older_than=datetime(2025, 10, 1, tzinfo=UTC),
            symbol=symbol,
            strategy_type=None,
            batch_size=500,
        )
        plan = explain(volume, op)  # measured inside a transaction that is rolled back
        assert [n["Relation Name"] for n in nodes(plan) if n["Node Type"] == "Seq Scan"] == []
        assert scanned(plan) <= 2 * 500 + 500
