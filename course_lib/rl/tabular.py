r"""Tabular control: value iteration, Q-learning and SARSA (notebook ``02_tabular_q_learning_and_sarsa``).

* Value iteration applies the Bellman optimality operator until it stops changing:
  :math:`V(s) \leftarrow \max_a \sum_{s'} P(s' \mid s, a)\,[r + \gamma V(s')]`.
* Q-learning (off-policy) and SARSA (on-policy) both move :math:`Q(s, a)` toward a
  TD target with step size :math:`\alpha`:

  .. math::

     \text{Q-learning: } y = r + \gamma \max_{a'} Q(s', a'), \qquad
     \text{SARSA: } y = r + \gamma Q(s', a'), \; a' \sim \varepsilon\text{-greedy}(Q(s', \cdot)).

  A terminated transition uses :math:`y = r`; a truncated one still bootstraps.

Works on any Gymnasium environment with ``Discrete`` observation and action spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from course_lib._validation import check_positive, check_probability

__all__ = ["TDConfig", "TDResult", "value_iteration", "q_learning", "sarsa", "epsilon_greedy", "greedy_path"]


def _check_discrete(env: gym.Env) -> tuple[int, int]:
    if not isinstance(env, gym.Env):
        raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gym.spaces.Discrete) or not isinstance(act_space, gym.spaces.Discrete):
        raise ValueError(
            "env must have Discrete observation and action spaces for tabular methods, got "
            f"observation_space={obs_space} and action_space={act_space}"
        )
    return int(obs_space.n), int(act_space.n)


def value_iteration(
    P: dict, gamma: float, *, tol: float = 1e-10, max_iter: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    r"""Optimal :math:`V^*` and :math:`Q^*` of a known model.

    Args:
        P: Gymnasium toy-text model, ``P[s][a] = [(prob, next_state, reward, terminated), ...]``
            (``env.unwrapped.P`` for FrozenLake, CliffWalking, Taxi).
        gamma: discount in :math:`[0, 1]` (with :math:`\gamma = 1` every policy must reach a terminal state).
        tol: stop when no value changes by more than ``tol``.

    Returns:
        ``(V, Q)`` of shapes ``(n_states,)`` and ``(n_states, n_actions)``.
    """
    if not isinstance(P, dict) or not P:
        raise TypeError("P must be a non-empty dict P[s][a] = [(prob, next_state, reward, terminated), ...]")
    gamma = check_probability("gamma", gamma)
    check_positive("tol", tol)
    n_s, n_a = len(P), len(P[0])
    # Dense arrays: expected reward R[s, a] and discounted continuation matrix M[s, a, s'].
    R = np.zeros((n_s, n_a))
    M = np.zeros((n_s, n_a, n_s))
    for s in range(n_s):
        for a in range(n_a):
            for prob, s2, r, term in P[s][a]:
                R[s, a] += prob * r
                if not term:
                    M[s, a, int(s2)] += prob
    V = np.zeros(n_s)
    for _ in range(max_iter):
        Q = R + gamma * M @ V
        V_new = Q.max(axis=1)
        if np.max(np.abs(V_new - V)) <= tol:
            return V_new, R + gamma * M @ V_new
        V = V_new
    raise RuntimeError(f"value iteration did not converge to tol={tol} in {max_iter} sweeps")


def epsilon_greedy(q: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniform action, else a greedy one (ties broken at random)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


@dataclass(frozen=True)
class TDConfig:
    """Hyperparameters of Q-learning and SARSA (the defaults are Sutton and Barto's cliff-walking example)."""

    n_episodes: int = 500
    alpha: float = 0.5
    gamma: float = 1.0
    epsilon: float = 0.1
    max_steps: int = 10_000  #: per episode; hitting it truncates the episode

    def __post_init__(self) -> None:
        check_positive("n_episodes", self.n_episodes, integer=True)
        check_probability("alpha", self.alpha, low_open=True)
        check_probability("gamma", self.gamma)
        check_probability("epsilon", self.epsilon)
        check_positive("max_steps", self.max_steps, integer=True)


@dataclass
class TDResult:
    """What a run of Q-learning or SARSA returns."""

    Q: np.ndarray  #: (n_states, n_actions)
    episode_returns: np.ndarray  #: (n_episodes,) online returns, under the epsilon-greedy behaviour
    episode_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def _td_control(env: gym.Env, config: TDConfig, seed: int, on_policy: bool, desc: str) -> TDResult:
    if not isinstance(config, TDConfig):
        raise TypeError(f"config must be a TDConfig, got {type(config).__name__}")
    check_positive("seed", seed, integer=True, allow_zero=True)
    n_s, n_a = _check_discrete(env)
    rng = np.random.default_rng(seed)
    Q = np.zeros((n_s, n_a))
    returns = np.zeros(config.n_episodes)
    lengths = np.zeros(config.n_episodes, dtype=int)
    a_, g, eps = config.alpha, config.gamma, config.epsilon
    for ep in tqdm(range(config.n_episodes), desc=desc, leave=False):
        s, _ = env.reset(seed=seed if ep == 0 else None)
        a = epsilon_greedy(Q[s], eps, rng)
        total, steps = 0.0, 0
        while True:
            s2, r, terminated, truncated, _ = env.step(a)
            steps += 1
            truncated = truncated or steps >= config.max_steps
            total += r
            a2 = epsilon_greedy(Q[s2], eps, rng)
            if terminated:
                target = r
            elif on_policy:
                target = r + g * Q[s2, a2]
            else:
                target = r + g * Q[s2].max()
            Q[s, a] += a_ * (target - Q[s, a])
            if terminated or truncated:
                break
            s, a = s2, a2
        returns[ep], lengths[ep] = total, steps
    return TDResult(Q=Q, episode_returns=returns, episode_lengths=lengths)


def q_learning(env: gym.Env, config: TDConfig = TDConfig(), *, seed: int = 0) -> TDResult:
    r"""Q-learning with :math:`\varepsilon`-greedy behaviour: target :math:`r + \gamma \max_{a'} Q(s', a')`."""
    return _td_control(env, config, seed, on_policy=False, desc="Q-learning")


def sarsa(env: gym.Env, config: TDConfig = TDConfig(), *, seed: int = 0) -> TDResult:
    r"""SARSA: target :math:`r + \gamma Q(s', a')` with :math:`a'` the :math:`\varepsilon`-greedy action taken next."""
    return _td_control(env, config, seed, on_policy=True, desc="SARSA")


def greedy_path(env: gym.Env, Q: np.ndarray, *, seed: int = 0, max_steps: int = 200) -> list[int]:
    """States visited by the greedy policy of ``Q`` from ``env.reset(seed=seed)``, start included.

    Stops at termination, truncation or after ``max_steps`` (a greedy policy can loop).
    """
    n_s, n_a = _check_discrete(env)
    if not isinstance(Q, np.ndarray) or Q.shape != (n_s, n_a):
        raise ValueError(f"Q must be a numpy array of shape ({n_s}, {n_a}), got {getattr(Q, 'shape', type(Q))}")
    s, _ = env.reset(seed=seed)
    path = [int(s)]
    for _ in range(max_steps):
        s, _, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
        path.append(int(s))
        if terminated or truncated:
            break
    return path
