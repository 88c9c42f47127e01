"""The dev kit: what the tests, the bench and the tools share (the test server and its
databases, records to save, the legacy databases, browsers, the schema dump, a
backtesting.py strategy). It imports the package and nothing of tests/, bench/ or
tools/; they import it, never the other way round (tests/test_layout.py)."""
