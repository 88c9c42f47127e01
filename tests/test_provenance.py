"""Where each result came from (0011): recorded without asking (who, which code), set by
the database (saved_by), taken from a store's defaults, filled by the adapters from the
engines' own figures, widened symbols, the seed's writers still writing, and every
filter through the DAO, the CLI, the web list and /api."""

from __future__ import annotations

import getpass
import io
import json
import subprocess
import warnings
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import EURUSD, GOOG, SMA
from devkit.records import result, trade

from backtest_store import BacktestStore, ValidationError
from backtest_store.cli.main import main as cli
from backtest_store.provenance import fingerprint
from backtest_store.records import AUTO


def num(value: Any) -> float:
    """A stored number (a Decimal, or None where none was stored) as a float."""
    assert value is not None
    return float(value)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def scratch_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A git repository with one commit, as the working directory."""
    repo = tmp_path / "research"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "quant@example.com")
    git(repo, "config", "user.name", "Quant")
    (repo / "strategy.py").write_text("FAST = 10\n")
    git(repo, "add", "strategy.py")
    git(repo, "commit", "-q", "-m", "first")
    monkeypatch.chdir(repo)
    yield repo


def test_a_save_records_who_and_which_code_once_per_store(
    db_url: str, scratch_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = git(scratch_repo, "rev-parse", "HEAD")
    calls: list[list[str]] = []
    real = subprocess.run

    def counted(args: Any, *rest: Any, **kw: Any) -> Any:
        if isinstance(args, list) and args[:1] == ["git"]:
            calls.append(args)
        return real(args, *rest, **kw)

    monkeypatch.setattr(subprocess, "run", counted)
    with BacktestStore.connect(db_url) as store:
        first = store.save_backtest(result(), [trade(0)])
        second = store.save_backtest(result())
    assert first.run_by == second.run_by == getpass.getuser()
    assert first.code_version == second.code_version == head
    assert len(calls) == 2  # rev-parse and status, once for the store, not per save
    (scratch_repo / "strategy.py").write_text("FAST = 12\n")
    with BacktestStore.connect(db_url) as store:
        assert store.save_backtest(result()).code_version == f"{head}+dirty"


def test_outside_a_repository_the_code_version_is_null(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result())
    assert saved.code_version is None and saved.run_by == getpass.getuser()


def test_an_explicit_value_none_included_wins_over_defaults_and_detection(
    db_url: str, scratch_repo: Path
) -> None:
    defaults = {"experiment": "momentum-2024", "tags": {"universe": "sp500"}, "run_by": "bot"}
    with BacktestStore.connect(db_url, defaults=defaults) as store:
        by_default = store.save_backtest(result())
        explicit = store.save_backtest(result(experiment="other", run_by=None, tags=None,
                                              code_version="abc123"))  # fmt: skip
    assert (by_default.experiment, by_default.tags, by_default.run_by) == (
        "momentum-2024", {"universe": "sp500"}, "bot")  # fmt: skip
    assert by_default.code_version == git(scratch_repo, "rev-parse", "HEAD")
    assert (explicit.experiment, explicit.run_by, explicit.tags, explicit.code_version) == (
        "other", None, None, "abc123")  # fmt: skip
    assert result().run_by is AUTO  # a record not saved yet leaves it to the store


def test_bad_defaults_and_bad_shapes_are_refused_by_name(db_url: str) -> None:
    with pytest.raises(ValidationError, match="defaults\\['team'\\]"):
        BacktestStore.connect(db_url, defaults={"team": "x"}).__enter__()
    with pytest.raises(ValidationError, match="defaults\\['tags'\\]"):
        BacktestStore.connect(db_url, defaults={"tags": {"k": 1}}).__enter__()
    with BacktestStore.connect(db_url) as store:
        for bad in ({"tags": {"k": 1}}, {"tags": ["a"]}, {"extra_metrics": {"sqn": "high"}},
                    {"extra_metrics": {"sqn": float("nan")}}, {"extra_metrics": {"ok": True}},
                    {"bars_per_year": 0}, {"experiment": "x" * 201}):  # fmt: skip
            with pytest.raises(ValidationError) as caught:
                store.save_backtest(result(**bad))
            name = next(iter(bad))  # a rule of the database is named by its constraint
            assert caught.value.field in (name, f"ck_mcp_backtest_results_{name}"), bad
            assert name in str(caught.value), bad
        assert store.list_backtests() == []  # nothing half-written


def test_saved_by_is_the_writing_role_whatever_the_client_sends(
    db_url: str, logins: dict[str, str]
) -> None:
    with BacktestStore.connect(logins["app"]) as store:
        saved = store.save_backtest(result(saved_by="mallory"))
    app_role = logins["app"].split("://", 1)[1].split(":", 1)[0]
    assert saved.saved_by == app_role
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE mcp_backtest_results SET saved_by = 'mallory', notes = 'edited'")
        row = conn.execute(
            "INSERT INTO mcp_backtest_results (symbol, strategy_type, start_date, end_date,"
            " saved_by) VALUES ('X', 'y', '2024-01-01', '2024-01-02', 'mallory')"
            " RETURNING saved_by, current_user"
        ).fetchone()
        assert row is not None and row[0] == row[1] != "mallory"
        kept = conn.execute("SELECT saved_by FROM mcp_backtest_results WHERE backtest_id = %s",
                            (saved.backtest_id,)).fetchone()  # fmt: skip
    assert kept == (app_role,)  # an update keeps who saved it


@pytest.mark.filterwarnings("ignore:Column 'mcp_backtest_results.backtest_id' is marked")
def test_a_32_character_symbol_and_the_seed_s_writers(db_url: str) -> None:
    """A real instrument's symbol (an OCC option symbol is 21 characters) saves and reads
    back; the seed's own table definition (SQLAlchemy, as the revision declares it)
    still inserts a row, which gets NULL for every new column."""
    symbol = "BTC-USD-PERP-2026-12-25-C-100000"
    assert len(symbol) == 32
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(symbol=symbol))
        assert store.get_backtest(saved.backtest_id) == saved and saved.symbol == symbol
        with pytest.raises(ValidationError, match="at most 32"):
            store.save_backtest(result(symbol=symbol + "X"))
    table = seed_table("mcp_backtest_results")
    import sqlalchemy as sa

    engine = sa.create_engine("postgresql+psycopg://" + db_url.split("://", 1)[1])
    try:
        with engine.begin() as connection:
            inserted = connection.execute(table.insert().values(
                symbol="AAPL", strategy_type="legacy", start_date="2024-01-01",
                end_date="2024-02-01", parameters={"fast": 3}, total_return=0.1,
            ).returning(table.c.backtest_id)).scalar_one()  # fmt: skip
    finally:
        engine.dispose()
    with BacktestStore.connect(db_url) as store:
        old = store.get_backtest(inserted)
    assert old is not None and old.parameters == {"fast": 3}
    assert (old.experiment, old.run_by, old.code_version, old.tags) == (None, None, None, None)


def seed_table(name: str) -> Any:
    """A table as the seed revision declares it (its sa.Column list, run by Alembic in
    offline mode, which hands back the Table it would create)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from devkit.seed_contract import SEED, _source

    namespace: dict[str, Any] = {"__name__": "seed_revision"}
    exec(compile(_source(), str(SEED), "exec"), namespace)
    made: dict[str, Any] = {}
    context = MigrationContext.configure(dialect_name="postgresql",
                                         opts={"as_sql": True, "output_buffer": io.StringIO()})  # fmt: skip
    with Operations.context(context) as op:
        create = op.create_table

        def kept(table_name: str, *columns: Any, **kw: Any) -> Any:
            made[table_name] = create(table_name, *columns, **kw)
            return made[table_name]

        op.create_table = kept  # type: ignore[method-assign]
        namespace["upgrade"]()
    return made[name]


