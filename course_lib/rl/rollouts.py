r"""Collect experience from Gymnasium vector environments (notebook ``01_rl_basics``).

Gymnasium 1.x vector environments reset finished sub-environments
automatically. Their default ``NEXT_STEP`` mode returns the reset observation
one step *later*, with reward 0, and that extra step must be masked out. The
course uses ``AutoresetMode.SAME_STEP`` instead: the step that ends an episode
already returns the *first observation of the next episode*, and the true last
observation is in ``info["final_obs"]`` (valid where ``info["_final_obs"]``).
Every transition is then real, and ``next_obs`` below always holds
:math:`s_{t+1}` of the same episode, which is what a truncated episode must
bootstrap from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from course_lib._validation import as_tensor, check_finite, check_positive, check_shapes, check_spaces, checking

__all__ = ["Rollout", "RolloutCollector", "make_vec_env", "require_spaces"]


def make_vec_env(env_id: str, num_envs: int, **make_kwargs) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id`` in one process, autoresetting in ``SAME_STEP`` mode.

    Extra keyword arguments go to :func:`gymnasium.make` (e.g. ``max_episode_steps``).
    """
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a str such as 'CartPole-v1', got {type(env_id).__name__}")
    check_positive("num_envs", num_envs, integer=True)
    if env_id not in gym.registry:
        raise ValueError(
            f"env_id {env_id!r} is not a registered Gymnasium environment (see gymnasium.pprint_registry())"
        )
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **make_kwargs,
    )


def _trusted_rollout(**fields: torch.Tensor) -> Rollout:
    """A :class:`Rollout` from the collector's own buffers, whose shapes it built and whose rewards it checked:
    it skips ``__post_init__`` (tens of microseconds, paid on every step by DQN, which collects one-step rollouts)."""
    rollout = object.__new__(Rollout)
    rollout.__dict__.update(fields)
    return rollout


def require_spaces(envs: gym.vector.VectorEnv, trainer: str, *, observation: tuple, action: tuple) -> None:
    """Close ``envs`` and raise a clear :class:`ValueError` if ``trainer`` cannot handle their spaces."""
    try:
        check_spaces(
            trainer, envs.single_observation_space, envs.single_action_space, observation=observation, action=action
        )
    except ValueError:
        envs.close()
        raise


