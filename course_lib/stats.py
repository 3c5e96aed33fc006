"""Statistics over runs: interquartile mean, bootstrap confidence intervals, confidence bands, and the tools
for comparing algorithms over many runs and tasks (normalised scores, performance profiles, probability of
improvement, what a few runs would have shown).

Nothing here knows about environments or networks (it imports nothing from
:mod:`course_lib.rl`): every function takes arrays of scores, one per run.
Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS, explain why few runs need these tools.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from course_lib._validation import as_float_array, check_positive, check_probability

__all__ = [
    "iqm",
    "bootstrap_ci",
    "difference_ci",
    "mean_confidence_band",
    "normalized_scores",
    "performance_profile",
    "probability_of_improvement",
    "subsample_statistic",
]


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


def difference_ci(
    x, y, statistic=iqm, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    r"""``statistic(x) - statistic(y)`` with a percentile-bootstrap interval, the runs of X and of Y resampled
    independently within each task (stratified), as in :func:`bootstrap_ci`.

    Two intervals that overlap can still hide a clear difference; this is the interval of the difference itself.

    Args:
        x: ``(N, tasks)`` scores of algorithm X; y: ``(K, tasks)`` scores of Y (or 1-D for one task).

    Returns:
        ``(estimate, low, high)``.
    """
    x, y = _runs_by_tasks("x", x), _runs_by_tasks("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of tasks, got x {x.shape} and y {y.shape}")
    if min(x.shape[0], y.shape[0]) < 2:
        raise ValueError(f"x and y need at least 2 runs each, got x {x.shape} and y {y.shape}")
    check_probability("confidence", confidence, low_open=True, high_open=True)
    check_positive("n_resamples", n_resamples, integer=True)
    m = x.shape[1]
    estimate = float(statistic(x.ravel()) - statistic(y.ravel()))
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # every run of each algorithm scored the same: nothing to resample
        return estimate, estimate, estimate
    samples = tuple(x[:, j] for j in range(m)) + tuple(y[:, j] for j in range(m))

    def diff(*resampled, axis=-1):
        return statistic(np.concatenate(resampled[:m], axis=axis), axis=axis) - statistic(
            np.concatenate(resampled[m:], axis=axis), axis=axis
        )

    res = stats.bootstrap(
        samples,
        diff,
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


def _runs_by_tasks(name: str, x) -> np.ndarray:
    x = as_float_array(name, x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (runs,) or (runs, tasks) with at least one run, got {x.shape}")
    return x


def normalized_scores(scores, low, high) -> np.ndarray:
    r"""Scores on a common scale across tasks: :math:`\tilde x = (x - x_{\rm low}) / (x_{\rm high} - x_{\rm low})`.

    Agarwal et al. (2021) normalise each task so that scores of different tasks can be pooled; 0 is
    ``low`` (e.g. a random policy's return) and 1 is ``high`` (e.g. the task's "solved" return).

    Args:
        scores: ``(runs, tasks)`` (or ``(runs,)`` for one task).
        low, high: one number, or one per task (``(tasks,)``), with ``high > low`` for every task.
    """
    scores = _runs_by_tasks("scores", scores)
    bounds = {}
    for name, value in (("low", low), ("high", high)):
        value = as_float_array(name, value)
        if value.shape not in ((), (1,), scores.shape[1:]):
            raise ValueError(f"{name} must be one number or one per task ({scores.shape[1]}), got shape {value.shape}")
        bounds[name] = np.broadcast_to(value, scores.shape[1:])
    low, high = bounds["low"], bounds["high"]
    if np.any(high <= low):
        raise ValueError(f"high must be > low for every task, got low={low.tolist()}, high={high.tolist()}")
    return (scores - low) / (high - low)


def performance_profile(
    scores, taus, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Run-score distribution :math:`\hat F(\tau) = \frac{1}{M}\sum_m \frac{1}{N}\sum_n [x_{n,m} > \tau]`
    with stratified-bootstrap confidence bands (Agarwal et al., 2021, Sec. 4).

    The share of runs, tasks weighted equally, whose (normalised) score is above each threshold ``tau``.
    A curve on or above another at every threshold (and above it somewhere) is *stochastically dominant*: at least
    as good at every threshold. The bands are pointwise, one interval per threshold.

    Args:
        scores: ``(runs, tasks)`` normalised scores, the same number of runs per task.
        taus: ``(K,)`` thresholds.

    Returns:
        ``(profile, low, high)``, each ``(K,)``.
    """
    scores = _runs_by_tasks("scores", scores)
    taus = as_float_array("taus", taus)
    if taus.ndim != 1 or taus.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array of thresholds, got shape {taus.shape}")
    out = np.empty((3, taus.size))
    for k, tau in enumerate(taus):

        def above(x, axis=-1, tau=tau):
            return (x > tau).mean(axis=axis)

        out[:, k] = bootstrap_ci(scores, above, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return out[0], out[1], out[2]


def probability_of_improvement(
    x, y, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    r"""Average probability that a run of X beats a run of Y on the same task (Agarwal et al., 2021, Sec. 4):

    .. math:: P(X > Y) = \frac{1}{M}\sum_{m=1}^{M} \frac{1}{N K}\sum_{i=1}^{N}\sum_{j=1}^{K}
              S(x_{i,m}, y_{j,m}),\qquad S(a, b) = [a > b] + \tfrac12 [a = b],

    the Mann-Whitney U statistic of each task divided by :math:`NK`, averaged over tasks, with a
    percentile interval from a stratified bootstrap (runs of X and of Y resampled within each task).

    Args:
        x: ``(N, tasks)`` scores of algorithm X; y: ``(K, tasks)`` scores of algorithm Y (raw or normalised:
            only the order within a task matters).

    Returns:
        ``(estimate, low, high)``.
    """
    x = _runs_by_tasks("x", x)
    y = _runs_by_tasks("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of tasks, got x {x.shape} and y {y.shape}")
    check_probability("confidence", confidence, low_open=True, high_open=True)
    check_positive("n_resamples", n_resamples, integer=True)

    def prob(xs, ys):  # xs (..., N, M), ys (..., K, M) -> (...)
        wins = (xs[..., :, None, :] > ys[..., None, :, :]).mean(axis=(-3, -2))
        ties = (xs[..., :, None, :] == ys[..., None, :, :]).mean(axis=(-3, -2))
        return (wins + 0.5 * ties).mean(axis=-1)

    estimate = float(prob(x, y))
    rng = np.random.default_rng(seed)
    tasks = np.arange(x.shape[1])
    xi = rng.integers(0, x.shape[0], size=(n_resamples, x.shape[0], x.shape[1]))
    yi = rng.integers(0, y.shape[0], size=(n_resamples, y.shape[0], y.shape[1]))
    boot = prob(x[xi, tasks], y[yi, tasks])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return estimate, float(low), float(high)


def subsample_statistic(scores, n_runs: int, *, n_draws: int = 10_000, statistic=np.mean, seed: int = 0) -> np.ndarray:
    """What an experiment with only ``n_runs`` runs would have reported: ``statistic`` of ``n_runs`` runs drawn
    without replacement from ``scores``, ``n_draws`` times.

    Args:
        scores: ``(runs,)`` results of one algorithm on one task, ``runs > n_runs``.
        statistic: a function of a 2-D array with an ``axis`` argument (``np.mean``, ``np.median``, :func:`iqm`).

    Returns:
        ``(n_draws,)`` array, one statistic per draw.
    """
    scores = as_float_array("scores", scores)
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (runs,), got {scores.shape}")
    check_positive("n_runs", n_runs, integer=True)
    check_positive("n_draws", n_draws, integer=True)
    if n_runs >= scores.size:
        raise ValueError(f"n_runs must be < the number of runs ({scores.size}), got {n_runs}")
    rng = np.random.default_rng(seed)
    idx = np.argsort(rng.random((n_draws, scores.size)), axis=1)[:, :n_runs]
    return np.asarray(statistic(scores[idx], axis=1), dtype=float)
