r"""Bernoulli k-armed bandit tasks (notebook ``12_meta_rl_recurrent``).

A *task* is a vector of arm probabilities :math:`p \in [0, 1]^k`, drawn from
:math:`U[0, 1]^k`. Pulling arm :math:`a` pays :math:`r \sim \text{Bernoulli}(p_a)`;
an episode is :math:`n` pulls of the same task. An agent that does not know
:math:`p` pays for learning it; its (pseudo-)regret after :math:`t` pulls, the expected reward lost given the
arms pulled, is

.. math:: \text{regret}_t = \sum_{s=1}^{t} \big(\max_b p_b - p_{a_s}\big).

Two forms:

* :class:`BernoulliBanditEnv` -- a Gymnasium environment (id ``course_lib/BernoulliBandit-v0``)
  whose observation is the fraction of the episode elapsed, with ``set_task(probs)``;
* :class:`BanditBatch` -- one pull of every task of a batch at once, in torch.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

__all__ = ["BernoulliBanditEnv", "BanditBatch", "sample_bandit_tasks", "pseudo_regret"]


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


class BernoulliBanditEnv(gym.Env):
    """One bandit task as a Gymnasium environment.

    Args:
        k: number of arms.
        horizon: pulls per episode. The task ends there, so the last pull returns ``terminated=True``: the
            horizon is part of the task (the observation counts down to it), not a time limit, and a learner
            must not bootstrap past it (:func:`course_lib.meta.rl2.a2c_loss` does not).
        probs: the task, ``(k,)`` in [0, 1]; ``None`` draws a new task from ``np_random`` at
            each ``reset`` until :meth:`set_task` is called.

    The observation is ``[t / horizon]``: the bandit has no state, so a policy that is to
    adapt must remember past actions and rewards itself.
    """

    metadata = {"render_modes": []}

    def __init__(self, k: int = 5, horizon: int = 100, probs=None) -> None:
        _check_int("k", k, 2)
        _check_int("horizon", horizon, 1)
        self.k, self.horizon = int(k), int(horizon)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.k)
        self._fixed = None if probs is None else self._as_probs(probs)
        self.probs = self._fixed
        self._t = 0

    def _as_probs(self, probs) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (self.k,) or not ((probs >= 0) & (probs <= 1)).all():
            raise ValueError(f"probs must be {self.k} probabilities in [0, 1], got {probs!r}")
        return probs

    def set_task(self, probs) -> None:
        """Fix the arm probabilities of this and every later episode."""
        self._fixed = self._as_probs(probs)
        self.probs = self._fixed

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options is not None and "probs" in options:
            self.set_task(options["probs"])
        self.probs = self._fixed if self._fixed is not None else self.np_random.uniform(0, 1, self.k)
        self._t = 0
        return np.zeros(1, dtype=np.float32), {"probs": self.probs.copy()}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an arm in 0..{self.k - 1}, got {action!r}")
        reward = float(self.np_random.random() < self.probs[int(action)])
        self._t += 1
        obs = np.array([self._t / self.horizon], dtype=np.float32)
        return obs, reward, self._t >= self.horizon, False, {"probs": self.probs.copy()}


def sample_bandit_tasks(n_tasks: int, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n_tasks, k)`` arm probabilities from :math:`U[0, 1]`."""
    _check_int("n_tasks", n_tasks, 1)
    _check_int("k", k, 2)
    return torch.rand(n_tasks, k, generator=generator)


class BanditBatch:
    """One episode of each of ``n_tasks`` bandit tasks, pulled in lock-step.

    Args:
        probs: ``(n_tasks, k)`` arm probabilities.
    """

    def __init__(self, probs: torch.Tensor) -> None:
        if not isinstance(probs, torch.Tensor) or probs.ndim != 2 or probs.shape[1] < 2:
            raise ValueError(f"probs must be a (n_tasks, k >= 2) tensor, got {probs!r}")
        if not ((probs >= 0) & (probs <= 1)).all():
            raise ValueError("probs must lie in [0, 1]")
        self.probs = probs

    def pull(self, actions: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rewards ``(n_tasks,)`` (0. or 1.) of pulling arm ``actions[i]`` of task ``i``."""
        if actions.shape != self.probs.shape[:1]:
            raise ValueError(f"actions must have shape ({self.probs.shape[0]},), got {tuple(actions.shape)}")
        p = self.probs.gather(1, actions.long().unsqueeze(1)).squeeze(1)
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        return (u < p).to(p.dtype)


def pseudo_regret(probs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    r"""Cumulative expected regret :math:`\sum_{s \le t} (\max_b p_b - p_{a_s})`, ``(n_tasks, n)`` from
    ``probs`` ``(n_tasks, k)`` and ``actions`` ``(n_tasks, n)``."""
    p = torch.as_tensor(probs)
    a = torch.as_tensor(actions).long()
    if p.ndim != 2 or a.ndim != 2 or a.shape[0] != p.shape[0]:
        raise ValueError(f"probs must be (n_tasks, k) and actions (n_tasks, n), got {tuple(p.shape)}, {tuple(a.shape)}")
    gap = p.max(1, keepdim=True).values - p.gather(1, a)
    return gap.cumsum(1)
