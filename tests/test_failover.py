"""Saves that survive a failover, on real servers: a primary with a synchronous standby
(``pg_basebackup -R``; a commit is acknowledged only once the standby has it), clients on
one multi-host URL (``target_session_attrs=read-write``), writers saving backtests with
client-chosen ids through a ConnectionPool and retrying every error marked retryable,
readers listing and reading trades. Mid-run the primary is SIGKILLed and the standby
promoted. Afterwards every acknowledged save is there exactly once with all its trades,
none is partial or duplicated, every save whose outcome was unknown is there once after
its retry, and no reader saw a partial backtest. Then the same with one server restarted
(``pg_ctl restart -m immediate``) under the load."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from devkit import clusters
from devkit.records import result, trade
from psycopg_pool import ConnectionPool

from backtest_store import BacktestStore, BacktestStoreError, ConnectionLostError, migrations

pytestmark = pytest.mark.slow

LOAD_SECONDS = 10.0
FAULT_AFTER = 3.0
WRITERS, READERS = 3, 2
SIZES = (3, 150)  # a few trades, and enough for the COPY path


@dataclass
class Ledger:
    """What the clients know: what they attempted, what was acknowledged, what not."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    attempted: dict[UUID, int] = field(default_factory=dict)  # id -> trades sent
    acknowledged: dict[UUID, tuple[float, float]] = field(default_factory=dict)  # id ->
    # (when its last attempt started, when it was acknowledged)
    unknown: set[UUID] = field(default_factory=set)  # an attempt's outcome was unknown
    retries: int = 0
    partial_reads: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # errors not marked retryable
    fault_at: float | None = None

    def first_save_after_fault(self) -> float | None:
        if self.fault_at is None:
            return None
        # a save begun after the fault: one in flight at the kill may be acknowledged (or
        # its acknowledgement noted) a moment later, which says nothing of the recovery
        after = [done for begun, done in self.acknowledged.values() if begun > self.fault_at]
        return min(after) - self.fault_at if after else None


