"""Skill or selection: the statistics that say whether a best-of-N result survives the
number of trials behind it. Each is its paper's definition, to the letter.

- Bailey & López de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection
  Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5):
  the probabilistic Sharpe ratio ``psr``, the expected maximum Sharpe ratio of N
  skill-less trials ``expected_max_sharpe`` (SR0) and the deflated Sharpe ratio ``dsr``.
- Bailey, Borwein, López de Prado & Zhu (2015), "The Probability of Backtest Overfitting",
  Journal of Computational Finance 20(4): combinatorially symmetric cross-validation,
  ``cscv``, and its probability of backtest overfitting (PBO).

The estimators, named: returns are simple returns of consecutive stored points; the
Sharpe ratio is per bar, the mean over the sample standard deviation (n - 1); skewness
``g3 = m3 / m2**1.5`` and kurtosis ``g4 = m4 / m2**2`` (not excess: 3 for a normal) from
the central moments ``m_k`` (population, over n). Φ and Φ⁻¹ are the standard library's
(``statistics.NormalDist``): PSR and DSR need no dependency. CSCV is numpy's, vectorized
over every combination and run at once (``need`` names the extra when numpy is missing).

A figure that cannot be computed is None, with the reason beside it: never NaN, never a
number that means nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from statistics import NormalDist
from typing import Any

from backtest_store._extras import need

EULER_GAMMA = 0.5772156649015329  # the Euler–Mascheroni constant
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Moments:
    """A return series' figures: ``observations`` (T, the returns), the per-bar Sharpe
    ratio, skewness and kurtosis (not excess); None, with ``reason``, where the series
    cannot give them (fewer than 2 returns, or no variation)."""

    observations: int
    sharpe_ratio: float | None
    skewness: float | None
    kurtosis: float | None
    reason: str | None = None


def returns(values: Sequence[float]) -> list[float]:
    """``r_t = E_t / E_(t-1) - 1`` over consecutive points; a step from a point of 0 (or
    a non-finite one) has no return and is left out."""
    out = []
    for before, after in pairwise(values):
        if before != 0 and math.isfinite(before) and math.isfinite(after):
            out.append(after / before - 1)
    return out


def moments(r: Sequence[float]) -> Moments:
    """The per-bar Sharpe ratio (sample standard deviation, n - 1), skewness and kurtosis
    (central moments over n) of returns ``r``."""
    n = len(r)
    if n < 2:
        return Moments(n, None, None, None, f"{n} return(s): a Sharpe ratio needs at least 2")
    mean = math.fsum(r) / n
    deviations = [x - mean for x in r]
    m2 = math.fsum(d * d for d in deviations) / n
    if m2 <= 0:
        return Moments(n, None, None, None, "the returns do not vary: no Sharpe ratio")
    m3 = math.fsum(d**3 for d in deviations) / n
    m4 = math.fsum(d**4 for d in deviations) / n
    sample_sd = math.sqrt(m2 * n / (n - 1))
    return Moments(n, mean / sample_sd, m3 / m2**1.5, m4 / m2**2)


def psr(sharpe: float, benchmark: float, observations: int, skewness: float,
        kurtosis: float) -> float | None:  # fmt: skip
    """The probabilistic Sharpe ratio PSR(SR*): the probability that the true per-bar
    Sharpe ratio exceeds ``benchmark``, given ``sharpe`` measured over ``observations``
    returns of that skewness and kurtosis:
    Φ((SR − SR*) · √(T − 1) / √(1 − g3·SR + (g4 − 1)/4 · SR²)). None when the
    denominator is not positive (a skew and Sharpe ratio the formula cannot take) or T < 2.
    """
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe * sharpe
    if observations < 2 or spread <= 0:
        return None
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(spread))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0, the expected maximum per-bar Sharpe ratio of ``trials`` skill-less trials whose
    Sharpe ratios have sample variance ``variance``:
    √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))); 0 for one trial."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, not {trials}")
    if trials == 1 or variance <= 0:
        return 0.0
    first = _NORMAL.inv_cdf(1 - 1 / trials)
    second = _NORMAL.inv_cdf(1 - 1 / (trials * math.e))
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * first + EULER_GAMMA * second)


def sample_variance(values: Sequence[float]) -> float:
    """The sample variance (n - 1); 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = math.fsum(values) / n
    return math.fsum((v - mean) ** 2 for v in values) / (n - 1)


@dataclass(frozen=True, slots=True)
class Deflated:
    """A Sharpe ratio deflated by the trials behind it. ``trials`` is N;
    ``expected_max_sharpe`` SR0 (per bar); ``dsr`` = PSR(SR0); ``p_value`` = 1 − DSR;
    ``significant`` when the p-value is below ``alpha``. None, with ``reason``, where it
    cannot be computed."""

    trials: int
    expected_max_sharpe: float | None
    dsr: float | None
    p_value: float | None
    significant: bool | None
    psr: float | None  # against 0
    alpha: float
    reason: str | None = None


