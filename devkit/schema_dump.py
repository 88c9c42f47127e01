"""The schema dump: `pg_dump --schema-only` of a freshly migrated database
(``tools/schema_dump.py`` is the command that prints it).

``make schema-dump`` writes it to schema.sql; tests/test_schema_dump.py
regenerates it and compares, so every schema change shows up as a readable
diff of schema.sql. Bookkeeping tables (yoyo's and the checksum table) and
version banners are left out, so the dump is about the schema alone.
"""

from __future__ import annotations

import re
import subprocess

from backtest_store import migrations
from backtest_store.schema import citus, version
from devkit.dbs import pg_bin, scratch_database

EXCLUDED = (
    "_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock", version.CHECKSUM_TABLE,
    citus.MARKER_TABLE,
)  # fmt: skip


def dump(
    url: str,
    *,
    exclude: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
    schema: str | None = None,
) -> str:
    """The schema of ``url``, without bookkeeping tables (and the tables in ``exclude``);
    with ``only``, the schema of those tables alone; with ``schema``, of that schema alone,
    written as if it were ``public`` (the Citus tests work in a schema each)."""
    args = [pg_bin("pg_dump"), "--schema-only", "--no-owner", "--no-privileges"]
    if schema is not None:
        args += ["--schema", schema]
    for table in (*EXCLUDED, *exclude):
        args += ["--exclude-table", table]
    for table in only:
        args += ["--table", table]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    out = re.sub(r"^-- Dumped (from|by) .*\n", "", out, flags=re.M)
    out = re.sub(r"^\\(un)?restrict .*\n", "", out, flags=re.M)  # pg_dump >= 17.6 nonce lines
    # The session preamble (SET ..., set_config) varies between pg_dump versions and is
    # not schema.
    out = re.sub(r"^(SET |SELECT pg_catalog\.set_config).*\n", "", out, flags=re.M)
    if schema is not None:
        out = re.sub(rf"^CREATE SCHEMA {schema};\n", "", out, flags=re.M)
        out = out.replace(f"--\n-- Name: {schema}; Type: SCHEMA; Schema: -; Owner: -\n--\n", "")
        out = re.sub(rf"\b{schema}\.", "public.", out).replace(
            f"Schema: {schema};", "Schema: public;"
        )
    return re.sub(r"\n{3,}", "\n\n", out)


def fresh_dump() -> str:
    with scratch_database("bt_dump") as url:
        migrations.apply(url)
        return dump(url)
