"""python -m backtest_store.cli: the same as the ``backtest-store`` command."""

import sys

from backtest_store.cli.main import main

sys.exit(main())
