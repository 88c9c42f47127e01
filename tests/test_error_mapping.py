"""Server trouble told apart by SQLSTATE class, each provoked for real on a real server:
a deadlock and a serialization failure are retryable rollbacks, too many connections is
resource trouble, a backend terminated while its save waits is a lost connection whose
outcome is unknown when a COMMIT was in flight and "nothing was committed" only where
that is provably true, a timeout is a timeout; the command line exits by the same table."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from devkit import clusters
from devkit.dbs import maintenance
from devkit.records import opened, result, row_counts, trade

from backtest_store import (
    BacktestStore,
    CannotConnectError,
    ConnectionLostError,
    ConstraintViolation,
    QueryTimeoutError,
    ResourceError,
    TransactionRollbackError,
    migrations,
)
from backtest_store.errors import (
    ConflictError,
    DatabaseError,
    ParentNotFoundError,
    ValidationError,
)

BIN = Path(sys.executable).parent


def wait_until_waiting(
    pid: int, *, on: str = "Lock", admin: psycopg.Connection[Any] | None = None
) -> None:
    """Until backend ``pid`` waits for ``on``: a lock (its wait_event_type) or, say, a
    synchronous standby (its wait_event, SyncRep); ``admin`` watches another server."""
    deadline = time.monotonic() + 10
    with maintenance() if admin is None else contextlib.nullcontext(admin) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row and on in row:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for {on}")


def in_thread(target: Any) -> tuple[threading.Thread, list[BaseException]]:
    caught: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test
            caught.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, caught


def test_a_deadlock_is_a_retryable_rollback_and_nothing_is_committed(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    with BacktestStore.connect(db_url) as setup:
        first = setup.save_backtest(result()).backtest_id
        second = setup.save_backtest(result()).backtest_id
    # the store's session detects the deadlock (and is chosen): its timeout is the shorter
    store_conn = psycopg.connect(db_url, autocommit=True, options="-c deadlock_timeout=50ms")
    other = psycopg.connect(db_url, options="-c deadlock_timeout=10s")
    store = BacktestStore(store_conn)
    other.execute("DELETE FROM mcp_backtest_results WHERE backtest_id = %s", (second,))

    def both() -> None:
        with store.transaction() as tx:
            tx.delete_backtest(first)
            tx.delete_backtest(second)  # waits for `other`, which then waits for us

    thread, caught = in_thread(both)
    wait_until_waiting(store_conn.info.backend_pid)
    other.execute("DELETE FROM mcp_backtest_results WHERE backtest_id = %s", (first,))
    thread.join()
    other.rollback()
    (error,) = caught
    assert isinstance(error, TransactionRollbackError) and error.retryable
    assert error.sqlstate == "40P01"
    assert "nothing was committed: retry it" in str(error)
    assert row_counts(conn)["mcp_backtest_results"] == 2  # neither delete committed
    with store.transaction() as tx:  # the retry goes through
        assert tx.delete_backtest(first) and tx.delete_backtest(second)
    store_conn.close()
    other.close()


def test_a_serialization_failure_under_repeatable_read_is_retryable(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    with BacktestStore.connect(db_url) as setup:
        the_id = setup.save_backtest(result(), [trade(0)]).backtest_id
    rr = psycopg.connect(db_url, autocommit=True)
    rr.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    store = BacktestStore(rr)
    with pytest.raises(TransactionRollbackError) as caught, store.transaction() as tx:
        assert tx.get_backtest(the_id) is not None  # the snapshot is taken
        conn.execute("DELETE FROM mcp_backtest_results WHERE backtest_id = %s", (the_id,))
        tx.delete_backtest(the_id)  # deleted since the snapshot: cannot serialize
    assert caught.value.sqlstate == "40001" and caught.value.retryable
    rr.close()


def test_too_many_connections_is_resource_trouble_not_an_unreachable_server() -> None:
    if (why := clusters.can_run()) is not None:
        pytest.skip(why)
    with clusters.cluster(max_connections="3", superuser_reserved_connections="0") as server:
        held = [psycopg.connect(server.url()) for _ in range(3)]
        try:
            with (
                pytest.raises(ResourceError) as caught,
                BacktestStore.connect(server.url(), check_schema=False),
            ):
                pass
            assert caught.value.retryable
            assert "too many clients" in str(caught.value)
            assert not isinstance(caught.value, ConnectionLostError)
            run = subprocess.run([str(BIN / "backtest-store"), "status", "--database",
                                  server.url()], capture_output=True, text=True)  # fmt: skip
            assert run.returncode == 4, run.stderr
            assert "Traceback" not in run.stderr
        finally:
            for c in held:
                c.close()


def _terminate_while_waiting(store_conn: psycopg.Connection[Any], save: Any) -> BaseException:
    """Run ``save`` in a thread, terminate its backend once it waits for a lock, and return
    what it raised."""
    thread, caught = in_thread(save)
    pid = store_conn.info.backend_pid
    wait_until_waiting(pid)
    with maintenance() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    thread.join()
    (error,) = caught
    return error


def test_terminated_while_a_one_statement_save_runs_the_outcome_is_unknown(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A save of a few trades is one statement, its own transaction: cut off while it runs,
    the client cannot know whether it committed, and says so."""
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE mcp_backtest_results IN SHARE MODE")  # inserts wait
    store_conn = psycopg.connect(db_url, autocommit=True)
    store = BacktestStore(store_conn)
    error = _terminate_while_waiting(
        store_conn, lambda: store.save_backtest(result(), [trade(0), trade(1)])
    )
    blocker.rollback()
    blocker.close()
    assert isinstance(error, ConnectionLostError) and error.retryable
    assert error.committed is None
    assert "may have been committed: retry with the same backtest_id" in str(error)
    assert error.sqlstate == "57P01"  # admin_shutdown: pg_terminate_backend
    assert row_counts(conn)["mcp_backtest_results"] == 0  # as it happens: it had not