def deflate(figures: Moments, trial_sharpes: Sequence[float | None], trials: int,
            alpha: float = 0.05) -> Deflated:  # fmt: skip
    """The deflated Sharpe ratio of a run with ``figures``, selected among ``trials``
    trials whose per-bar Sharpe ratios are ``trial_sharpes`` (None or non-finite ones
    count in N but not in V)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    finite = [s for s in trial_sharpes if s is not None and math.isfinite(s)]
    if trials < 1:
        return Deflated(0, None, None, None, None, None, alpha, "no trials")
    if trials > 1 and len(finite) < 2:
        return Deflated(trials, None, None, None, None, None, alpha,
                        f"{len(finite)} trial(s) with a Sharpe ratio: their variance needs "
                        "at least 2")  # fmt: skip
    sr0 = expected_max_sharpe(trials, sample_variance(finite))
    sharpe, skew, kurt = figures.sharpe_ratio, figures.skewness, figures.kurtosis
    if sharpe is None or skew is None or kurt is None:
        return Deflated(trials, sr0, None, None, None, None, alpha, figures.reason)
    against_zero = psr(sharpe, 0.0, figures.observations, skew, kurt)
    deflated = psr(sharpe, sr0, figures.observations, skew, kurt)
    if deflated is None:
        return Deflated(trials, sr0, None, None, None, against_zero, alpha,
                        "1 - skewness·SR + (kurtosis - 1)/4·SR² is not positive: PSR is "
                        "undefined for these moments")  # fmt: skip
    p_value = 1 - deflated
    return Deflated(trials, sr0, deflated, p_value, p_value < alpha, against_zero, alpha)


# -- CSCV: the probability of backtest overfitting ---------------------------------------


@dataclass(frozen=True, slots=True)
class Overfitting:
    """CSCV over N runs: ``pbo``, the share of the C(S, S/2) splits where the in-sample
    best run ranks in the lower half out of sample (λ ≤ 0); ``probability_of_loss``, the
    share where it loses out of sample (its out-of-sample Sharpe ratio below 0); the λ of
    each split (``logits``), the selected runs' in-sample and out-of-sample Sharpe ratios
    (per bar), and the bars used (the first T mod S are left out). None, with
    ``reason``, where it cannot be computed."""

    runs: int
    bars: int
    blocks: int
    combinations: int
    pbo: float | None
    probability_of_loss: float | None
    logits: list[float]
    in_sample: list[float]
    out_of_sample: list[float]
    selected: list[int]
    reason: str | None = None


def cscv(matrix: Any, blocks: int = 16) -> Overfitting:
    """Combinatorially symmetric cross-validation of a T × N matrix of per-bar returns
    (a column per run, rows aligned in time). The T bars are cut into ``blocks``
    contiguous blocks of T // S bars after leaving out the first T mod S; for each way
    to take half the blocks in-sample, n* is the run with the best in-sample Sharpe ratio
    (the first on a tie), its out-of-sample rank among all runs gives ω = rank / (N + 1)
    (rank 1 the worst, N the best, ties sharing their mean rank) and λ = ln(ω / (1 − ω)).
    Every combination and run at once: block sums, then one matrix product per side."""
    np = need("numpy", "report", "the probability of backtest overfitting (CSCV)")
    returns_ = np.asarray(matrix, dtype=float)
    if returns_.ndim != 2:
        raise ValueError("cscv takes a T × N matrix: a row per bar, a column per run")
    bars, runs = returns_.shape
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks must be an even number of at least 2, not {blocks}")
    size = bars // blocks

    def empty(reason: str) -> Overfitting:
        return Overfitting(runs, bars, blocks, 0, None, None, [], [], [], [], reason)

    if runs < 2:
        return empty(f"{runs} run(s): selection needs at least 2 to choose from")
    if size < 2:
        return empty(f"{bars} bars cannot make {blocks} blocks of at least 2 bars each")
    if not np.isfinite(returns_).all():
        return empty("the returns hold a non-finite value")
    used = returns_[bars - size * blocks :].reshape(blocks, size, runs)
    sums, squares = used.sum(axis=1), (used * used).sum(axis=1)  # (S, N) each
    chosen = np.array(list(combinations(range(blocks), blocks // 2)))
    in_mask = np.zeros((len(chosen), blocks))
    in_mask[np.arange(len(chosen))[:, None], chosen] = 1.0
    out_mask = 1.0 - in_mask
    n = size * blocks // 2  # bars per side
    in_sharpe = _sharpe(np, in_mask @ sums, in_mask @ squares, n)
    out_sharpe = _sharpe(np, out_mask @ sums, out_mask @ squares, n)
    best = np.argmax(in_sharpe, axis=1)  # n*: the first of equals
    rows = np.arange(len(chosen))
    picked = out_sharpe[rows, best]
    below = (out_sharpe < picked[:, None]).sum(axis=1)
    equal = (out_sharpe == picked[:, None]).sum(axis=1)  # n* itself included
    rank = below + (equal + 1) / 2
    omega = rank / (runs + 1)
    logits = np.log(omega / (1 - omega))
    return Overfitting(
        runs, bars, blocks, len(chosen), float((logits <= 0).mean()),
        float((picked < 0).mean()), logits.tolist(), in_sharpe[rows, best].tolist(),
        picked.tolist(), best.tolist(),
    )  # fmt: skip


def _sharpe(np: Any, sums: Any, squares: Any, n: int) -> Any:
    """Per-bar Sharpe ratios from sums of returns and of their squares over ``n`` bars
    (sample standard deviation); a run that does not vary ranks by the sign of its mean
    (±inf, 0 for a flat one), the ratio's limit."""
    mean = sums / n
    variance = np.maximum(0.0, (squares - n * mean * mean) / (n - 1))
    sd = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), np.sign(mean) * np.inf)
    return ratio


