"""First use without friction, through the installed command: bad URLs and unreachable
servers are one line on stderr with the documented exit code (never a traceback), a host
that never answers times out, `status --check` gates a deploy, filters outside the schema's
rules are bad usage, and the messages speak of flags, not of Python arguments."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from devkit.clusters import free_port
from devkit.records import result

from backtest_store import BacktestStore, migrations, urls
from backtest_store.rules import STATUSES

BIN = Path(sys.executable).parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "backtest-store"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)  # fmt: skip


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


NO_ID = "00000000-0000-0000-0000-000000000000"
COMMANDS = [
    ["migrate"], ["status"], ["rollback"], ["break-lock"], ["adopt", "--dry-run"],
    ["list"], ["show", NO_ID], ["trades", NO_ID], ["top"], ["compare", NO_ID], ["summary"],
    ["report", NO_ID, "-o", "/dev/null"], ["export"], ["import", "/dev/null"],
    ["prune", "--older-than", "90d", "--dry-run"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_against_a_server_that_is_not_there_exits_3(command: list[str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    run = cli(*command, "--database", url)
    assert run.returncode == 3, run.stderr
    assert "cannot connect to" in one_line(run)
    assert "nothing was committed" not in run.stderr


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+asyncpg://u@h/db", "foo://bar"])
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_url_of_another_scheme_is_bad_usage_naming_the_schemes(
    url: str, command: list[str]
) -> None:
    run = cli(*command, "--database", url)
    assert run.returncode == 2, run.stderr
    line = one_line(run)
    assert "is not a PostgreSQL URL" in line and "postgresql://, postgres://" in line


def test_a_host_that_accepts_but_never_answers_times_out() -> None:
    with socket.socket() as silent:  # the kernel completes the handshake; nobody answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/x"
        started = time.monotonic()
        run = cli("list", "--database", url, env={"BACKTEST_STORE_CONNECT_TIMEOUT": "1"})
        took = time.monotonic() - started
    assert run.returncode == 3 and "cannot connect" in one_line(run)
    assert took < 10  # the default would be 10 s; without one it hung for ever
    assert urls.CONNECT_TIMEOUT == "10"


def test_export_takes_ids_and_prefixes(db_url: str, tmp_path: Path) -> None:
    import json as json_

    with BacktestStore.connect(db_url) as store:
        ids = [store.save_backtest(result()).backtest_id for _ in range(3)]
    run = cli("export", str(ids[2])[:8], str(ids[0]), "--database", db_url)
    assert run.returncode == 0, run.stderr
    exported = [json_.loads(line)["backtest"]["backtest_id"] for line in run.stdout.splitlines()]
    assert exported == [str(ids[2]), str(ids[0])]
    target = tmp_path / "none.jsonl"
    missing = cli("export", "999999", "-o", str(target), "--database", db_url)
    assert missing.returncode == 1 and not target.exists()  # nothing written for a bad id
    both = cli("export", str(ids[0]), "--symbol", "AAPL", "--database", db_url)
    assert both.returncode == 2 and "ids or filters, not both" in one_line(both)


def test_import_of_an_empty_file_imports_nothing(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    run = cli("import", str(tmp_path / "empty.jsonl"), "--database", db_url)
    assert run.returncode == 0 and "imported 0" in run.stdout and run.stderr == ""


def test_status_check_gates_a_deploy(db_url: str) -> None:
    assert cli("status", "--check", "--database", db_url).returncode == 0
    migrations.rollback(db_url)
    run = cli("status", "--check", "--database", db_url)
    assert run.returncode == 1
    last = migrations.migration_ids()[-1].split(".")[0]
    assert f"pending  {last}" in run.stdout and f"is not at {last}" in one_line(run)
    assert cli("status", "--database", db_url).returncode == 0  # without --check: a report


def test_a_status_outside_the_check_is_bad_usage_listing_the_allowed(db_url: str) -> None:
    run = cli("list", "--status", "bogus", "--database", db_url)
    assert run.returncode == 2
    assert "one of completed, failed, in_progress" in one_line(run)
    # the list is read from the migration: the database allows exactly these
    with psycopg.connect(db_url, autocommit=True) as conn:
        for status in STATUSES:
            conn.execute(
                "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
                " status) VALUES ('A', 's', '2024-01-01', '2024-01-02', %s)", (status,),
            )  # fmt: skip
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
                " status) VALUES ('A', 's', '2024-01-01', '2024-01-02', 'bogus')"
            )


def test_a_lower_case_symbol_that_matches_nothing_suggests_the_upper_case(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        store.save_backtest(result(symbol="GOOG"))
    run = cli("list", "--symbol", "goog", "--database", db_url)
    assert run.returncode == 0 and "try --symbol GOOG" in one_line(run)
    assert cli("list", "--symbol", "GOOG", "--json", "--database", db_url).stderr == ""


def test_summary_lists_groups_by_count_then_name(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        for symbol, n in (("AAA", 1), ("BBB", 3), ("CCC", 2), ("ABC", 2)):
            for _ in range(n):
                store.save_backtest(result(symbol=symbol))
        summary = store.performance_summary()
    assert list(summary.by_symbol) == ["BBB", "ABC", "CCC", "AAA"]
    run = cli("summary", "--database", db_url)
    assert "by count" in run.stdout
    section = run.stdout[run.stdout.index("by symbol") :]
    rows = [line.split()[1] for line in section.splitlines() if line.startswith("│ ")]
    assert rows == ["BBB", "ABC", "CCC", "AAA"]


def test_messages_name_the_flag_not_the_python_argument(db_url: str) -> None:
    run = cli("list", "--limit", "100000000", "--database", db_url)
    assert run.returncode == 2
    assert one_line(run).endswith("--limit must be from 1 to 10,000, not 100,000,000")
    migrations.rollback(db_url)
    run = cli("list", "--database", db_url)
    assert run.returncode == 3
    line = one_line(run)
    assert "run `backtest-store migrate" in line and "check_schema" not in line


def test_short_ids_and_unique_prefixes(db_url: str, tmp_path: Path) -> None:
    from uuid import UUID

    ids = [UUID("abcdef01-0000-4000-8000-000000000001"),
           UUID("abcdef02-0000-4000-8000-000000000002"),
           UUID("12345678-0000-4000-8000-000000000003")]  # fmt: skip
    with BacktestStore.connect(db_url) as store:
        for the_id in ids:
            store.save_backtest(result(backtest_id=the_id, parameters={"fast": 10, "slow": 50}))
        assert store.backtest_ids("abcdef") == ids[:2]
        assert store.backtest_ids("ABCDEF-02") == [ids[1]]
    listed = cli("list", "--database", db_url, env={"COLUMNS": "160"}).stdout
    shown = [line.split()[1] for line in listed.splitlines() if line.startswith("│ ")]
    assert sorted(shown) == sorted(str(i)[:8] for i in ids)
    assert "fast=10 slow=50" in listed
    for short in shown:  # every shown id resolves
        run = cli("show", short, "--json", "--database", db_url)
        assert run.returncode == 0, run.stderr
    assert cli("trades", "123456", "--database", db_url).returncode == 0
    compared = cli("compare", "abcdef01", "123456", "--database", db_url, env={"COLUMNS": "160"})
    words = " ".join(compared.stdout.split())  # the same parameters: said once, in the title
    assert compared.returncode == 0 and "every run:" in words and "fast=10, slow=50" in words
    assert cli("report", "1234567", "-o", str(tmp_path / "r.html"), "--database",
               db_url).returncode == 0  # fmt: skip
    ambiguous = cli("show", "abcdef", "--database", db_url)
    assert ambiguous.returncode == 2
    assert str(ids[0]) in one_line(ambiguous) and str(ids[1]) in ambiguous.stderr
    too_short = cli("show", "12345", "--database", db_url)
    assert too_short.returncode == 2 and "at least 6" in one_line(too_short)
    missing = cli("show", "999999", "--database", db_url)
    assert missing.returncode == 1 and "no backtest id starts with 999999" in one_line(missing)


def test_show_and_trades_keep_every_digit_and_the_hour(db_url: str) -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from devkit.records import trade

    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(
            result(symbol="EURUSD", parameters={"fast": 10, "slow": 50}, fees=0.00005,
                   slippage=0.0001, win_rate=0.52),
            [trade(0, entry_date=date(2024, 1, 2), entry_price=Decimal("1.08839"),
                   entry_time=datetime(2024, 1, 2, 14, 0, tzinfo=UTC), exit_price=1.085155,
                   position_size=0.004)],
        )  # fmt: skip
    the_id = str(saved.backtest_id)
    shown = cli("show", the_id, "--database", db_url, env={"COLUMNS": "160"}).stdout
    assert "parameters fast=10 slow=50" in shown and "{'fast'" not in shown
    assert "fees 0.005 %" in shown and "slippage 0.01 %" in shown  # half a basis point
    assert "fraction" not in shown and "52.00 %" in shown
    assert "profit_factor: gross profit / gross loss in money" in shown
    listed = cli("trades", the_id, "--database", db_url, env={"COLUMNS": "160"}).stdout
    assert "2024-01-02 14:00" in listed
    assert "1.08839" in listed and "1.085155" in listed and "0.004" in listed


def test_param_filters_on_list_and_top(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        for fast, sharpe in ((10, 1.0), (20, 2.0), (10, 3.0)):
            store.save_backtest(result(parameters={"fast": fast, "slow": 50},
                                       sharpe_ratio=sharpe, total_trades=3))  # fmt: skip
        assert [r.sharpe_ratio for r in store.top_backtests(parameters={"fast": 10})] == [3, 1]
    import json as json_

    listed = json_.loads(cli("list", "--param", "fast=10", "--json", "--database", db_url).stdout)
    assert sorted(r["sharpe_ratio"] for r in listed) == ["1.0000", "3.0000"]
    top = json_.loads(cli("top", "--param", "fast=20", "--param", "slow=50", "--json",
                          "--database", db_url).stdout)  # fmt: skip
    assert [r["sharpe_ratio"] for r in top] == ["2.0000"]
    assert cli("top", "--param", "fast=99", "--json", "--database", db_url).stdout.strip() == "[]"
    bad = cli("list", "--param", "fast", "--database", db_url)
    assert bad.returncode == 2 and "give key=value" in one_line(bad)
