"""Hostile strings through every string field and every string argument: each one round-trips
verbatim or is refused with a ValidationError, the database unchanged; nothing is executed."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import pytest
from devkit.records import optimization, portfolio, result, row_counts, trade, window

from backtest_store import ValidationError
from backtest_store.tables import ALL, OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, WALK_FORWARD

Store = Any

# Storable: must come back exactly as sent.
STORABLE = [
    "'; DROP TABLE mcp_backtest_results; --",
    "Robert'); DROP TABLE mcp_backtest_trades;--",
    "' OR '1'='1",
    '" OR ""="',
    "\\",
    "\\'",
    "E'\\\\x41'",
    "C:\\u0000dir",  # a backslash, then the text u0000: no NUL character, jsonb stores it
    "\\\\u0000",
    "%s",
    "%(x)s",
    "%%",
    "$1",
    "$$; SELECT pg_sleep(10); $$",
    "{}",
    "?",
    ":name",
    "*/ SELECT 1 /*",
    "-- comment",
    "\n\r\t\x0b\x0c",
    "é中文🙂\u200b\ufeff",
    "\U0010ffff",
    " ",
    "",
]
# Not storable in PostgreSQL text: must be refused before anything is written.
UNSTORABLE = ["nul\x00byte", "\x00", "lone \ud800 surrogate", "\udfff"]
ONE_MB = "x" * 1_000_000


def string_fields(spec: Any) -> list[str]:
    """The string columns a client writes (saved_by is the database's: 0011's trigger)."""
    return [n for n, c in spec.columns.items() if c.kind in ("varchar", "text") and n != "saved_by"]


# mcp_walk_forward_tests has no string column (its jsonb is covered by find_backtests below).
WITH_STRINGS = [
    s for s in (RESULTS, TRADES, OPTIMIZATIONS, WALK_FORWARD, PORTFOLIOS) if string_fields(s)
]


def fitted(value: str, column: Any) -> str:
    return value if column.length is None else value[: column.length]


def tables_intact(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mcp\\_%%'"
    ).fetchone()
    return row == (len(ALL),)


def save(store: Store, spec: Any, **fields: Any) -> Any:
    """Save one record of the table with the given fields; return it as read back."""
    if spec is RESULTS:
        saved = store.save_backtest(result(**fields))
        return store.get_backtest(saved.backtest_id)
    parent = store.save_backtest(result())
    if spec is TRADES:
        store.save_trades(parent.backtest_id, [trade(0, **fields)])
        return store.get_trades(parent.backtest_id)[0]
    if spec is OPTIMIZATIONS:
        store.save_optimization_results(parent.backtest_id, [optimization(0, **fields)])
        return store.best_parameters(parent.backtest_id)[0] if fields.get("rank") else None
    if spec is WALK_FORWARD:
        store.save_walk_forward_tests(parent.backtest_id, [window(0, **fields)])
        return store.walk_forward_tests(parent.backtest_id)[0]
    saved = store.save_portfolio(portfolio(**fields))
    return store.get_portfolio(saved.portfolio_backtest_id)


def required(spec: Any, name: str, value: str) -> dict[str, Any]:
    """Fields that keep the row valid for its ck_ constraints while ``name`` carries ``value``."""
    if name in ("status", "direction"):
        return {}  # whitelisted by check constraints; covered by test_constrained_strings
    fields: dict[str, Any] = {name: value}
    if spec is OPTIMIZATIONS:
        fields["rank"] = 1
    return fields


@pytest.mark.parametrize("spec", WITH_STRINGS, ids=lambda s: s.name)
def test_storable_strings_round_trip_verbatim_in_every_string_field(
    store: Store, conn: psycopg.Connection[Any], spec: Any
) -> None:
    for name in string_fields(spec):
        for raw in [*STORABLE, ONE_MB]:
            value = fitted(raw, spec.columns[name])
            fields = required(spec, name, value)
            if not fields:
                continue
            got = save(store, spec, **fields)
            assert getattr(got, name) == value, (name, raw[:40])
    assert tables_intact(conn)


@pytest.mark.parametrize("spec", WITH_STRINGS, ids=lambda s: s.name)
def test_unstorable_strings_are_refused_and_nothing_is_written(
    store: Store, conn: psycopg.Connection[Any], spec: Any
) -> None:
    before = snapshot(conn)
    tried = 0
    for name in string_fields(spec):
        column = spec.columns[name]
        for raw in [*UNSTORABLE, *([ONE_MB] if column.length else [])]:
            record_fields = {name: raw}
            with pytest.raises(ValidationError) as caught:
                save_one(store, spec, record_fields)
            assert caught.value.field == name
            tried += 1
    assert tried > 0 and snapshot(conn) == before and tables_intact(conn)


def snapshot(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    return tuple(row_counts(conn).values())


def save_one(store: Store, spec: Any, fields: dict[str, Any]) -> None:
    """A single save that carries ``fields``, under an existing parent where needed."""
    if spec is RESULTS:
        store.save_backtest(result(**fields))
    elif spec is PORTFOLIOS:
        store.save_portfolio(portfolio(**fields))
    else:
        with store.transaction() as tx:  # the parent too is rolled back by the refusal
            parent = tx.save_backtest(result())
            if spec is TRADES:
                tx.save_trades(parent.backtest_id, [trade(0, **fields)])
            elif spec is OPTIMIZATIONS:
                tx.save_optimization_results(parent.backtest_id, [optimization(0, **fields)])
            else:
                tx.save_walk_forward_tests(parent.backtest_id, [window(0, **fields)])


def test_constrained_strings_are_refused_by_their_check_not_executed(
    store: Store, conn: psycopg.Connection[Any]
) -> None:
    from backtest_store import ConstraintViolation

    for raw in STORABLE:
        with pytest.raises((ConstraintViolation, ValidationError)):
            store.save_backtest(result(status=raw[:20] or "x"), [])
        with pytest.raises((ConstraintViolation, ValidationError)):
            store.save_backtest(result(), [trade(0, direction=raw[:5] or "x")])
    assert snapshot(conn) == (0, 0, 0, 0, 0) and tables_intact(conn)


def test_hostile_arguments_are_bound_never_executed(
    store: Store, conn: psycopg.Connection[Any]
) -> None:
    """Every string argument of every query method: matches only itself, or is refused."""
    for raw in STORABLE:
        sym = raw[:10]
        kind = raw[:50]
        saved = store.save_backtest(
            result(symbol=sym, strategy_type=kind, parameters={raw: raw}, sharpe_ratio=1)
        )
        store.save_portfolio(portfolio(portfolio_name=raw[:100]))
        assert saved.backtest_id in {
            r.backtest_id for r in store.list_backtests(symbol=sym, strategy_type=kind, limit=100)
        }
        assert saved.backtest_id in {
            r.backtest_id for r in store.top_backtests(symbol=sym, strategy_type=kind, limit=100)
        }
        found = store.find_backtests(
            parameters={raw: raw}, symbol=sym, strategy_type=kind, limit=100
        )
        assert [r.backtest_id for r in found] == [saved.backtest_id]
        assert raw[:100] in {
            p.portfolio_name for p in store.list_portfolios(portfolio_name=raw[:100])
        }
        assert store.list_backtests(status=raw, limit=1) == [] or raw == ""
        summary = store.performance_summary(symbol=sym, strategy_type=kind)
        assert summary.overall.count >= 1
        assert (
            store.delete_backtests(
                older_than=dataclasses.replace(saved).backtest_date, symbol=raw, strategy_type=raw
            )
            >= 0
        )
        with pytest.raises(ValidationError):
            store.top_backtests(metric=raw)
        with pytest.raises(ValidationError):
            store.get_trades(saved.backtest_id, outcome=raw)
        with pytest.raises(ValidationError):
            store.compare_backtests([saved.backtest_id], metrics=[raw])
    for bad in UNSTORABLE:
        with pytest.raises(ValidationError):
            store.list_backtests(symbol=bad)
        with pytest.raises(ValidationError):
            store.find_backtests(parameters={"k": bad})
        with pytest.raises(ValidationError):
            store.list_portfolios(portfolio_name=bad)
        with pytest.raises(ValidationError):
            store.performance_summary(strategy_type=bad)
    assert tables_intact(conn)
    assert snapshot(conn)[0] == len(STORABLE)
