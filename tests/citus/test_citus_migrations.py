"""Every migration file, today's and every later one, rolls back and applies again on a
distributed database with rows in it, and leaves it as it was: the same schema (pg_dump),
still distributed in one colocation group, the same rows where the tables were kept, and
the checksums of the files in sql/ (their Citus forms are how they run, not what is
recorded)."""

from __future__ import annotations

import psycopg
import pytest
from devkit import citus
from devkit.schema_dump import dump

from backtest_store import migrations
from backtest_store.schema import files
from backtest_store.schema.version import CHECKSUM_TABLE
from backtest_store.tables import RESULTS
from tests.citus.conftest import SHARDS
from tests.citus.test_citus_distribute import distribution_of, every_row, fill

IDS = files.migration_ids()
PROVENANCE = "0011.record-provenance"
# the columns 0011 adds, the last of mcp_backtest_results
ADDED_BY_0011 = list(RESULTS.columns)[list(RESULTS.columns).index("experiment") :]
# the files that create the tables: rolling one back drops its table, and its rows
CREATES_TABLES = {
    m for m in IDS if any(kind == "relation" and name.startswith("mcp_") and "_idx" not in name
                          for kind, name in files.created_objects(m))
}  # fmt: skip


@pytest.mark.parametrize("migration_id", IDS)
def test_rolls_back_and_applies_again_on_a_distributed_database(
    distributed_url: str, migration_id: str
) -> None:
    fill(distributed_url, backtests=4)
    schema = citus.schema_of(distributed_url)
    before, rows = dump(distributed_url, schema=schema), every_row(distributed_url)
    groups = distribution_of(distributed_url)
    steps = len(IDS) - IDS.index(migration_id)
    rolled_back = migrations.rollback(distributed_url, steps=steps)
    assert rolled_back[-1] == migration_id
    assert migrations.apply(distributed_url) == IDS[IDS.index(migration_id) :]
    assert dump(distributed_url, schema=schema) == before
    after = distribution_of(distributed_url)
    assert {t: c for t, (c, _) in after.items()} == {t: c for t, (c, _) in groups.items()}
    assert len({g for _, g in after.values()}) == 1  # one colocation group, still
    if not CREATES_TABLES & set(rolled_back):
        after_rows = every_row(distributed_url)
        if PROVENANCE in rolled_back:  # its columns went with it, and come back NULL
            results = RESULTS.name
            kept = len(RESULTS.columns) - len(ADDED_BY_0011)
            assert all(v is None for row in after_rows[results] for v in row[kept:])
            after_rows[results] = [row[:kept] for row in after_rows[results]]
            rows = {**rows, results: [row[:kept] for row in rows[results]]}
        assert after_rows == rows
    status = migrations.status(distributed_url)
    assert status.pending == [] and status.edited == []
    assert status.distributed == f"distributed on Citus: 5 tables, {SHARDS} shards"
    with psycopg.connect(distributed_url) as conn:
        sums = conn.execute(f"SELECT migration_id, sha256 FROM {CHECKSUM_TABLE}").fetchall()  # noqa: S608
    recorded: dict[str, str] = {m: s for m, s in sums}
    assert recorded == {m: files.file_checksum(m) for m in IDS}
