"""Skill or selection, to the papers: every formula against hand-worked values, the
deflated Sharpe ratio against Bailey & López de Prado's own worked example, and both DSR
and CSCV against ground truth over many seeds (noise must look like noise, a real edge
must be found)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from backtest_store.overfitting import (
    Moments,
    annualized,
    cscv,
    deflate,
    expected_max_sharpe,
    judge_window,
    moments,
    psr,
    returns,
    sample_variance,
    student_t_cdf,
    walk_forward,
)

np = pytest.importorskip("numpy")


def test_the_deflated_sharpe_ratio_paper_s_worked_example() -> None:
    """Bailey & López de Prado (2014): an annualized Sharpe ratio of 2.5 over 1,250 daily
    returns (250 a year), skewness -3, kurtosis 10, 100 trials whose annualized Sharpe
    ratios have variance 0.5: SR0 = 0.1132 per bar (1.79 annualized), DSR = 0.9004."""
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert round(sr0, 4) == 0.1132
    assert round(sr0 * math.sqrt(250), 2) == 1.79
    dsr = psr(2.5 / math.sqrt(250), sr0, 1250, -3, 10)
    assert dsr is not None and round(dsr, 4) == 0.9004
    deflated = deflate(Moments(1250, 2.5 / math.sqrt(250), -3, 10), [], 100)
    assert deflated.reason == "0 trial(s) with a Sharpe ratio: their variance needs at least 2"
    trials = [s / math.sqrt(250) for s in _with_variance(0.5, 100)]
    deflated = deflate(Moments(1250, 2.5 / math.sqrt(250), -3, 10), trials, 100)
    assert deflated.dsr is not None and round(deflated.dsr, 4) == 0.9004
    assert deflated.p_value == pytest.approx(1 - deflated.dsr)
    assert deflated.significant is False  # p = 0.0996 is not below 0.05
    assert deflate(Moments(1250, 2.5 / math.sqrt(250), -3, 10), trials, 100, alpha=0.1).significant


def _with_variance(variance: float, n: int) -> list[float]:
    """n numbers whose sample variance is exactly ``variance`` (±a, alternating)."""
    half = math.sqrt(variance * (n - 1) / n)
    return [half if i % 2 else -half for i in range(n)]


def test_moments_by_hand() -> None:
    # r = 0.01, -0.02, 0.03, 0.00: mean 0.005; deviations .005, -.025, .025, -.005
    # m2 = 0.0013 / 4; sample sd = sqrt(0.0013 / 3); m3 = 0; m4 = 7.825e-7 / 4
    got = moments([0.01, -0.02, 0.03, 0.0])
    assert got.observations == 4
    assert got.sharpe_ratio == pytest.approx(0.005 / math.sqrt(0.0013 / 3))
    assert got.skewness == pytest.approx(0.0, abs=1e-12)
    assert got.kurtosis == pytest.approx((7.825e-7 / 4) / (0.0013 / 4) ** 2)
    assert returns([100, 101, 0, 5, 10]) == pytest.approx([0.01, -1.0, 1.0])  # no step from 0
    assert moments([0.01]).reason == "1 return(s): a Sharpe ratio needs at least 2"
    assert moments([0.01, 0.01]).reason == "the returns do not vary: no Sharpe ratio"
    assert sample_variance([1, 2, 3, 4]) == pytest.approx(5 / 3)


def test_psr_and_sr0_by_hand() -> None:
    # SR 0.1 over T = 101 returns of a normal: z = 0.1 * 10 / sqrt(1 + 0.5 * 0.01)
    assert psr(0.1, 0.0, 101, 0.0, 3.0) == pytest.approx(
        0.5 * (1 + math.erf(1 / math.sqrt(1.005) / math.sqrt(2)))
    )
    assert psr(0.1, 0.1, 101, 0.0, 3.0) == pytest.approx(0.5)
    assert psr(0.5, 0.0, 100, 10.0, 3.0) is None  # 1 - 5 + 0.125 < 0: undefined, not a number
    assert expected_max_sharpe(1, 0.3) == 0.0
    # N = 2: Φ⁻¹(1/2) = 0, so SR0 = √4 · γ · Φ⁻¹(1 - 1/(2e)) = 2 · 0.57722 · 0.90045
    assert expected_max_sharpe(2, 4.0) == pytest.approx(2 * 0.5772157 * 0.900453, rel=1e-5)


def test_cscv_by_hand() -> None:
    """Two runs, two blocks: each run wins the half the other loses. Whichever half is
    in-sample, its winner is the worst out of sample: ω = 1/3, λ = ln(1/2), PBO 1."""
    a = [0.01, 0.02, 0.01, 0.02, -0.01, -0.02, -0.01, -0.02]
    matrix = np.array([a, [-x for x in a]]).T
    found = cscv(matrix, blocks=2)
    assert (found.combinations, found.bars, found.runs) == (2, 8, 2)
    assert found.pbo == 1.0 and found.probability_of_loss == 1.0
    assert found.logits == pytest.approx([math.log(0.5)] * 2)
    assert found.selected == [0, 1]
    # the same run twice: they tie out of sample, rank 1.5 of 2, ω = 1/2, λ = 0 (≤ 0)
    tied = cscv(np.array([a, a]).T, blocks=2)
    assert tied.logits == [0.0, 0.0] and tied.pbo == 1.0
    # the first T mod S bars are left out
    assert cscv(np.vstack([np.full((3, 2), 9.0), matrix]), blocks=2).logits == found.logits


@pytest.mark.parametrize(
    ("shape", "blocks", "reason"),
    [((100, 1), 4, "1 run(s): selection needs at least 2 to choose from"),
     ((30, 5), 16, "30 bars cannot make 16 blocks of at least 2 bars each")],
)  # fmt: skip
def test_cscv_says_why_it_cannot(shape: tuple[int, int], blocks: int, reason: str) -> None:
    found = cscv(np.zeros(shape), blocks=blocks)
    assert found.pbo is None and found.reason == reason
    with pytest.raises(ValueError, match="even number"):
        cscv(np.zeros((100, 3)), blocks=5)


def _best_of(rng: int, runs: int, bars: int, edge: float = 0.0) -> tuple[Any, list[float | None]]:
    generator = np.random.default_rng(rng)
    matrix = generator.normal(0.0, 0.01, size=(bars, runs))
    matrix[:, 0] += edge
    return matrix, [m.sharpe_ratio for m in (moments(matrix[:, j].tolist()) for j in range(runs))]


def test_under_noise_the_best_of_n_is_deflated_to_noise() -> None:
    """Twenty skill-less runs of 250 bars, 400 times. The best run's PSR against 0 is
    "significant" most of the time (selection: the best of 20 looks like skill); one run
    taken at random is significant in about alpha of the cases (the test is exact there);
    the best run's DSR is significant in at most alpha: SR0 is the expected maximum, so
    the deflated test is conservative under pure noise (by the paper's definition)."""
    seeds = 400
    best_psr = random_psr = best_dsr = 0
    for seed in range(seeds):
        matrix, sharpes = _best_of(seed, 20, 250)
        best = int(np.argmax(sharpes))
        figures = moments(matrix[:, best].tolist())
        deflated = deflate(figures, sharpes, 20)
        best_dsr += bool(deflated.significant)
        best_psr += bool(deflated.psr is not None and deflated.psr > 0.95)
        one = deflate(moments(matrix[:, seed % 20].tolist()), [0.0], 1)
        random_psr += bool(one.significant)
    assert best_psr / seeds > 0.5
    assert 0.025 <= random_psr / seeds <= 0.08, random_psr / seeds
    assert best_dsr / seeds <= 0.05, best_dsr / seeds


def test_under_noise_pbo_centres_near_one_half_and_the_winner_s_rank_is_uniform() -> None:
    pbos, omegas = [], []
    for seed in range(60):
        matrix, _ = _best_of(1000 + seed, 10, 400)
        found = cscv(matrix, blocks=8)
        assert found.pbo is not None
        pbos.append(found.pbo)
        omegas += [1 / (1 + math.exp(-x)) for x in found.logits]
    assert 0.4 <= sum(pbos) / len(pbos) <= 0.6
    ranks = np.round(np.array(omegas) * 11).astype(int)  # ω = rank / (N + 1), N = 10
    counts = np.bincount(ranks, minlength=11)[1:]
    assert counts.min() > 0.7 * counts.mean() and counts.max() < 1.3 * counts.mean(), counts


def test_a_real_edge_is_found() -> None:
    """One run with a per-bar Sharpe ratio of 0.25 among 19 noise runs: it is selected,
    its DSR is significant, and PBO is near 0."""
    for seed in range(20):
        matrix, sharpes = _best_of(2000 + seed, 20, 1000, edge=0.0025)
        assert int(np.argmax(sharpes)) == 0
        deflated = deflate(moments(matrix[:, 0].tolist()), sharpes, 20)
        assert deflated.significant, deflated
        found = cscv(matrix, blocks=16)
        assert found.combinations == 12_870
        assert found.pbo is not None and found.pbo < 0.05, found.pbo
        assert found.selected.count(0) > 0.95 * found.combinations  # selected nearly always


def test_student_t_by_its_closed_forms() -> None:
    for t in (-3.0, -0.5, 0.0, 0.7, 3.4641016151377544, 12.0):
        assert student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
        assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)
    assert student_t_cdf(-2.0, 10) == pytest.approx(0.036694, abs=1e-6)  # a table's value
    assert student_t_cdf(1.959964, 10**6) == pytest.approx(0.975, abs=1e-6)  # the normal's


