"""The live catalog of a migrated database equals the contract: the seed plus the required changes.

Columns (order, type, nullability, default), primary and foreign keys and all
20 indexes are compared against the Alembic revision itself
(devkit/seed_contract.py). The Python column facts the DAO validates with are
compared against the same catalog, so the SQL stays the one source of truth.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from devkit import seed_contract

from backtest_store import rules, tables

SEED = seed_contract.load()

# The required changes from the seed (issue: schema), and nothing else:
# jsonb for JSON, gen_random_uuid() keys, now() for the when-recorded and
# bookkeeping timestamps.
NOW_COLUMNS = {"created_at", "updated_at", "backtest_date", "optimization_date", "test_date"}

# 0010 widened these numeric columns (the seed's types are a floor: more decimals, never
# fewer whole digits); every other column has the seed's type.
WIDENED: dict[tuple[str, str], str] = {
    ("mcp_backtest_results", "initial_capital"): "numeric(21,8)",
    ("mcp_backtest_results", "fees"): "numeric(8,6)",
    ("mcp_backtest_results", "slippage"): "numeric(8,6)",
    ("mcp_backtest_results", "total_return"): "numeric(14,8)",
    ("mcp_backtest_results", "annualized_return"): "numeric(14,8)",
    ("mcp_backtest_results", "max_drawdown"): "numeric(12,8)",
    ("mcp_backtest_results", "volatility"): "numeric(12,8)",
    ("mcp_backtest_results", "downside_volatility"): "numeric(12,8)",
    ("mcp_backtest_results", "win_rate"): "numeric(9,8)",
    ("mcp_backtest_results", "average_win"): "numeric(18,8)",
    ("mcp_backtest_results", "average_loss"): "numeric(18,8)",
    ("mcp_backtest_results", "largest_win"): "numeric(18,8)",
    ("mcp_backtest_results", "largest_loss"): "numeric(18,8)",
    ("mcp_backtest_results", "final_portfolio_value"): "numeric(21,8)",
    ("mcp_backtest_results", "peak_portfolio_value"): "numeric(21,8)",
    ("mcp_backtest_results", "alpha"): "numeric(12,8)",
    ("mcp_backtest_trades", "entry_price"): "numeric(18,8)",
    ("mcp_backtest_trades", "exit_price"): "numeric(18,8)",
    ("mcp_backtest_trades", "position_size"): "numeric(21,8)",
    ("mcp_backtest_trades", "pnl"): "numeric(18,8)",
    ("mcp_backtest_trades", "pnl_percent"): "numeric(12,8)",
    ("mcp_backtest_trades", "mae"): "numeric(12,8)",
    ("mcp_backtest_trades", "mfe"): "numeric(12,8)",
    ("mcp_backtest_trades", "duration_hours"): "numeric(12,6)",
    ("mcp_backtest_trades", "fees_paid"): "numeric(14,8)",
    ("mcp_backtest_trades", "slippage_cost"): "numeric(14,8)",
    ("mcp_optimization_results", "objective_value"): "numeric(16,8)",
    ("mcp_optimization_results", "total_return"): "numeric(14,8)",
    ("mcp_optimization_results", "max_drawdown"): "numeric(12,8)",
    ("mcp_optimization_results", "win_rate"): "numeric(9,8)",
    ("mcp_walk_forward_tests", "training_performance"): "numeric(14,8)",
    ("mcp_walk_forward_tests", "out_of_sample_return"): "numeric(14,8)",
    ("mcp_walk_forward_tests", "out_of_sample_drawdown"): "numeric(12,8)",
    ("mcp_backtest_portfolios", "initial_capital"): "numeric(21,8)",
    ("mcp_backtest_portfolios", "total_return"): "numeric(14,8)",
    ("mcp_backtest_portfolios", "annualized_return"): "numeric(14,8)",
    ("mcp_backtest_portfolios", "max_drawdown"): "numeric(12,8)",
    ("mcp_backtest_portfolios", "volatility"): "numeric(12,8)",
    # 0011: real instruments' symbols (1000PEPEUSDT, BTC-USD-PERP, OCC option symbols)
    ("mcp_backtest_results", "symbol"): "character varying(32)",
}

# 0011 added these, after the seed's columns, nullable and without a default: old writers
# (the seed's own models included) leave them out and keep working.
ADDED: dict[str, list[tuple[str, str]]] = {
    "mcp_backtest_results": [
        ("experiment", "character varying(200)"), ("run_by", "character varying(200)"),
        ("saved_by", "character varying(63)"), ("code_version", "character varying(80)"),
        ("engine", "character varying(100)"), ("data_fingerprint", "character varying(100)"),
        ("bars_per_year", "numeric(12,4)"), ("benchmark_symbol", "character varying(32)"),
        ("benchmark_return", "numeric(14,8)"), ("benchmark_curve", "jsonb"), ("tags", "jsonb"),
        ("extra_metrics", "jsonb"),
    ],
}  # fmt: skip

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def expected_columns(table: str) -> list[tuple[str, str, bool, str | None]]:
    out = []
    for c in SEED.tables[table]:
        sql_type = "jsonb" if c.sql_type == "json" else c.sql_type
        sql_type = WIDENED.get((table, c.name), sql_type)
        if c.primary_key:
            default: str | None = "gen_random_uuid()"
        elif c.name in NOW_COLUMNS:
            default = "now()"
        elif c.server_default is not None and sql_type.startswith("character varying"):
            default = f"'{c.server_default}'::character varying"
        else:
            default = c.server_default
        out.append((c.name, sql_type, not c.nullable, default))
    return out + [(name, sql_type, False, None) for name, sql_type in ADDED.get(table, [])]


def live_columns(
    conn: psycopg.Connection[Any], table: str
) -> list[tuple[str, str, bool, str | None]]:
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(COLUMNS_SQL, (table,)).fetchall()]


@pytest.mark.parametrize("table", list(SEED.tables))
def test_columns_equal_the_seed_column_by_column(conn: psycopg.Connection[Any], table: str) -> None:
    live = live_columns(conn, table)
    expected = expected_columns(table)
    assert [c[0] for c in live] == [c[0] for c in expected], "column names or order differ"
    for got, want in zip(live, expected, strict=True):
        assert got == want, f"{table}.{want[0]}"


def _digits(sql_type: str) -> tuple[int, int]:
    """(whole digits, decimals) of numeric(p,s); (characters, 0) of character varying(n)."""
    if sql_type.startswith("character varying("):
        return int(sql_type.removeprefix("character varying(").rstrip(")")), 0
    p, s = (int(x) for x in sql_type.removeprefix("numeric(").rstrip(")").split(","))
    return p - s, s


@pytest.mark.parametrize(("table", "column"), sorted(WIDENED))
def test_widened_columns_hold_every_digit_the_seed_held(table: str, column: str) -> None:
    (seed,) = (c for c in SEED.tables[table] if c.name == column)
    whole, decimals = _digits(WIDENED[table, column])
    seed_whole, seed_decimals = _digits(seed.sql_type)
    if seed.sql_type.startswith("character varying"):
        assert whole > seed_whole  # more characters
    else:
        assert whole >= seed_whole and decimals > seed_decimals


def test_exactly_the_five_tables_exist(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mcp\\_%%'"
    ).fetchall()
    assert {r[0] for r in rows} == set(SEED.tables)


@pytest.mark.parametrize("table", list(SEED.tables))
def test_primary_key(conn: psycopg.Connection[Any], table: str) -> None:
    (pk_column,) = (c.name for c in SEED.tables[table] if c.primary_key)
    rows = conn.execute(
        """SELECT con.conname, array_agg(a.attname ORDER BY k.ord)
           FROM pg_constraint con
           CROSS JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
           WHERE con.conrelid = %s::regclass AND con.contype = 'p'
           GROUP BY con.conname""",
        (table,),
    ).fetchall()
    assert rows == [(f"{table}_pkey", [pk_column])]


def test_foreign_keys_cascade(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        """SELECT con.conrelid::regclass::text, array_agg(a.attname ORDER BY k.ord),
                  con.confrelid::regclass::text, con.confdeltype
           FROM pg_constraint con
           CROSS JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
           WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
           GROUP BY con.oid"""
    ).fetchall()
    expected = {
        (fk.table, tuple(fk.columns), fk.ref_table, "c" if fk.ondelete == "CASCADE" else "?")
        for fk in SEED.foreign_keys
    }
    assert {(t, tuple(c), r, d) for t, c, r, d in rows} == expected
    assert len(rows) == 3


INDEXES_SQL = """
SELECT i.relname, t.relname,
       array_agg(coalesce(a.attname, pg_get_indexdef(ix.indexrelid, k.ord::int, true))
                 ORDER BY k.ord), ix.indisunique,
       am.amname, ix.indpred IS NULL
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_am am ON am.oid = i.relam
CROSS JOIN unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum  -- 0: an expression
WHERE t.relname LIKE 'mcp\\_%%' AND NOT ix.indisprimary
GROUP BY i.relname, t.relname, ix.indisunique, am.amname, ix.indpred
"""

# Indexes that 0008, 0012 and 0013 add for the DAO's queries (never replacing the seed's): name -> (table,
# columns, access method).
_R, _P = "mcp_backtest_results", "mcp_backtest_portfolios"
ADDED_INDEXES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mcp_backtest_results_parameters_idx": (_R, ("parameters",), "gin"),
    "mcp_backtest_results_symbol_date_idx": (
        _R, ("symbol", "backtest_date", "backtest_id"), "btree"
    ),
    "mcp_backtest_results_strategy_date_idx": (
        _R, ("strategy_type", "backtest_date", "backtest_id"), "btree"
    ),
    **{
        f"mcp_backtest_results_{short}_idx": (_R, (column,), "btree")
        for short, column in [
            ("annualized_return", "annualized_return"), ("sortino", "sortino_ratio"),
            ("calmar", "calmar_ratio"), ("alpha", "alpha"), ("max_drawdown", "max_drawdown"),
            ("volatility", "volatility"), ("downside_volatility", "downside_volatility"),
            ("win_rate", "win_rate"), ("profit_factor", "profit_factor"),
        ]
    },
    "mcp_backtest_portfolios_name_date_idx": (
        _P, ("portfolio_name", "backtest_date", "portfolio_backtest_id"), "btree"
    ),
    # 0012: where the runs came from
    **{
        f"mcp_backtest_results_{column}_date_idx": (
            _R, (column, "backtest_date", "backtest_id"), "btree"
        )
        for column in ("experiment", "run_by", "code_version")
    },
    "mcp_backtest_results_tags_idx": (_R, ("tags",), "gin"),
    # 0013: the runs that are the same run (in place of 0012's index on data_fingerprint)
    "mcp_backtest_results_same_run_idx": (_R, ("data_fingerprint", "jsonb_hash(parameters)"),
                                          "btree"),
}  # fmt: skip


def test_all_twenty_seed_indexes_with_names_and_column_order(conn: psycopg.Connection[Any]) -> None:
    live = {
        r[0]: (r[1], tuple(r[2]), r[3], r[4], r[5]) for r in conn.execute(INDEXES_SQL).fetchall()
    }
    assert len(SEED.indexes) == 20
    for ix in SEED.indexes:
        assert live.get(ix.name) == (ix.table, ix.columns, False, "btree", True), ix.name
    extra = set(live) - {ix.name for ix in SEED.indexes}
    assert extra == set(ADDED_INDEXES), (
        "an index exists that neither the seed nor a migration names"
    )
    for name, (table, columns, method) in ADDED_INDEXES.items():
        assert live[name][:2] == (table, columns) and live[name][3] == method, name


def test_every_table_and_column_is_documented(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        """SELECT c.relname, a.attname
           FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
           WHERE c.relname LIKE 'mcp\\_%%' AND c.relkind = 'r' AND a.attnum > 0
             AND NOT a.attisdropped AND coalesce(col_description(c.oid, a.attnum), '') = ''"""
    ).fetchall()
    assert rows == [], "columns without COMMENT ON COLUMN"
    rows = conn.execute(
        """SELECT relname FROM pg_class WHERE relname LIKE 'mcp\\_%%' AND relkind = 'r'
           AND coalesce(obj_description(oid, 'pg_class'), '') = ''"""
    ).fetchall()
    assert rows == [], "tables without COMMENT ON TABLE"


@pytest.mark.parametrize("spec", tables.ALL, ids=lambda s: s.name)
def test_python_column_facts_equal_the_catalog(
    conn: psycopg.Connection[Any], spec: tables.TableSpec[Any]
) -> None:
    """The limits the DAO validates with are the catalog's (one source of truth)."""
    live = live_columns(conn, spec.name)
    python = [(n, c.sql_type, c.not_null, c.default_sql) for n, c in spec.columns.items()]
    assert python == live


