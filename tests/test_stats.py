"""Interquartile mean, bootstrap confidence intervals and the confidence band of learning curves."""

import numpy as np
import pytest
from scipy import stats

from course_lib.stats import bootstrap_ci, iqm, mean_confidence_band


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
