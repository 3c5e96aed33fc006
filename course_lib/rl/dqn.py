r"""DQN and Double DQN on Gymnasium vector environments (notebook ``08_dqn``).

One gradient step minimises the Huber loss :math:`\ell_\kappa` (Mnih et al., 2015)
between :math:`Q_\theta(s_t, a_t)` and the n-step target

.. math::

    y_t = R_t^{(k)} + \gamma^{k}\,(1 - \text{terminated})\; Q_{\theta'}\big(s_{t+k},\, a^\star\big),
    \qquad R_t^{(k)} = \sum_{j<k} \gamma^j r_{t+j},

with :math:`a^\star = \arg\max_a Q_{\theta'}(s_{t+k}, a)` for **DQN** and
:math:`a^\star = \arg\max_a Q_{\theta}(s_{t+k}, a)` for **Double DQN** (van Hasselt
et al., 2016): the online net picks the action, the target net :math:`\theta'`
scores it, which removes most of max's upward bias. :math:`k = n`, or fewer
steps where the episode ended; a truncated episode (time limit) still
bootstraps from its true last observation, only termination stops it.

One gradient step is :func:`dqn_update`. The variants are small named pieces:
the next-state value :func:`max_next_value` (DQN) or :func:`double_next_value`
(Double DQN); k-step returns from :class:`course_lib.rl.replay.NStepAccumulator`;
prioritised replay's importance weights (1 for uniform replay).

The loop: ε-greedy actions on ``num_envs`` environments (autoreset
``SAME_STEP``), transitions into a replay buffer
(:mod:`course_lib.rl.replay`), ``gradient_steps`` minibatch updates every
``train_every`` vector steps, a target network refreshed by
:func:`course_lib.rl.target.polyak_update` (``tau=1`` with
``target_update_every`` > 1 is DQN's periodic hard copy). ε decays linearly;
the learning rate is held, then decays linearly (``lr_hold``, ``lr_final``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces

from course_lib._validation import (
    check_bool,
    check_hidden,
    check_positive,
    check_probability,
    check_real,
    check_type,
    trusted,
    validated,
)
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.losses import huber_loss
from course_lib.rl.policies import QNet
from course_lib.rl.replay import NStepAccumulator, PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer
from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import RolloutCollector, make_vec_env, require_spaces
from course_lib.rl.target import make_target, polyak_update
from course_lib.rl.trainer import TrainResult, record_evaluation, start_run

__all__ = [
    "DQNConfig",
    "DQNResult",
    "train_dqn",
    "dqn_update",
    "dqn_targets",
    "max_next_value",
    "double_next_value",
    "epsilon_greedy_actions",
    "linear_schedule",
    "q_vs_monte_carlo",
]


@dataclass(frozen=True)
class DQNConfig:
    """Hyperparameters of :func:`train_dqn`. The defaults solve CartPole-v1 (notebook 08, ``bench/cartpole_dqn.py``)."""

    env_id: str = "CartPole-v1"
    double: bool = True  #: Double DQN targets (False: the max of the target net)
    num_envs: int = 4
    total_steps: int = 100_000  #: environment steps, all environments together (the second half at a decaying lr)
    buffer_size: int = 100_000
    batch_size: int = 256
    learning_starts: int = 1_000  #: env steps of random-ish experience before learning
    train_every: int = 1  #: vector steps between rounds of updates
    gradient_steps: int = 1  #: minibatch updates per round
    gamma: float = 0.99
    multi_step: int = 5  #: k of the k-step return R_t^(k) in the target
    lr: float = 2e-3
    lr_hold: float = 0.5  #: share of training at the full learning rate before the linear decay
    lr_final: float = 0.0  #: the learning rate at the end, as a share of ``lr``
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.1  #: share of training over which epsilon decays linearly (10,000 env steps by default)
    tau: float = 0.01  #: Polyak weight of the online net (1: hard copy)
    target_update_every: int = 1  #: gradient steps between target updates
    huber_kappa: float = 1.0
    max_grad_norm: float = 10.0
    hidden: tuple[int, ...] = (64, 64)
    prioritized: bool = False
    per_alpha: float = 0.6
    per_beta: float = 0.4  #: annealed linearly to 1 over training
    eval_every: int = 0  #: evaluate each time this many env steps have passed (0: only at the end)
    eval_episodes: int = 20
    solved_return: float = 475.0
    log_every: int = 100  #: gradient steps between rows of ``result.log``

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("double", "prioritized"):
            check_bool(name, getattr(self, name))
        for name in (
            "num_envs",
            "total_steps",
            "buffer_size",
            "batch_size",
            "train_every",
            "gradient_steps",
            "multi_step",
            "target_update_every",
            "eval_episodes",
            "log_every",
        ):
            check_positive(name, getattr(self, name), integer=True)
        for name in ("learning_starts", "eval_every"):
            check_positive(name, getattr(self, name), integer=True, allow_zero=True)
        for name in ("gamma", "lr_hold", "lr_final", "eps_start", "eps_end", "eps_fraction", "per_beta"):
            check_probability(name, getattr(self, name))
        check_probability("tau", self.tau, low_open=True)
        for name in ("lr", "huber_kappa", "max_grad_norm"):
            check_positive(name, getattr(self, name))
        check_positive("per_alpha", self.per_alpha, allow_zero=True)
        if self.eps_end > self.eps_start:
            raise ValueError(f"eps_end ({self.eps_end}) must be <= eps_start ({self.eps_start})")
        if self.learning_starts >= self.total_steps:
            raise ValueError(f"learning_starts ({self.learning_starts}) must be < total_steps ({self.total_steps})")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size ({self.batch_size}) must be <= buffer_size ({self.buffer_size})")
        stored = self.learning_starts - (self.multi_step - 1) * self.num_envs  # transitions in the buffer by then
        if stored < self.batch_size:
            raise ValueError(
                f"learning_starts ({self.learning_starts}) must leave at least batch_size ({self.batch_size}) "
                f"transitions in the buffer before the first update; it leaves {stored} "
                f"(learning_starts - (multi_step - 1) * num_envs)"
            )
        check_hidden("hidden", self.hidden)


@dataclass(kw_only=True)
class DQNResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the Q-network and the number of gradient steps."""

    qnet: QNet
    gradient_steps: int = 0


