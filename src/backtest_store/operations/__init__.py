"""The store's operations, written once for the sync and the async store, by concern:
``steps`` (what an operation yields and how a driver runs it), ``arguments`` (the checks
of what callers pass), ``writes``, ``reads`` and ``rows`` (result rows to records)."""
