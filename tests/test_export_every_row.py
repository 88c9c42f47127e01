"""`export` writes every row, whatever its values, and `import` puts back the very same
rows: per table the row count and a digest of every row (md5 of each row's text, sorted)
are equal, and exporting the copy writes the identical file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
from devkit.command import run_command
from devkit.dbs import scratch_database
from psycopg import sql

from backtest_store import migrations
from backtest_store.tables import ALL

BIN = Path(sys.executable).parent

# Filled in SQL (fast): each table's corner cases, the shapes the store alone never makes.
FILL = """
-- a backtest with every nullable column NULL, the defaulted ones included
INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date, end_date,
    initial_capital, fees, slippage, total_trades, winning_trades, losing_trades, status)
VALUES ('00000000-0000-0000-0000-000000000001', 'NUL', 'nulls', '2024-01-01', '2024-01-02',
    NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- a backtest with a year of minutes in both curves (float values, as every client writes
-- them: the store reads jsonb numbers as floats), data_points NULL all the same
INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date, end_date,
    equity_curve, drawdown_series, parameters, sharpe_ratio)
SELECT '00000000-0000-0000-0000-000000000002', 'BTC', 'minutes', '2024-01-01', '2024-12-31',
       jsonb_agg((10000 + i * 0.25)::float8 ORDER BY i),
       jsonb_agg((-(i % 100) / 1000.0)::float8 ORDER BY i),
       '{"fast": 10, "slow": 50}', 1.25
FROM generate_series(1, 525600) AS i;
-- a backtest that says where it came from (0011): every provenance column set
INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date, end_date,
    experiment, run_by, code_version, engine, data_fingerprint, bars_per_year,
    benchmark_symbol, benchmark_return, benchmark_curve, tags, extra_metrics)
VALUES ('00000000-0000-0000-0000-000000000003', 'BTC-USD-PERP-2026-12-25-C-100000', 'origin',
    '2024-01-01', '2024-06-30', 'momentum-2024', 'alice', 'abc123+dirty', 'vectorbt 1.2.0',
    'sha256:5e1f', 365, 'BTC-USD-PERP', 0.1234, '[["2024-01-01T00:00:00Z", 100.0],
    ["2024-06-30T00:00:00Z", 112.34]]', '{"universe": "crypto", "desk": "ü"}',
    '{"SQN": 1.9, "Exposure Time [%]": 94.5, "Kelly Criterion": -0.25}');
-- trades: open ones, NULL fees and slippage (their defaults are 0), FX and crypto digits
INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date, entry_price,
    direction, exit_date, exit_price, position_size, pnl, fees_paid, slippage_cost)
SELECT '00000000-0000-0000-0000-000000000002', n, date '2024-01-01' + n % 300,
       1.08839 + n * 0.00001, CASE WHEN n % 2 = 0 THEN 'long' ELSE 'short' END,
       CASE WHEN n % 5 = 0 THEN NULL ELSE date '2024-01-01' + n % 300 + 1 END,
       CASE WHEN n % 5 = 0 THEN NULL ELSE 1.085155 END, 0.004,
       CASE WHEN n % 5 = 0 THEN NULL ELSE -0.00012345 * n END,
       CASE WHEN n % 3 = 0 THEN NULL ELSE 0.5 END, NULL
FROM generate_series(1, 2500) AS n;
INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date, entry_price, direction)
VALUES ('00000000-0000-0000-0000-000000000001', 1, '2024-01-01', 100, 'long');
-- more than 10,000 optimization results: NULL objectives and ranks, a ranked NULL objective,
-- an unranked objective, a NULL is_statistically_significant (its default is false)
INSERT INTO mcp_optimization_results (backtest_id, parameter_set, parameters, objective_value,
    rank, is_statistically_significant)
SELECT '00000000-0000-0000-0000-000000000002', n, jsonb_build_object('fast', n),
       CASE WHEN n % 7 = 0 THEN NULL ELSE n * 0.00001 END,
       CASE WHEN n % 7 = 0 OR n % 11 = 0 THEN NULL ELSE n END,
       CASE WHEN n % 13 = 0 THEN NULL ELSE n % 2 = 0 END
FROM generate_series(1, 10050) AS n;
INSERT INTO mcp_walk_forward_tests (parent_backtest_id, window_size_months, step_size_months,
    training_start, training_end, test_period_start, test_period_end,
    is_statistically_significant)
