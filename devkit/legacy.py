"""Databases as the replaced service left them, made by running the Alembic revision itself.

``make_legacy(url, shape)`` runs ``013_add_backtest_persistence_models`` (the seed file,
re-indented by devkit/seed_contract.py) through Alembic's operations on SQLAlchemy, then,
for the models' shape, applies the differences the service's ``create_all`` made. The
fill functions write rows the way that service's SQLAlchemy writer did: json text,
timestamps set by the writer, curves as objects keyed by "YYYY-MM-DD HH:MM:SS".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

import psycopg

from devkit.dbs import kept_database
from devkit.seed_contract import SEED, _source

Shape = Literal["revision", "models"]
REVISION = "013_add_backtest_persistence_models"
LEGACY_VOLUME_SQL = Path(__file__).with_name("legacy_volume.sql")

# Tables of the same application that live beside ours and must be left untouched.
OTHER_TABLES_SQL = """
CREATE TABLE mcp_users (user_id serial PRIMARY KEY, email varchar(200) NOT NULL UNIQUE,
                        profile json);
INSERT INTO mcp_users (email, profile) VALUES ('ana@example.com', '{"a": 1, "a": 2}'),
                                              ('bo@example.com', NULL);
CREATE TABLE mcp_watchlists (id serial PRIMARY KEY, user_id int REFERENCES mcp_users,
                             symbols json NOT NULL DEFAULT '[]');
INSERT INTO mcp_watchlists (user_id, symbols) VALUES (1, '["AAPL", "MSFT"]');
"""


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def make_legacy(url: str, shape: Shape) -> None:
    """Create the five tables as the revision (or the models) did, and the app's others."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    namespace: dict[str, Any] = {"__name__": "seed_revision"}
    exec(compile(_source(), str(SEED), "exec"), namespace)
    engine = sa.create_engine(_sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            with Operations.context(MigrationContext.configure(connection)):
                namespace["upgrade"]()
            # The revision id is 35 characters, longer than Alembic's default
            # varchar(32) version column: the service's table had a wider one.
            connection.exec_driver_sql(
                "CREATE TABLE alembic_version (version_num varchar(64) NOT NULL,"
                " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            connection.exec_driver_sql("INSERT INTO alembic_version VALUES (%s)", (REVISION,))
            connection.exec_driver_sql(OTHER_TABLES_SQL)
    finally:
        engine.dispose()
    if shape == "models":
        to_models_shape(url)


def to_models_shape(url: str) -> None:
    """The revision's tables as the models' create_all made them instead: no server
    defaults, foreign keys without ON DELETE CASCADE, three timestamps nullable, an
    index=True index on symbol, and no alembic_version table."""
    with psycopg.connect(url, autocommit=True) as conn:
        defaults = conn.execute(
            """SELECT c.relname, a.attname FROM pg_attrdef d
               JOIN pg_class c ON c.oid = d.adrelid
               JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
               WHERE c.relname LIKE 'mcp\\_backtest%' OR c.relname IN
                     ('mcp_optimization_results', 'mcp_walk_forward_tests')"""
        ).fetchall()
        for table, column in defaults:
            conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT')
        for table, column in (
            ("mcp_optimization_results", "optimization_date"),
            ("mcp_walk_forward_tests", "test_date"),
            ("mcp_backtest_portfolios", "backtest_date"),
        ):
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
        for table, column in (
            ("mcp_backtest_trades", "backtest_id"),
            ("mcp_optimization_results", "backtest_id"),
            ("mcp_walk_forward_tests", "parent_backtest_id"),
        ):
            name = f"{table}_{column}_fkey"
            conn.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} "
                f"FOREIGN KEY ({column}) REFERENCES mcp_backtest_results (backtest_id)"
            )
        conn.execute("CREATE INDEX ix_mcp_backtest_results_symbol ON mcp_backtest_results (symbol)")
        conn.execute("DROP TABLE alembic_version")


def _curve(start: datetime, values: list[float]) -> str:
    """A curve as the replaced engine wrote it: an object keyed by timestamp strings."""
    return json.dumps(
        {(start + timedelta(days=i)).strftime("%Y-%m-%d %H:%M:%S"): v for i, v in enumerate(values)}
    )


