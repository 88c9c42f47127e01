"""Optional extras, imported only when a feature that needs one is used."""

from __future__ import annotations

import importlib
from types import ModuleType


def need(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{feature} needs {module!r}: pip install 'backtest-store[{extra}]'"
        ) from error
