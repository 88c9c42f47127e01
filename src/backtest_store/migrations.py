"""The schema commands for Python: ``apply``, ``rollback``, ``status``, ``break_lock`` and
``adopt``, for services that migrate on deploy.

They live in ``backtest_store.schema`` (the runner, the files' facts, the version check
and adoption, by stage); this module is where users import them from.
"""

from __future__ import annotations

from backtest_store.schema.adoption.run import adopt
from backtest_store.schema.files import migration_ids, migrations_dir, required_version
from backtest_store.schema.runner import Status, apply, break_lock, rollback, status

__all__ = [
    "Status",
    "adopt",
    "apply",
    "break_lock",
    "migration_ids",
    "migrations_dir",
    "required_version",
    "rollback",
    "status",
]
