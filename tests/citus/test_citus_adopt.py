"""A database that `adopt` took over from the Alembic revision distributes too, in either
legacy shape (the revision's, the models'), with every row kept and none left on the
coordinator."""

from __future__ import annotations

import psycopg
import pytest
from devkit import citus, legacy
from devkit.adopting import SHAPES

from backtest_store.distribution import distribute
from backtest_store.schema.adoption.run import adopt
from backtest_store.tables import ALL
from tests.citus.conftest import SHARDS
from tests.citus.test_citus_distribute import distribution_of


@pytest.mark.parametrize("shape", SHAPES)
def test_adopt_then_distribute(shape: legacy.Shape) -> None:
    with citus.schema("bt_citus_legacy") as url:
        legacy.make_legacy(url, shape)
        counts = legacy.fill(url)
        adopt(url)
        rows = {s.name: legacy.table_rows(url, s.name, s.key) for s in ALL}
        assert {t: len(r) for t, r in rows.items()} == counts
        distribute(url, shard_count=SHARDS)
        assert len(distribution_of(url)) == 5
        assert {s.name: legacy.table_rows(url, s.name, s.key) for s in ALL} == rows
        with psycopg.connect(url) as conn:
            for spec in ALL:
                size = conn.execute("SELECT pg_relation_size(%s::regclass)", (spec.name,))
                assert size.fetchone() == (0,), spec.name
            # the application's other tables stay as they were: local, untouched
            users = conn.execute("SELECT count(*) FROM mcp_users").fetchone()
            assert users == (2,)
