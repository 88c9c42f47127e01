"""What the tests share: the server and scratch databases (``dbs``, shared with bench/),
records to save (``records``), hypothesis strategies, the legacy databases the Alembic
revision makes (``legacy``, ``seed_contract``), throwaway clusters and the browser."""