@pytest.mark.parametrize("spec", tables.ALL, ids=lambda s: s.name)
def test_python_defaults_evaluate_to_the_server_defaults(
    conn: psycopg.Connection[Any], spec: tables.TableSpec[Any]
) -> None:
    """The Python value used for a left-out defaulted field is what the server would store."""
    for name, column in spec.columns.items():
        if column.default is None:
            continue
        (value,) = conn.execute(
            f"SELECT CAST({column.default_sql} AS {column.sql_type})"
        ).fetchone()  # type: ignore[misc]
        assert value == column.default and type(value) is type(column.default), name


def test_record_fields_are_the_columns_in_order(conn: psycopg.Connection[Any]) -> None:
    import dataclasses

    for spec in tables.ALL:
        fields = [f.name for f in dataclasses.fields(spec.record)]
        assert fields == [c[0] for c in live_columns(conn, spec.name)], spec.name


def test_python_rules_are_the_catalog_s_checks(conn: psycopg.Connection[Any]) -> None:
    """``rules.CHECKS`` names every ck_ constraint of the migrated schema and no other,
    and each rule's text, added to a copy of its table, is the constraint PostgreSQL
    holds (pg_get_constraintdef, deparsed from the catalog: digit for digit)."""
    held = dict(conn.execute(
        "SELECT c.conname, c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c WHERE c.contype = 'c' AND c.conname LIKE 'ck\\_%'"
    ).fetchall())  # fmt: skip
    assert set(rules.CHECKS) == set(held)
    with conn.transaction(force_rollback=True):
        for name, rule in rules.CHECKS.items():
            table, definition = held[name].split(" ", 1)
            conn.execute(f"CREATE TEMP TABLE probe (LIKE {table})")
            conn.execute(f"ALTER TABLE probe ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")
            probe = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s"
                " AND conrelid = 'probe'::regclass", (name,)).fetchone()  # fmt: skip
            assert probe is not None
            assert probe[0].removesuffix(" NOT VALID") == definition.removesuffix(" NOT VALID")
            conn.execute("DROP TABLE probe")
    assert rules.CHECKS["ck_mcp_backtest_results_status"].count("'") == 2 * len(rules.STATUSES)


