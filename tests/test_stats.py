"""Interquartile mean, bootstrap confidence intervals and the confidence band of learning curves."""

import numpy as np
import pytest
from scipy import stats

from course_lib.stats import (
    bootstrap_ci,
    difference_ci,
    iqm,
    mean_confidence_band,
    normalized_scores,
    performance_profile,
    probability_of_improvement,
    subsample_statistic,
)


def test_iqm_is_the_mean_of_the_middle_half():
    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 1000])
    assert iqm(x) == pytest.approx(np.mean([2, 3, 4, 5]))
    assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25))


def test_bootstrap_ci_covers_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    scores = rng.normal(10, 2, size=20)
    est, lo, hi = bootstrap_ci(scores)
    assert lo < est < hi and hi - lo < 4
    assert bootstrap_ci(scores) == (est, lo, hi)
    # stratified over two tasks: each column is resampled on its own
    est2, lo2, hi2 = bootstrap_ci(np.stack([scores, scores + 100], axis=1), np.mean)
    assert lo2 < est2 < hi2
    assert bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)


def test_bootstrap_ci_coverage_is_near_nominal():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        _, lo, hi = bootstrap_ci(rng.normal(0, 1, size=30), np.mean, n_resamples=500, seed=int(rng.integers(1 << 30)))
        hits += lo <= 0 <= hi
    assert 0.88 <= hits / 200 <= 0.99


@pytest.mark.parametrize("bad, exc", [([1.0], ValueError), ([[[1.0]]], ValueError)])
def test_bootstrap_bad_input(bad, exc):
    with pytest.raises(exc, match="scores must have shape"):
        bootstrap_ci(bad)


def test_iqm_bad_input():
    with pytest.raises(ValueError, match="not be empty"):
        iqm([])
    with pytest.raises(ValueError, match="finite"):
        iqm([1.0, float("nan")])