# -- the adapters, on real runs, inside a scratch repository ------------------------------


class Cross(Strategy):  # type: ignore[misc]
    """Long while the fast SMA is above the slow one (module-level: optimize() pickles it)."""

    n1 = 10
    n2 = 30

    def init(self) -> None:
        self.a = self.I(SMA, self.data.Close, self.n1)
        self.b = self.I(SMA, self.data.Close, self.n2)

    def next(self) -> None:
        if crossover(self.a, self.b):
            self.position.close()
            self.buy()
        elif crossover(self.b, self.a):
            self.position.close()


def test_backtesting_py_runs_record_where_they_came_from(db_url: str, scratch_repo: Path) -> None:
    from backtest_store.adapters.backtesting import from_heatmap, from_stats

    goog, cross = GOOG, Cross
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(goog, cross, cash=10_000, commission=0.002)
        stats, heatmap = bt.optimize(n1=[5, 10], n2=[20, 30], return_heatmap=True)
        changed = goog.copy()
        changed.iloc[100, changed.columns.get_loc("Close")] += 0.01
        other = Backtest(changed, cross, cash=10_000, commission=0.002).run(
            n1=stats._strategy.n1, n2=stats._strategy.n2
        )
        hourly = Backtest(EURUSD, cross, cash=10_000).run()
    with BacktestStore.connect(db_url) as store:
        record, trades = from_stats(stats, symbol="GOOG")
        saved = store.save_backtest(record, trades)
        store.save_optimization_results(
            saved.backtest_id, from_heatmap(heatmap, objective_function="sharpe_ratio")
        )
        again = store.save_backtest(from_stats(stats, symbol="GOOG")[0])
        moved = store.save_backtest(from_stats(other, symbol="GOOG")[0])
        fx = store.save_backtest(from_stats(hourly, symbol="EURUSD")[0])
    assert saved.run_by == getpass.getuser()
    assert saved.code_version == git(scratch_repo, "rev-parse", "HEAD")
    assert saved.engine == f"backtesting.py {version('backtesting')}"
    assert saved.data_fingerprint == again.data_fingerprint == fingerprint(goog)
    assert moved.data_fingerprint != saved.data_fingerprint  # one bar changed
    assert saved.bars_per_year == 252 and fx.bars_per_year == 252  # weekdays only
    assert num(saved.benchmark_return) == pytest.approx(stats["Buy & Hold Return [%]"] / 100,
                                                          abs=5e-9)  # fmt: skip
    assert saved.benchmark_symbol == "GOOG"
    curve = saved.benchmark_curve
    assert isinstance(curve, list) and len(curve) == len(saved.equity_curve)  # type: ignore[arg-type]
    assert [p[0] for p in curve] == [p[0] for p in saved.equity_curve]  # type: ignore[union-attr]
    assert curve[-1][1] / curve[0][1] - 1 == pytest.approx(stats["Buy & Hold Return [%]"] / 100)
    assert num(saved.fees) == 0.002 and num(saved.slippage) == 0  # never the default
    extra = saved.extra_metrics
    assert extra is not None
    for name in ("SQN", "Exposure Time [%]", "Expectancy [%]", "Kelly Criterion"):
        assert extra[name] == pytest.approx(float(stats[name])), name
    assert "Sharpe Ratio" not in extra and "Buy & Hold Return [%]" not in extra


