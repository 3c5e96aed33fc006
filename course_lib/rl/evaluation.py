"""Evaluating a policy apart from training, and the bookkeeping of evaluations during training.

* :func:`evaluate` -- greedy (or any) policy on freshly seeded environments;
* :class:`EvalSchedule` -- when a training loop evaluates (every ``eval_every`` env steps, and at the end);
* :class:`SolveTracker` -- the evaluation history of a run: when it first solved, and whether it stayed solved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from course_lib._validation import check_bool, check_positive, check_real
from course_lib.rl.rollouts import make_vec_env

__all__ = ["evaluate", "SolveTracker", "EvalSchedule"]


@torch.no_grad()
def evaluate(
    act: Callable[[torch.Tensor], torch.Tensor | np.ndarray],
    env_id: str,
    n_episodes: int = 20,
    *,
    seed: int = 10_000,
    device: torch.device | str = "cpu",
    **make_kwargs,
) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` evaluation episodes, one per vector env, run in lock-step.

    Args:
        act: maps observations ``(n, obs_dim)`` to actions, e.g.
            ``lambda o: policy.act(o, deterministic=True)``.
        env_id: Gymnasium id.
        seed: episode ``i`` starts from ``reset(seed=seed + i)``; keep evaluation
            seeds apart from training seeds.
        device: where the observations handed to ``act`` live.

    Returns:
        ``(n_episodes,)`` array of returns.
    """
    if not callable(act):
        raise TypeError(f"act must be callable (observations -> actions), got {type(act).__name__}")
    check_positive("n_episodes", n_episodes, integer=True)
    check_positive("seed", seed, integer=True, allow_zero=True)
    envs = make_vec_env(env_id, n_episodes, **make_kwargs)
    obs, _ = envs.reset(seed=[seed + i for i in range(n_episodes)])
    returns = np.zeros(n_episodes)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        a = act(torch.as_tensor(obs, dtype=torch.float32, device=device))
        if isinstance(a, torch.Tensor):
            a = a.cpu().numpy()
        want = (n_episodes, *envs.single_action_space.shape)
        if np.shape(a) != want:
            envs.close()
            raise ValueError(f"act must return actions of shape {want} (one per episode), got {np.shape(a)}")
        obs, r, term, trunc, _ = envs.step(a)
        returns += r * running
        running &= ~(term | trunc)
    envs.close()
    return returns


class SolveTracker:
    """Evaluation history of one training run: when it first solved, and whether it stayed solved.

    Evaluations are recorded as ``(env steps, training seconds, score)``; the
    score is a mean evaluation return unless the trainer says otherwise (meta-learning
    records a loss, with ``higher_is_better=False``). ``threshold=None`` means the
    task has no "solved" level. ``stable_after_solve`` is the share of evaluations
    from the first solve on (that one included) that stayed solved; the
    Stable-Baselines3 peer in ``bench/`` reports the same quantity.
    """

    def __init__(self, threshold: float | None = 475.0, *, higher_is_better: bool = True) -> None:
        self.threshold = None if threshold is None else check_real("threshold", threshold)
        self.higher_is_better = check_bool("higher_is_better", higher_is_better)
        self.history: list[tuple[int, float, float]] = []

    def record(self, steps: int, seconds: float, score: float) -> None:
        """Add one evaluation: env steps so far, training seconds so far, and its score (mean return)."""
        check_positive("steps", steps, integer=True, allow_zero=True)
        check_positive("seconds", seconds, allow_zero=True)
        check_real("score", score)
        self.history.append((int(steps), float(seconds), float(score)))

    def solved(self, score: float) -> bool:
        """Whether ``score`` reaches the threshold."""
        if self.threshold is None:
            return False
        return score >= self.threshold if self.higher_is_better else score <= self.threshold

    @property
    def steps(self) -> list[int]:
        """Env steps of each evaluation."""
        return [h[0] for h in self.history]

    @property
    def scores(self) -> list[float]:
        """Score (mean return) of each evaluation."""
        return [h[2] for h in self.history]

    @property
    def first_solved(self) -> tuple[int, float] | None:
        """``(env steps, training seconds)`` of the first evaluation that reached the threshold."""
        hit = next((h for h in self.history if self.solved(h[2])), None)
        return (hit[0], hit[1]) if hit else None

    @property
    def stable_after_solve(self) -> float | None:
        solved = self.first_solved
        if solved is None:
            return None
        later = [r for s, _, r in self.history if s >= solved[0]]
        return sum(self.solved(r) for r in later) / len(later)

    @property
    def final_return(self) -> float | None:
        """Score of the last evaluation (the final network's)."""
        return self.history[-1][2] if self.history else None


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