def _writer(store: BacktestStore, ledger: Ledger, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        n = rng.choice(SIZES)
        record = result(backtest_id=uuid4(), symbol="FAIL", total_trades=n)
        trades = [trade(i) for i in range(n)]
        with ledger.lock:
            ledger.attempted[record.backtest_id] = n  # type: ignore[index]
        deadline = time.monotonic() + 60
        while True:  # the same record until it lands: a retry with the same id
            begun = time.monotonic()
            try:
                store.save_backtest(record, trades)
            except BacktestStoreError as exc:
                with ledger.lock:
                    if not exc.retryable:
                        ledger.failures.append(repr(exc))
                        return
                    ledger.retries += 1
                    if isinstance(exc, ConnectionLostError) and exc.committed is None:
                        ledger.unknown.add(record.backtest_id)  # type: ignore[arg-type]
                if time.monotonic() > deadline:
                    with ledger.lock:
                        ledger.failures.append(f"gave up on {record.backtest_id}: {exc}")
                    return
                time.sleep(0.05)
                continue
            with ledger.lock:
                done = (begun, time.monotonic())
                ledger.acknowledged[record.backtest_id] = done  # type: ignore[index]
            break


def _reader(store: BacktestStore, ledger: Ledger, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for r in store.list_backtests(symbol="FAIL", limit=10):
                got = len(store.get_trades(r.backtest_id))
                if got != r.total_trades:
                    with ledger.lock:
                        ledger.partial_reads.append(f"{r.backtest_id}: {got}/{r.total_trades}")
        except BacktestStoreError as exc:
            if not exc.retryable:
                with ledger.lock:
                    ledger.failures.append(repr(exc))
                return
            time.sleep(0.05)


def run_load(conninfo: str, fault: Callable[[], float]) -> Ledger:
    """The writers and readers for LOAD_SECONDS, ``fault`` after FAULT_AFTER (it returns
    the instant the server went away)."""
    ledger = Ledger()
    stop = threading.Event()
    with ConnectionPool(
        conninfo, min_size=WRITERS + READERS, max_size=WRITERS + READERS + 2,
        kwargs={"autocommit": True}, check=ConnectionPool.check_connection, timeout=3,
    ) as pool:  # fmt: skip
        store = BacktestStore(pool)
        threads = [threading.Thread(target=_writer, args=(store, ledger, stop, i))
                   for i in range(WRITERS)]  # fmt: skip
        threads += [threading.Thread(target=_reader, args=(store, ledger, stop))
                    for _ in range(READERS)]  # fmt: skip
        for t in threads:
            t.start()
        time.sleep(FAULT_AFTER)
        ledger.fault_at = fault()
        time.sleep(LOAD_SECONDS - FAULT_AFTER)
        stop.set()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads), "a client hung"
    return ledger


def stored(url: str) -> dict[UUID, tuple[int, int]]:
    """Each stored backtest: (trades it says it has, trades stored)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT r.backtest_id, r.total_trades, count(t.trade_id) FROM mcp_backtest_results r"
            " LEFT JOIN mcp_backtest_trades t USING (backtest_id) GROUP BY r.backtest_id"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def check(ledger: Ledger, url: str) -> dict[str, Any]:
    assert ledger.failures == []
    assert ledger.partial_reads == []
    found = stored(url)
    for the_id in ledger.acknowledged:  # acknowledged: there, with every trade
        assert found.get(the_id) == (ledger.attempted[the_id],) * 2, the_id
    for the_id, (says, has) in found.items():  # nothing partial, nothing stray
        assert the_id in ledger.attempted and says == has == ledger.attempted[the_id]
    assert ledger.unknown <= set(found)  # unknown, retried: there, once (a primary key)
    assert set(ledger.acknowledged) == set(ledger.attempted)  # every save landed at last
    figures = {
        "acknowledged": len(ledger.acknowledged),
        "retries": ledger.retries,
        "outcome_unknown": len(ledger.unknown),
        "found": len(found),
        "first_save_after_fault_s": ledger.first_save_after_fault(),
    }
    print(figures)  # the README's reliability figures come from this line (pytest -s)
    assert figures["first_save_after_fault_s"] is not None
    return figures


@contextmanager
def primary_and_standby() -> Iterator[tuple[clusters.Cluster, clusters.Cluster]]:
    if (why := clusters.can_run()) is not None:
        pytest.skip(why)
    primary = clusters.Cluster.create()
    standby = None
    try:
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE backtest_store")
        migrations.apply(primary.url("backtest_store"))
        standby = primary.standby()
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            # from now on a commit is acknowledged once the standby has it (the standby,
            # made before this, is left without: alone after its promotion)
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 30
            while (
                conn.execute(
                    "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'"
                ).fetchone()
                is None
            ):
                assert time.monotonic() < deadline, "the standby never became synchronous"
                time.sleep(0.05)
        yield primary, standby
    finally:
        primary.remove()
        if standby is not None:
            standby.remove()


def test_acknowledged_saves_survive_the_primary_killed_and_the_standby_promoted() -> None:
    with primary_and_standby() as (primary, standby):
        conninfo = (
            f"host=127.0.0.1,127.0.0.1 port={primary.port},{standby.port} dbname=backtest_store"
            " user=postgres target_session_attrs=read-write connect_timeout=2"
        )

        def failover() -> float:
            primary.kill()
            killed = time.monotonic()
            standby.promote()
            return killed

        ledger = run_load(conninfo, failover)
        figures = check(ledger, standby.url("backtest_store"))
        assert figures["acknowledged"] > 0 and figures["retries"] > 0


def test_a_server_restarted_under_load_loses_nothing() -> None:
    if (why := clusters.can_run()) is not None:
        pytest.skip(why)
    with clusters.cluster() as server:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE backtest_store")
        url = server.url("backtest_store")
        migrations.apply(url)

        def restart() -> float:  # pg_ctl restart -m immediate
            server.stop_immediately()
            stopped = time.monotonic()
            server.start()
            return stopped

        ledger = run_load(url + "?connect_timeout=2", restart)
        figures = check(ledger, url)
        assert figures["acknowledged"] > 0
