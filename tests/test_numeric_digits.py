"""FX, crypto and intraday digits are kept (0010): the values that the seed's scales
rounded away read back exactly, on the record path and the DataFrame path (beyond a
column's scale rounding is half away from zero: test_stored's ``ROUNDED``); the
rollback refuses, naming the rows, rather than round them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from devkit.records import optimization, portfolio, result, row_counts, trade, window

from backtest_store import BacktestStore, MigrationError, migrations
from backtest_store.tables import ALL, OPTIMIZATIONS, PORTFOLIOS, RESULTS, TRADES, WALK_FORWARD

DATA_PAGE = Path(__file__).resolve().parents[1] / "docs" / "data.md"

# The cases, tried with backtesting.py's EURUSD and a crypto book: each was
# rounded by the seed's types and must now read back as given.
TRADE_VALUES = {
    "entry_price": Decimal("1.08839"),  # EURUSD, 5 decimals
    "exit_price": Decimal("1.085155"),  # a mid between two quotes
    "pnl_percent": 0.000267,  # an intraday trade's return
    "position_size": 0.004,  # BTC
    "pnl": Decimal("-0.00012345"),  # a crypto account's money
    "fees_paid": Decimal("0.00000431"),
    "duration_hours": Decimal("0.000278"),  # one second
}
RESULT_VALUES = {
    "fees": 0.00005,  # half a basis point
    "slippage": Decimal("0.000001"),
    "total_return": 0.00004,
    "max_drawdown": Decimal("-0.00000123"),
    "initial_capital": Decimal("1.5"),  # an account in BTC
    "final_portfolio_value": Decimal("1.50012345"),
    "win_rate": Decimal("0.00005"),  # 1 winner in 20,000 trades
}


def test_the_digits_the_seed_rounded_away_read_back_exactly(store: Any) -> None:
    penny = trade(1, entry_price=0.00001234, exit_price=Decimal("0.00001301"))
    saved = store.save_backtest(result(**RESULT_VALUES), [trade(0, **TRADE_VALUES), penny])
    stored = store.get_backtest(saved.backtest_id)
    for name, value in RESULT_VALUES.items():
        assert getattr(stored, name) == Decimal(repr(value)) if isinstance(value, float) else value
    got, got_penny = store.get_trades(saved.backtest_id)
    for name, value in TRADE_VALUES.items():
        want = Decimal(repr(value)) if isinstance(value, float) else value
        assert getattr(got, name) == want, name
    assert (got_penny.entry_price, got_penny.exit_price) == (
        Decimal("0.00001234"),
        Decimal("0.00001301"),
    )


def test_the_other_tables_keep_their_new_digits_too(store: Any) -> None:
    parent = store.save_backtest(result())
    (opt,) = store.save_optimization_results(
        parent.backtest_id,
        [optimization(objective_value=Decimal("0.00004321"), total_return=0.00004, win_rate=0.5)],
    )
    assert (opt.objective_value, opt.total_return) == (Decimal("0.00004321"), Decimal("0.00004"))
    (w,) = store.save_walk_forward_tests(
        parent.backtest_id, [window(out_of_sample_return=Decimal("-0.00000321"))]
    )
    assert w.out_of_sample_return == Decimal("-0.00000321")
    p = store.save_portfolio(portfolio(initial_capital=Decimal("0.12345678"), volatility=0.00004))
    assert (p.initial_capital, p.volatility) == (Decimal("0.12345678"), Decimal("0.00004"))


def test_a_dataframe_keeps_the_same_digits_as_records(db_url: str) -> None:
    pd = pytest.importorskip("pandas")
    floats = {k: float(v) for k, v in TRADE_VALUES.items()}  # type: ignore[arg-type]
    rows = [
        {**floats, "entry_date": trade(0).entry_date, "direction": "long"},
        # large magnitudes: the float product can no longer tell the last digits, so
        # these are rounded from their repr, as records are
        {"entry_date": trade(0).entry_date, "direction": "short", "entry_price": 9999999999.123457,
         "position_size": 1234567890123.1235, "pnl": -987654321.87654321},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    with BacktestStore.connect(db_url) as store:
        by_frame = store.get_trades(store.save_backtest(result(), frame).backtest_id)
        records = [trade(0, **{k: v for k, v in r.items() if k != "entry_date"}) for r in rows]
        by_records = store.get_trades(store.save_backtest(result(), records).backtest_id)
    names = [n for n in TRADES.columns if TRADES.columns[n].kind == "numeric"]
    for a, b in zip(by_frame, by_records, strict=True):
        assert [getattr(a, n) for n in names] == [getattr(b, n) for n in names]
    assert by_frame[1].position_size == Decimal("1234567890123.1235")


# -- the migration on data --------------------------------------------------------------

PREVIOUS = "0009.refuse-numeric-nan"
WIDEN = "0010.widen-numeric-scales"


def _after_widen() -> int:
    """How many migrations came after 0010 (rolled back first, to reach it)."""
    ids = migrations.migration_ids()
    return len(ids) - ids.index(WIDEN) - 1


def test_rollback_refuses_naming_the_rows_that_would_lose_digits(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    with BacktestStore.connect(db_url) as store:
        fine = store.save_backtest(result(fees=0.0015), [trade(0, entry_price=1.2345)])
        fx = store.save_backtest(result(), [trade(0, entry_price=Decimal("1.08839"))])
        rich = store.save_backtest(result(largest_win=Decimal("123456789")))  # 9 whole digits
    fx_trade = conn.execute(
        "SELECT trade_id FROM mcp_backtest_trades WHERE backtest_id = %s", (fx.backtest_id,)
    ).fetchone()[0]  # type: ignore[index]
    if _after_widen():
        migrations.rollback(db_url, steps=_after_widen())
    before = row_counts(conn), _numbers(conn)

    with pytest.raises(MigrationError) as refused:
        migrations.rollback(db_url)
    message = str(refused.value)
    assert f"{fx_trade} (entry_price=1.08839000)" in message
    assert f"{rich.backtest_id} (largest_win=123456789.00000000)" in message
    assert str(fine.backtest_id) not in message
    assert (
        "mcp_backtest_trades: 1 row(s)" in message and "mcp_backtest_results: 1 row(s)" in message
    )
    assert migrations.status(db_url).applied[-1] == WIDEN  # nothing changed
    assert (row_counts(conn), _numbers(conn)) == before

    conn.execute("DELETE FROM mcp_backtest_results WHERE backtest_id = ANY(%s)",
                 ([fx.backtest_id, rich.backtest_id],))  # fmt: skip
    assert migrations.rollback(db_url) == [WIDEN]
    assert _type(conn, "mcp_backtest_trades", "entry_price") == "numeric(12,4)"
    kept = conn.execute(
        "SELECT r.fees, t.entry_price FROM mcp_backtest_results r JOIN mcp_backtest_trades t"
        " USING (backtest_id) WHERE backtest_id = %s", (fine.backtest_id,),
    ).fetchone()  # fmt: skip
    assert kept == (Decimal("0.0015"), Decimal("1.2345"))
    ids = migrations.migration_ids()
    assert migrations.apply(db_url) == ids[ids.index(WIDEN) :]
    assert _type(conn, "mcp_backtest_trades", "entry_price") == "numeric(18,8)"


def test_migrating_a_database_with_data_keeps_every_value(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    migrations.rollback(db_url, steps=_after_widen() + 1)
    assert migrations.status(db_url).applied[-1] == PREVIOUS
    # the seed's scales, written as a writer of that schema wrote them
    the_id = conn.execute(
        "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
        " total_return, fees, initial_capital) VALUES ('AAPL', 'sma', '2024-01-01',"
        " '2024-02-01', 0.1235, 0.0005, 12345.67) RETURNING backtest_id"
    ).fetchone()[0]  # type: ignore[index]
    conn.execute("INSERT INTO mcp_backtest_trades (backtest_id, trade_number, entry_date,"
                 " entry_price, direction, position_size) VALUES (%s, 1, '2024-01-02',"
                 " 123.4567, 'long', 10.25)", (the_id,))  # fmt: skip
    before = _numbers(conn)
    ids = migrations.migration_ids()
    assert migrations.apply(db_url) == ids[ids.index(WIDEN) :]
    assert _numbers(conn) == before
    with BacktestStore.connect(db_url) as store:
        saved = store.get_backtest(the_id)
        (stored_trade,) = store.get_trades(the_id)
    assert saved is not None
    assert (saved.total_return, saved.fees, saved.initial_capital) == (
        Decimal("0.1235"), Decimal("0.0005"), Decimal("12345.67"))  # fmt: skip
    assert (stored_trade.entry_price, stored_trade.position_size) == (
        Decimal("123.4567"), Decimal("10.25"))  # fmt: skip


def _numbers(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """Every numeric value 0010 widened, by table (the columns 0011 added are left out: the
    tests roll back past them)."""
    out = {}
    for spec in ALL:
        names = [n for n, c in spec.columns.items()
                 if c.kind == "numeric" and n not in ("bars_per_year", "benchmark_return")]  # fmt: skip
        query = f"SELECT {', '.join(names)} FROM {spec.name} ORDER BY {spec.key}"  # noqa: S608
        out[spec.name] = conn.execute(query).fetchall()
    return out


def _type(conn: psycopg.Connection[Any], table: str, column: str) -> str:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attname = %s", (table, column),
    ).fetchone()  # fmt: skip
    assert row is not None
    return str(row[0])


# -- what docs/data.md tells ---------------------------------------------------------------


def test_the_readme_lists_every_numeric_column_with_its_type() -> None:
    """docs/data.md's table of numeric types equals the column facts (which test_catalog holds
    equal to the live catalog)."""
    section = DATA_PAGE.read_text().split("## What each number keeps", 1)[1].split("\n## ", 1)[0]
    listed: dict[tuple[str, str], str] = {}
    for table, columns, kind in re.findall(r"^\| `(\w+)` \| (.+?) \| `(numeric\(\d+,\d+\))` \|",
                                           section, flags=re.M):  # fmt: skip
        for name in re.findall(r"`(\w+)`", columns):
            listed[table, name] = kind
    specs = {s.name.removeprefix("mcp_"): s for s in (RESULTS, TRADES, OPTIMIZATIONS,
                                                    WALK_FORWARD, PORTFOLIOS)}  # fmt: skip
    facts = {
        (short, name): column.sql_type
        for short, spec in specs.items()
        for name, column in spec.columns.items()
        if column.kind == "numeric"
    }
    assert listed == facts