@pytest.mark.parametrize("trades", [2, 500], ids=["small", "copy"])
def test_terminated_before_its_commit_a_save_says_nothing_was_committed(
    db_url: str, conn: psycopg.Connection[Any], trades: int
) -> None:
    """A save under a client-chosen id is a transaction of several statements: cut off
    while its first statement waits, COMMIT was never sent, and "nothing was committed" is
    the truth. The retry with the same id lands once."""
    record = result(backtest_id=uuid4())
    blocker = psycopg.connect(db_url)  # the same id, inserted and not yet committed
    blocker.execute(
        "INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date,"
        " end_date) VALUES (%s, 'X', 'x', '2024-01-01', '2024-01-02')", (record.backtest_id,),
    )  # fmt: skip
    store_conn = psycopg.connect(db_url, autocommit=True)
    store = BacktestStore(store_conn)
    rows = [trade(i) for i in range(trades)]
    error = _terminate_while_waiting(store_conn, lambda: store.save_backtest(record, rows))
    blocker.rollback()
    blocker.close()
    assert isinstance(error, ConnectionLostError) and error.committed is False
    assert "nothing was committed" in str(error)
    assert row_counts(conn)["mcp_backtest_results"] == 0
    with BacktestStore.connect(db_url) as again:
        again.save_backtest(record, rows)
        again.save_backtest(record, rows)  # once more: recognised, not saved twice
    assert row_counts(conn)["mcp_backtest_results"] == 1
    assert row_counts(conn)["mcp_backtest_trades"] == trades


def test_terminated_while_its_commit_waits_a_save_may_have_committed() -> None:
    """A COMMIT that waits for a synchronous standby which is not there: terminated then,
    the transaction has committed locally already. The error says it may have been
    committed, and the retry with the same id finds it: exactly once."""
    if (why := clusters.can_run()) is not None:
        pytest.skip(why)
    with clusters.cluster() as server:
        url = server.url()
        migrations.apply(url)
        with psycopg.connect(url, autocommit=True) as admin:  # from now on commits wait
            admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
            admin.execute("SELECT pg_reload_conf()")
        record = result(backtest_id=uuid4())
        rows = [trade(i) for i in range(150)]  # the COPY path: BEGIN ... COMMIT
        store_conn = psycopg.connect(url, autocommit=True)
        store = BacktestStore(store_conn)
        thread, caught = in_thread(lambda: store.save_backtest(record, rows))
        pid = store_conn.info.backend_pid
        with psycopg.connect(url, autocommit=True) as admin:
            wait_until_waiting(pid, on="SyncRep", admin=admin)  # the COMMIT waits
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            thread.join()
            admin.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
            admin.execute("SELECT pg_reload_conf()")
        (error,) = caught
        assert isinstance(error, ConnectionLostError) and error.committed is None
        assert "may have been committed: retry with the same backtest_id" in str(error)
        with BacktestStore.connect(url) as again:
            assert again.get_backtest(record.backtest_id) is not None  # it had committed
            again.save_backtest(record, rows)  # the retry: recognised
            assert len(again.list_backtests()) == 1
            assert len(again.get_trades(record.backtest_id)) == 150
        store_conn.close()