def test_mean_confidence_band_is_a_t_interval_of_the_mean():
    ys = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    mean, lo, hi = mean_confidence_band(ys, 0.95)
    half = stats.t.ppf(0.975, 2) * 2.0 / np.sqrt(3)
    np.testing.assert_allclose(mean, [2.0, 10.0])
    np.testing.assert_allclose(lo, [2.0 - half, 10.0])
    np.testing.assert_allclose(hi, [2.0 + half, 10.0])
    one = mean_confidence_band(ys[:1])
    assert all(np.array_equal(x, ys[0]) for x in one)
    with pytest.raises(ValueError, match="ys must have shape"):
        mean_confidence_band(np.zeros(3))
    with pytest.raises(ValueError, match="confidence must lie"):
        mean_confidence_band(ys, 1.5)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad("iqm-empty", lambda: iqm([]), ValueError, "scores"),
    bad("iqm-nan", lambda: iqm([1.0, np.nan, 2.0, 3.0]), ValueError, "scores", "finite"),
    bad("iqm-strings", lambda: iqm(["a", "b"]), TypeError, "scores"),
    bad("boot-one-run", lambda: bootstrap_ci([1.0]), ValueError, "scores"),
    bad("boot-3d", lambda: bootstrap_ci(np.zeros((4, 2, 2))), ValueError, "scores"),
    bad("boot-confidence-one", lambda: bootstrap_ci([1.0, 2.0, 3.0], confidence=1.0), ValueError, "confidence"),
    bad("boot-resamples-zero", lambda: bootstrap_ci([1.0, 2.0, 3.0], n_resamples=0), ValueError, "n_resamples"),
    bad("boot-nan", lambda: bootstrap_ci([1.0, np.nan, 3.0]), ValueError, "scores", "finite"),
    bad("band-1d", lambda: mean_confidence_band(np.zeros(5)), ValueError, "ys"),
    bad("band-confidence", lambda: mean_confidence_band(np.zeros((3, 5)), confidence=0.0), ValueError, "confidence"),
    bad("band-inf", lambda: mean_confidence_band(np.full((3, 5), np.inf)), ValueError, "ys", "finite"),
    bad("norm-high-below-low", lambda: normalized_scores(np.zeros((3, 2)), [0, 1], [1, 0]), ValueError, "high", "low"),
    bad("norm-nan", lambda: normalized_scores([1.0, np.nan], 0, 1), ValueError, "scores", "finite"),
    bad("norm-3d", lambda: normalized_scores(np.zeros((2, 2, 2)), 0, 1), ValueError, "scores", "(runs, tasks)"),
    bad(
        "norm-low-wrong-length",
        lambda: normalized_scores(np.zeros((3, 2)), [0, 0, 0], 1),
        ValueError,
        "low",
        "per task",
    ),
    bad("profile-taus-2d", lambda: performance_profile(np.zeros((3, 2)), np.zeros((2, 2))), ValueError, "taus"),
    bad("profile-taus-empty", lambda: performance_profile(np.zeros((3, 2)), []), ValueError, "taus"),
    bad(
        "poi-task-mismatch", lambda: probability_of_improvement(np.zeros((3, 2)), np.zeros((3, 3))), ValueError, "tasks"
    ),
    bad("poi-empty", lambda: probability_of_improvement(np.zeros((0, 2)), np.zeros((3, 2))), ValueError, "x"),
    bad(
        "poi-confidence", lambda: probability_of_improvement([1.0, 2.0], [1.0], confidence=0), ValueError, "confidence"
    ),
    bad("poi-nan", lambda: probability_of_improvement([1.0, np.nan], [1.0]), ValueError, "x", "finite"),
    bad("subsample-too-many", lambda: subsample_statistic(np.arange(5.0), 5), ValueError, "n_runs"),
    bad("subsample-2d", lambda: subsample_statistic(np.zeros((5, 2)), 3), ValueError, "scores"),
    bad("diff-task-mismatch", lambda: difference_ci(np.zeros((3, 2)), np.zeros((3, 1))), ValueError, "tasks"),
    bad("diff-one-run", lambda: difference_ci([1.0], [1.0, 2.0]), ValueError, "2 runs"),
    bad("diff-nan", lambda: difference_ci([1.0, np.nan], [1.0, 2.0]), ValueError, "x", "finite"),
    bad("subsample-float-runs", lambda: subsample_statistic(np.arange(5.0), 2.5), TypeError, "n_runs"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_bootstrap_ci_degenerate_cases():
    """Review 08-E2: why notebook 08 reports a solve rate, not a bootstrap CI, for a few capped runs."""
    est, lo, hi = bootstrap_ci(np.full(5, 500.0), iqm)
    assert lo == hi == est == 500.0  # every run at the cap: an interval of zero width
    est, lo, hi = bootstrap_ci(np.array([420.0, 500.0]), iqm)
    assert (lo, hi) == (420.0, 500.0)  # two runs: the interval is [min, max]


# ---------------------------------------------------------------- comparing algorithms (chapter 13)
def test_normalized_scores_maps_low_to_zero_and_high_to_one_per_task():
    scores = np.array([[22.0, -500.0], [475.0, -100.0], [500.0, -80.0]])
    out = normalized_scores(scores, low=[22.0, -500.0], high=[475.0, -100.0])
    np.testing.assert_allclose(out[0], [0.0, 0.0])
    np.testing.assert_allclose(out[1], [1.0, 1.0])
    np.testing.assert_allclose(out[2], [478 / 453, 420 / 400])


def test_probability_of_improvement_is_the_mann_whitney_u_over_nk_averaged_over_tasks():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(7, 3)).astype(float)  # small integers: ties count one half
    y = rng.integers(0, 5, size=(6, 3)).astype(float)
    est, lo, hi = probability_of_improvement(x, y, n_resamples=500)
    u = [stats.mannwhitneyu(x[:, m], y[:, m]).statistic / (7 * 6) for m in range(3)]
    assert est == pytest.approx(np.mean(u))
    assert lo <= est <= hi
    # brute force, pair by pair
    brute = np.mean(
        [[[float(a > b) + 0.5 * (a == b) for b in y[:, m]] for a in x[:, m]] for m in range(3)], axis=(1, 2)
    )
    assert est == pytest.approx(brute.mean())


def test_probability_of_improvement_symmetry_and_extremes():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(8, 2))
    assert probability_of_improvement(x, y)[0] + probability_of_improvement(y, x)[0] == pytest.approx(1.0)
    assert probability_of_improvement(x + 100, y) == (1.0, 1.0, 1.0)
    assert probability_of_improvement(x, x)[0] == pytest.approx(0.5)


