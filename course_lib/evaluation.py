"""Evaluation rollouts: how good is a policy, measured separately from training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import stats

from course_lib._validation import check_positive, check_probability
from course_lib.rl.rollouts import make_vec_env

__all__ = ["evaluate", "iqm", "bootstrap_ci", "binned_means", "SolveTracker", "EvalSchedule", "autocorrelation"]


@torch.no_grad()
def evaluate(
    act: Callable[[torch.Tensor], torch.Tensor | np.ndarray],
    env_id: str,
    n_episodes: int = 20,
    *,
    seed: int = 10_000,
    **make_kwargs,
) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` evaluation episodes, one per vector env, run in lock-step.

    Args:
        act: maps observations ``(n, obs_dim)`` to actions, e.g.
            ``lambda o: policy.act(o, deterministic=True)``.
        env_id: Gymnasium id.
        seed: episode ``i`` starts from ``reset(seed=seed + i)``; keep evaluation
            seeds apart from training seeds.

    Returns:
        ``(n_episodes,)`` array of returns.
    """
    check_positive("n_episodes", n_episodes, integer=True)
    check_positive("seed", seed, integer=True, allow_zero=True)
    envs = make_vec_env(env_id, n_episodes, **make_kwargs)
    obs, _ = envs.reset(seed=[seed + i for i in range(n_episodes)])
    returns = np.zeros(n_episodes)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        a = act(torch.as_tensor(obs, dtype=torch.float32))
        if isinstance(a, torch.Tensor):
            a = a.cpu().numpy()
        obs, r, term, trunc, _ = envs.step(a)
        returns += r * running
        running &= ~(term | trunc)
    envs.close()
    return returns


def iqm(scores, axis: int | None = None) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean`` cutting 25% each side).

    Agarwal et al. (2021), "Deep RL at the Edge of the Statistical Precipice",
    recommend it over the mean (outlier-prone) and the median (wasteful) for few runs.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        raise ValueError("scores must not be empty")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
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
    scores = np.asarray(scores, dtype=float)
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


class SolveTracker:
    """Evaluation history of one training run: when it first solved, and whether it stayed solved.

    Evaluations are recorded as ``(env steps, training seconds, mean return)``.
    ``stable_after_solve`` is the share of evaluations from the first solve on
    (that one included) whose mean return stayed at or above ``threshold``; the
    Stable-Baselines3 peer in ``bench/`` reports the same quantity.
    """

    def __init__(self, threshold: float = 475.0) -> None:
        self.threshold = float(threshold)
        self.history: list[tuple[int, float, float]] = []

    def record(self, steps: int, seconds: float, mean_return: float) -> None:
        self.history.append((int(steps), float(seconds), float(mean_return)))

    @property
    def first_solved(self) -> tuple[int, float] | None:
        """``(env steps, training seconds)`` of the first evaluation at or above the threshold."""
        hit = next((h for h in self.history if h[2] >= self.threshold), None)
        return (hit[0], hit[1]) if hit else None

    @property
    def stable_after_solve(self) -> float | None:
        solved = self.first_solved
        if solved is None:
            return None
        later = [r for s, _, r in self.history if s >= solved[0]]
        return sum(r >= self.threshold for r in later) / len(later)

    @property
    def final_return(self) -> float | None:
        return self.history[-1][2] if self.history else None


def autocorrelation(x, max_lag: int = 40) -> np.ndarray:
    r"""Sample autocorrelation :math:`\rho_k = \frac1n\sum_t z_t z_{t+k}` of the standardised series
    :math:`z`, for :math:`k = 1..` ``max_lag`` (notebook 06). About :math:`\pm 2/\sqrt n` is noise."""
    x = np.asarray(x, dtype=float)
    check_positive("max_lag", max_lag, integer=True)
    if x.ndim != 1 or len(x) <= max_lag + 1:
        raise ValueError(f"x must be 1-D and longer than max_lag + 1 = {max_lag + 1}, got shape {x.shape}")
    if x.std() == 0:
        raise ValueError("x is constant: its autocorrelation is undefined")
    z = (x - x.mean()) / x.std()
    return np.array([np.mean(z[:-k] * z[k:]) for k in range(1, max_lag + 1)])


class EvalSchedule:
    """When a training loop evaluates: each time another ``every`` environment steps have passed
    (``every=0``: never during training), and once after the last update (SB3's protocol, ``bench/``)."""

    def __init__(self, every: int) -> None:
        check_positive("every", every, integer=True, allow_zero=True)
        self.every, self.next = every, every

    def due(self, steps: int) -> bool:
        """True when ``steps`` has reached the next evaluation point (which then moves past ``steps``)."""
        if not self.every or steps < self.next:
            return False
        while self.next <= steps:
            self.next += self.every
        return True

    @staticmethod
    def final_due(tracker: SolveTracker, steps: int) -> bool:
        """True unless the policy after ``steps`` was just evaluated: the final policy is always evaluated."""
        return not tracker.history or tracker.history[-1][0] != steps


def binned_means(prediction: torch.Tensor, target: torch.Tensor, bins: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Calibration of a predictor of a mean: sort by prediction into ``bins`` equal-count bins and
    return each bin's mean prediction and mean target, both ``(bins,)``.

    A value function predicts the *expected* return, so single returns scatter
    around it; the bin means should lie near the diagonal (notebook 04).
    """
    check_positive("bins", bins, integer=True)
    if prediction.shape != target.shape or prediction.ndim != 1:
        raise ValueError(
            f"prediction and target must be 1-D of the same shape, got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    if prediction.numel() < bins:
        raise ValueError(f"need at least bins={bins} points, got {prediction.numel()}")
    order = torch.argsort(prediction)
    groups = torch.tensor_split(order, bins)
    return (torch.stack([prediction[g].mean() for g in groups]), torch.stack([target[g].mean() for g in groups]))
