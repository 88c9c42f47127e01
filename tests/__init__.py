"""The test suite. Its helpers (devkit/) have their asserts rewritten by pytest, as
the tests' own are, so that they check under ``python -O`` too."""

import pytest

pytest.register_assert_rewrite("devkit")
