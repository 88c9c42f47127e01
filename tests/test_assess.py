"""Skill or selection through the store: ``assess`` and ``assess_experiment`` on both
stores, held to the definitions (``overfitting``) on the inputs the store holds, to
ground truth on simulated runs, and the same documents through the CLI, /api and MCP."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from devkit.records import random_curve as curve
from devkit.records import result, window

from backtest_store import (
    BacktestStore,
    NotFoundError,
    OptimizationResult,
    ParentNotFoundError,
    RecordNotFoundError,
    documents,
    overfitting,
)
from backtest_store.assessment import assess_runs
from backtest_store.cli.main import main as cli


def num(value: Any) -> float:
    """A stored number (a Decimal, or None where none was stored) as a float."""
    assert value is not None
    return float(value)


def test_a_backtest_is_judged_against_its_grid_exactly_as_defined(store: Any) -> None:
    rng = random.Random(7)
    points = curve(rng, 1261, drift=0.0006)
    saved = store.save_backtest(result(equity_curve=points, bars_per_year=252))
    annual = [rng.gauss(0.5, 0.7) for _ in range(19)] + [None]
    store.save_optimization_results(saved.backtest_id, [
        OptimizationResult(parameters={"k": i}, sharpe_ratio=s, objective_value=i)
        for i, s in enumerate(annual)])  # fmt: skip
    found = store.assess(saved.backtest_id)
    stored = [o.sharpe_ratio for o in store.optimization_results(saved.backtest_id)]
    per_bar = [float(s) / math.sqrt(252) for s in stored if s is not None]
    moments = overfitting.moments(overfitting.returns([p[1] for p in points]))
    sr0 = overfitting.expected_max_sharpe(20, statistics.variance(per_bar))
    assert found.trials == 20 and found.observations == 1260
    assert found.sharpe_ratio == pytest.approx(moments.sharpe_ratio, rel=1e-12)
    assert found.expected_max_sharpe == pytest.approx(sr0, rel=1e-12)
    assert moments.sharpe_ratio is not None and moments.skewness is not None
    assert moments.kurtosis is not None
    dsr = overfitting.psr(moments.sharpe_ratio, sr0, 1260, moments.skewness, moments.kurtosis)
    assert dsr is not None
    assert found.dsr == pytest.approx(dsr, rel=1e-12)
    assert found.p_value == pytest.approx(1 - dsr, rel=1e-12)
    assert found.significant is (1 - dsr < 0.05)
    assert found.annualized_hurdle == pytest.approx(sr0 * math.sqrt(252))
    assert (
        len(found.trial_p_values) == 20
        and sum(v is None for v in found.trial_p_values.values()) == 1
    )


def test_one_trial_and_figures_that_cannot_be_computed_say_why(store: Any) -> None:
    rng = random.Random(3)
    alone = store.save_backtest(result(equity_curve=curve(rng, 300)))
    found = store.assess(alone.backtest_id, alpha=0.1)
    assert found.trials == 1 and found.expected_max_sharpe == 0
    assert found.dsr == pytest.approx(found.psr) and found.alpha == 0.1
    bare = store.save_backtest(result())
    nothing = store.assess(bare.backtest_id)
    assert (
        nothing.dsr is None and nothing.sharpe_ratio is None and "no equity curve" in nothing.reason
    )
    assert "not judged" in nothing.verdict
    unclocked = store.save_backtest(result(equity_curve=curve(rng, 300)))
    store.save_optimization_results(unclocked.backtest_id, [
        OptimizationResult(parameters={"k": i}, sharpe_ratio=i) for i in range(3)])  # fmt: skip
    found = store.assess(unclocked.backtest_id)
    assert found.dsr is None and "bars_per_year" in found.reason and found.psr is not None
    for judged in (found, nothing):  # a missing figure is null with a reason, never NaN
        assert "NaN" not in documents.dumps(documents.assessment(judged))


def test_what_a_judgement_cannot_find_is_a_missing_record_not_a_missing_parent(
    store: Any,
) -> None:
    missing = uuid4()
    with pytest.raises(RecordNotFoundError, match=f"no backtest {missing}") as caught:
        store.assess(missing)
    assert isinstance(caught.value, NotFoundError)
    assert not isinstance(caught.value, ParentNotFoundError)
    with pytest.raises(RecordNotFoundError, match="no run of experiment 'nope'"):
        store.assess_experiment("nope")


def test_walk_forward_windows_are_judged(store: Any) -> None:
    saved = store.save_backtest(result(equity_curve=curve(random.Random(1), 100)))
    store.save_walk_forward_tests(saved.backtest_id, [
        window(i, training_performance=0.2, out_of_sample_return=r)
        for i, r in enumerate((0.02, 0.03, -0.01, 0.04))])  # fmt: skip
    wf = store.assess(saved.backtest_id).walk_forward
    assert wf is not None and wf.windows == 4 and wf.profitable_share == 0.75
    t = overfitting.walk_forward([0.02, 0.03, -0.01, 0.04])
    assert wf.p_value == pytest.approx(t.p_value) and wf.mean_return == pytest.approx(0.02)
    assert all(r is not None for r in wf.performance_ratios)


@pytest.fixture
def experiments(db_url: str) -> Iterator[str]:
    """Two experiments of 10 runs of 1,001 bars: one of pure noise, one with a real edge."""
    rng = random.Random(11)
    with BacktestStore.connect(db_url) as store:
        for n in range(10):
            store.save_backtest(result(experiment="noise", equity_curve=curve(rng, 1001),
                                       bars_per_year=252, parameters={"n": n}))  # fmt: skip
            store.save_backtest(result(
                experiment="edge", equity_curve=curve(rng, 1001, drift=0.004 if n == 4 else 0),
                bars_per_year=252, parameters={"n": n}))  # fmt: skip
    yield db_url


def test_an_experiment_with_a_real_edge_selects_it(experiments: str) -> None:
    with BacktestStore.connect(experiments) as store:
        edge = store.assess_experiment("edge", blocks=8)
        runs = store.list_backtests(experiment="edge", limit=20)
    winner = next(r for r in runs if r.parameters == {"n": 4})
    assert edge.best_backtest_id == winner.backtest_id and edge.significant
    assert edge.pbo is not None and edge.pbo < 0.1 and edge.combinations == 70
    assert edge.backtests == edge.trials == 10 and edge.bars == 1000 - 1000 % 8


def test_pure_noise_overfits_about_half_the_time() -> None:
    """Ground truth over many seeds, on the definitions the store applies."""
    pbos: list[float] = []
    significant = 0
    for seed in range(30):
        rng = random.Random(seed)
        runs = [result(backtest_id=uuid4(), equity_curve=curve(rng, 481), bars_per_year=252)
                for _ in range(10)]  # fmt: skip
        found = assess_runs("noise", runs, {}, blocks=8)
        assert found.pbo is not None
        pbos.append(found.pbo)
        significant += bool(found.significant)
    assert 0.35 < statistics.mean(pbos) < 0.65
    assert significant <= 3  # about alpha of the cases (0.05 × 30 = 1.5)


def test_the_cli_and_api_and_their_refusals(
    experiments: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with BacktestStore.connect(experiments) as store:
        one = store.list_backtests(experiment="edge", limit=1)[0]
    the_id = str(one.backtest_id)
    assert cli(["assess", the_id[:8], "--json", "--database", experiments]) == 0
    by_cli = json.loads(capsys.readouterr().out)
    for key in ("observations", "sharpe_ratio", "skewness", "kurtosis", "psr", "trials",
                "expected_max_sharpe", "dsr", "p_value", "significant"):  # fmt: skip
        assert key in by_cli, key
    assert cli(["assess", "--experiment", "edge", "--blocks", "8", "--json",
                "--database", experiments]) == 0  # fmt: skip
    whole = json.loads(capsys.readouterr().out)
    for key in ("backtests", "trials", "best_backtest_id", "dsr", "pbo", "blocks",
                "combinations", "probability_of_loss"):  # fmt: skip
        assert key in whole, key
    assert cli(["assess", "--experiment", "edge", "--blocks", "8", "--database",
                experiments]) == 0  # fmt: skip
    shown = capsys.readouterr().out
    assert "PBO" in shown and "DSR" in shown and ("skill" in shown or "selection" in shown)
    for argv, code, said in (
        (["assess"], 2, "give a backtest ID or --experiment NAME"),
        (["assess", the_id, "--experiment", "edge"], 2, "one of them"),
        (["assess", the_id, "--alpha", "1.5"], 2, "alpha"),
        (["assess", "--experiment", "edge", "--blocks", "7"], 2, "blocks"),
        (["assess", "--experiment", "nope"], 1, "no run of experiment 'nope'"),
    ):  # fmt: skip
        assert cli([*argv, "--database", experiments]) == code, argv
        assert said in capsys.readouterr().err, argv
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(experiments)) as client:
        assert client.get(f"/api/backtests/{the_id}/assess").json() == by_cli
        assert client.get("/api/experiments/edge/assess?blocks=8").json() == whole
        assert "Skill or selection" in client.get(f"/backtests/{the_id}/assess").text
        assert client.get("/api/experiments/edge/assess?alpha=2").status_code == 400
        assert client.get("/api/experiments/edge/assess?blocks=7").status_code == 400
        assert client.get("/api/experiments/nope/assess").status_code == 404


def test_record_fills_the_seed_s_columns_and_leaves_callers_values_alone(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(5)
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(result(equity_curve=curve(rng, 500), bars_per_year=252))
        rows = store.save_optimization_results(saved.backtest_id, [
            OptimizationResult(parameters={"k": i}, sharpe_ratio=rng.gauss(0, 1),
                               p_value=0.5 if i == 0 else None) for i in range(10)])  # fmt: skip
        store.save_walk_forward_tests(saved.backtest_id, [
            window(i, training_performance=0.2, out_of_sample_return=r,
                   performance_ratio=7 if i == 0 else None)
            for i, r in enumerate((0.02, 0.03, -0.01, 0.04))])  # fmt: skip
        judged = store.assess(saved.backtest_id)
    assert cli(["assess", str(saved.backtest_id), "--record", "--database", db_url]) == 0
    assert "recorded 9 parameter set(s) and 4 walk-forward window(s)" in capsys.readouterr().err
    with BacktestStore.connect(db_url) as store:
        stored = {o.optimization_id: o for o in store.optimization_results(saved.backtest_id)}
        windows = store.walk_forward_tests(saved.backtest_id)
    first = stored[rows[0].optimization_id]
    assert num(first.p_value) == 0.5  # the caller's value, left alone
    for row in rows[1:]:
        got = stored[row.optimization_id]
        assert row.optimization_id is not None
        want = judged.trial_p_values[row.optimization_id]
        assert want is not None and num(got.p_value) == pytest.approx(want, abs=5e-7)
        assert got.is_statistically_significant is (num(got.p_value) < 0.05)
    assert [w.is_profitable for w in windows] == [True, True, False, True]
    assert num(windows[0].performance_ratio) == 7  # kept
    assert judged.walk_forward is not None
    assert num(windows[1].performance_ratio) == pytest.approx(
        judged.walk_forward.performance_ratios[1], abs=5e-5)  # fmt: skip
    assert cli(["assess", str(saved.backtest_id), "--record", "--overwrite",
                "--database", db_url]) == 0  # fmt: skip
    with BacktestStore.connect(db_url) as store:
        replaced = {o.optimization_id: o for o in store.optimization_results(saved.backtest_id)}
    assert num(replaced[rows[0].optimization_id].p_value) != 0.5
    assert cli(["assess", "--experiment", "x", "--record", "--database", db_url]) == 2
    assert cli(["assess", str(saved.backtest_id), "--overwrite", "--database", db_url]) == 2


def test_show_the_tearsheet_the_report_and_the_experiment_page_say_skill_or_selection(
    experiments: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rng = random.Random(9)
    with BacktestStore.connect(experiments) as store:
        saved = store.save_backtest(result(equity_curve=curve(rng, 400), bars_per_year=252))
        store.save_optimization_results(saved.backtest_id, [
            OptimizationResult(parameters={"k": i}, sharpe_ratio=rng.gauss(0.5, 0.5),
                               objective_value=i) for i in range(8)])  # fmt: skip
        judged = store.assess(saved.backtest_id)
    assert cli(["show", str(saved.backtest_id), "--wide", "--database", experiments]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"skill or selection: {judged.verdict}" in shown
    assert "(p: against the hurdle of the whole grid; * significant)" in shown
    some = next(p for p in judged.trial_p_values.values() if p is not None)
    assert f"{some:.3f}" in shown
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from backtest_store.web import create_app

    with TestClient(create_app(experiments)) as client:
        page = client.get(f"/backtests/{saved.backtest_id}").text
        assert "Skill or selection" in page and judged.verdict in page
        experiment = client.get("/experiments/edge").text
    assert "PBO" in experiment and experiment.count('class="chart overfit"') == 2
    # the offline report carries the same panel, figure for figure
    pytest.importorskip("plotly")
    from backtest_store.assessment import panel
    from backtest_store.report import write_html

    with BacktestStore.connect(experiments) as store:
        report = write_html(store, [saved.backtest_id], tmp_path / "report.html").read_text()
        blank = store.save_backtest(result(equity_curve=None))
        assert blank.backtest_id is not None
        unjudged = store.assess(blank.backtest_id)
        without = write_html(store, [blank.backtest_id], tmp_path / "blank.html").read_text()
    assert "Skill or selection" in report and judged.verdict in report
    for name, text in panel(judged):
        assert text and f"<tr><td>{name}</td><td>{text}</td></tr>" in report
    # a figure that cannot be computed is blank, and the report says why
    assert unjudged.reason and unjudged.dsr is None
    assert f"why a figure is missing: {unjudged.reason}" in without
    assert "<tr><td>DSR</td><td></td></tr>" in without
