"""Statistics over runs: interquartile mean, bootstrap confidence intervals, confidence bands.

Nothing here knows about environments or networks (it imports nothing from
:mod:`course_lib.rl`): every function takes arrays of scores, one per run.
Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS, explain why few runs need these tools.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from course_lib._validation import as_float_array, check_positive, check_probability

__all__ = ["iqm", "bootstrap_ci", "mean_confidence_band"]


def iqm(scores, axis: int | None = None) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean`` cutting 25% each side).

    Agarwal et al. (2021) recommend it over the mean (outlier-prone) and the
    median (wasteful) for few runs. With fewer than 4 runs it trims nothing and
    equals the plain mean.
    """
    scores = as_float_array("scores", scores)
    if scores.size == 0:
        raise ValueError("scores must not be empty")
    return stats.trim_mean(scores, 0.25, axis=axis)


def bootstrap_ci(
    scores,
    statistic=iqm,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Point estimate and percentile-bootstrap confidence interval of ``statistic`` over runs.

    Args:
        scores: ``(runs,)`` for one task, or ``(runs, tasks)``. With several tasks
            the bootstrap is *stratified*: runs are resampled within each task
            (``scipy.stats.bootstrap`` resamples each sample separately), and the
            statistic is taken over all resampled scores together.
        statistic: a function of a 1-D array, :func:`iqm` by default.

    Returns:
        ``(estimate, low, high)``.
    """
    scores = as_float_array("scores", scores)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] < 2:
        raise ValueError(f"scores must have shape (runs,) or (runs, tasks) with at least 2 runs, got {scores.shape}")
    check_probability("confidence", confidence, low_open=True, high_open=True)
    check_positive("n_resamples", n_resamples, integer=True)
    samples = tuple(scores[:, j] for j in range(scores.shape[1]))

    def pooled(*resampled, axis=-1):
        return statistic(np.concatenate(resampled, axis=axis), axis=axis)

    estimate = float(statistic(scores.ravel()))
    if np.ptp(scores) == 0:  # every run scored the same: no spread to resample
        return estimate, estimate, estimate
    res = stats.bootstrap(
        samples,
        pooled,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    return estimate, float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_confidence_band(ys, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs (axis 0) and a Student-t confidence interval of that mean, point by point.

    Args:
        ys: ``(runs, points)`` array.

    Returns:
        ``(mean, low, high)``, each ``(points,)``. With one run the band is the mean.
    """
    ys = as_float_array("ys", ys)
    if ys.ndim != 2:
        raise ValueError(f"ys must have shape (runs, points), got {ys.shape}")
    check_probability("confidence", confidence, low_open=True, high_open=True)
    mean = ys.mean(axis=0)
    n = ys.shape[0]
    if n < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * ys.std(axis=0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half