def test_vectorbt_runs_record_where_they_came_from(db_url: str, scratch_repo: Path) -> None:
    vbt = pytest.importorskip("vectorbt")

    from backtest_store.adapters.vectorbt import from_portfolio, optimization_results

    close = GOOG["Close"]
    fast, slow = vbt.MA.run_combs(close, window=[10, 20, 30], r=2, short_names=["fast", "slow"])
    grid = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow),
                                      fast.ma_crossed_below(slow), freq="1D", init_cash=10_000)  # fmt: skip
    one = vbt.Portfolio.from_signals(close, close > close.rolling(20).mean(),
                                     close < close.rolling(20).mean(), freq="1D",
                                     fees=0.001, slippage=0.0005)  # fmt: skip
    hourly = vbt.Portfolio.from_signals(EURUSD["Close"], EURUSD["Close"].diff() > 0,
                                        EURUSD["Close"].diff() < 0, freq="1h")  # fmt: skip
    (scratch_repo / "strategy.py").write_text("FAST = 20\n")  # uncommitted: +dirty
    with BacktestStore.connect(db_url) as store:
        column = grid.wrapper.columns[0]
        record, trades = from_portfolio(grid, symbol="GOOG", strategy_type="ma", column=column)
        saved = store.save_backtest(record, trades)
        store.save_optimization_results(saved.backtest_id, optimization_results(grid))
        paid = store.save_backtest(from_portfolio(one, symbol="GOOG", strategy_type="ma")[0])
        fx = store.save_backtest(from_portfolio(hourly, symbol="EURUSD", strategy_type="up")[0])
    head = git(scratch_repo, "rev-parse", "HEAD")
    assert saved.code_version == f"{head}+dirty" and saved.run_by == getpass.getuser()
    assert saved.engine == f"vectorbt {version('vectorbt')}"
    assert saved.data_fingerprint == paid.data_fingerprint == fingerprint(close.to_frame("Close"))
    assert fx.data_fingerprint != saved.data_fingerprint
    pf = grid[column]
    assert num(saved.bars_per_year) == pf.returns_acc.ann_factor == 365
    assert num(fx.bars_per_year) == hourly.returns_acc.ann_factor == 365 * 24
    assert num(saved.benchmark_return) == pytest.approx(pf.total_benchmark_return(), abs=5e-9)
    assert [round(p[1], 6) for p in saved.benchmark_curve] == [  # type: ignore[union-attr]
        round(v, 6) for v in pf.benchmark_value().tolist()]  # fmt: skip
    assert num(saved.fees) == 0 and num(saved.slippage) == 0  # none: never the default
    assert num(paid.fees) == pytest.approx(0.001) and num(paid.slippage) == 0.0005
    stats = pf.stats()
    for name in ("Max Gross Exposure [%]", "Expectancy", "Omega Ratio", "Best Trade [%]"):
        assert saved.extra_metrics[name] == pytest.approx(float(stats[name])), name  # type: ignore[index]


