"""The ``backtest-store`` command line: ``main`` parses and dispatches; one module per
command group (``schema``: migrate, rollback, status, break-lock, adopt; ``browse``;
``transfer``: export and import; ``prune``; ``report``), and what they share
(``console``: exit codes, arguments, tables; ``progress``). The library never imports
from here."""