@dataclass
class Rollout:
    """A time-major batch of transitions from ``N`` environments over ``T`` steps.

    Attributes:
        obs: ``(T, N, *obs_shape)`` float32, :math:`s_t`.
        actions: ``(T, N, *act_shape)``, :math:`a_t`.
        rewards: ``(T, N)`` float32, :math:`r_t`.
        terminated: ``(T, N)`` bool, episode reached a terminal state at ``t``.
        truncated: ``(T, N)`` bool, episode was cut off (time limit) at ``t``.
        next_obs: ``(T, N, *obs_shape)`` float32, :math:`s_{t+1}` of the same
            episode (the true final observation where the episode ended).
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    next_obs: torch.Tensor

    def __post_init__(self) -> None:
        T_N = getattr(self.rewards, "shape", None)
        if (
            all(
                isinstance(t, torch.Tensor)
                for t in (self.obs, self.actions, self.rewards, self.terminated, self.truncated, self.next_obs)
            )
            and len(T_N) == 2
            and self.obs.shape[:2] == self.actions.shape[:2] == T_N == self.terminated.shape == self.truncated.shape
            and self.next_obs.shape == self.obs.shape
            and self.rewards.is_floating_point()
            and self.terminated.dtype == self.truncated.dtype == torch.bool
            and torch.isfinite(self.rewards).all()
        ):
            return  # the usual case (a collector's rollout), checked in a few microseconds
        check_shapes(
            obs=(self.obs, "T N ..."),
            actions=(self.actions, "T N ..."),
            rewards=(self.rewards, "T N"),
            terminated=(self.terminated, "T N"),
            truncated=(self.truncated, "T N"),
        )
        if not isinstance(self.next_obs, torch.Tensor) or self.next_obs.shape != self.obs.shape:
            raise ValueError(
                f"next_obs must have the shape of obs {tuple(self.obs.shape)}, got {tuple(getattr(self.next_obs, 'shape', ()))}"
            )
        for name in ("obs", "rewards", "terminated", "truncated"):
            if not isinstance(getattr(self, name), torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(getattr(self, name)).__name__}")
        as_tensor("rewards", self.rewards, "float")
        as_tensor("terminated", self.terminated, "bool")
        as_tensor("truncated", self.truncated, "bool")
        check_finite("rewards", self.rewards)

    @property
    def done(self) -> torch.Tensor:
        """``(T, N)`` bool: the episode ended at step ``t`` (either way)."""
        return self.terminated | self.truncated


class RolloutCollector:
    """Steps a ``SAME_STEP`` vector env with a policy and keeps episode statistics.

    Args:
        envs: a vector env made by :func:`make_vec_env` (``SAME_STEP`` autoreset).
        seed: seeds the first ``reset`` (env ``i`` gets ``seed + i``) and the
            action space, so that ``envs.action_space.sample()`` is reproducible.
        device: where the observations handed to the policy, and the rollouts, live.

    Attributes:
        steps: environment steps taken so far, all environments together.
        episodes: ``(env steps when it ended, undiscounted return)`` of each finished episode.
        episode_lengths: their lengths.
    """

    def __init__(self, envs: gym.vector.VectorEnv, seed: int, device: torch.device | str = "cpu") -> None:
        if not isinstance(envs, gym.vector.VectorEnv):
            raise TypeError(f"envs must be a gymnasium.vector.VectorEnv, got {type(envs).__name__}")
        mode = envs.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"envs must autoreset in AutoresetMode.SAME_STEP (use make_vec_env), got {mode!r}")
        check_positive("seed", seed, integer=True, allow_zero=True)
        self.envs = envs
        self.num_envs = envs.num_envs
        self.device = torch.device(device)
        obs, _ = envs.reset(seed=[seed + i for i in range(self.num_envs)])
        envs.action_space.seed(seed)
        self._obs = np.asarray(obs, dtype=np.float32)
        self._ret = np.zeros(self.num_envs)
        self._len = np.zeros(self.num_envs, dtype=np.int64)
        self.episodes: list[tuple[int, float]] = []
        self.episode_lengths: list[int] = []
        self.steps = 0

    @property
    def episode_returns(self) -> list[float]:
        """Undiscounted returns of the episodes finished so far."""
        return [r for _, r in self.episodes]

    def collect(self, policy: Callable[[torch.Tensor], np.ndarray | torch.Tensor], n_steps: int) -> Rollout:
        """Run ``n_steps`` vector steps; ``policy`` maps ``(N, *obs_shape)`` obs to ``N`` actions."""
        if checking():
            check_positive("n_steps", n_steps, integer=True)
        obs_buf, act_buf, next_buf = [], [], []
        rew_buf = np.zeros((n_steps, self.num_envs), dtype=np.float32)
        term_buf = np.zeros((n_steps, self.num_envs), dtype=bool)
        trunc_buf = np.zeros((n_steps, self.num_envs), dtype=bool)
        for t in range(n_steps):
            obs_buf.append(self._obs)
            action = policy(torch.from_numpy(self._obs).to(self.device))
            if isinstance(action, torch.Tensor):
                action = action.cpu().numpy()
            want = (self.num_envs, *self.envs.single_action_space.shape)
            if np.shape(action) != want:
                raise ValueError(
                    f"policy must return actions of shape {want} (one per environment), got {np.shape(action)}"
                )
            next_obs, reward, terminated, truncated, info = self.envs.step(action)
            next_obs = np.asarray(next_obs, dtype=np.float32)
            # the environment's data comes from outside: checked at every step, inside a trainer's trusted() loop too
            check_finite("the environment's observations", next_obs)
            true_next = next_obs.copy()
            if "_final_obs" in info:  # final_obs is an object array with None where not final
                for i in np.flatnonzero(info["_final_obs"]):
                    true_next[i] = info["final_obs"][i]
                check_finite("the environment's final observations", true_next)
            act_buf.append(np.asarray(action))
            next_buf.append(true_next)
            rew_buf[t], term_buf[t], trunc_buf[t] = reward, terminated, truncated
            self.steps += self.num_envs
            self._ret += reward
            self._len += 1
            for i in np.flatnonzero(terminated | truncated):
                self.episodes.append((self.steps, float(self._ret[i])))
                self.episode_lengths.append(int(self._len[i]))
                self._ret[i], self._len[i] = 0.0, 0
            self._obs = next_obs

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(x).to(self.device)

        check_finite("the environment's rewards", rew_buf)  # once per call: rewards do not reach the policy
        return _trusted_rollout(
            obs=tensor(np.stack(obs_buf)),
            actions=tensor(np.stack(act_buf)),
            rewards=tensor(rew_buf),
            terminated=tensor(term_buf),
            truncated=tensor(trunc_buf),
            next_obs=tensor(np.stack(next_buf)),
        )