# -- filters everywhere ---------------------------------------------------------------------


@pytest.fixture
def labelled(db_url: str) -> dict[str, Any]:
    with BacktestStore.connect(db_url, defaults={"run_by": "alice", "code_version": "c1"}) as s:
        a = s.save_backtest(result(experiment="mom", tags={"universe": "sp500"}, sharpe_ratio=1))
        b = s.save_backtest(result(experiment="mom", tags={"universe": "nasdaq"}, sharpe_ratio=2,
                                   run_by="bob"))  # fmt: skip
        c = s.save_backtest(result(experiment="rev", code_version="c2", sharpe_ratio=3))
    return {"a": str(a.backtest_id), "b": str(b.backtest_id), "c": str(c.backtest_id)}


CASES = [
    ({"experiment": "mom"}, ["--experiment", "mom"], "experiment=mom", ("b", "a")),
    ({"run_by": "alice"}, ["--run-by", "alice"], "run_by=alice", ("c", "a")),
    ({"code_version": "c2"}, ["--code-version", "c2"], "code_version=c2", ("c",)),
    ({"tags": {"universe": "sp500"}}, ["--tag", "universe=sp500"], "tag=universe%3Dsp500", ("a",)),
    ({"experiment": "mom", "run_by": "bob"}, ["--experiment", "mom", "--run-by", "bob"],
     "experiment=mom&run_by=bob", ("b",)),
]  # fmt: skip


@pytest.mark.parametrize(("dao", "flags", "query", "expected"), CASES)
def test_each_filter_through_the_dao_the_cli_the_web_list_and_api(
    db_url: str, labelled: dict[str, Any], capsys: pytest.CaptureFixture[str],
    dao: dict[str, Any], flags: list[str], query: str, expected: tuple[str, ...],
) -> None:  # fmt: skip
    want = [labelled[k] for k in expected]
    with BacktestStore.connect(db_url) as store:
        assert [str(r.backtest_id) for r in store.list_backtests(**dao)] == want
        assert [str(r.backtest_id) for r in store.browse_backtests(**dao)] == want
        top = [str(r.backtest_id) for r in store.top_backtests(**dao)]
        assert sorted(top) == sorted(want)
    for command in ("list", "top"):
        argv = [command, *flags, "--json", "--database", db_url]
        if command == "top":
            argv += ["--min-trades", "0"]
        assert cli(argv) == 0
        got = [r["backtest_id"] for r in json.loads(capsys.readouterr().out)]
        assert sorted(got) == sorted(want), command
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(db_url)) as client:
        api = client.get(f"/api/?{query}")
        assert api.status_code == 200
        assert [r["backtest_id"] for r in api.json()] == want
        html = client.get(f"/?{query}").text
        assert all(labelled[k] in html for k in expected)
        assert all(v not in html for k, v in labelled.items() if k not in expected)


