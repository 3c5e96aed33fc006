r"""A2C and PPO on Gymnasium vector environments (notebook ``05_actor_critic``).

Both collect ``num_envs x n_steps`` transitions, compute GAE(:math:`\lambda`)
advantages (:func:`course_lib.rl.advantages.gae`) from a separate critic
:math:`V_\phi`, and minimise

.. math::

    L = L^{\pi} + c_v\, \tfrac{1}{n}\sum_t \big(V_\phi(s_t) - \hat R_t\big)^2 - c_e\, \mathcal H[\pi(\cdot \mid s_t)],

* **A2C** (Mnih et al., 2016): :math:`L^{\pi} = -\frac1n \sum_t \log\pi_\theta(a_t \mid s_t)\, \hat A_t`, one
  gradient step per rollout;
* **PPO** (Schulman et al., 2017, eq. 7): with :math:`\rho_t = \pi_\theta(a_t \mid s_t) / \pi_{\text{old}}(a_t \mid s_t)`,
  :math:`L^{\pi} = -\frac1n \sum_t \min\big(\rho_t \hat A_t,\ \mathrm{clip}(\rho_t, 1 - \epsilon, 1 + \epsilon)\, \hat A_t\big)`,
  several epochs of minibatch steps per rollout.

Advantages are normalised per minibatch; gradients are clipped by global norm.
The old log-probabilities and values are computed in one batched pass after
each rollout. Learning rate (and PPO's clip range) decay linearly to 0, as in
rl-baselines3-zoo's CartPole settings, which are the defaults here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib import checkpoint
from course_lib._validation import check_hidden, check_positive, check_probability
from course_lib.evaluation import EvalSchedule, SolveTracker, evaluate
from course_lib.rl.advantages import gae
from course_lib.rl.policies import CategoricalPolicy, ValueNet
from course_lib.rl.rollouts import RolloutCollector, make_vec_env

__all__ = [
    "ActorCriticConfig",
    "ActorCriticResult",
    "train_actor_critic",
    "ppo_policy_loss",
    "save_agent",
    "load_agent",
]

ALGOS = ("a2c", "ppo")


@dataclass(frozen=True)
class ActorCriticConfig:
    """Hyperparameters of :func:`train_actor_critic`; the defaults are rl-baselines3-zoo's PPO for CartPole-v1."""

    algo: str = "ppo"  #: "ppo" or "a2c"
    env_id: str = "CartPole-v1"
    num_envs: int = 8
    n_steps: int = 32  #: steps per environment per rollout
    total_steps: int = 100_000
    gamma: float = 0.98
    gae_lambda: float = 0.8
    lr: float = 1e-3
    lr_decay: bool = True  #: linear decay of the learning rate (and PPO's clip range) to 0
    n_epochs: int = 20  #: PPO epochs over each rollout (A2C: 1)
    minibatch_size: int = 256
    clip_range: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    eval_every: int = 0  #: evaluate each time this many env steps have passed (0: only at the end)
    eval_episodes: int = 20
    solved_return: float = 475.0

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("num_envs", "n_steps", "total_steps", "n_epochs", "minibatch_size", "eval_episodes"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        check_probability("gamma", self.gamma)
        check_probability("gae_lambda", self.gae_lambda)
        check_probability("clip_range", self.clip_range, low_open=True, high_open=True)
        for name in ("lr", "max_grad_norm"):
            check_positive(name, getattr(self, name))
        for name in ("vf_coef", "ent_coef"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if self.algo == "ppo" and self.minibatch_size > self.num_envs * self.n_steps:
            raise ValueError(
                f"minibatch_size ({self.minibatch_size}) must be at most num_envs * n_steps ({self.num_envs * self.n_steps})"
            )
        check_hidden("hidden", self.hidden)


@dataclass
class ActorCriticResult:
    policy: CategoricalPolicy
    value: ValueNet
    config: ActorCriticConfig
    evaluations: SolveTracker
    steps: list[int] = field(default_factory=list)  #: env steps after each update
    train_returns: list[float] = field(default_factory=list)  #: mean return of episodes finished in each update
    train_seconds: float = 0.0  #: evaluation excluded


def ppo_policy_loss(logp: torch.Tensor, logp_old: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    r"""PPO's clipped surrogate, negated for minimisation: :math:`-\mathbb E[\min(\rho A, \mathrm{clip}(\rho, 1\pm\epsilon) A)]`."""
    ratio = torch.exp(logp - logp_old)
    return -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()


def train_actor_critic(config: ActorCriticConfig = ActorCriticConfig(), *, seed: int = 0) -> ActorCriticResult:
    """Train a categorical actor and a critic with A2C or PPO on ``config.env_id``."""
    if not isinstance(config, ActorCriticConfig):
        raise TypeError(f"config must be an ActorCriticConfig, got {type(config).__name__}")
    check_positive("seed", seed, integer=True, allow_zero=True)
    torch.manual_seed(seed)  # weight initialisation
    gen = torch.Generator().manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    policy = CategoricalPolicy(obs_dim, int(envs.single_action_space.n), config.hidden)
    value = ValueNet(obs_dim, config.hidden)
    params = [*policy.parameters(), *value.parameters()]
    opt = torch.optim.Adam(params, lr=config.lr, eps=1e-5, fused=True)  # fused: one kernel for all tensors
    collector = RolloutCollector(envs, seed=seed)
    tracker = SolveTracker(config.solved_return)
    result = ActorCriticResult(policy, value, config, tracker)
    batch = config.num_envs * config.n_steps
    n_updates = max(1, config.total_steps // batch)
    epochs = config.n_epochs if config.algo == "ppo" else 1
    minibatch = config.minibatch_size if config.algo == "ppo" else batch
    schedule = EvalSchedule(config.eval_every)
    seconds = 0.0

    def run_evaluation() -> None:
        score = evaluate(
            lambda o: policy.act(o, deterministic=True), config.env_id, config.eval_episodes, seed=10_000 + seed
        )
        tracker.record(collector.steps, seconds, float(score.mean()))

    for update in tqdm(range(n_updates), desc=config.algo.upper(), leave=False):
        t0 = time.perf_counter()
        frac = 1.0 - update / n_updates if config.lr_decay else 1.0
        for group in opt.param_groups:
            group["lr"] = config.lr * frac
        clip = config.clip_range * frac if config.lr_decay else config.clip_range
        n_done = len(collector.episode_returns)
        roll = collector.collect(lambda o: policy.act(o, generator=gen), config.n_steps)
        obs, actions = roll.obs.flatten(0, 1), roll.actions.flatten(0, 1)
        with torch.no_grad():
            logp_old = policy.log_prob(obs, actions)
            both = value(torch.cat([obs, roll.next_obs.flatten(0, 1)]))
            v, v_next = both[:batch].view_as(roll.rewards), both[batch:].view_as(roll.rewards)
            adv, targets = gae(
                roll.rewards, v, v_next, roll.terminated, roll.truncated, config.gamma, config.gae_lambda
            )
        adv, targets = adv.flatten(), targets.flatten()
        for _ in range(epochs):
            order = torch.randperm(batch, generator=gen) if epochs > 1 or minibatch < batch else torch.arange(batch)
            for start in range(0, batch - minibatch + 1, minibatch):
                idx = order[start : start + minibatch]
                a = adv[idx]
                a = (a - a.mean()) / (a.std() + 1e-8)
                logp = policy.log_prob(obs[idx], actions[idx])
                if config.algo == "ppo":
                    pg_loss = ppo_policy_loss(logp, logp_old[idx], a, clip)
                else:
                    pg_loss = -(logp * a).mean()
                v_loss = ((value(obs[idx]) - targets[idx]) ** 2).mean()
                loss = pg_loss + config.vf_coef * v_loss
                if config.ent_coef:
                    loss = loss - config.ent_coef * policy.entropy(obs[idx]).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                opt.step()
        seconds += time.perf_counter() - t0
        new = collector.episode_returns[n_done:]
        result.steps.append(collector.steps)
        result.train_returns.append(float(np.mean(new)) if new else float("nan"))
        if schedule.due(collector.steps):
            run_evaluation()
    if schedule.final_due(tracker, collector.steps):
        run_evaluation()  # the final policy is always evaluated
    result.train_seconds = seconds
    envs.close()
    return result


def save_agent(result: ActorCriticResult, path) -> None:
    """Write the actor, the critic and the configuration to ``path`` atomically."""
    checkpoint.save(
        {
            "policy": result.policy.state_dict(),
            "value": result.value.state_dict(),
            "config": dict(result.config.__dict__),
        },
        path,
    )


def load_agent(path) -> tuple[CategoricalPolicy, ValueNet, ActorCriticConfig]:
    """Rebuild the actor and critic saved by :func:`save_agent` (loaded with ``weights_only=True``)."""
    payload = checkpoint.load(path)
    cfg = dict(payload["config"])
    cfg["hidden"] = tuple(cfg["hidden"])
    config = ActorCriticConfig(**cfg)
    obs_dim = payload["value"]["net.0.weight"].shape[1]
    n_actions = payload["policy"][f"net.{2 * len(config.hidden)}.weight"].shape[0]
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)
    value = ValueNet(obs_dim, config.hidden)
    policy.load_state_dict(payload["policy"])
    value.load_state_dict(payload["value"])
    return policy, value, config
