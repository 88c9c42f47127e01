"""Statement builders: pure functions from typed arguments to SQL text and parameters.

pypika builds every statement; no value ever reaches the SQL text. Values
become named placeholders (``%(name)s``) bound by psycopg, and identifiers
that vary (metric names) come only from the whitelists below. COPY, which
pypika cannot express, is composed with ``psycopg.sql.Identifier`` from the
table facts. Nothing here touches a connection, so every statement can be
inspected (and EXPLAINed) in tests.

By concern: ``common`` (what every builder uses), ``writes``, ``reads`` and ``analytics``.
"""