def test_walk_forward_by_hand() -> None:
    # three windows of 1 %, 2 %, 3 %: mean 2 %, sd 1 %, t = 0.02 / (0.01 / √3) = √12, df 2:
    # P(T > √12) = 1/2 - √12 / (2 √14)
    found = walk_forward([0.01, 0.02, 0.03, None])
    assert (found.windows, found.profitable_share) == (3, 1.0)
    assert found.mean_return == pytest.approx(0.02)
    assert found.t_statistic == pytest.approx(math.sqrt(12))
    assert found.p_value == pytest.approx(0.5 - math.sqrt(12) / (2 * math.sqrt(14)))
    assert walk_forward([0.01, -0.01, 0.0, 0.02]).profitable_share == 0.5
    assert walk_forward([0.05]).reason == "1 window: a t-test needs at least 2"
    assert walk_forward([0.01, 0.01]).reason == "the windows' returns do not vary"
    assert walk_forward([None]).reason == "no window has an out-of-sample return"


def test_a_window_s_efficiency_compares_annualized_returns() -> None:
    # 20 % over two years in sample (9.54 % a year), 10 % over one year out of sample
    window = judge_window(0.2, 730.5, 0.1, 365.25)
    assert window.performance_ratio == pytest.approx(0.1 / (1.2**0.5 - 1))
    assert window.degradation_factor == pytest.approx(1 - 0.1 / (1.2**0.5 - 1))
    assert window.is_profitable is True
    # a quarter's 2 % against a year's 8 %: (1.02⁴ - 1) / 0.08
    quarter = judge_window(0.08, 365.25, 0.02, 365.25 / 4)
    assert quarter.performance_ratio == pytest.approx((1.02**4 - 1) / 0.08)
    assert annualized(-1.0, 30) is None and annualized(0.1, 0) is None
    lost = judge_window(-0.05, 365.25, 0.01, 90)
    assert lost.performance_ratio is None and lost.is_profitable is True
    assert lost.reason == "the in-sample return is not a gain: no efficiency to measure"
    assert judge_window(0.1, 365.25, None, 90).reason == "no out-of-sample return"


def test_the_docs_example_runs_and_prints_the_paper_s_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "skill-or-selection.md"
    (code,) = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    exec(compile(code, "docs/skill-or-selection.md", "exec"), {})
    out = capsys.readouterr().out
    assert "SR0 0.1132 per bar, 1.79 a year" in out and "DSR 0.9004" in out
    assert "significant False" in out and "over 12,870 splits" in out