def fill(url: str, *, results: int = 40) -> dict[str, int]:
    """Rows as the replaced writer made them; returns the row count per table."""
    written = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with psycopg.connect(url) as conn:
        result_ids = []
        for i in range(results):
            bid = uuid.UUID(int=i + 1)
            result_ids.append(bid)
            params = json.dumps(
                {"fast": 5 + i % 7, "slow": 50, "filters": {"rsi": [30, 70], "name": "Ünïcødé ☃"}}
            )
            curve = (
                _curve(datetime(2023, 1, 3), [10000.0 + 10 * k for k in range(30)])
                if i % 4 == 0
                else None
            )
            drawdown = (
                _curve(datetime(2023, 1, 3), [-0.01 * (k % 5) for k in range(30)])
                if i % 4 == 0
                else None
            )
            conn.execute(
                """INSERT INTO mcp_backtest_results (backtest_id, symbol, strategy_type,
                   backtest_date, start_date, end_date, initial_capital, fees, slippage,
                   parameters, total_return, sharpe_ratio, max_drawdown, total_trades,
                   winning_trades, losing_trades, win_rate, equity_curve, drawdown_series,
                   status, error_message, notes, created_at, updated_at)
                   VALUES (%s, %s, %s, %s, %s, %s, 10000.0, 0.001, 0.001, %s, %s, %s, %s,
                           %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    bid, f"S{i % 5}", ["sma_cross", "rsi", "breakout"][i % 3],
                    written - timedelta(hours=i), date(2023, 1, 1), date(2023, 12, 31),
                    params, None if i % 9 == 0 else round(0.01 * i - 0.1, 4),
                    None if i % 7 == 0 else round(1.5 - 0.05 * i, 4), -0.01 * (i % 30),
                    4, 2, 1, 0.5, curve, drawdown,
                    "failed" if i % 13 == 0 else "completed",
                    "division by zero" if i % 13 == 0 else None,
                    "über-test – ✓" if i % 5 == 0 else None, written, written,
                ),
            )  # fmt: skip
            for n in range(1, 5):
                open_trade = n == 4
                conn.execute(
                    """INSERT INTO mcp_backtest_trades (trade_id, backtest_id, trade_number,
                       entry_date, entry_price, exit_date, exit_price, position_size,
                       direction, pnl, fees_paid, slippage_cost, created_at, updated_at)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, 100, %s, %s, 0, 0, %s, %s)""",
                    (
                        uuid.uuid4(), bid, n, date(2023, 2, n), 100 + n,
                        None if open_trade else date(2023, 3, n), None if open_trade else 101 + n,
                        "long" if n % 2 else "short", None if open_trade else n - 2,
                        written, written,
                    ),
                )  # fmt: skip
        for k, bid in enumerate(result_ids[:5]):
            for n in range(1, 4):
                conn.execute(
                    """INSERT INTO mcp_optimization_results (optimization_id, backtest_id,
                       optimization_date, parameter_set, parameters, objective_function,
                       objective_value, rank, is_statistically_significant, created_at,
                       updated_at) VALUES (%s, %s, %s, %s, %s, 'sharpe_ratio', %s, %s,
                       false, %s, %s)""",
                    (uuid.uuid4(), bid, written, n, json.dumps({"fast": n, "slow": [50, 60]}),
                     1.0 / n, n, written, written),
                )  # fmt: skip
            conn.execute(
                """INSERT INTO mcp_walk_forward_tests (walk_forward_id, parent_backtest_id,
                   test_date, window_size_months, step_size_months, training_start,
                   training_end, test_period_start, test_period_end, optimal_parameters,
                   out_of_sample_return, is_profitable, is_statistically_significant,
                   created_at, updated_at) VALUES (%s, %s, %s, 12, 3, '2022-01-01',
                   '2022-12-31', '2023-01-01', '2023-03-31', %s, 0.02, true, false, %s, %s)""",
                (uuid.uuid4(), bid, written, json.dumps({"fast": k}), written, written),
            )
        for k in range(3):
            conn.execute(
                """INSERT INTO mcp_backtest_portfolios (portfolio_backtest_id, portfolio_name,
                   backtest_date, start_date, end_date, symbols, weights, initial_capital,
                   component_backtest_ids, portfolio_equity_curve, portfolio_weights_history,
                   status, created_at, updated_at) VALUES (%s, %s, %s, '2023-01-01',
                   '2023-12-31', %s, %s, 100000.0, %s, %s, %s, 'completed', %s, %s)""",
                (
                    uuid.uuid4(), f"portfolio ✓ {k}", written, json.dumps(["S0", "S1"]),
                    json.dumps({"S0": 0.5, "S1": 0.5}), json.dumps([str(result_ids[k])]),
                    _curve(datetime(2023, 1, 3), [100000.0, 100500.5]) if k else None,
                    json.dumps([{"S0": 0.5, "S1": 0.5}]), written, written,
                ),
            )  # fmt: skip
    return {
        "mcp_backtest_results": results,
        "mcp_backtest_trades": 4 * results,
        "mcp_optimization_results": 15,
        "mcp_walk_forward_tests": 5,
        "mcp_backtest_portfolios": 3,
    }


def fill_volume(url: str, *, results: int) -> None:
    """The legacy volume (devkit/legacy_volume.sql): ``results`` backtests, ten trades each."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT set_config('bt.results', %s, false)", (str(results),))
        conn.execute(LEGACY_VOLUME_SQL.read_text().encode())