def linear_schedule(start: float, end: float, fraction: float, progress: float, hold: float = 0.0) -> float:
    """``start`` until ``hold``, then linear to ``end`` over the next ``fraction`` of training, then ``end``.

    ``progress`` is the share of training done, in [0, 1].
    """
    try:
        usual = 0 <= fraction <= 1 and 0 <= progress <= 1 and 0 <= hold <= 1 and math.isfinite(start + end)
    except TypeError:
        usual = False
    if not usual:  # find the culprit and name it
        for name, value in (("start", start), ("end", end)):
            check_real(name, value)
        for name, value in (("fraction", fraction), ("progress", progress), ("hold", hold)):
            check_probability(name, value)
    if progress <= hold:
        return start
    if fraction <= 0:
        return end
    return start + (end - start) * min(1.0, (progress - hold) / fraction)


def _check_targets(batch, online, target, gamma, double) -> None:
    check_type("batch", batch, ReplayBatch, "(sample one from a ReplayBuffer)")
    for name, net in (("online", online), ("target", target)):
        check_type(name, net, QNet)
    check_probability("gamma", gamma)
    check_bool("double", double)


def _check_update(batch, qnet, target, optimizer, config) -> None:
    check_type("config", config, DQNConfig)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    _check_targets(batch, qnet, target, config.gamma, config.double)
    lo, hi = torch.aminmax(batch.actions)
    if lo < 0 or hi >= qnet.n_actions:
        raise ValueError(f"batch.actions must lie in [0, {qnet.n_actions}), got values from {lo.item()} to {hi.item()}")


def max_next_value(next_obs: torch.Tensor, online: QNet, target: QNet) -> torch.Tensor:
    r"""DQN: :math:`\max_a Q_{\theta'}(s', a)`, ``(B,)`` (``online`` is unused; it keeps one signature)."""
    return target(next_obs).max(1).values


def double_next_value(next_obs: torch.Tensor, online: QNet, target: QNet) -> torch.Tensor:
    r"""Double DQN: :math:`Q_{\theta'}(s', \arg\max_a Q_\theta(s', a))`, ``(B,)``: the online net picks, the target scores."""
    best = online(next_obs).argmax(1, keepdim=True)
    return target(next_obs).gather(1, best).squeeze(1)


@validated(_check_targets)
def dqn_targets(batch: ReplayBatch, online: QNet, target: QNet, gamma: float, double: bool) -> torch.Tensor:
    r"""The k-step targets :math:`y = R^{(k)} + \gamma^k (1 - \text{terminated})\, V'(s_{t+k})` of the module docstring,
    ``(B,)``, without gradient."""
    next_value = double_next_value if double else max_next_value
    with torch.no_grad():
        v_next = next_value(batch.next_obs, online, target)
        discount = gamma ** batch.steps.to(v_next.dtype)
        return batch.rewards + discount * (~batch.terminated) * v_next


