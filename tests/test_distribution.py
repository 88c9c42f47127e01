"""What `distribute` and the Citus forms of the migrations are, checked on single-node
PostgreSQL (the cluster tests are in tests/citus): the refusal of a plain server, the
facts the plan repeats from the schema, the split of the ALTER TABLEs Citus refuses, and
the summary's roll-up against the GROUPING SETS it replaced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from devkit.schema_dump import dump
from yoyo import read_migrations

from backtest_store.cli.main import main
from backtest_store.distribution import (
    DistributionError,
    child_key,
    distribute,
    distribution_column,
)
from backtest_store.operations.analytics import performance_summary
from backtest_store.operations.arguments import StoreSettings
from backtest_store.operations.steps import Fetch
from backtest_store.schema import citus, files
from backtest_store.tables import ALL, RESULTS


def test_plain_postgresql_is_not_a_citus_coordinator(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump(db_url)
    with pytest.raises(DistributionError, match="is not a Citus coordinator"):
        distribute(db_url)
    assert main(["distribute", "--database", db_url]) == 2
    assert "not a Citus coordinator" in capsys.readouterr().err
    assert main(["distribute", "--database", db_url, "--dry-run"]) == 2
    assert dump(db_url) == before
    with psycopg.connect(db_url) as conn:
        assert not citus.applies_citus_forms(conn)
        assert citus.describe(conn) is None


def test_the_distribution_columns_are_the_schema_s_own_keys(conn: psycopg.Connection[Any]) -> None:
    """Each child is distributed by its foreign key to mcp_backtest_results, the results
    and portfolios by their primary keys: read from the catalog the migrations made."""
    foreign = dict(
        conn.execute(
            """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND c.confrelid = %s::regclass""",
            (RESULTS.name,),
        ).fetchall()
    )
    primary = dict(
        conn.execute(
            """SELECT c.conrelid::regclass::text, string_agg(a.attname, ', ')
               FROM pg_constraint c JOIN pg_attribute a
                 ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
               WHERE c.contype = 'p' AND c.conrelid = ANY(%s::regclass[]) GROUP BY 1""",
            ([s.name for s in ALL],),
        ).fetchall()
    )
    for spec in ALL:
        if spec.name in foreign:
            assert distribution_column(spec) == foreign[spec.name]
            assert child_key(spec) == (foreign[spec.name], primary[spec.name])
        else:
            assert distribution_column(spec) == primary[spec.name]
            assert child_key(spec) == (primary[spec.name],)


def test_subcommands_split_at_the_commas_outside_parentheses_and_quotes() -> None:
    assert citus.subcommands(
        "ADD CONSTRAINT a CHECK (x IN ('p, q', 'r')), DROP CONSTRAINT IF EXISTS b,"
        ' ADD CONSTRAINT "c,d" CHECK (f(x, y) > 0) NOT VALID'
    ) == [
        "ADD CONSTRAINT a CHECK (x IN ('p, q', 'r'))",
        "DROP CONSTRAINT IF EXISTS b",
        'ADD CONSTRAINT "c,d" CHECK (f(x, y) > 0) NOT VALID',
    ]


def _statements(text: str) -> list[str]:
    import sqlparse

    return [
        s
        for raw in sqlparse.split(text)
        if (s := sqlparse.format(raw, strip_comments=True).strip().rstrip(";").strip())
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in files.migrations_dir().glob("*.sql")))
def test_the_citus_form_of_each_file_splits_only_what_citus_refuses(name: str) -> None:
    text = (files.migrations_dir() / name).read_text()
    form = citus.citus_form(text)
    original, split = _statements(text), _statements(form)
    expected: list[str] = []
    for statement in original:
        match = citus._ALTER_TABLE.match(statement)
        parts = citus.subcommands(match.group(2)) if match else []
        if match and len(parts) > 1 and any(p.upper().startswith("ADD CONSTRAINT") for p in parts):
            expected += [f"{match.group(1)} {p}" for p in parts]
        else:
            expected.append(statement)
    assert split == expected
    for statement in split:  # nothing left that Citus refuses
        match = citus._ALTER_TABLE.match(statement)
        if match and "ADD CONSTRAINT" in statement.upper():
            assert len(citus.subcommands(match.group(2))) == 1, statement


def test_yoyo_reads_the_citus_forms_as_the_same_migrations() -> None:
    plain = read_migrations(str(files.migrations_dir()))
    with citus.migrations_source(True) as source:
        forms = read_migrations(str(source))
        assert [m.id for m in forms] == [m.id for m in plain]
        assert [m.hash for m in forms] == [m.hash for m in plain]  # what yoyo records
        for a, b in zip(plain, forms, strict=True):
            a.load()
            b.load()
            assert a.use_transactions == b.use_transactions, a.id
            assert [d.id for d in a.depends] == [d.id for d in b.depends], a.id


GROUPING_SETS_SQL = """
SELECT GROUPING(strategy_type), GROUPING(symbol), strategy_type, symbol, count(*),
       avg(NULLIF(total_return, 'NaN')), max(NULLIF(total_return, 'NaN')),
       min(NULLIF(total_return, 'NaN')), avg(NULLIF(sharpe_ratio, 'NaN')),
       avg(NULLIF(win_rate, 'NaN'))
FROM mcp_backtest_results WHERE backtest_date >= %(since)s
GROUP BY GROUPING SETS ((), (strategy_type), (symbol))"""


def test_the_summary_s_roll_up_equals_grouping_sets_to_the_last_digit(
    volume: psycopg.Connection[Any],
) -> None:
    """The form Citus can run gives PostgreSQL's own avg(), max() and min() exactly, at
    volume (200,000 results), digit for digit and scale for scale."""
    since = volume.execute("SELECT min(backtest_date) + interval '1 day' FROM mcp_backtest_results")
    params = {"since": since.fetchone()[0]}  # type: ignore[index]
    step = next(performance_summary(StoreSettings("refuse"), since=params["since"], symbol=None,
                                    strategy_type=None, status=None))  # fmt: skip
    assert isinstance(step, Fetch) and isinstance(step.statement, str)
    ours = volume.execute(step.statement, step.params).fetchall()
    theirs = volume.execute(GROUPING_SETS_SQL, params).fetchall()

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (row[0], row[1], str(row[2]), str(row[3]))

    assert len(ours) == len(theirs) > 3
    for a, b in zip(sorted(ours, key=key), sorted(theirs, key=key), strict=True):
        assert a == b
        for x, y in zip(a, b, strict=True):  # the same digits, not only the same value
            if isinstance(x, Decimal):
                assert x.as_tuple() == y.as_tuple()


def test_the_citus_form_keeps_every_comment_above_a_split_statement() -> None:
    text = (
        "-- depends: 0001.x\n-- this ALTER TABLE adds two checks\n"
        "ALTER TABLE t ADD CONSTRAINT a CHECK (x > 0), ADD CONSTRAINT b CHECK (y > 0);\n"
    )
    assert citus.citus_form(text) == (
        "-- depends: 0001.x\n-- this ALTER TABLE adds two checks\n"
        "ALTER TABLE t ADD CONSTRAINT a CHECK (x > 0);\n"
        "ALTER TABLE t ADD CONSTRAINT b CHECK (y > 0);\n"
    )
