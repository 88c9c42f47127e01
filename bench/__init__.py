"""`make bench`: backtest-store against its baselines, measured in one run on one server."""