@validated(_check_update)
def dqn_update(
    batch: ReplayBatch, qnet: QNet, target: QNet, optimizer: torch.optim.Optimizer, config: DQNConfig
) -> dict[str, torch.Tensor]:
    r"""One gradient step on the (importance-weighted) Huber loss :math:`\overline{w\,\ell_\kappa(Q_\theta(s, a) - y)}`.

    Returns detached tensors: ``loss``, ``q_mean`` (mean :math:`Q_\theta(s, a)`), and ``td_abs``
    (:math:`|y - Q_\theta(s, a)|` per transition, ``(B,)``: the new priorities in prioritised replay).
    """
    q = qnet(batch.obs).gather(1, batch.actions.long().view(-1, 1)).squeeze(1)
    y = dqn_targets(batch, qnet, target, config.gamma, config.double)
    loss = huber_loss(q, y, config.huber_kappa, weights=batch.weights)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(qnet.parameters(), config.max_grad_norm)
    optimizer.step()
    return {"loss": loss.detach(), "q_mean": q.detach().mean(), "td_abs": (y - q).detach().abs()}


def _check_epsilon_greedy(qnet, obs, epsilon, rng) -> None:
    check_type("qnet", qnet, QNet)
    check_probability("epsilon", epsilon)
    check_type("rng", rng, np.random.Generator, "(np.random.default_rng(seed))")


