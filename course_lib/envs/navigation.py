r"""2-D point navigation, the task family of MAML's meta-RL experiments (notebook ``11_meta_rl_maml``).

A point starts at the origin. Each *task* is a goal :math:`g \sim U[-0.5, 0.5]^2`
that the agent does not observe: it sees only its position :math:`s_t`. An
action is a velocity, clipped to :math:`[-0.1, 0.1]^2`, and

.. math:: s_{t+1} = s_t + \operatorname{clip}(a_t, -0.1, 0.1), \qquad r_t = -\lVert s_{t+1} - g \rVert_2 .

Episodes last :data:`HORIZON` = 100 steps (truncated, never terminated), so every
trajectory of a batch has the same length. Finn, Abbeel and Levine (ICML 2017,
§5.3) define the family; their version also ends an episode once the agent is
within 0.01 of the goal, which we leave out to keep batches rectangular. (The paper's text says the reward is the
negative *squared* distance; its released code, ``cbfinn/maml_rl`` ``point_env_randgoal.py``, and this module use
the distance.)

Two forms of the same dynamics, in float32:

* :class:`Navigation2DEnv` -- a Gymnasium environment (id ``course_lib/Navigation2D-v0``)
  with a task API: ``set_task(goal)``, ``sample_tasks(n)``, or ``reset(options={"goal": g})``;
* :class:`NavigationBatch` -- a torch simulator that steps ``(tasks, trajectories)`` at once,
  what meta-training uses.

:func:`oracle_actions` is the policy that knows the goal: it steps straight at it at full
speed, clipped per coordinate. It reaches the smallest possible distance at every step,
so its return is the best any policy can get.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

__all__ = [
    "HORIZON",
    "MAX_SPEED",
    "GOAL_RANGE",
    "Navigation2DEnv",
    "NavigationBatch",
    "sample_goals",
    "oracle_actions",
]

HORIZON = 100  #: steps per episode
MAX_SPEED = 0.1  #: actions are clipped to [-MAX_SPEED, MAX_SPEED] per coordinate
GOAL_RANGE = 0.5  #: goals are uniform on [-GOAL_RANGE, GOAL_RANGE]^2
BOUND = HORIZON * MAX_SPEED  #: no position can leave [-BOUND, BOUND]^2 in one episode


def _check_goal(goal, shape_tail: tuple[int, ...] = (2,)) -> None:
    if tuple(goal.shape[-1:]) != shape_tail:
        raise ValueError(f"goal must have last dimension 2, got shape {tuple(goal.shape)}")


class Navigation2DEnv(gym.Env):
    """One task of the navigation family as a Gymnasium environment.

    Args:
        goal: the task, shape ``(2,)``. ``None`` draws a new goal from the environment's
            ``np_random`` at each ``reset`` (a fresh task per episode) until :meth:`set_task` is called.
    """

    metadata = {"render_modes": []}

    def __init__(self, goal: np.ndarray | None = None) -> None:
        self.observation_space = spaces.Box(-BOUND, BOUND, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-MAX_SPEED, MAX_SPEED, shape=(2,), dtype=np.float32)
        self._fixed_goal = None if goal is None else self._as_goal(goal)
        self.goal = self._fixed_goal
        self._pos = np.zeros(2, dtype=np.float32)
        self._t = 0

    @staticmethod
    def _as_goal(goal) -> np.ndarray:
        goal = np.asarray(goal, dtype=np.float32)
        if goal.shape != (2,):
            raise ValueError(f"goal must have shape (2,), got {goal.shape}")
        return goal

    def sample_tasks(self, n: int) -> np.ndarray:
        """``n`` goals ``(n, 2)`` drawn from the environment's ``np_random``."""
        return self.np_random.uniform(-GOAL_RANGE, GOAL_RANGE, size=(n, 2)).astype(np.float32)

    def set_task(self, goal) -> None:
        """Fix the goal of this and every later episode (until the next ``set_task``)."""
        self._fixed_goal = self._as_goal(goal)
        self.goal = self._fixed_goal

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options is not None and "goal" in options:
            self.set_task(options["goal"])
        self.goal = self._fixed_goal if self._fixed_goal is not None else self.sample_tasks(1)[0]
        self._pos = np.zeros(2, dtype=np.float32)
        self._t = 0
        return self._pos.copy(), {"goal": self.goal.copy()}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float32), -MAX_SPEED, MAX_SPEED)
        self._pos = (self._pos + a).astype(np.float32)
        d = self._pos - self.goal
        reward = -float(np.sqrt(d[0] * d[0] + d[1] * d[1]))
        self._t += 1
        return self._pos.copy(), reward, False, self._t >= HORIZON, {"goal": self.goal.copy()}


def sample_goals(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` goals ``(n, 2)`` from :math:`U[-0.5, 0.5]^2`, float32."""
    return (torch.rand(n, 2, generator=generator) * 2 - 1) * GOAL_RANGE


class NavigationBatch:
    """``n_tasks × n_traj`` navigation episodes stepped together in torch.

    Args:
        goals: ``(n_tasks, 2)`` float32 tensor, one goal per task.
        n_traj: trajectories per task.

    ``reset()`` returns positions ``(n_tasks, n_traj, 2)`` (zeros); ``step(actions)`` takes
    actions of that shape and returns ``(positions, rewards (n_tasks, n_traj), truncated)``,
    with the Gymnasium environment's arithmetic, so both give identical trajectories.
    """

    def __init__(self, goals: torch.Tensor, n_traj: int) -> None:
        if not isinstance(goals, torch.Tensor):
            raise TypeError(f"goals must be a torch.Tensor, got {type(goals).__name__}")
        if goals.ndim != 2:
            raise ValueError(f"goals must have shape (n_tasks, 2), got {tuple(goals.shape)}")
        _check_goal(goals)
        if isinstance(n_traj, bool) or not isinstance(n_traj, int) or n_traj <= 0:
            raise ValueError(f"n_traj must be a positive int, got {n_traj!r}")
        self.goals = goals.to(torch.float32)
        self.n_traj = n_traj
        self.reset()

    def reset(self) -> torch.Tensor:
        self.pos = torch.zeros(self.goals.shape[0], self.n_traj, 2, device=self.goals.device)
        self.t = 0
        return self.pos.clone()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if actions.shape != self.pos.shape:
            raise ValueError(f"actions must have shape {tuple(self.pos.shape)}, got {tuple(actions.shape)}")
        self.pos = self.pos + actions.to(torch.float32).clamp(-MAX_SPEED, MAX_SPEED)
        d = self.pos - self.goals.unsqueeze(1)
        reward = -torch.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
        self.t += 1
        return self.pos.clone(), reward, self.t >= HORIZON


def oracle_actions(pos: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    r"""The oracle's actions :math:`\operatorname{clip}(g - s, -0.1, 0.1)`: ``pos`` ``(n_tasks, n_traj, 2)``, ``goals`` ``(n_tasks, 2)``.

    Each coordinate moves toward the goal as far as the clip allows, so both
    :math:`|s^x_t - g^x|` and :math:`|s^y_t - g^y|` are as small as any policy can make
    them at every step; hence so is the distance.
    """
    return (goals.unsqueeze(1) - pos).clamp(-MAX_SPEED, MAX_SPEED)
