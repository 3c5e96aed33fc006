"""Evaluation rollouts: how good is a policy, measured separately from training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from course_lib._validation import check_positive
from course_lib.rl.rollouts import make_vec_env

__all__ = ["evaluate"]


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
