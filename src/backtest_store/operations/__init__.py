"""The store's operations, written once for the sync and the async store: a module per
feature, each operation checking its arguments and building its statement there (pypika,
placeholders only: no value ever reaches the SQL text), then yielding it. Nothing here
touches a connection, so every statement can be inspected, and EXPLAINed in tests.
Shared: ``steps`` (what an operation yields and how a driver runs it), ``arguments`` (the
checks of what callers pass), ``sql`` (what every statement uses), ``rows`` (result rows
to records) and ``inserts`` (how a record goes in)."""
