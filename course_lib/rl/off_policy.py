r"""Off-policy actor-critic for continuous actions: DDPG, TD3 and SAC (notebook ``09_off_policy_actor_critic``).

All three keep seed 000's four parts (§2.1-§3.3): a policy network, a state-action value
network, a replay buffer (:class:`course_lib.rl.replay.ReplayBuffer`) and target networks
(:func:`course_lib.rl.target.polyak_update`). The policy is improved *through* the critic,
whose one-step target does not depend on which policy chose the replayed action: that is what
lets these methods learn from replay (without a guarantee: off-policy TD with function
approximation can still diverge, and the actor's step drops a term; Silver et al., ICML 2014, eq. 15). Actions live in
:math:`[-1, 1]^m` inside the agent and are mapped onto the environment's ``Box`` by
:class:`ActionScaler`. :math:`d` = terminated (a truncated episode still bootstraps).

Critics :math:`Q_k` (one for DDPG, two otherwise) each minimise :math:`\overline{(Q_k(s, a) - y)^2}` with

* **DDPG** (Lillicrap et al., ICLR 2016): :math:`y = r + \gamma (1 - d)\, Q'(s', \mu'(s'))`;
* **TD3** (Fujimoto et al., ICML 2018): :math:`y = r + \gamma (1 - d) \min_{k} Q'_k(s', \tilde a')`,
  :math:`\tilde a' = \mathrm{clip}(\mu'(s') + \mathrm{clip}(\epsilon, -c, c), -1, 1)`, :math:`\epsilon \sim \mathcal N(0, \tilde\sigma^2)`;
* **SAC** (Haarnoja et al., 2018b, arXiv:1812.05905, the revision of their ICML 2018 paper, which bootstrapped from a
  separate state-value network): :math:`y = r + \gamma (1 - d) \big(\min_k Q'_k(s', a') - \alpha \log \pi(a' \mid s')\big)`,
  :math:`a' \sim \pi(\cdot \mid s')`.

Actors: DDPG and TD3 ascend :math:`Q_1(s, \mu_\theta(s))`, whose gradient is the deterministic
policy gradient :math:`\nabla_a Q_1(s, a)|_{a = \mu_\theta(s)}\, \nabla_\theta \mu_\theta(s)` (Silver et al., ICML 2014);
TD3 updates the actor and the targets every ``policy_delay`` critic steps. SAC minimises
:math:`\overline{\alpha \log \pi(a \mid s) - \min_k Q_k(s, a)}` with :math:`a = \tanh(m + \sigma \epsilon)`
reparameterised, and learns :math:`\alpha = e^\beta` by minimising
:math:`-\alpha\,\overline{(\log \pi(a \mid s) + \bar{\mathcal H})}` with target entropy :math:`\bar{\mathcal H} = -m`
(Haarnoja et al., 2018b, arXiv:1812.05905).

``algo="literal"`` is seed 000 §3.3 / §4.1.1 taken at its word: a Gaussian policy trained on
replayed batches by :math:`-\overline{\log \pi_\theta(a \mid s)\, r}` (:func:`literal_seed_update`).
SymPy derivations of the formulas: :mod:`course_lib.derivations.off_policy`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_lib._validation import check_hidden, check_positive, check_probability, check_real, trusted
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.policies import GaussianPolicy, mlp
from course_lib.rl.replay import ReplayBatch, ReplayBuffer
from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import make_vec_env
from course_lib.rl.target import make_target, polyak_update
from course_lib.rl.trainer import TrainResult, record_evaluation, start_run

__all__ = [
    "OffPolicyConfig",
    "OffPolicyAgent",
    "OffPolicyResult",
    "ActionScaler",
    "Critic",
    "DeterministicActor",
    "SquashedGaussianActor",
    "tanh_log_jacobian",
    "squashed_gaussian_log_prob",
    "ddpg_targets",
    "td3_targets",
    "sac_targets",
    "critic_loss",
    "frozen",
    "deterministic_policy_loss",
    "sac_policy_loss",
    "temperature_loss",
    "gradient_step",
    "ddpg_update",
    "td3_update",
    "sac_update",
    "literal_seed_update",
    "make_agent",
    "train_off_policy",
    "critic_vs_monte_carlo",
    "action_grid",
]

ALGOS = ("ddpg", "td3", "sac", "literal")
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


@dataclass(frozen=True)
class OffPolicyConfig:
    """Hyperparameters of :func:`train_off_policy`. The defaults train SAC on Pendulum-v1 (notebook 09,
    ``bench/pendulum_sac.py``); other ``algo`` values reuse every field that applies to them."""

    algo: str = "sac"  #: "ddpg", "td3", "sac" or "literal" (seed 000 §3.3 as written)
    env_id: str = "Pendulum-v1"
    total_steps: int = 5_000  #: environment steps
    buffer_size: int = 100_000
    batch_size: int = 256
    learning_starts: int = 1_000  #: env steps of uniformly random actions before the first update
    gradient_steps: int = 1  #: updates per environment step
    gamma: float = 0.98
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    tau: float = 0.02  #: Polyak weight of the online nets
    hidden: tuple[int, ...] = (64, 64)
    exploration_noise: float = 0.1  #: DDPG/TD3: std of the Gaussian action noise (actions in [-1, 1])
    policy_noise: float = 0.2  #: TD3: std of the target-smoothing noise
    noise_clip: float = 0.5  #: TD3: the smoothing noise is clipped to [-noise_clip, noise_clip]
    policy_delay: int = 2  #: TD3: critic steps per actor (and target) step
    n_critics: int | None = None  #: critics (None: 1 for DDPG, 2 for TD3 and SAC); TD3 with 1 has no clipped double Q
    init_alpha: float = 0.1  #: SAC: initial temperature
    alpha_lr: float = 1e-3
    target_entropy: float | None = None  #: SAC: None is -(action dimensions)
    eval_every: int = 1_000  #: evaluate each time this many env steps have passed (0: only at the end)
    eval_episodes: int = 10
    solved_return: float = -200.0
    log_every: int = 100  #: gradient steps between rows of ``result.log``

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("total_steps", "buffer_size", "batch_size", "gradient_steps", "policy_delay", "eval_episodes"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("log_every", self.log_every, integer=True)
        for name in ("learning_starts", "eval_every"):
            check_positive(name, getattr(self, name), integer=True, allow_zero=True)
        check_probability("gamma", self.gamma)
        check_probability("tau", self.tau, low_open=True)
        for name in ("actor_lr", "critic_lr", "alpha_lr", "init_alpha"):
            check_positive(name, getattr(self, name))
        for name in ("exploration_noise", "policy_noise", "noise_clip"):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_real("solved_return", self.solved_return)
        if self.n_critics is not None:
            check_positive("n_critics", self.n_critics, integer=True)
        if self.target_entropy is not None:
            check_real("target_entropy", self.target_entropy)
        if not self.batch_size <= self.learning_starts < self.total_steps:
            raise ValueError(
                f"need batch_size <= learning_starts < total_steps, got batch_size={self.batch_size}, "
                f"learning_starts={self.learning_starts}, total_steps={self.total_steps}"
            )
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size ({self.batch_size}) must be <= buffer_size ({self.buffer_size})")
        check_hidden("hidden", self.hidden)


class ActionScaler:
    r"""Maps the agent's actions :math:`a \in [-1, 1]^m` onto a ``gymnasium.spaces.Box`` [low, high] and back."""

    def __init__(self, space: gym.spaces.Box) -> None:
        if not isinstance(space, gym.spaces.Box):
            raise TypeError(f"space must be a gymnasium.spaces.Box (continuous actions), got {type(space).__name__}")
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ValueError(f"the action space must be bounded, got low={space.low}, high={space.high}")
        self.low = space.low.astype(np.float32)
        self.half_range = ((space.high - space.low) / 2).astype(np.float32)
        self.dim = int(np.prod(space.shape))

    def to_env(self, a: np.ndarray) -> np.ndarray:
        """``low + (a + 1) (high - low) / 2``."""
        return self.low + (np.asarray(a, dtype=np.float32) + 1.0) * self.half_range

    def from_env(self, action: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_env`."""
        return (np.asarray(action, dtype=np.float32) - self.low) / self.half_range - 1.0


class Critic(nn.Module):
    r"""``n_critics`` independent Q-networks :math:`Q_k(s, a)`, ReLU MLPs, evaluated in one batched pass.

    ``forward(obs (B, obs_dim), actions (B, act_dim)) -> (n_critics, B)``. Each critic is initialised
    as :func:`course_lib.rl.policies.mlp`; layer :math:`l` of all critics is one weight tensor
    ``(n_critics, in, out)``, so one :func:`torch.baddbmm` computes every critic (a speed trick:
    half the operations of two separate networks, the same numbers).
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int] = (64, 64),
        n_critics: int = 2,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check_positive("n_critics", n_critics, integer=True)
        self.obs_dim, self.act_dim, self.n_critics = obs_dim, act_dim, n_critics
        nets = [mlp(obs_dim + act_dim, hidden, 1, activation=nn.ReLU, generator=generator) for _ in range(n_critics)]
        layers = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.stack([net[i].weight.T for net in layers])) for i in range(len(layers[0]))]
        )
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.stack([net[i].bias[None] for net in layers])) for i in range(len(layers[0]))]
        )

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        h = torch.cat([obs, actions], -1).expand(self.n_critics, -1, -1)  # (n, B, obs_dim + act_dim)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)  # b + h @ w, per critic
            if i < last:
                h = F.relu(h)
        return h.squeeze(-1)


class DeterministicActor(nn.Module):
    r""":math:`\mu_\theta(s) = \tanh(f_\theta(s)) \in [-1, 1]^m`, ``(B, obs_dim) -> (B, act_dim)`` (DDPG, TD3)."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64), *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.net = mlp(obs_dim, hidden, act_dim, out_gain=0.01, activation=nn.ReLU, generator=generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs))

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        return self(obs)


def tanh_log_jacobian(u: torch.Tensor) -> torch.Tensor:
    r""":math:`\log(1 - \tanh^2 u) = 2(\log 2 - u - \mathrm{softplus}(-2u))`, finite for any :math:`u`
    (the left side is :math:`\log 0 = -\infty` in float32 once :math:`|u| \gtrsim 9`)."""
    return 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))


def squashed_gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \pi(a \mid s) = \sum_j \big[\log \mathcal N(u_j; m_j, \sigma_j^2) - \log(1 - \tanh^2 u_j)\big]`
    for :math:`a = \tanh u`: the change of variables through tanh. ``(B, m)`` inputs, ``(B,)`` output."""
    z = (u - mean) * torch.exp(-log_std)
    normal = -0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)
    return (normal - tanh_log_jacobian(u)).sum(-1)


class SquashedGaussianActor(nn.Module):
    r"""SAC's policy: :math:`u \sim \mathcal N(m_\theta(s), \sigma_\theta(s)^2)`, :math:`a = \tanh u`.

    One MLP outputs the mean and the log-std (clamped to [-20, 2]) of each action dimension.
    """

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64), *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.net = mlp(obs_dim, hidden, 2 * act_dim, out_gain=0.01, activation=nn.ReLU, generator=generator)

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_std)``, each ``(B, act_dim)``."""
        mean, log_std = self.net(obs).chunk(2, -1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Reparameterised :math:`a = \tanh(m + \sigma\epsilon)` ``(B, act_dim)`` and :math:`\log \pi(a \mid s)` ``(B,)``."""
        mean, log_std = self.distribution(obs)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        u = mean + log_std.exp() * eps
        return torch.tanh(u), squashed_gaussian_log_prob(u, mean, log_std)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        r""":math:`\tanh(m_\theta(s))`, the action evaluations use."""
        return torch.tanh(self.distribution(obs)[0])


@dataclass
class OffPolicyAgent:
    """The networks and optimisers one update works on (``actor_target`` is None for SAC, the critic ones for
    ``literal``; ``log_alpha`` and ``alpha_opt`` exist for SAC only)."""

    actor: nn.Module
    critic: Critic | None
    actor_target: nn.Module | None
    critic_target: Critic | None
    actor_opt: torch.optim.Optimizer
    critic_opt: torch.optim.Optimizer | None
    log_alpha: torch.Tensor | None = None
    alpha_opt: torch.optim.Optimizer | None = None
    target_entropy: float = -1.0


def gradient_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """``zero_grad``, ``backward``, ``step``: one optimiser step on ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _bootstrap(batch: ReplayBatch, gamma: float, next_value: torch.Tensor) -> torch.Tensor:
    return batch.rewards + gamma * (~batch.terminated) * next_value


@torch.no_grad()
def ddpg_targets(batch: ReplayBatch, agent: OffPolicyAgent, gamma: float) -> torch.Tensor:
    r""":math:`y = r + \gamma (1 - d)\, Q'(s', \mu'(s'))`, ``(B,)``."""
    return _bootstrap(batch, gamma, agent.critic_target(batch.next_obs, agent.actor_target(batch.next_obs))[0])


@torch.no_grad()
def td3_targets(
    batch: ReplayBatch, agent: OffPolicyAgent, config: OffPolicyConfig, generator: torch.Generator | None = None
) -> torch.Tensor:
    r""":math:`y = r + \gamma (1 - d) \min_k Q'_k(s', \tilde a')` at the smoothed target action
    :math:`\tilde a' = \mathrm{clip}(\mu'(s') + \mathrm{clip}(\epsilon, -c, c), -1, 1)`, ``(B,)``."""
    mu = agent.actor_target(batch.next_obs)
    noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype) * config.policy_noise
    smoothed = (mu + noise.clamp(-config.noise_clip, config.noise_clip)).clamp(-1.0, 1.0)
    return _bootstrap(batch, config.gamma, agent.critic_target(batch.next_obs, smoothed).min(0).values)


@torch.no_grad()
def sac_targets(
    batch: ReplayBatch, agent: OffPolicyAgent, gamma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""The soft Bellman target :math:`y = r + \gamma (1 - d) \big(\min_k Q'_k(s', a') - \alpha \log \pi(a' \mid s')\big)`,
    :math:`a' \sim \pi(\cdot \mid s')`, ``(B,)``."""
    next_action, next_logp = agent.actor.sample(batch.next_obs, generator)
    soft_value = agent.critic_target(batch.next_obs, next_action).min(0).values - agent.log_alpha.exp() * next_logp
    return _bootstrap(batch, gamma, soft_value)


def critic_loss(q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_k \overline{(Q_k - y)^2}`: each critic's mean squared error, ``q`` ``(n, B)``, ``y`` ``(B,)``."""
    return ((q - y) ** 2).mean(-1).sum()


@contextlib.contextmanager
def frozen(module: nn.Module):
    """Within the block, ``module``'s parameters need no gradient: a loss that only moves the actor does not
    spend a backward pass on the critic's weights (the same numbers, less work)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def deterministic_policy_loss(obs: torch.Tensor, actor: nn.Module, critic: Critic) -> torch.Tensor:
    r""":math:`-\overline{Q_1(s, \mu_\theta(s))}`; its gradient is the deterministic policy gradient
    :math:`-\overline{\nabla_a Q_1(s, a)|_{a=\mu_\theta(s)} \nabla_\theta \mu_\theta(s)}` (the critic stays fixed)."""
    with frozen(critic):
        return -critic(obs, actor(obs))[0].mean()


def sac_policy_loss(
    obs: torch.Tensor, actor: SquashedGaussianActor, critic: Critic, alpha: torch.Tensor, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\overline{\alpha \log \pi_\theta(a \mid s) - \min_k Q_k(s, a)}` with :math:`a = \tanh(m + \sigma\epsilon)`
    reparameterised (gradients flow through the action), and :math:`\log \pi(a \mid s)` ``(B,)``."""
    action, logp = actor.sample(obs, generator)
    with frozen(critic):
        return (alpha * logp - critic(obs, action).min(0).values).mean(), logp


def temperature_loss(log_alpha: torch.Tensor, logp: torch.Tensor, target_entropy: float) -> torch.Tensor:
    r""":math:`J(\beta) = -e^{\beta}\, \overline{(\log \pi(a \mid s) + \bar{\mathcal H})}` with :math:`\alpha = e^\beta`
    (``logp`` is detached): :math:`\alpha` grows while the entropy :math:`-\overline{\log\pi}` is below :math:`\bar{\mathcal H}`."""
    return -(log_alpha.exp() * (logp.detach() + target_entropy)).mean()


def ddpg_update(
    batch: ReplayBatch, agent: OffPolicyAgent, config: OffPolicyConfig, generator=None, n_updates: int = 1
) -> dict[str, torch.Tensor]:
    """One DDPG step: the critic toward :func:`ddpg_targets`, the actor up :math:`Q(s, \\mu(s))`, both targets soft."""
    y = ddpg_targets(batch, agent, config.gamma)
    q = agent.critic(batch.obs, batch.actions)
    loss_q = critic_loss(q, y)
    gradient_step(agent.critic_opt, loss_q)

    loss_pi = deterministic_policy_loss(batch.obs, agent.actor, agent.critic)
    gradient_step(agent.actor_opt, loss_pi)

    polyak_update(agent.critic_target, agent.critic, config.tau)
    polyak_update(agent.actor_target, agent.actor, config.tau)
    return {"critic_loss": loss_q.detach(), "actor_loss": loss_pi.detach(), "q_mean": q.detach().mean()}


def td3_update(
    batch: ReplayBatch, agent: OffPolicyAgent, config: OffPolicyConfig, generator=None, n_updates: int = 1
) -> dict[str, torch.Tensor]:
    """One TD3 step: twin critics toward the clipped double-Q target at a smoothed action
    (:func:`td3_targets`); every ``policy_delay``-th call (``n_updates`` counts them) also the actor
    and both targets."""
    y = td3_targets(batch, agent, config, generator)
    q = agent.critic(batch.obs, batch.actions)  # (2, B)
    loss_q = critic_loss(q, y)
    gradient_step(agent.critic_opt, loss_q)
    stats = {"critic_loss": loss_q.detach(), "q_mean": q.detach().mean()}

    if n_updates % config.policy_delay == 0:  # delayed actor and target updates
        loss_pi = deterministic_policy_loss(batch.obs, agent.actor, agent.critic)  # Q_1 only
        gradient_step(agent.actor_opt, loss_pi)
        polyak_update(agent.critic_target, agent.critic, config.tau)
        polyak_update(agent.actor_target, agent.actor, config.tau)
        stats["actor_loss"] = loss_pi.detach()
    return stats


def sac_update(
    batch: ReplayBatch, agent: OffPolicyAgent, config: OffPolicyConfig, generator=None, n_updates: int = 1
) -> dict[str, torch.Tensor]:
    """One SAC step: twin critics toward the soft target (:func:`sac_targets`), the actor down
    :math:`\\alpha \\log \\pi - \\min_k Q_k`, the temperature toward the target entropy, the critic targets soft."""
    y = sac_targets(batch, agent, config.gamma, generator)
    q = agent.critic(batch.obs, batch.actions)  # (2, B)
    loss_q = critic_loss(q, y)
    gradient_step(agent.critic_opt, loss_q)

    alpha = agent.log_alpha.exp().detach()
    loss_pi, logp = sac_policy_loss(batch.obs, agent.actor, agent.critic, alpha, generator)
    gradient_step(agent.actor_opt, loss_pi)

    loss_alpha = temperature_loss(agent.log_alpha, logp, agent.target_entropy)
    gradient_step(agent.alpha_opt, loss_alpha)

    polyak_update(agent.critic_target, agent.critic, config.tau)
    return {
        "critic_loss": loss_q.detach(),
        "actor_loss": loss_pi.detach(),
        "q_mean": q.detach().mean(),
        "alpha": alpha,
        "entropy": -logp.detach().mean(),
    }


def literal_seed_update(
    batch: ReplayBatch, agent: OffPolicyAgent, config: OffPolicyConfig, generator=None, n_updates: int = 1
) -> dict[str, torch.Tensor]:
    r"""Seed 000 §4.1.1 on a replayed batch: minimise :math:`-\overline{\log \pi_\theta(a \mid s)\, r}`.

    Not a policy gradient: the actions came from older policies and :math:`r` is one step's reward, not a return
    (the seed's value network never enters this loss, so it is left out here)."""
    loss = -(agent.actor.log_prob(batch.obs, batch.actions) * batch.rewards).mean()
    gradient_step(agent.actor_opt, loss)
    return {"actor_loss": loss.detach(), "std": agent.actor.log_std.detach().exp().mean()}


UPDATES: dict[str, Callable[..., dict[str, torch.Tensor]]] = {
    "ddpg": ddpg_update,
    "td3": td3_update,
    "sac": sac_update,
    "literal": literal_seed_update,
}


def _adam(params, lr: float) -> torch.optim.Adam:
    params = list(params)
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, fused=fused)  # fused: one kernel for all tensors


def make_agent(
    config: OffPolicyConfig, obs_dim: int, act_dim: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> OffPolicyAgent:
    """Networks (initialised from ``generator``), targets and optimisers for ``config.algo``."""
    algo, hidden = config.algo, config.hidden
    if algo == "literal":
        actor = GaussianPolicy(obs_dim, act_dim, hidden, generator=generator).to(device)
        return OffPolicyAgent(actor, None, None, None, _adam(actor.parameters(), config.actor_lr), None)
    actor_cls = SquashedGaussianActor if algo == "sac" else DeterministicActor
    actor = actor_cls(obs_dim, act_dim, hidden, generator=generator).to(device)
    n_critics = config.n_critics or (1 if algo == "ddpg" else 2)
    critic = Critic(obs_dim, act_dim, hidden, n_critics=n_critics, generator=generator).to(device)
    agent = OffPolicyAgent(
        actor=actor,
        critic=critic,
        actor_target=None if algo == "sac" else make_target(actor),
        critic_target=make_target(critic),
        actor_opt=_adam(actor.parameters(), config.actor_lr),
        critic_opt=_adam(critic.parameters(), config.critic_lr),
    )
    if algo == "sac":
        agent.log_alpha = torch.tensor(math.log(config.init_alpha), device=device, requires_grad=True)
        agent.alpha_opt = _adam([agent.log_alpha], config.alpha_lr)
        agent.target_entropy = float(-act_dim if config.target_entropy is None else config.target_entropy)
    return agent


@torch.no_grad()
def explore(agent: OffPolicyAgent, config: OffPolicyConfig, obs: torch.Tensor, run) -> np.ndarray:
    """Behaviour actions in [-1, 1] for ``obs`` ``(N, obs_dim)``: Gaussian noise on :math:`\\mu(s)` (DDPG, TD3),
    a sample of the policy (SAC; the literal Gaussian policy, clipped)."""
    if config.algo == "sac":
        return agent.actor.sample(obs, run.sample)[0].cpu().numpy()
    if config.algo == "literal":
        return agent.actor.act(obs, run.sample).clamp(-1.0, 1.0).cpu().numpy()
    mu = agent.actor(obs).cpu().numpy()
    return np.clip(mu + config.exploration_noise * run.numpy.standard_normal(mu.shape), -1.0, 1.0).astype(np.float32)


def _greedy(actor: nn.Module, obs: torch.Tensor) -> torch.Tensor:
    if isinstance(actor, GaussianPolicy):
        return actor.act(obs, deterministic=True).clamp(-1.0, 1.0)
    return actor.greedy(obs)


@dataclass(kw_only=True)
class OffPolicyResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the trained networks, the action scaling and the
    number of gradient steps (``alpha``: SAC's final temperature)."""

    actor: nn.Module
    critic: Critic | None
    scaler: ActionScaler
    alpha: float | None = None
    gradient_steps: int = 0

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> np.ndarray:
        """Greedy environment actions for ``obs`` ``(B, obs_dim)`` (what evaluations use)."""
        return self.scaler.to_env(_greedy(self.actor, obs).cpu().numpy())


def train_off_policy(
    config: OffPolicyConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[OffPolicyResult], object] | None = None,
) -> OffPolicyResult:
    """Train DDPG, TD3, SAC (or the seed's literal update) on ``config.env_id``, one environment.

    The first ``learning_starts`` actions are uniform in the action box; then each environment step
    is followed by ``gradient_steps`` updates (:data:`UPDATES`) on minibatches drawn uniformly from
    replay. The trainer contract is in :mod:`course_lib.rl.trainer`; ``result.log`` has a row every
    ``config.log_every`` gradient steps.
    """
    run = start_run(config, OffPolicyConfig, seed=seed, device=device, callback=callback)
    env = gym.make(config.env_id)
    scaler = ActionScaler(env.action_space)
    obs_dim = int(np.prod(env.observation_space.shape))
    agent = make_agent(config, obs_dim, scaler.dim, run.init, run.device)
    buffer = ReplayBuffer(config.buffer_size, (obs_dim,), (scaler.dim,), action_dtype=np.float32, device=run.device)
    result = OffPolicyResult(
        actor=agent.actor,
        critic=agent.critic,
        scaler=scaler,
        config=config,
        evaluations=SolveTracker(config.solved_return),
    )
    update, schedule = UPDATES[config.algo], EvalSchedule(config.eval_every)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    obs, episode_return = np.asarray(obs, dtype=np.float32).reshape(1, obs_dim), 0.0

    for step in progress_bar(range(1, config.total_steps + 1), desc=config.algo.upper(), leave=False, mininterval=1.0):
        t0 = time.perf_counter()
        if step <= config.learning_starts:
            action = run.numpy.uniform(-1.0, 1.0, (1, scaler.dim)).astype(np.float32)
        else:
            action = explore(agent, config, torch.from_numpy(obs).to(run.device), run)
        next_obs, reward, terminated, truncated, _ = env.step(scaler.to_env(action[0]))
        next_obs = np.asarray(next_obs, dtype=np.float32).reshape(1, obs_dim)
        buffer.add(obs, action, np.array([reward], np.float32), next_obs, np.array([terminated]), np.array([truncated]))
        episode_return += float(reward)
        if terminated or truncated:
            result.episodes.append((step, episode_return))
            episode_return = 0.0
            next_obs = np.asarray(env.reset()[0], dtype=np.float32).reshape(1, obs_dim)
        obs = next_obs
        if step >= config.learning_starts:
            with trusted():  # the buffer checked the environment's data on the way in: no checks per update
                for _ in range(config.gradient_steps):
                    result.gradient_steps += 1
                    stats = update(
                        buffer.sample(config.batch_size, run.numpy), agent, config, run.sample, result.gradient_steps
                    )
                    if result.gradient_steps % config.log_every == 0:
                        result.log.append({"step": step, **{k: float(v) for k, v in stats.items()}})
        result.train_seconds += time.perf_counter() - t0
        if schedule.due(step):
            _sync_alpha(result, agent)
            record_evaluation(result, result.act, step, run, callback)
    _sync_alpha(result, agent)
    if schedule.final_due(result.evaluations, config.total_steps):
        record_evaluation(result, result.act, config.total_steps, run, callback)
    env.close()
    return result


def _sync_alpha(result: OffPolicyResult, agent: OffPolicyAgent) -> None:
    if agent.log_alpha is not None:
        result.alpha = float(agent.log_alpha.detach().exp())


@torch.no_grad()
def critic_vs_monte_carlo(
    result: OffPolicyResult,
    *,
    n_episodes: int = 5,
    seed: int = 20_000,
    max_episode_steps: int = 1_000,
    horizon: int = 500,
) -> tuple[float, float]:
    r"""Mean :math:`Q_1(s_t, a_t)` and mean discounted Monte Carlo return :math:`G_t` over the states the greedy
    policy visits (Fujimoto et al., 2018, fig. 1), with ``result.config.gamma``.

    Episodes run ``max_episode_steps``; a state counts if at least ``horizon`` steps follow it
    (:math:`\gamma^{\text{horizon}}` negligible). Usable as a trainer's ``callback`` (``functools.partial``).
    """
    if not isinstance(result, OffPolicyResult) or result.critic is None:
        raise TypeError(f"result must be an OffPolicyResult with a critic, got {type(result).__name__}")
    check_positive("n_episodes", n_episodes, integer=True)
    check_positive("horizon", horizon, integer=True)
    if horizon >= max_episode_steps:
        raise ValueError(f"horizon ({horizon}) must be < max_episode_steps ({max_episode_steps})")
    device = next(result.critic.parameters()).device
    envs = make_vec_env(result.config.env_id, n_episodes, max_episode_steps=max_episode_steps)
    obs, _ = envs.reset(seed=[seed + i for i in range(n_episodes)])
    qs, rewards = [], []
    for _ in range(max_episode_steps):
        o = torch.as_tensor(obs, dtype=torch.float32, device=device)
        a = _greedy(result.actor, o)
        qs.append(result.critic(o, a)[0].cpu().numpy())
        obs, r, term, trunc, _ = envs.step(result.scaler.to_env(a.cpu().numpy()))
        rewards.append(r)
        if term.any():
            raise ValueError("critic_vs_monte_carlo is for environments that never terminate (e.g. Pendulum)")
    envs.close()
    rewards_t = torch.as_tensor(np.array(rewards), dtype=torch.float64)
    no_end = torch.zeros_like(rewards_t, dtype=torch.bool)
    returns = reward_to_go(rewards_t, no_end, no_end, result.config.gamma).numpy()
    keep = max_episode_steps - horizon
    return float(np.array(qs)[:keep].mean()), float(returns[:keep].mean())


@torch.no_grad()
def action_grid(result: OffPolicyResult, n: int = 61, max_speed: float = 8.0) -> tuple[np.ndarray, ...]:
    r"""Pendulum: the greedy torque over angle :math:`\vartheta \in [-\pi, \pi]` and angular velocity
    :math:`\dot\vartheta \in [-8, 8]` (observation :math:`(\cos\vartheta, \sin\vartheta, \dot\vartheta)`).

    Returns ``(angles (n,), speeds (n,), torque (n speeds, n angles))``.
    """
    check_positive("n", n, integer=True)
    device = next(result.actor.parameters()).device
    angles, speeds = np.linspace(-np.pi, np.pi, n), np.linspace(-max_speed, max_speed, n)
    th, sp = np.meshgrid(angles, speeds)
    obs = np.stack([np.cos(th), np.sin(th), sp], -1).reshape(-1, 3).astype(np.float32)
    torque = result.act(torch.as_tensor(obs, device=device)).reshape(n, n)
    return angles, speeds, torque