# -- walk-forward: out of sample against in sample ---------------------------------------


def annualized(total_return: float, days: float) -> float | None:
    """A return over ``days`` calendar days as a yearly rate, compounded:
    ``(1 + R) ** (365.25 / days) - 1``; None for no days or a loss of everything."""
    if days <= 0 or total_return <= -1:
        return None
    return float((1 + total_return) ** (365.25 / days) - 1)


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window judged: ``performance_ratio`` is its walk-forward
    efficiency, the out-of-sample return over the in-sample one, both annualized alike
    (so a 3-month test against a 12-month training compares like with like);
    ``degradation_factor`` = 1 − performance_ratio, the share of the in-sample
    performance lost out of sample (0 kept it all, 1 lost it all, above 1 lost money);
    ``is_profitable``: the out-of-sample return is above 0. None, with ``reason``, where
    undefined (no in-sample gain to compare with, or a missing figure)."""

    performance_ratio: float | None
    degradation_factor: float | None
    is_profitable: bool | None
    reason: str | None = None


def judge_window(in_sample: float | None, in_days: float, out_of_sample: float | None,
                 out_days: float) -> Window:  # fmt: skip
    """A window's figures from its in-sample (training) and out-of-sample returns, as
    fractions over their periods' calendar days."""
    if out_of_sample is None or not math.isfinite(out_of_sample):
        return Window(None, None, None, "no out-of-sample return")
    profitable = out_of_sample > 0
    if in_sample is None or not math.isfinite(in_sample):
        return Window(None, None, profitable, "no in-sample return to compare with")
    trained, tested = annualized(in_sample, in_days), annualized(out_of_sample, out_days)
    if trained is None or tested is None:
        return Window(None, None, profitable, "a period without days, or a return of -100 %")
    if trained <= 0:
        return Window(None, None, profitable,
                      "the in-sample return is not a gain: no efficiency to measure")  # fmt: skip
    ratio = tested / trained
    return Window(ratio, 1 - ratio, profitable)


@dataclass(frozen=True, slots=True)
class WalkForward:
    """The out-of-sample windows together: how many have a return, the share that
    made money, their mean return (a fraction), and the one-sided t-test that that
    mean is above 0 (``t_statistic`` over n - 1 degrees of freedom, ``p_value``). None,
    with ``reason``, where there are too few windows or they do not vary."""

    windows: int
    profitable_share: float | None
    mean_return: float | None
    t_statistic: float | None
    p_value: float | None
    reason: str | None = None


def walk_forward(out_of_sample: Sequence[float | None]) -> WalkForward:
    """The windows' out-of-sample returns judged together (None ones left out)."""
    values = [r for r in out_of_sample if r is not None and math.isfinite(r)]
    n = len(values)
    if n == 0:
        return WalkForward(0, None, None, None, None, "no window has an out-of-sample return")
    share = sum(r > 0 for r in values) / n
    mean = math.fsum(values) / n
    if n < 2:
        return WalkForward(n, share, mean, None, None, "1 window: a t-test needs at least 2")
    sd = math.sqrt(sample_variance(values))
    if sd == 0:
        return WalkForward(n, share, mean, None, None, "the windows' returns do not vary")
    t = mean / (sd / math.sqrt(n))
    return WalkForward(n, share, mean, t, 1 - student_t_cdf(t, n - 1))


def student_t_cdf(t: float, df: int) -> float:
    """Student's t distribution function with ``df`` degrees of freedom, from the
    regularized incomplete beta function: P(T ≤ t) = 1 − I_x(df/2, 1/2) / 2 for t ≥ 0,
    x = df / (df + t²) (no SciPy: the core takes no dependency for it)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    tail = _incomplete_beta(df / 2, 0.5, df / (df + t * t)) / 2
    return 1 - tail if t >= 0 else tail


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction
    (modified Lentz), on the side where it converges fast."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))  # fmt: skip
    if x > (a + 1) / (a + b + 2):
        return 1 - front * _beta_fraction(b, a, 1 - x) / b
    return front * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, c, d = 1e-300, 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    out = d
    for m in range(1, 300):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        for numerator in (even, odd):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            out *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return out
