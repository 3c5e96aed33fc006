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

The loop: ε-greedy actions on ``num_envs`` environments (autoreset
``SAME_STEP``), transitions into a replay buffer
(:mod:`course_lib.rl.replay`), ``gradient_steps`` minibatch updates every
``train_every`` vector steps, a target network refreshed by
:func:`course_lib.rl.target.polyak_update` (``tau=1`` with
``target_update_every`` > 1 is DQN's periodic hard copy). ε decays linearly;
the learning rate is held, then decays linearly (``lr_hold``, ``lr_final``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib import checkpoint
from course_lib._validation import check_hidden, check_positive, check_probability
from course_lib.evaluation import EvalSchedule, SolveTracker, evaluate
from course_lib.rl.losses import huber_loss
from course_lib.rl.policies import QNet
from course_lib.rl.replay import NStepAccumulator, PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer
from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import RolloutCollector, make_vec_env
from course_lib.rl.target import make_target, polyak_update

__all__ = [
    "DQNConfig",
    "DQNResult",
    "train_dqn",
    "dqn_targets",
    "linear_schedule",
    "q_vs_monte_carlo",
    "save_agent",
    "load_agent",
]


@dataclass(frozen=True)
class DQNConfig:
    """Hyperparameters of :func:`train_dqn`. The defaults solve CartPole-v1 (notebook 08, ``bench/cartpole_dqn.py``)."""

    env_id: str = "CartPole-v1"
    double: bool = True  #: Double DQN targets (False: the max of the target net)
    num_envs: int = 4
    total_steps: int = 50_000  #: environment steps, all envs together
    buffer_size: int = 50_000
    batch_size: int = 256
    learning_starts: int = 1_000  #: env steps of random-ish experience before learning
    train_every: int = 1  #: vector steps between rounds of updates
    gradient_steps: int = 1  #: minibatch updates per round
    gamma: float = 0.99
    n_step: int = 5
    lr: float = 2e-3
    lr_hold: float = 0.5  #: share of training at the full learning rate before the linear decay
    lr_final: float = 0.0  #: the learning rate at the end, as a share of ``lr``
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.2  #: share of training over which epsilon decays linearly
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

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("double", "prioritized"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name in (
            "num_envs",
            "total_steps",
            "buffer_size",
            "batch_size",
            "train_every",
            "gradient_steps",
            "n_step",
            "target_update_every",
            "eval_episodes",
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
        check_hidden("hidden", self.hidden)


@dataclass
class DQNResult:
    qnet: QNet
    config: DQNConfig
    evaluations: SolveTracker
    steps: list[int] = field(default_factory=list)  #: env steps when each training episode ended
    train_returns: list[float] = field(default_factory=list)  #: returns of the training episodes
    losses: list[float] = field(default_factory=list)  #: per 1,000 gradient steps, the mean of every 50th loss
    train_seconds: float = 0.0  #: evaluation excluded
    gradient_steps: int = 0
    callback_log: list[tuple[int, object]] = field(default_factory=list)  #: (env steps, what the callback returned)


def linear_schedule(start: float, end: float, fraction: float, progress: float, hold: float = 0.0) -> float:
    """``start`` until ``hold``, then linear to ``end`` over the next ``fraction`` of training, then ``end``.

    ``progress`` is the share of training done, in [0, 1].
    """
    if progress <= hold:
        return start
    if fraction <= 0:
        return end
    return start + (end - start) * min(1.0, (progress - hold) / fraction)


def dqn_targets(
    batch: ReplayBatch, online: QNet, target: QNet, gamma: float, double: bool, online_next: torch.Tensor | None = None
) -> torch.Tensor:
    r"""The n-step targets :math:`y` of the module docstring, ``(B,)``, without gradient.

    ``online_next`` (``(B, n_actions)``) may pass :math:`Q_\theta(s_{t+k}, \cdot)` already computed.
    """
    with torch.no_grad():
        q_next = target(batch.next_obs)
        if double:
            if online_next is None:
                online_next = online(batch.next_obs)
            best = online_next.argmax(1, keepdim=True)
            v_next = q_next.gather(1, best).squeeze(1)
        else:
            v_next = q_next.max(1).values
        discount = gamma ** batch.steps.to(v_next.dtype)
        return batch.rewards + discount * (~batch.terminated) * v_next


def train_dqn(
    config: DQNConfig = DQNConfig(), *, seed: int = 0, callback: Callable[[QNet], object] | None = None
) -> DQNResult:
    """Train a Q-network with (Double) DQN on ``config.env_id``.

    ``callback(qnet)``, if given, runs after each evaluation; what it returns is
    kept in ``result.callback_log`` with the step count, and its time is not
    counted as training time.
    """
    if not isinstance(config, DQNConfig):
        raise TypeError(f"config must be a DQNConfig, got {type(config).__name__}")
    check_positive("seed", seed, integer=True, allow_zero=True)
    torch.manual_seed(seed)  # weight initialisation
    rng = np.random.default_rng(seed)
    envs = make_vec_env(config.env_id, config.num_envs)
    obs_shape = envs.single_observation_space.shape
    n_actions = int(envs.single_action_space.n)
    qnet = QNet(int(np.prod(obs_shape)), n_actions, config.hidden)
    target = make_target(qnet)
    opt = torch.optim.Adam(qnet.parameters(), lr=config.lr, fused=True)
    if config.prioritized:
        buffer: ReplayBuffer = PrioritizedReplayBuffer(config.buffer_size, obs_shape, alpha=config.per_alpha)
    else:
        buffer = ReplayBuffer(config.buffer_size, obs_shape)
    nstep = NStepAccumulator(config.n_step, config.gamma, config.num_envs)
    collector = RolloutCollector(envs, seed=seed)
    tracker = SolveTracker(config.solved_return)
    result = DQNResult(qnet, config, tracker)
    n_iters = max(1, config.total_steps // config.num_envs)
    schedule = EvalSchedule(config.eval_every)
    seconds, grad_steps, loss_sum = 0.0, 0, 0.0

    def policy(obs: torch.Tensor) -> np.ndarray:
        progress = collector.steps / config.total_steps
        eps = linear_schedule(config.eps_start, config.eps_end, config.eps_fraction, progress)
        greedy = qnet.act(obs).numpy()
        explore = rng.random(len(greedy)) < eps
        return np.where(explore, rng.integers(0, n_actions, len(greedy)), greedy)

    def run_evaluation() -> None:
        score = evaluate(qnet.act, config.env_id, config.eval_episodes, seed=10_000 + seed)
        tracker.record(collector.steps, seconds, float(score.mean()))
        if callback is not None:
            result.callback_log.append((collector.steps, callback(qnet)))

    for it in tqdm(range(n_iters), desc="Double DQN" if config.double else "DQN", leave=False, mininterval=1.0):
        t0 = time.perf_counter()
        n_done = len(collector.episode_returns)
        roll = collector.collect(policy, 1)
        done = nstep.push(
            roll.obs[0].numpy(),
            roll.actions[0].numpy(),
            roll.rewards[0].numpy(),
            roll.next_obs[0].numpy(),
            roll.terminated[0].numpy(),
            roll.truncated[0].numpy(),
        )
        if done is not None:
            buffer.add(**done)
        for r in collector.episode_returns[n_done:]:
            result.steps.append(collector.steps)
            result.train_returns.append(r)
        if (
            collector.steps >= config.learning_starts
            and len(buffer) >= config.batch_size
            and it % config.train_every == 0
        ):
            progress = collector.steps / config.total_steps
            lr = config.lr * linear_schedule(1.0, config.lr_final, 1.0 - config.lr_hold, progress, config.lr_hold)
            for group in opt.param_groups:
                group["lr"] = lr
            beta = config.per_beta + (1.0 - config.per_beta) * progress
            for _ in range(config.gradient_steps):
                if config.prioritized:
                    batch = buffer.sample(config.batch_size, rng, beta=beta)
                else:
                    batch = buffer.sample(config.batch_size, rng)
                b = config.batch_size
                q_both = qnet(torch.cat([batch.obs, batch.next_obs])) if config.double else qnet(batch.obs)
                q = q_both[:b].gather(1, batch.actions.view(-1, 1)).squeeze(1)
                y = dqn_targets(
                    batch,
                    qnet,
                    target,
                    config.gamma,
                    config.double,
                    online_next=q_both[b:].detach() if config.double else None,
                )
                loss = huber_loss(q, y, config.huber_kappa, weights=batch.weights if config.prioritized else None)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(qnet.parameters(), config.max_grad_norm)
                opt.step()
                if config.prioritized:
                    buffer.update_priorities(batch.indices, (q - y).abs().detach())
                grad_steps += 1
                loss_sum += loss.item() if grad_steps % 50 == 0 else 0.0
                if grad_steps % 1000 == 0:
                    result.losses.append(loss_sum / 20)
                    loss_sum = 0.0
                if grad_steps % config.target_update_every == 0:
                    polyak_update(target, qnet, config.tau)
        seconds += time.perf_counter() - t0
        if schedule.due(collector.steps):
            run_evaluation()
    if schedule.final_due(tracker, collector.steps):
        run_evaluation()  # the final network is always evaluated
    result.train_seconds, result.gradient_steps = seconds, grad_steps
    envs.close()
    return result


@torch.no_grad()
def q_vs_monte_carlo(
    qnet: QNet,
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

    Episodes run up to ``max_episode_steps``; a state enters the average if its
    return is known: its episode terminated, or at least ``horizon`` steps
    (:math:`\gamma^{\text{horizon}}` negligible) follow it before the cut.
    """
    check_probability("gamma", gamma, high_open=True)
    check_positive("n_episodes", n_episodes, integer=True)
    check_positive("horizon", horizon, integer=True)
    envs = make_vec_env(env_id, n_episodes, max_episode_steps=max_episode_steps)
    obs, _ = envs.reset(seed=[seed + i for i in range(n_episodes)])
    running = np.ones(n_episodes, dtype=bool)
    qs, rewards, ends = [], [], []
    while running.any():
        q = qnet(torch.as_tensor(obs, dtype=torch.float32))
        a = q.argmax(1)
        qs.append(q.gather(1, a[:, None]).squeeze(1).numpy())
        obs, r, term, trunc, _ = envs.step(a.numpy())
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


def save_agent(result: DQNResult, path) -> None:
    """Write the Q-network and the configuration to ``path`` atomically."""
    checkpoint.save(
        {
            "qnet": result.qnet.state_dict(),
            "config": dict(result.config.__dict__),
            "obs_dim": result.qnet.obs_dim,
            "n_actions": result.qnet.n_actions,
        },
        path,
    )


def load_agent(path) -> tuple[QNet, DQNConfig]:
    """Rebuild the Q-network saved by :func:`save_agent` (loaded with ``weights_only=True``)."""
    payload = checkpoint.load(path)
    cfg = dict(payload["config"])
    cfg["hidden"] = tuple(cfg["hidden"])
    config = DQNConfig(**cfg)
    qnet = QNet(int(payload["obs_dim"]), int(payload["n_actions"]), config.hidden)
    qnet.load_state_dict(payload["qnet"])
    return qnet, config
