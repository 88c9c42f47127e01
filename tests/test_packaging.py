"""The wheel, installed in a fresh virtualenv with only the core dependencies: it ships the
SQL and migrates from outside the repository, and ``import backtest_store`` works without
numpy, pandas, backtesting.py or vectorbt (the extras say what to install when used)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from backtest_store import migrations

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv with the built wheel and its core dependencies, nothing else."""
    where = tmp_path_factory.mktemp("wheel")
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "-w",
            str(where),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = where.glob("backtest_store-*.whl")
    env_dir = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    subprocess.run(
        [
            str(env_dir / "bin" / "pip"),
            "install",
            "--quiet",
            "-c",
            str(ROOT / "constraints.txt"),
            f"{wheel}[binary]",
        ],
        check=True,
        capture_output=True,
    )
    yield env_dir


def run_python(venv: Path, code: str, cwd: Path) -> str:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_wheel_ships_the_sql_and_migrates(
    venv: Path, tmp_path: Path, empty_db_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(
        [str(venv / "bin" / "backtest-store"), "migrate", "--database", empty_db_url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert f"applied {len(migrations.migration_ids())} migration(s)" in run.stdout
    where = run_python(
        venv, "from backtest_store import migrations; print(migrations.migrations_dir())", tmp_path
    )
    assert str(venv) in where  # the SQL came from the installed wheel, not the checkout
    assert migrations.status(empty_db_url).pending == []


BARE_IMPORT = """
import importlib.util, json, sys
import backtest_store, backtest_store.frames
import backtest_store.adapters.backtesting, backtest_store.adapters.vectorbt
import backtest_store.web
heavy = ["numpy", "pandas", "backtesting", "vectorbt", "starlette", "jinja2", "uvicorn"]
errors = {}
calls = {
    "frames": lambda: backtest_store.frames.trades_frame([]),
    "backtesting": lambda: backtest_store.adapters.backtesting.from_stats({}, symbol="X"),
    "vectorbt": lambda: backtest_store.adapters.vectorbt.from_portfolio(
        None, symbol="X", strategy_type="s"),
    "web": lambda: backtest_store.web.create_app("postgresql://localhost/x"),
}
for name, call in calls.items():
    try:
        call()
    except ImportError as error:
        errors[name] = str(error)
print(json.dumps({
    "installed": [m for m in heavy if importlib.util.find_spec(m) is not None],
    "imported": [m for m in heavy if m in sys.modules],
    "errors": errors,
}))
"""


def test_import_works_without_the_extras_and_names_them_when_used(
    venv: Path, tmp_path: Path
) -> None:
    seen = json.loads(run_python(venv, BARE_IMPORT, tmp_path))
    assert seen["installed"] == [] and seen["imported"] == []
    assert "pip install 'backtest-store[pandas]'" in seen["errors"]["frames"]
    assert "pip install 'backtest-store[backtesting]'" in seen["errors"]["backtesting"]
    assert "pip install 'backtest-store[vectorbt]'" in seen["errors"]["vectorbt"]
    assert "pip install 'backtest-store[web]'" in seen["errors"]["web"]


def test_the_wheel_ships_the_web_views_templates_and_assets(venv: Path) -> None:
    package = next((venv / "lib").glob("python3*/site-packages/backtest_store"))
    web = package / "web"
    templates = {p.name for p in (web / "templates").glob("*.html")}
    assert {"base.html", "backtests.html", "backtest.html", "compare.html"} <= templates
    assert (web / "static" / "app.js").is_file() and (web / "static" / "style.css").is_file()
