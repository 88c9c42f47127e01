"""Faults: a connection killed mid-save, a server restart, timeouts, broken pool connections,
and idempotent retries. The database holds the whole save or none of it, always."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from devkit.dbs import maintenance
from devkit.records import result, row_counts, trade
from psycopg_pool import ConnectionPool

from backtest_store import (
    BacktestStore,
    ConflictError,
    ConnectionLostError,
    QueryTimeoutError,
)

TRADES = [trade(i) for i in range(150_000)]


def wait_for_copy(pid: int, stop: threading.Event) -> bool:
    """Watch backend ``pid`` from another connection until it streams COPY (True) or
    ``stop`` is set (False)."""
    with maintenance() as admin:
        while not stop.is_set():
            row = admin.execute(
                "SELECT query FROM pg_stat_activity WHERE pid = %s AND state = 'active'", (pid,)
            ).fetchone()
            if row and str(row[0]).lstrip().upper().startswith("COPY"):
                return True
            time.sleep(0.005)
    return False


def kill_when_copying(pid: int, stop: threading.Event) -> None:
    """Terminate backend ``pid`` as soon as it is streaming COPY."""
    if wait_for_copy(pid, stop):
        with maintenance() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_killed_while_trades_stream_leaves_nothing_and_the_retry_succeeds(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    bid = uuid4()
    record = result(backtest_id=bid)
    with BacktestStore.connect(db_url) as store:
        pid = store._source.info.backend_pid  # type: ignore[union-attr]
        stop = threading.Event()
        killer = threading.Thread(target=kill_when_copying, args=(pid, stop))
        killer.start()
        try:
            with pytest.raises(ConnectionLostError) as caught:
                store.save_backtest(record, TRADES)
        finally:
            stop.set()
            killer.join()
    assert "nothing was committed" in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert row_counts(conn)["mcp_backtest_results"] == 0
    assert row_counts(conn)["mcp_backtest_trades"] == 0
    with BacktestStore.connect(db_url) as store:  # the same save, retried, succeeds
        saved = store.save_backtest(record, TRADES)
        assert saved.backtest_id == bid
    assert row_counts(conn)["mcp_backtest_trades"] == len(TRADES)


def _private_cluster_directory() -> str | None:
    """The server's data directory if it is the project's private cluster (scripts/localpg.sh);
    a server of the user's own is never restarted by the tests."""
    with maintenance() as admin:
        row = admin.execute("SHOW data_directory").fetchone()
    path = os.path.realpath(str(row[0])) if row else ""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    private = os.path.realpath(os.environ.get("LOCAL_PG_DIR", os.path.join(root, ".pgdata")))
    return path if path == private and os.path.isdir(path) else None


def _pg_ctl(*args: str) -> None:
    from devkit.dbs import pg_bin

    cmd = [pg_bin("pg_ctl"), *args]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    # The restarted server inherits our stdout: send it to the cluster's log, not a pipe.
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("runuser") is None and os.getuid() == 0, reason="needs runuser")
@pytest.mark.serial
def test_a_server_restart_mid_save_leaves_nothing_and_the_retry_succeeds(db_url: str) -> None:
    datadir = _private_cluster_directory()
    if datadir is None:
        pytest.skip(
            "the server is not the project's private cluster; restarting it is not ours to do"
        )
    bid = uuid4()
    record = result(backtest_id=bid)
    store_conn = psycopg.connect(db_url, autocommit=True)
    store = BacktestStore(store_conn)
    pid = store_conn.info.backend_pid
    stop = threading.Event()

    def restart_when_copying() -> None:
        if not wait_for_copy(pid, stop):
            return
        _pg_ctl(
            "-D", datadir, "-l", os.path.join(datadir, "server.log"), "-m", "fast", "-w", "restart"
        )

    restarter = threading.Thread(target=restart_when_copying)
    restarter.start()
    try:
        with pytest.raises(ConnectionLostError):
            store.save_backtest(record, TRADES)
    finally:
        stop.set()
        restarter.join()
        store_conn.close()
    for _ in range(100):  # the server accepts connections again
        try:
            psycopg.connect(db_url).close()
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    with BacktestStore.connect(db_url) as again:
        assert again.get_backtest(bid) is None
        assert again.save_backtest(record, TRADES).backtest_id == bid
        assert len(again.get_trades(bid)) == len(TRADES)


