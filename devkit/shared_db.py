"""One migrated database that a worker's tests share, made clean again between them.

A clone of the template per test cost about 90 ms (CREATE DATABASE, a connection, DROP
DATABASE), and more than half the tests ask for one. Between tests the tables that hold
rows are truncated and their sizes in pg_class set back to the clone's (a TRUNCATE marks
a table never vacuumed, where the clone's indexes, built on empty tables, counted 0
rows), and a fingerprint of everything else a test could change is compared with the one
the clone had: the schema and its comments, grants and settings, the bookkeeping tables'
rows, planner statistics and table sizes. A test that changed any of it (a migration
rolled back, roles.sql run, a table with rows analyzed) leaves the database dropped, and
the next test gets a new clone: sharing never shows. Setting pg_class needs a superuser,
as the tests' server gives; without one every test gets a new clone, as before.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from backtest_store.tables import ALL
from devkit.dbs import maintenance, url_for

DATA_TABLES = tuple(spec.name for spec in ALL)

# What a test could leave changed besides the rows of the data tables, as one text.
FINGERPRINT_SQL = """
WITH rels AS (
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
)
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT format('rel %s %s %s %s %s %s %s %s', c.oid::regclass, c.relkind, c.reloptions,
                  c.relacl, c.relrowsecurity, c.relpages, c.reltuples, c.relallvisible)
    FROM pg_class c WHERE c.oid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('col %s %s %s %s %s %s', a.attrelid::regclass, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attisdropped,
                  pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid IN (SELECT oid FROM rels) AND a.attnum > 0
    UNION ALL
    SELECT format('con %s %s %s %s %s %s %s', conrelid::regclass, conname, contype, conkey,
                  confrelid, convalidated, md5(conbin::text))
    FROM pg_constraint WHERE connamespace NOT IN ('pg_catalog'::regnamespace,
                                                  'information_schema'::regnamespace)
    UNION ALL
    SELECT format('index %s %s %s %s %s %s %s', indexrelid::regclass, indkey, indclass,
                  indisunique, indisvalid, md5(indexprs::text), md5(indpred::text)) FROM pg_index
    WHERE indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('comment %s %s %s %s', classoid, objoid, objsubid, description)
    FROM pg_description WHERE objoid >= 16384
    UNION ALL
    SELECT format('trigger %s %s %s', tgrelid::regclass, tgname, tgenabled)
    FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('function %s %s', p.oid::regprocedure, md5(p.prosrc))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT format('type %s', t.oid::regtype) FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
    UNION ALL
    SELECT format('schema %s %s', nspname, nspacl) FROM pg_namespace
    WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
    UNION ALL
    SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT format('policy %s %s', polrelid::regclass, polname) FROM pg_policy
    UNION ALL
    SELECT format('default acl %s', defaclacl) FROM pg_default_acl
    UNION ALL
    SELECT format('settings %s %s', setrole, setconfig) FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT format('database %s %s %s', datacl, datconnlimit, datallowconn)
    FROM pg_database WHERE datname = current_database()
    UNION ALL
    SELECT format('statistics %s', count(*)) FROM pg_statistic
    WHERE starelid IN (SELECT oid FROM rels)
) AS items(item)
"""


RESTORE_SQL = """
UPDATE pg_class c SET relpages = v.relpages, reltuples = v.reltuples,
    relallvisible = v.relallvisible
FROM unnest(%(oids)s::oid[], %(pages)s::int[], %(tuples)s::real[], %(visible)s::int[])
    AS v(oid, relpages, reltuples, relallvisible)
WHERE c.oid = v.oid
  AND (c.relpages, c.reltuples, c.relallvisible)
      IS DISTINCT FROM (v.relpages, v.reltuples, v.relallvisible)
"""


class SharedDatabase:
    """A worker's shared database: ``checkout`` gives a test a connection to it (cloning
    the template first when there is none), ``checkin`` makes it clean for the next."""

    def __init__(self, template: str, name: str) -> None:
        self.template = template
        self.name = name
        self.url = url_for(name)
        self.fingerprint: str | None = None  # None: no clean database to hand out
        self.statement: sql.SQL | sql.Composed = sql.SQL(FINGERPRINT_SQL)
        self.sizes: dict[str, list[Any]] = {}
        self.clones = 0

    def checkout(self) -> psycopg.Connection[Any]:
        if self.fingerprint is None:
            self._clone()
        return psycopg.connect(self.url)

    def checkin(self, conn: psycopg.Connection[Any]) -> None:
        """After a test: its rows truncated, and the database kept if nothing else
        changed; else it is dropped, and the next test gets a new clone."""
        try:
            if conn.closed or conn.broken:  # the test closed it, or the server restarted
                conn.close()
                conn = psycopg.connect(self.url)
            self._clean(conn)
        except psycopg.Error:  # a lock held by what the test left behind, a lost server
            self.fingerprint = None
        finally:
            conn.close()

    def drop(self) -> None:
        with maintenance() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.name)))  # fmt: skip
        self.fingerprint = None

    def _clone(self) -> None:
        self.drop()
        with maintenance() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(self.name), sql.Identifier(self.template)))  # fmt: skip
        with psycopg.connect(self.url, autocommit=True) as conn:
            # the bookkeeping tables' rows (the migrations applied) belong to the fingerprint
            others = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND NOT tablename = ANY(%s) ORDER BY 1", (list(DATA_TABLES),))]  # fmt: skip
            contents = [
                sql.SQL("(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                        " FROM {} t)").format(sql.Identifier(name))
                for name in others
            ]  # fmt: skip
            self.statement = sql.SQL("SELECT ({}), {}").format(
                sql.SQL(FINGERPRINT_SQL), sql.SQL(", ").join(contents) if contents else sql.NULL
            )
            # what TRUNCATE resets and a new clone has otherwise (its indexes were built on
            # empty tables: reltuples 0, where TRUNCATE leaves -1, "never vacuumed")
            rows = conn.execute(
                "SELECT oid, relpages, reltuples, relallvisible FROM pg_class"
                " WHERE relnamespace = 'public'::regnamespace").fetchall()  # fmt: skip
            self.sizes = {k: [r[n] for r in rows] for n, k in
                          enumerate(("oids", "pages", "tuples", "visible"))}  # fmt: skip
            self.fingerprint = self._fingerprint(conn)
        self.clones += 1

    def _clean(self, conn: psycopg.Connection[Any]) -> None:
        conn.rollback()
        conn.autocommit = True
        conn.execute("SET lock_timeout = '2s'")
        probes = sql.SQL(", ").join(
            sql.SQL("EXISTS (SELECT FROM {})").format(sql.Identifier(name)) for name in DATA_TABLES
        )
        found = conn.execute(sql.SQL("SELECT {}").format(probes)).fetchone()
        filled = [name for name, rows in zip(DATA_TABLES, found or (), strict=True) if rows]
        if filled:
            conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, filled))))  # fmt: skip
            conn.execute(RESTORE_SQL, self.sizes)
        if self._fingerprint(conn) != self.fingerprint:
            self.fingerprint = None

    def _fingerprint(self, conn: psycopg.Connection[Any]) -> str:
        return str(conn.execute(self.statement).fetchone())