def test_a_statement_timeout_is_a_retryable_query_timeout(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store, psycopg.connect(db_url) as holder:
        saved = store.save_backtest(result())
        holder.execute("SELECT 1 FROM mcp_backtest_results WHERE backtest_id = %s FOR UPDATE",
                       (saved.backtest_id,))  # fmt: skip
        store._source.execute("SET statement_timeout = '100ms'")  # type: ignore[union-attr]
        with pytest.raises(QueryTimeoutError) as caught:
            store.delete_backtest(saved.backtest_id)
        assert caught.value.sqlstate == "57014" and caught.value.retryable
        holder.rollback()


def test_the_command_line_exits_4_when_the_database_is_busy(db_url: str, tmp_path: Path) -> None:
    """An import whose backtest id another session is inserting (not yet committed) waits
    for it; with a short lock_timeout it gives up: exit 4, one line on stderr, no
    traceback, nothing imported."""
    import json

    from backtest_store.serialize import to_json

    record = result(backtest_id=uuid4())
    line = {"kind": "backtest", "backtest": to_json(record), "trades": [],
            "optimizations": [], "walk_forward": []}  # fmt: skip
    (tmp_path / "one.jsonl").write_text(json.dumps(line) + "\n")
    with psycopg.connect(db_url) as holder:
        holder.execute(
            "INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type, start_date,"
            " end_date) VALUES (%s, 'X', 'x', '2024-01-01', '2024-01-02')", (record.backtest_id,),
        )  # fmt: skip
        env = {**os.environ, "PGOPTIONS": "-c lock_timeout=200ms"}
        run = subprocess.run(
            [str(BIN / "backtest-store"), "import", str(tmp_path / "one.jsonl"), "--database",
             db_url], capture_output=True, text=True, env=env,
        )  # fmt: skip
        holder.rollback()
    assert run.returncode == 4, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "lock timeout" in run.stderr


def test_a_server_that_is_not_there_cannot_be_connected_to() -> None:
    port = clusters.free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/x"
    with (
        pytest.raises(CannotConnectError, match=r"^cannot connect to postgresql://") as caught,
        BacktestStore.connect(url),
    ):
        pass
    assert "nothing was committed" not in str(caught.value)


@pytest.mark.parametrize(
    ("message", "kind", "constraint"),
    [
        ('new row for relation "mcp_backtest_trades_102008" violates check constraint'
         ' "ck_mcp_backtest_trades_direction"', ConstraintViolation,
         "ck_mcp_backtest_trades_direction"),
        ('insert or update on table "mcp_backtest_trades_102008" violates foreign key'
         ' constraint "mcp_backtest_trades_backtest_id_fkey_102008"', ParentNotFoundError,
         "mcp_backtest_trades_backtest_id_fkey_102008"),
        ('duplicate key value violates unique constraint "mcp_backtest_trades_pkey_102008"',
         ConflictError, "mcp_backtest_trades_pkey_102008"),
        ("something else went wrong on a worker", DatabaseError, None),
    ],
)  # fmt: skip
def test_a_citus_worker_s_copy_refusal_keeps_its_type(
    conn: psycopg.Connection[Any], message: str, kind: type[DatabaseError], constraint: str | None
) -> None:
    """Citus reports a worker's refusal of a COPY row with the worker's words and SQLSTATE
    XX000 (its ReportCopyError keeps no code): the error keeps its type and constraint."""
    from backtest_store.errors import translate

    with pytest.raises(psycopg.Error) as raised:
        conn.execute(
            "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = %s, ERRCODE = 'XX000'; END $$"
            .replace("%s", "'" + message.replace("'", "''") + "'")
        )  # fmt: skip
    error = translate(raised.value, "save_trades")
    assert type(error) is kind
    assert error.constraint == constraint
    if kind is ConstraintViolation:
        assert isinstance(error, ValidationError) and error.field == constraint


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_database_error_names_the_store_method_that_met_it(kind: str, db_url: str) -> None:
    """The store names the method in the error it raises: the method's own name, written
    once (the store reads it from its caller), for one statement, a transaction and
    batches alike."""
    with opened(kind, db_url) as store:
        saved = store.save_backtest(result(), [trade(1)])
    read_only = (
        f"{db_url}{'&' if '?' in db_url else '?'}options=-c%20default_transaction_read_only%3Don"
    )
    with opened(kind, read_only) as store:
        calls: dict[str, Callable[[], object]] = {
            "save_backtest": lambda: store.save_backtest(result(), [trade(1)]),
            "save_trades": lambda: store.save_trades(saved.backtest_id, [trade(2)]),
            "delete_backtest": lambda: store.delete_backtest(saved.backtest_id),
            "delete_backtests": lambda: store.delete_backtests(older_than=datetime.now(UTC)),
        }  # fmt: skip
        for method, call in calls.items():
            with pytest.raises(DatabaseError, match=f"^{method} failed: .*read-only"):
                call()
        assert [t.trade_number for t in store.get_trades(saved.backtest_id)] == [1]