# -- idempotent retries -----------------------------------------------------------


def test_a_retried_save_whose_first_attempt_committed_is_recognised(
    store: Any, conn: psycopg.Connection[Any]
) -> None:
    bid = uuid4()
    record = result(backtest_id=bid, sharpe_ratio=1.23456, parameters={"fast": 10})
    trades = [trade(i) for i in range(5)]
    first = store.save_backtest(record, trades)  # its acknowledgement "was lost"
    again = store.save_backtest(record, trades)
    assert again == first
    assert row_counts(conn)["mcp_backtest_results"] == 1
    assert row_counts(conn)["mcp_backtest_trades"] == 5
    # the same values as PostgreSQL stores them count as the same (1.23456 -> 1.2346)
    assert (
        store.save_backtest(
            result(backtest_id=bid, sharpe_ratio=1.2346, parameters={"fast": 10}), trades
        )
        == first
    )


def test_a_different_record_under_the_same_id_is_a_conflict(
    store: Any, conn: psycopg.Connection[Any]
) -> None:
    bid = uuid4()
    store.save_backtest(result(backtest_id=bid, sharpe_ratio=1.0), [trade(0)])
    with pytest.raises(ConflictError, match=r"stored already with other values \(sharpe_ratio\)"):
        store.save_backtest(result(backtest_id=bid, sharpe_ratio=2.0), [trade(0)])
    with pytest.raises(ConflictError, match="with 1 trades, not 2"):
        store.save_backtest(result(backtest_id=bid, sharpe_ratio=1.0), [trade(0), trade(1)])
    assert row_counts(conn)["mcp_backtest_trades"] == 1


# -- timeouts and broken connections -------------------------------------------------


@pytest.mark.parametrize("setting", ["lock_timeout", "statement_timeout"])
def test_timeouts_surface_as_their_own_error(db_url: str, setting: str) -> None:
    with BacktestStore.connect(db_url) as store, psycopg.connect(db_url) as holder:
        saved = store.save_backtest(result())
        holder.execute(
            "SELECT 1 FROM mcp_backtest_results WHERE backtest_id = %s FOR UPDATE",
            (saved.backtest_id,),
        )  # holds the row until rollback
        store._source.execute(f"SET {setting} = '200ms'")  # type: ignore[union-attr]
        with pytest.raises(QueryTimeoutError) as caught:
            store.save_trades(saved.backtest_id, [trade(0)])
        assert caught.value.sqlstate in ("55P03", "57014")
        holder.rollback()
        assert store.save_trades(saved.backtest_id, [trade(0)]) == 1


def _kill_all(db_url: str) -> int:
    dbname = db_url.rsplit("/", 1)[1]
    with maintenance() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
    return len(rows)


def test_a_pool_never_hands_out_a_connection_broken_by_the_server(db_url: str) -> None:
    with ConnectionPool(
        db_url,
        min_size=2,
        max_size=2,
        kwargs={"autocommit": True},
        check=ConnectionPool.check_connection,
    ) as pool:
        store = BacktestStore(pool)
        store.save_backtest(result())
        assert _kill_all(db_url) >= 1
        assert len(store.list_backtests()) == 1  # checked on checkout, replaced


def test_without_a_pool_check_the_broken_connection_fails_once_then_is_replaced(
    db_url: str,
) -> None:
    with ConnectionPool(db_url, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
        store = BacktestStore(pool)
        store.save_backtest(result())
        _kill_all(db_url)
        with pytest.raises(ConnectionLostError):
            store.list_backtests()
        assert len(store.list_backtests()) == 1  # the pool discarded the broken one