def test_bad_filters_are_refused_by_name(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["list", "--tag", "universe", "--database", db_url]) == 2
    assert "--tag 'universe': give key=value" in capsys.readouterr().err
    # the CLI reads key=value as the web view and MCP do (pairs.py), with their limits:
    # a 5,000-digit number is refused by name, where json.loads once raised a traceback
    for flag, pair, said in (
        ("--param", "fast=" + "9" * 5000, "--param fast: a value of at most 200 characters"),
        ("--param", "fast=" + "9" * 40, "--param fast: a number of at most 30 digits"),
        ("--param", "fast=" + "[" * 9 + "]" * 9, "--param fast: at most 8 levels"),
        ("--tag", "k=" + "v" * 300, "--tag at most 200 characters"),
    ):  # fmt: skip
        assert cli(["list", flag, pair, "--database", db_url]) == 2, flag
        assert said in capsys.readouterr().err, said
    with BacktestStore.connect(db_url) as store, pytest.raises(ValidationError) as caught:
        store.list_backtests(tags={"k": 1})  # type: ignore[dict-item]
    assert caught.value.field == "tags"
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(db_url)) as client:
        for query, field in (("tag=nope", "tag"), ("experiment=" + "x" * 201, "experiment")):
            answer = client.get(f"/api/?{query}")
            assert answer.status_code == 400 and field in answer.text


def test_show_the_tearsheet_and_the_report_say_where_a_run_came_from(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(
            experiment="mom", run_by="alice", code_version="0123456789abcdef0123+dirty",
            engine="backtesting.py 0.6.6", data_fingerprint="sha256:feed", bars_per_year=252,
            tags={"universe": "sp500"}, total_return=Decimal("0.25"), benchmark_symbol="SPY",
            benchmark_return=Decimal("0.10"), benchmark_curve=[["2024-01-01T00:00:00Z", 100],
                                                      ["2024-06-30T00:00:00Z", 110]],
            equity_curve=[["2024-01-01T00:00:00Z", 100], ["2024-06-30T00:00:00Z", 125]]))  # fmt: skip
    the_id = str(saved.backtest_id)
    assert cli(["show", the_id, "--database", db_url]) == 0
    shown = capsys.readouterr().out
    for text in ("experiment mom", "run by alice (saved as", "code 0123456789ab+dirty",
                 "engine backtesting.py 0.6.6", "data sha256:feed", "bars a year 252",
                 "tags universe=sp500", "benchmark SPY 10.00 %; excess return 15.00 %"):  # fmt: skip
        assert text in " ".join(shown.split()), text
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(db_url)) as client:
        page = client.get(f"/backtests/{the_id}").text
        report = client.get(f"/backtests/{the_id}/report.html").text
    for html in (page, report):
        assert "0123456789ab+dirty" in html and "sha256:feed" in html
        assert "SPY 10.00 %; excess return 15.00 %" in html
    assert "benchmark: SPY" in page  # the benchmark's curve beside the equity curve


def test_compare_says_when_runs_are_on_different_clocks_or_engines(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with BacktestStore.connect(db_url) as store:
        a = store.save_backtest(result(bars_per_year=252, engine="backtesting.py 0.6.6",
                                       sharpe_ratio=1))  # fmt: skip
        b = store.save_backtest(result(bars_per_year=365, engine="vectorbt 1.2.0",
                                       sharpe_ratio=2))  # fmt: skip
    assert cli(["compare", str(a.backtest_id), str(b.backtest_id), "--database", db_url,
                "--wide"]) == 0  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    assert "annualized on different clocks (252, 365 bars a year)" in out
    assert "computed by different engines (backtesting.py 0.6.6, vectorbt 1.2.0)" in out
    assert "sharpe_ratio *" in out
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(db_url)) as client:
        page = client.get(f"/compare?ids={a.backtest_id},{b.backtest_id}").text
    assert "annualized on different clocks" in page and "different engines" in page