def table_rows(url: str, table: str, key: str, *, as_jsonb: bool = True) -> list[dict[str, Any]]:
    """Every row of a table in key order, by column name; json and jsonb values as jsonb
    (compared as such), or json as its text (``as_jsonb=False``: for values jsonb
    refuses)."""
    with psycopg.connect(url) as conn:
        types = conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
               WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""",
            (table,),
        ).fetchall()
        columns = ", ".join(
            f'"{name}"::jsonb'
            if type_ == "jsonb" or (type_ == "json" and as_jsonb)
            else f'"{name}"::text'
            if type_ == "json"
            else f'"{name}"'
            for name, type_ in types
        )
        rows = conn.execute(f'SELECT {columns} FROM "{table}" ORDER BY "{key}"').fetchall()  # noqa: S608
    # NaN is not equal to itself: it is compared as the word.
    names = [name for name, _ in types]
    return [{n: NAN if _is_nan(v) else v for n, v in zip(names, row, strict=True)} for row in rows]


NAN = "NaN (numeric)"


def _is_nan(value: Any) -> bool:
    return isinstance(value, Decimal) and value.is_nan()


SHAPES: tuple[Shape, ...] = ("revision", "models")


# What makes the kept templates: a change to any of these builds them again
ROOT = Path(__file__).resolve().parents[1]
MADE_OF = [SEED, Path(__file__), Path(__file__).with_name("seed_contract.py")]
ADOPTED_MADE_OF = [*MADE_OF, *sorted((ROOT / "sql").glob("*.sql")),
                   *sorted((ROOT / "src" / "backtest_store" / "schema").rglob("*.py"))]  # fmt: skip


@contextmanager
def templates() -> Iterator[dict[tuple[str, str], str]]:
    """Template databases of each shape, for tests to clone (``dbs.copy_of``): ``bare`` as
    the revision (or the models) made it, ``filled`` with the service's rows (``fill``),
    and ``adopted``: those rows after ``adopt``. The revision runs through Alembic and
    SQLAlchemy, which takes seconds, so each is built once per server and kept
    (``dbs.kept_database``, named by a hash of what makes it); a clone is a file copy."""
    from backtest_store import migrations

    def filled(url: str, shape: Shape) -> None:
        make_legacy(url, shape)
        fill(url)

    def adopted(url: str, shape: Shape) -> None:
        filled(url, shape)
        migrations.adopt(url)

    stages: list[tuple[str, Callable[[str, Shape], None], list[Path]]] = [
        ("bare", make_legacy, MADE_OF), ("filled", filled, MADE_OF),
        ("adopted", adopted, ADOPTED_MADE_OF),
    ]  # fmt: skip
    built: dict[tuple[str, str], str] = {}
    for shape in SHAPES:
        for stage, build, made_of in stages:
            built[shape, stage] = kept_database(
                f"bt_kept_{shape}_{stage}", made_of, partial(_flip, build, shape)
            )
    yield built


def _flip(build: Callable[[str, Shape], None], shape: Shape, url: str) -> None:
    build(url, shape)
