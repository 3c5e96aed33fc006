r"""Tabular control: value iteration, Q-learning and SARSA (notebook ``02_tabular_q_learning_and_sarsa``).

* Value iteration applies the Bellman optimality operator until it stops changing:
  :math:`V(s) \leftarrow \max_a \sum_{s'} P(s' \mid s, a)\,[r + \gamma V(s')]`.
* Q-learning (off-policy) and SARSA (on-policy) both move :math:`Q(s, a)` toward a
  TD target with step size :math:`\alpha`:

  .. math::

     \text{Q-learning: } y = r + \gamma \max_{a'} Q(s', a'), \qquad
     \text{SARSA: } y = r + \gamma Q(s', a'), \; a' \sim \varepsilon\text{-greedy}(Q(s', \cdot)).

  A terminated transition uses :math:`y = r`; a truncated one still bootstraps.

One step of either is :func:`td_update` with :func:`q_learning_target` or
:func:`sarsa_target`; :func:`train_tabular` runs them under the trainer contract
(:mod:`course_lib.rl.trainer`). Works on any Gymnasium environment with
``Discrete`` observation and action spaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from course_lib._validation import check_bool, check_positive, check_probability, check_real, check_type, validated
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.trainer import TrainResult, record_evaluation, start_run

__all__ = [
    "TDConfig",
    "TDResult",
    "train_tabular",
    "value_iteration",
    "q_learning_target",
    "sarsa_target",
    "td_update",
    "epsilon_greedy",
    "greedy_path",
]

ALGOS = ("q_learning", "sarsa")


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


def _check_table(Q: np.ndarray, **indices: int) -> None:
    """``Q`` is an ``(n_states, n_actions)`` array; each named index is an int inside it (states first, then actions)."""
    check_type("Q", Q, np.ndarray)
    if Q.ndim != 2:
        raise ValueError(f"Q must have shape (n_states, n_actions), got {Q.shape}")
    for name, i in indices.items():
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"{name} must be an int index, got {type(i).__name__} {i!r}")
        size = Q.shape[1] if name.startswith("a") else Q.shape[0]
        if not 0 <= i < size:
            raise ValueError(f"{name} must lie in [0, {size}), got {i}")


def _check_target(Q, r, s2, *rest) -> None:
    a2, terminated, gamma = rest if len(rest) == 3 else (None, *rest)
    _check_table(Q, s2=s2, **({} if a2 is None else {"a2": a2}))
    check_real("r", r)
    check_bool("terminated", terminated)
    check_probability("gamma", gamma)


def _check_td_update(Q, s, a, target, alpha) -> None:
    _check_table(Q, s=s, a=a)
    check_real("target", target)
    check_probability("alpha", alpha, low_open=True)


def _check_epsilon_greedy(q, epsilon, rng) -> None:
    check_type("q", q, np.ndarray)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"q must be one row of Q, shape (n_actions,), got {q.shape}")
    check_probability("epsilon", epsilon)
    check_type("rng", rng, np.random.Generator, "(np.random.default_rng(seed))")


def value_iteration(
    P: dict, gamma: float, *, tol: float = 1e-10, max_iter: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    r"""Optimal :math:`V^*` and :math:`Q^*` of a known model.

    Args:
        P: Gymnasium toy-text model, ``P[s][a] = [(prob, next_state, reward, terminated), ...]``
            (``env.unwrapped.P`` for FrozenLake, CliffWalking, Taxi).
        gamma: discount in :math:`[0, 1]`. With :math:`\gamma = 1` value iteration needs a policy that reaches a
            terminal state with probability 1, and every policy that does not must have return :math:`-\infty`
            (a stochastic shortest-path problem, as CliffWalking is: every step costs -1).
        tol: stop when no value changes by more than ``tol``.

    Returns:
        ``(V, Q)`` of shapes ``(n_states,)`` and ``(n_states, n_actions)``.
    """
    if not isinstance(P, dict) or not P:
        raise TypeError("P must be a non-empty dict P[s][a] = [(prob, next_state, reward, terminated), ...]")
    gamma = check_probability("gamma", gamma)
    check_positive("tol", tol)
    check_positive("max_iter", max_iter, integer=True)
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


@validated(_check_epsilon_greedy)
def epsilon_greedy(q: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniform action, else a greedy one (ties broken at random)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


@validated(_check_target)
def q_learning_target(Q: np.ndarray, r: float, s2: int, terminated: bool, gamma: float) -> float:
    r"""Q-learning (off-policy): :math:`y = r + \gamma \max_{a'} Q(s', a')`, or :math:`r` if the episode terminated."""
    return r if terminated else r + gamma * Q[s2].max()


@validated(_check_target)
def sarsa_target(Q: np.ndarray, r: float, s2: int, a2: int, terminated: bool, gamma: float) -> float:
    r"""SARSA (on-policy): :math:`y = r + \gamma Q(s', a')` with :math:`a'` the action taken next, or :math:`r`."""
    return r if terminated else r + gamma * Q[s2, a2]


@validated(_check_td_update)
def td_update(Q: np.ndarray, s: int, a: int, target: float, alpha: float) -> float:
    r""":math:`Q(s, a) \leftarrow Q(s, a) + \alpha\,(y - Q(s, a))` in place; returns the TD error :math:`y - Q(s, a)`."""
    delta = target - Q[s, a]
    Q[s, a] += alpha * delta
    return float(delta)


@dataclass(frozen=True)
class TDConfig:
    """Hyperparameters of :func:`train_tabular` (the defaults are Sutton and Barto's cliff-walking example 6.6)."""

    algo: str = "q_learning"  #: "q_learning" or "sarsa"
    env_id: str = "CliffWalking-v1"
    env_kwargs: dict = field(default_factory=dict)  #: passed to ``gymnasium.make``, e.g. ``{"is_slippery": True}``
    n_episodes: int = 500  #: the budget is in episodes here, as in the book's figure
    alpha: float = 0.5
    gamma: float = 1.0
    epsilon: float = 0.1
    max_steps: int = 10_000  #: per episode; hitting it truncates the episode
    eval_every: int = 0  #: evaluate the greedy policy each time this many env steps have passed (0: only at the end)
    eval_episodes: int = 1  #: one is enough in a deterministic environment
    solved_return: float | None = None  #: no "solved" level by default

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        if not isinstance(self.env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a dict, got {type(self.env_kwargs).__name__}")
        for name in ("n_episodes", "max_steps", "eval_episodes"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        check_probability("alpha", self.alpha, low_open=True)
        check_probability("gamma", self.gamma)
        check_probability("epsilon", self.epsilon)


@dataclass(kw_only=True)
class TDResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the table ``Q`` ``(n_states, n_actions)``.

    ``log`` has one row per episode: its length and mean absolute TD error.
    """

    Q: np.ndarray

    @property
    def episode_returns(self) -> np.ndarray:
        """Online return of each training episode (under the epsilon-greedy behaviour), ``(n_episodes,)``."""
        return np.array([r for _, r in self.episodes])


def train_tabular(
    config: TDConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[TDResult], object] | None = None,
) -> TDResult:
    """Q-learning or SARSA with epsilon-greedy behaviour on ``config.env_id``.

    The trainer contract is in :mod:`course_lib.rl.trainer`; the table lives in NumPy,
    so ``device`` only places the observations handed to the evaluation policy.
    """
    run = start_run(config, TDConfig, seed=seed, device=device, callback=callback)
    if config.env_id not in gym.registry:
        raise ValueError(f"env_id {config.env_id!r} is not a registered Gymnasium environment")
    env = gym.make(config.env_id, max_episode_steps=config.max_steps, **config.env_kwargs)
    n_s, n_a = _check_discrete(env)
    Q = np.zeros((n_s, n_a))
    result = TDResult(Q=Q, config=config, evaluations=SolveTracker(config.solved_return))
    schedule = EvalSchedule(config.eval_every)
    steps = 0

    def greedy(obs: torch.Tensor) -> np.ndarray:
        return Q[obs.long().cpu().numpy()].argmax(1)

    explore = epsilon_greedy.unchecked  # config and env checked above; per-step checks: ~40% slower on CliffWalking

    def evaluate_greedy() -> None:
        record_evaluation(result, greedy, steps, run, callback, max_episode_steps=config.max_steps, **config.env_kwargs)

    for episode in progress_bar(range(config.n_episodes), desc=config.algo, leave=False):
        t0 = time.perf_counter()
        s, _ = env.reset(seed=seed if episode == 0 else None)
        a = explore(Q[s], config.epsilon, run.numpy)
        total, length, td_errors = 0.0, 0, []
        while True:
            s2, r, terminated, truncated, _ = env.step(a)
            a2 = explore(Q[s2], config.epsilon, run.numpy)
            if config.algo == "sarsa":
                y = sarsa_target.unchecked(Q, r, s2, a2, terminated, config.gamma)
            else:
                y = q_learning_target.unchecked(Q, r, s2, terminated, config.gamma)
            td_errors.append(td_update.unchecked(Q, s, a, y, config.alpha))
            total, length, steps = total + r, length + 1, steps + 1
            if terminated or truncated:
                break
            s, a = s2, a2
        result.train_seconds += time.perf_counter() - t0
        result.episodes.append((steps, float(total)))
        result.log.append({"step": steps, "episode_length": length, "td_error": float(np.mean(np.abs(td_errors)))})
        if schedule.due(steps):
            evaluate_greedy()
    if schedule.final_due(result.evaluations, steps):
        evaluate_greedy()  # the final table is always evaluated
    env.close()
    return result


def greedy_path(env: gym.Env, Q: np.ndarray, *, seed: int = 0, max_steps: int = 200) -> list[int]:
    """States visited by the greedy policy of ``Q`` from ``env.reset(seed=seed)``, start included.

    Stops at termination, truncation or after ``max_steps`` (a greedy policy can loop).
    """
    n_s, n_a = _check_discrete(env)
    check_positive("max_steps", max_steps, integer=True)
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
