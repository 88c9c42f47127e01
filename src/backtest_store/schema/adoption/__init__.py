"""Adopt databases that the Alembic revision 013 (or its SQLAlchemy models) created.

The services this package replaces run databases whose five ``mcp_*`` tables were
made by ``013_add_backtest_persistence_models`` or, where that chain never resolved,
by SQLAlchemy's ``create_all`` from the service's models. ``adopt`` turns either
shape into exactly the schema ``migrate`` makes, keeping every row:

1. **Recognise and verify.** The five tables are compared with both shapes
   (columns in order, types, nullability, keys, indexes, triggers, checks). Any
   other difference is listed and nothing is changed.
2. **Preflight.** One scan per table counts the rows the package's rules would
   refuse: each ``ck_`` check of 0007, NaN in each numeric column, NULL in a column
   that becomes NOT NULL, and json values jsonb cannot hold. Any finding stops the
   adoption, unless it is NaN and ``nan_to_null`` is set (the store's
   ``nonfinite="null"`` policy). json values whose meaning jsonb changes (duplicate
   keys: the last one wins, as Python's ``json`` reads them too) are reported.
3. **One transaction.** ACCESS EXCLUSIVE on the five tables (``lock_timeout``: a
   busy table makes it fail fast and roll back), json to jsonb with the defaults
   and NOT NULLs in one rewrite per table, foreign keys re-created ``ON DELETE
   CASCADE`` (``NOT VALID``, then validated), the models' duplicate index dropped;
   then the statements of 0001-0007 that create what the tables lack (the trigger
   function, triggers, comments, checks), replayed from the migration files
   themselves; then 0001-0007 recorded as applied, in yoyo's tables and the
   checksum table. A kill at any point leaves the database as it was.
4. **The rest the normal way**: the migrations after 0007 (0008's concurrent
   indexes, ...) through ``schema.runner.apply``, so ``status`` is clean at the end.
   A run killed here has adopted the database; running ``adopt`` again finishes.
"""