SELECT '00000000-0000-0000-0000-000000000002', 12, 3, date '2020-01-01' + n * 90,
       date '2020-01-01' + n * 90 + 364, date '2020-01-01' + n * 90 + 365,
       date '2020-01-01' + n * 90 + 455, NULL
FROM generate_series(1, 8) AS n;
INSERT INTO mcp_backtest_portfolios (portfolio_name, start_date, end_date, symbols,
    initial_capital, status)
VALUES ('nulls', '2024-01-01', '2024-01-02', '["AAPL"]', NULL, NULL),
       ('minutes', '2024-01-01', '2024-12-31', '["BTC", "ETH"]', 0.5, 'completed');
"""


def digests(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the row count and the md5 of every row's md5, sorted."""
    out = {}
    with psycopg.connect(url) as conn:
        for spec in ALL:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(string_agg(md5(t::text), '' ORDER BY md5(t::text)))"
                    " FROM {} t"
                ).format(sql.Identifier(spec.name))
            ).fetchone()
            assert row is not None
            out[spec.name] = (int(row[0]), str(row[1]))
    return out


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = run_command(*args)
    assert done.returncode == 0, done.stderr
    return done


def test_export_then_import_copies_every_row_of_every_table(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(FILL)
    source = digests(db_url)
    assert source["mcp_optimization_results"][0] == 10_050
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    run("export", "--database", db_url, "-o", str(first))

    with scratch_database("bt_import") as copy:
        migrations.apply(copy)
        run("import", str(first), "--database", copy)
        assert digests(copy) == source
        run("export", "--database", copy, "-o", str(second))
        assert first.read_bytes() == second.read_bytes()
        again = run("import", str(first), "--database", copy)  # twice changes nothing
        assert "imported 0" in again.stdout and "unchanged 5" in again.stdout
        assert digests(copy) == source


def test_a_file_that_is_not_text_is_bad_input(db_url: str, tmp_path: Path) -> None:
    binary = tmp_path / "chart.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    done = subprocess.run([str(BIN / "backtest-store"), "import", str(binary), "--database",
                           db_url], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2
    assert "is not UTF-8 text" in done.stderr and "Traceback" not in done.stderr


def test_prune_says_when_a_backtest_it_counted_was_held_by_another_session(db_url: str) -> None:
    """Retention skips rows that saves hold locked (it never blocks them); what it skipped
    is reported, exit 4, rather than passed over in silence."""
    from devkit.records import result

    from backtest_store import BacktestStore

    with BacktestStore.connect(db_url) as store:
        held = store.save_backtest(result()).backtest_id
        store.save_backtest(result())
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT 1 FROM mcp_backtest_results WHERE backtest_id = %s FOR UPDATE",
                       (held,))  # fmt: skip
        done = subprocess.run([str(BIN / "backtest-store"), "prune", "--database", db_url,
                               "--older-than", "0h", "--yes"], capture_output=True, text=True)  # fmt: skip
        holder.rollback()
    assert done.returncode == 4, done.stderr
    assert "deleted 1 backtest(s)" in done.stdout
    assert "1 of the 2 backtest(s) counted were not deleted" in done.stderr


def test_import_records_the_importing_role_and_keeps_the_file_s(
    db_url: str, logins: dict[str, str], tmp_path: Path
) -> None:
    """saved_by is the database's: the file keeps the role that saved the row first, the
    copy the role that imported it; a second import finds the row unchanged all the same."""
    from devkit.records import result

    from backtest_store import BacktestStore

    with BacktestStore.connect(logins["app"]) as store:
        saved = store.save_backtest(result(experiment="e1", tags={"k": "v"}))
    exported = tmp_path / "out.jsonl"
    run("export", "--database", db_url, "-o", str(exported))
    line = exported.read_text().splitlines()[0]
    assert json.loads(line)["backtest"]["saved_by"] == saved.saved_by != "postgres"
    with scratch_database("bt_import_role") as copy:
        migrations.apply(copy)
        run("import", str(exported), "--database", copy)
        with BacktestStore.connect(copy) as store:
            copied = store.get_backtest(saved.backtest_id)
        assert copied is not None and copied.saved_by == "postgres"
        assert (copied.experiment, copied.tags, copied.run_by) == ("e1", {"k": "v"}, saved.run_by)
        again = run("import", str(exported), "--database", copy)
        assert "unchanged 1" in again.stdout