@validated(_check_epsilon_greedy)
def epsilon_greedy_actions(qnet: QNet, obs: torch.Tensor, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Greedy actions of ``qnet`` for ``obs`` ``(N, obs_dim)``, each replaced by a uniform one with probability ``epsilon``."""
    greedy = qnet.act(obs).cpu().numpy()
    explore = rng.random(len(greedy)) < epsilon
    return np.where(explore, rng.integers(0, qnet.n_actions, len(greedy)), greedy)


def train_dqn(
    config: DQNConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[DQNResult], object] | None = None,
) -> DQNResult:
    """Train a Q-network with (Double) DQN on ``config.env_id``.

    The trainer contract is in :mod:`course_lib.rl.trainer`; ``result.log`` has a row every
    ``config.log_every`` gradient steps (loss, mean Q, mean |TD error|, epsilon, learning rate).
    """
    run = start_run(config, DQNConfig, seed=seed, device=device, callback=callback)
    envs = make_vec_env(config.env_id, config.num_envs)
    require_spaces(envs, "train_dqn", observation=(spaces.Box,), action=(spaces.Discrete,))
    obs_shape = envs.single_observation_space.shape
    qnet = QNet(int(np.prod(obs_shape)), int(envs.single_action_space.n), config.hidden, generator=run.init)
    qnet = qnet.to(run.device)
    target = make_target(qnet)
    optimizer = torch.optim.Adam(qnet.parameters(), lr=config.lr, fused=True)  # fused: one kernel for all tensors
    if config.prioritized:
        buffer = PrioritizedReplayBuffer(config.buffer_size, obs_shape, alpha=config.per_alpha, device=run.device)
    else:
        buffer = ReplayBuffer(config.buffer_size, obs_shape, device=run.device)
    nstep = NStepAccumulator(config.multi_step, config.gamma, config.num_envs)
    collector = RolloutCollector(envs, seed=seed, device=run.device)
    result = DQNResult(qnet=qnet, config=config, evaluations=SolveTracker(config.solved_return))
    result.episodes = collector.episodes
    schedule = EvalSchedule(config.eval_every)

    for it in progress_bar(
        range(max(1, config.total_steps // config.num_envs)), desc="DQN", leave=False, mininterval=1.0
    ):
        t0 = time.perf_counter()
        with trusted():  # config, environment and buffers were checked once, above: no checks per step
            progress = collector.steps / config.total_steps
            eps = linear_schedule(config.eps_start, config.eps_end, config.eps_fraction, progress)
            roll = collector.collect(functools.partial(epsilon_greedy_actions, qnet, epsilon=eps, rng=run.numpy), 1)
            arrays = (roll.obs, roll.actions, roll.rewards, roll.next_obs, roll.terminated, roll.truncated)
            done = nstep.push(*(x[0].cpu().numpy() for x in arrays))  # the one vector step just taken
            if done is not None:
                buffer.add(**done)
            if collector.steps >= config.learning_starts and it % config.train_every == 0:
                lr = config.lr * linear_schedule(1.0, config.lr_final, 1.0 - config.lr_hold, progress, config.lr_hold)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                for _ in range(config.gradient_steps):
                    if config.prioritized:
                        buffer.beta = config.per_beta + (1.0 - config.per_beta) * progress
                    batch = buffer.sample(config.batch_size, run.numpy)
                    stats = dqn_update(batch, qnet, target, optimizer, config)
                    if config.prioritized:
                        buffer.update_priorities(batch.indices, stats["td_abs"])
                    result.gradient_steps += 1
                    if result.gradient_steps % config.target_update_every == 0:
                        polyak_update(target, qnet, config.tau)
                    if result.gradient_steps % config.log_every == 0:
                        result.log.append(
                            {
                                "step": collector.steps,
                                "loss": stats["loss"].item(),
                                "q_mean": stats["q_mean"].item(),
                                "td_error": stats["td_abs"].mean().item(),
                                "epsilon": eps,
                                "lr": lr,
                            }
                        )
        result.train_seconds += time.perf_counter() - t0
        if schedule.due(collector.steps):
            record_evaluation(result, qnet.act, collector.steps, run, callback)
    if schedule.final_due(result.evaluations, collector.steps):
        record_evaluation(result, qnet.act, collector.steps, run, callback)  # the final network is always evaluated
    envs.close()
    return result


@torch.no_grad()
def q_vs_monte_carlo(
    qnet: QNet | DQNResult,
    env_id: str = "CartPole-v1",
    *,
    gamma: float = 0.99,
    n_episodes: int = 10,
    seed: int = 20_000,
    max_episode_steps: int = 2_000,
    horizon: int = 1_000,
) -> tuple[float, float]:
    r"""Mean :math:`Q_\theta(s_t, a_t)` and mean discounted Monte Carlo return :math:`G_t` over the states a
    greedy policy visits (Van Hasselt et al., 2016, fig. 3).

    ``qnet`` may be a :class:`DQNResult` (its ``qnet`` is used), so that
    ``functools.partial(q_vs_monte_carlo, ...)`` can be a trainer's ``callback``.
    Episodes run up to ``max_episode_steps``; a state enters the average if its
    return is known: its episode terminated, or at least ``horizon`` steps
    (:math:`\gamma^{\text{horizon}}` negligible) follow it before the cut.
    """
    if isinstance(qnet, DQNResult):
        qnet = qnet.qnet
    if not isinstance(qnet, QNet):
        raise TypeError(f"qnet must be a QNet or a DQNResult, got {type(qnet).__name__}")
    device = next(qnet.parameters()).device
    check_probability("gamma", gamma, high_open=True)
    check_positive("n_episodes", n_episodes, integer=True)
    check_positive("horizon", horizon, integer=True)
    envs = make_vec_env(env_id, n_episodes, max_episode_steps=max_episode_steps)
    obs, _ = envs.reset(seed=[seed + i for i in range(n_episodes)])
    running = np.ones(n_episodes, dtype=bool)
    qs, rewards, ends = [], [], []
    while running.any():
        q = qnet(torch.as_tensor(obs, dtype=torch.float32, device=device))
        a = q.argmax(1)
        qs.append(q.gather(1, a[:, None]).squeeze(1).cpu().numpy())
        obs, r, term, trunc, _ = envs.step(a.cpu().numpy())
        rewards.append(r * running)
        ends.append(np.where(running & term, 1, np.where(running & trunc, 2, 0)))
        running &= ~(term | trunc)
    envs.close()
    qs, ends = np.array(qs), np.array(ends)
    # observed returns only (no bootstrap); steps after an episode ended carry reward 0 and are never kept
    returns = reward_to_go(
        torch.as_tensor(np.array(rewards), dtype=torch.float64),
        torch.from_numpy(ends == 1),
        torch.from_numpy(ends == 2),
        gamma,
    ).numpy()
    q_sel, g_sel = [], []
    for i in range(n_episodes):
        length = int(np.flatnonzero(ends[:, i])[0]) + 1
        keep = length if ends[length - 1, i] == 1 else max(0, length - horizon)
        q_sel.append(qs[:keep, i])
        g_sel.append(returns[:keep, i])
    q_all, g_all = np.concatenate(q_sel), np.concatenate(g_sel)
    if q_all.size == 0:
        raise ValueError("no state had a known return: raise max_episode_steps or lower horizon")
    return float(q_all.mean()), float(g_all.mean())