def test_probability_of_improvement_interval_covers_the_truth_near_nominally():
    """X ~ N(0.5, 1), Y ~ N(0, 1): P(X > Y) = Phi(0.5 / sqrt 2). The 90% interval from 20 + 20 runs covers it
    in about 90% of 200 repetitions (a percentile bootstrap under-covers a little at n = 20)."""
    truth = stats.norm.cdf(0.5 / np.sqrt(2))
    rng = np.random.default_rng(2)
    covered = 0
    for rep in range(200):
        x, y = rng.normal(0.5, 1, size=(20, 1)), rng.normal(0, 1, size=(20, 1))
        _, lo, hi = probability_of_improvement(x, y, confidence=0.9, n_resamples=500, seed=rep)
        covered += lo <= truth <= hi
    assert 0.80 <= covered / 200 <= 0.97


def test_performance_profile_counts_runs_above_each_threshold_tasks_weighted_equally():
    scores = np.array([[0.0, 0.2], [0.5, 0.4], [1.0, 0.9], [1.5, 1.1]])
    profile, lo, hi = performance_profile(scores, [-1.0, 0.3, 0.95, 2.0], n_resamples=500)
    np.testing.assert_allclose(profile, [1.0, (3 / 4 + 3 / 4) / 2, (2 / 4 + 1 / 4) / 2, 0.0])
    assert np.all(lo <= profile) and np.all(profile <= hi)
    assert lo[0] == hi[0] == 1.0 and lo[-1] == hi[-1] == 0.0  # every resample agrees at the extremes
    assert np.all(np.diff(profile) <= 0)  # a survival curve never rises


def test_subsample_statistic_draws_without_replacement_and_is_unbiased_for_the_mean():
    scores = np.arange(20.0)
    means = subsample_statistic(scores, 3, n_draws=20_000, seed=0)
    assert means.shape == (20_000,)
    assert means.mean() == pytest.approx(scores.mean(), abs=0.1)
    # variance of a mean of 3 drawn without replacement: sigma^2 / 3 * (N - 3) / (N - 1)
    assert means.var() == pytest.approx(scores.var() / 3 * 17 / 19, rel=0.05)
    maxima = subsample_statistic(scores, 3, n_draws=2000, statistic=np.max, seed=0)
    assert maxima.min() >= 2.0  # three distinct runs: the largest is at least the third smallest
    assert np.array_equal(
        subsample_statistic(scores, 3, n_draws=50, seed=4), subsample_statistic(scores, 3, n_draws=50, seed=4)
    )


def test_difference_ci_separates_a_shift_and_contains_zero_without_one():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(20, 2))
    est, lo, hi = difference_ci(y + 1.0, y)
    assert est == pytest.approx(1.0) and 0 < lo <= 1.0 <= hi
    est, lo, hi = difference_ci(y, y.copy())
    assert est == 0.0 and lo < 0 < hi
    assert difference_ci(np.full((5, 2), 3.0), np.full((4, 2), 1.0)) == (2.0, 2.0, 2.0)


def test_overlapping_intervals_can_hide_a_difference_the_difference_interval_shows():
    """Review 13-E1: the reason chapter 13 bootstraps the difference rather than comparing two bars."""
    rng = np.random.default_rng(0)  # one example of such a pair; other seeds give them too
    x, y = rng.normal(0.8, 1, 20), rng.normal(0.0, 1, 20)
    _, xlo, xhi = bootstrap_ci(x, np.mean)
    _, ylo, yhi = bootstrap_ci(y, np.mean)
    _, dlo, _ = difference_ci(x, y, np.mean)
    assert xlo < yhi and dlo > 0


def test_bootstrap_ci_is_stratified_each_resample_keeps_every_task():
    # a pooled (unstratified) bootstrap would move the mean of 20 zeros and 20 ones; a stratified one cannot
    assert bootstrap_ci(np.stack([np.zeros(20), np.ones(20)], 1), np.mean) == (0.5, 0.5, 0.5)


def test_percentile_interval_of_three_runs_undercovers():
    """With 3 runs a nominal 95% percentile interval of the IQM covers the truth far less often than with 20
    (normal scores, truth 0; chapter 13 section 3 quotes this)."""
    rng = np.random.default_rng(3)
    cover = {}
    for n in (3, 20):
        hits = 0
        for rep in range(300):
            _, lo, hi = bootstrap_ci(rng.normal(size=n), n_resamples=1000, seed=rep)
            hits += lo <= 0.0 <= hi
        cover[n] = hits / 300
    assert cover[3] < 0.85 and cover[20] > 0.88, cover