# What each unit is called in a COMMENT (the words the migrations use for it)
UNIT_WORDS = {
    "fraction": ("fraction",), "currency": ("account currency",), "days": ("in days",),
    "seconds": ("in seconds",), "ratio": ("dimensionless",),
}  # fmt: skip


def test_python_units_are_the_ones_the_comments_name(conn: psycopg.Connection[Any]) -> None:
    """Each column's unit in ``rules.UNITS`` is the one its COMMENT names, and a column
    whose COMMENT names a unit has it there (a count: "number of ...", "trades with ...")."""
    comments = conn.execute(
        "SELECT c.table_name, c.column_name, col_description("
        "  (quote_ident(c.table_name))::regclass, c.ordinal_position)"
        " FROM information_schema.columns c WHERE c.table_schema = 'public'"
        " AND c.table_name LIKE 'mcp\\_%'"
    ).fetchall()
    assert len(comments) > 100
    for table, column, comment in comments:
        text = comment.lower()
        named = [u for u, words in UNIT_WORDS.items() if any(w in text for w in words)]
        if text.startswith(("number of", "trades with")):
            named.append("count")
        assert rules.unit(table, column) == (named[0] if named else ""), (table, column, comment)
    for table, units in rules.UNITS.items():
        assert set(units) <= set({s.name: s for s in tables.ALL}[table].columns), table
