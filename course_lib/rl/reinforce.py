r"""REINFORCE with reward-to-go and a baseline (notebook ``03_policy_gradients``).

The policy-gradient theorem with the log-derivative trick gives the estimator

.. math::

    \nabla_\theta J(\theta) \approx \frac{1}{|D|} \sum_{t \in D}
        \nabla_\theta \log \pi_\theta(a_t \mid s_t)\, \big(G_t - b(s_t)\big),

with :math:`G_t` the reward-to-go (:func:`course_lib.rl.returns.reward_to_go`)
and :math:`b` a baseline: none, the batch average, or a learned value
:math:`V_\phi(s_t)` fitted to :math:`G_t` by least squares. Weighting every step
by the *whole* episode's return (``weighting="total"``) is unbiased too, but
noisier: rewards before :math:`t` cannot depend on :math:`a_t`.

Truncated episodes (CartPole's 500-step limit, and the cut at the end of each
rollout) bootstrap :math:`G_t` from :math:`V_\phi` of the true next
observation. Without a learned value there is nothing to bootstrap from, so the
steps of episodes still running at the rollout's end are left out of the loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib._validation import check_hidden, check_positive, check_probability
from course_lib.evaluation import SolveTracker, evaluate
from course_lib.rl.policies import CategoricalPolicy, ValueNet
from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import Rollout, RolloutCollector, make_vec_env
from course_lib.rl.value_learning import fit_value

__all__ = [
    "ReinforceConfig",
    "ReinforceResult",
    "train_reinforce",
    "complete_episode_mask",
    "episode_start_values",
    "pg_weights",
    "policy_gradient_vector",
    "estimator_variance",
]

BASELINES = ("none", "average", "value")


@dataclass(frozen=True)
class ReinforceConfig:
    """Hyperparameters of :func:`train_reinforce`. The defaults solve CartPole-v1."""

    env_id: str = "CartPole-v1"
    num_envs: int = 16
    steps_per_env: int = 256  #: rollout length; num_envs * steps_per_env steps per update
    total_steps: int = 200_000
    gamma: float = 0.99
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64, 64)
    baseline: str = "value"  #: "none", "average" or "value"
    value_lr: float = 3e-3
    value_epochs: int = 5  #: full-batch Adam steps on the value loss per update
    normalize_advantages: bool = True
    eval_every: int = 0  #: evaluate every this many updates (0: never during training)
    eval_episodes: int = 20
    solved_return: float = 475.0  #: an evaluation mean at or above this counts as solved

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("num_envs", "steps_per_env", "total_steps", "value_epochs", "eval_episodes"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        check_probability("gamma", self.gamma)
        check_positive("lr", self.lr)
        check_positive("value_lr", self.value_lr)
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        check_hidden("hidden", self.hidden)


@dataclass
class ReinforceResult:
    policy: CategoricalPolicy
    value: ValueNet | None
    #: per update: env steps so far, training seconds so far (evaluation excluded), mean return of the
    #: episodes completed in that update (nan if none)
    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_returns: list[float] = field(default_factory=list)
    #: greedy evaluations ``(env steps, training seconds, mean return over eval_episodes)``, with
    #: ``first_solved`` and ``stable_after_solve``
    evaluations: SolveTracker = field(default_factory=SolveTracker)

    @property
    def first_solved(self) -> tuple[int, float] | None:
        """``(env steps, training seconds)`` of the first evaluation that reached the solved return."""
        return self.evaluations.first_solved


def complete_episode_mask(done: torch.Tensor) -> torch.Tensor:
    """``(T, N)`` bool: step ``t`` belongs to an episode that ends within the rollout."""
    return done.flip(0).cumsum(0).flip(0) > 0


def episode_start_values(x: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    """Broadcast each episode's first-step value of ``x`` (``(T, N)``) to all of that episode's steps."""
    out = torch.empty_like(x)
    current = x[0]
    for t in range(x.shape[0]):
        if t > 0:
            current = torch.where(done[t - 1], x[t], current)
        out[t] = current
    return out


def pg_weights(rollout: Rollout, gamma: float, kind: str, values: torch.Tensor | None = None) -> torch.Tensor:
    r"""The weight of :math:`\nabla \log \pi(a_t \mid s_t)` in the estimator, ``(T, N)``.

    ``kind``: ``"total"`` (the episode's whole return :math:`G_0` at every step),
    ``"reward_to_go"`` (:math:`G_t`) or ``"baseline"`` (:math:`G_t - V(s_t)`, needs ``values``).
    Only steps of episodes that end within the rollout are meaningful here
    (see :func:`complete_episode_mask`).
    """
    G = reward_to_go(rollout.rewards, rollout.terminated, rollout.truncated, gamma)
    if kind == "reward_to_go":
        return G
    if kind == "total":
        return episode_start_values(G, rollout.done)
    if kind == "baseline":
        if values is None or values.shape != G.shape:
            raise ValueError(f"kind='baseline' needs values of shape {tuple(G.shape)}")
        return G - values
    raise ValueError(f"kind must be 'total', 'reward_to_go' or 'baseline', got {kind!r}")


def policy_gradient_vector(
    policy: torch.nn.Module, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    r"""The estimate :math:`\frac1n \sum_i \nabla_\theta \log\pi(a_i \mid s_i)\, w_i` as one flat vector."""
    surrogate = (policy.log_prob(obs, actions) * weights).mean()
    grads = torch.autograd.grad(surrogate, list(policy.parameters()))
    return torch.cat([g.flatten() for g in grads])


def train_reinforce(config: ReinforceConfig = ReinforceConfig(), *, seed: int = 0) -> ReinforceResult:
    """Train a categorical policy with REINFORCE on ``config.env_id`` (discrete actions)."""
    if not isinstance(config, ReinforceConfig):
        raise TypeError(f"config must be a ReinforceConfig, got {type(config).__name__}")
    check_positive("seed", seed, integer=True, allow_zero=True)
    torch.manual_seed(seed)  # weight initialisation
    gen = torch.Generator().manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)
    value = ValueNet(obs_dim, config.hidden) if config.baseline == "value" else None
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    vopt = torch.optim.Adam(value.parameters(), lr=config.value_lr) if value is not None else None
    collector = RolloutCollector(envs, seed=seed)
    result = ReinforceResult(policy=policy, value=value, evaluations=SolveTracker(config.solved_return))
    n_updates = max(1, config.total_steps // (config.num_envs * config.steps_per_env))
    train_seconds = 0.0
    for update in tqdm(range(1, n_updates + 1), desc="REINFORCE", leave=False):
        t0 = time.perf_counter()
        n_done_before = len(collector.episode_returns)
        roll = collector.collect(lambda o: policy.act(o, generator=gen), config.steps_per_env)
        obs = roll.obs.flatten(0, 1)
        actions = roll.actions.flatten(0, 1)
        if value is not None:
            with torch.no_grad():  # V(s_t) and V(s_{t+1}) in one batched pass
                both = value(torch.cat([obs, roll.next_obs.flatten(0, 1)]))
                v_now, v_next = both[: obs.shape[0]].view_as(roll.rewards), both[obs.shape[0] :].view_as(roll.rewards)
            G = reward_to_go(roll.rewards, roll.terminated, roll.truncated, config.gamma, next_values=v_next)
            adv, mask = G - v_now, torch.ones_like(G, dtype=torch.bool)
        else:
            G = reward_to_go(roll.rewards, roll.terminated, roll.truncated, config.gamma)
            mask = complete_episode_mask(roll.done)
            adv = G - (G[mask].mean() if config.baseline == "average" and mask.any() else 0.0)
        adv, m = adv.flatten(), mask.flatten()
        if m.any():
            a = adv[m]
            if config.normalize_advantages and a.numel() > 1:
                a = (a - a.mean()) / (a.std() + 1e-8)
            loss = -(policy.log_prob(obs[m], actions[m]) * a).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if value is not None:
            fit_value(value, vopt, obs, G.flatten(), config.value_epochs)
        train_seconds += time.perf_counter() - t0
        new = collector.episode_returns[n_done_before:]
        result.steps.append(collector.steps)
        result.seconds.append(train_seconds)
        result.train_returns.append(float(np.mean(new)) if new else float("nan"))
        if config.eval_every and (update % config.eval_every == 0 or update == n_updates):
            score = float(
                evaluate(lambda o: policy.act(o, deterministic=True), config.env_id, config.eval_episodes).mean()
            )
            result.evaluations.record(collector.steps, train_seconds, score)
    envs.close()
    return result


def estimator_variance(
    policy: torch.nn.Module,
    rollout: Rollout,
    gamma: float,
    values: torch.Tensor,
    *,
    envs_per_batch: int = 4,
) -> dict[str, float]:
    r"""Total variance :math:`\mathbb E\|\hat g - \bar g\|^2` of the policy-gradient estimate, per weighting.

    The rollout's environments are split into batches of ``envs_per_batch``
    columns; each batch gives one estimate :math:`\hat g` (over the steps of its
    complete episodes) for each weighting of :func:`pg_weights`. Returns
    ``{"total": ..., "reward_to_go": ..., "baseline": ...}``.
    """
    check_positive("envs_per_batch", envs_per_batch, integer=True)
    N = rollout.rewards.shape[1]
    if N < 2 * envs_per_batch:
        raise ValueError(f"the rollout needs at least {2 * envs_per_batch} environments for two batches, got {N}")
    mask = complete_episode_mask(rollout.done)
    out = {}
    for kind in ("total", "reward_to_go", "baseline"):
        w = pg_weights(rollout, gamma, kind, values)
        grads = []
        for start in range(0, N - envs_per_batch + 1, envs_per_batch):
            cols = slice(start, start + envs_per_batch)
            m = mask[:, cols]
            grads.append(
                policy_gradient_vector(policy, rollout.obs[:, cols][m], rollout.actions[:, cols][m], w[:, cols][m])
            )
        G = torch.stack(grads)
        out[kind] = float(((G - G.mean(0)) ** 2).sum(1).mean())
    return out
