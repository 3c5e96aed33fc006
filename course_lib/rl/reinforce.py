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

One update is :func:`reinforce_update`: a gradient step on the surrogate loss
:math:`-\frac1n\sum_t \log\pi_\theta(a_t \mid s_t)\,\hat A_t`, whose gradient is the
estimator above (the weights :math:`\hat A_t` are constants for autograd).

Truncated episodes (CartPole's 500-step limit, and the cut at the end of each
rollout) bootstrap :math:`G_t` from :math:`V_\phi` of the true next
observation. Without a learned value there is nothing to bootstrap from, so the
steps of episodes still running at the rollout's end are left out of the loss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces

from course_lib._validation import (
    as_tensor,
    check_bool,
    check_choice,
    check_finite,
    check_hidden,
    check_nonempty,
    check_positive,
    check_probability,
    check_shapes,
    check_type,
    validated,
)
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.policies import CategoricalPolicy, ValueNet
from course_lib.rl.returns import reward_to_go
from course_lib.rl.rollouts import Rollout, RolloutCollector, make_vec_env, require_spaces
from course_lib.rl.trainer import TrainResult, record_evaluation, start_run
from course_lib.rl.value_learning import fit_value

__all__ = [
    "ReinforceConfig",
    "ReinforceResult",
    "train_reinforce",
    "reinforce_advantages",
    "reinforce_update",
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
    n_steps: int = 256  #: rollout length per environment; num_envs * n_steps env steps per update
    total_steps: int = 200_000  #: environment steps, all environments together
    gamma: float = 0.99
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64, 64)
    baseline: str = "value"  #: "none", "average" or "value"
    value_lr: float = 3e-3
    value_epochs: int = 5  #: full-batch Adam steps on the value loss per update
    normalize_advantages: bool = True
    eval_every: int = 0  #: evaluate each time this many env steps have passed (0: only at the end)
    eval_episodes: int = 20
    solved_return: float = 475.0  #: an evaluation mean at or above this counts as solved

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a str, got {type(self.env_id).__name__}")
        for name in ("num_envs", "n_steps", "total_steps", "value_epochs", "eval_episodes"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        check_probability("gamma", self.gamma)
        check_positive("lr", self.lr)
        check_positive("value_lr", self.value_lr)
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        check_bool("normalize_advantages", self.normalize_advantages)
        check_hidden("hidden", self.hidden)
        rollout = self.num_envs * self.n_steps
        if self.total_steps < rollout:
            raise ValueError(
                f"total_steps ({self.total_steps}) must be at least one rollout, num_envs * n_steps = {rollout}"
            )


@dataclass(kw_only=True)
class ReinforceResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the policy and (with ``baseline="value"``) the critic."""

    policy: CategoricalPolicy
    value: ValueNet | None


def complete_episode_mask(done: torch.Tensor) -> torch.Tensor:
    """``(T, N)`` bool: step ``t`` belongs to an episode that ends within the rollout."""
    as_tensor("done", done, "bool")
    return done.flip(0).cumsum(0).flip(0) > 0


def episode_start_values(x: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    """Broadcast each episode's first-step value of ``x`` (``(T, N)``) to all of that episode's steps."""
    check_shapes(x=(x, "T N"), done=(done, "T N"))
    as_tensor("done", done, "bool")
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
    check_type("rollout", rollout, Rollout)
    check_choice("kind", kind, ("total", "reward_to_go", "baseline"))
    G = reward_to_go(rollout.rewards, rollout.terminated, rollout.truncated, gamma)
    if kind == "reward_to_go":
        return G
    if kind == "total":
        return episode_start_values(G, rollout.done)
    if kind == "baseline":
        if values is None:
            raise ValueError(f"kind='baseline' needs values of shape {tuple(G.shape)}, got None")
        check_shapes(G=(G, "T N"), values=(values, "T N"))
        return G - values
    raise ValueError(f"kind must be 'total', 'reward_to_go' or 'baseline', got {kind!r}")


def policy_gradient_vector(
    policy: torch.nn.Module, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    r"""The estimate :math:`\frac1n \sum_i \nabla_\theta \log\pi(a_i \mid s_i)\, w_i` as one flat vector.

    ``obs`` ``(n, obs_dim)``, ``actions`` and ``weights`` ``(n,)``.
    """
    check_pg_batch(policy, obs, actions, weights, "weights")
    surrogate = (policy.log_prob(obs, actions) * weights).mean()
    grads = torch.autograd.grad(surrogate, list(policy.parameters()))
    return torch.cat([g.flatten() for g in grads])


def reinforce_advantages(
    rollout: Rollout, value: ValueNet | None, gamma: float, baseline: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Weights :math:`\hat A_t` of the estimator, the reward-to-go :math:`G_t`, and which steps to use; each ``(T, N)``.

    With a learned value, :math:`\hat A_t = G_t - V_\phi(s_t)` and truncated episodes bootstrap
    :math:`G_t` from :math:`V_\phi(s_{t+1})`, so every step is used. Without one, only the steps of
    episodes that end inside the rollout have a known :math:`G_t`; ``"average"`` subtracts their mean.
    """
    check_type("rollout", rollout, Rollout)
    check_choice("baseline", baseline, BASELINES)
    if value is not None:
        check_type("value", value, ValueNet)
    if value is not None:
        with torch.no_grad():
            v_now, v_next = value(rollout.obs), value(rollout.next_obs)
        G = reward_to_go(rollout.rewards, rollout.terminated, rollout.truncated, gamma, next_values=v_next)
        return G - v_now, G, torch.ones_like(G, dtype=torch.bool)
    G = reward_to_go(rollout.rewards, rollout.terminated, rollout.truncated, gamma)
    mask = complete_episode_mask(rollout.done)
    if baseline == "average" and mask.any():
        return G - G[mask].mean(), G, mask
    return G, G, mask


def check_pg_batch(policy, obs, actions, weights, weights_name: str = "advantages") -> None:
    """The checks of :func:`reinforce_update` and :func:`policy_gradient_vector`: a policy with ``log_prob``,
    a non-empty batch, and one finite weight per step (a ``(n, 1)`` column would broadcast to ``(n, n)``)."""
    if not isinstance(policy, torch.nn.Module) or not hasattr(policy, "log_prob"):
        raise TypeError(f"policy must be a torch.nn.Module with a log_prob method, got {type(policy).__name__}")
    check_shapes(obs=(obs, "n obs_dim"), actions=(actions, "n"), **{weights_name: (weights, "n")})
    check_nonempty("obs", obs, "steps")
    check_finite(weights_name, weights)


def _check_reinforce_update(policy, optimizer, obs, actions, advantages, normalize=True) -> None:
    check_pg_batch(policy, obs, actions, advantages)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    check_bool("normalize", normalize)


@validated(_check_reinforce_update)
def reinforce_update(
    policy: CategoricalPolicy,
    optimizer: torch.optim.Optimizer,
    obs: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    normalize: bool = True,
) -> dict[str, float]:
    r"""One REINFORCE step on :math:`L(\theta) = -\frac1n\sum_i \log\pi_\theta(a_i \mid s_i)\,\hat A_i`.

    ``obs`` ``(n, obs_dim)``, ``actions`` and ``advantages`` ``(n,)``. The minus sign turns gradient
    *ascent* on :math:`J` into the optimizer's descent; the advantages carry no gradient.
    Returns the loss, the gradient norm and the spread of the advantages (before normalising).
    """
    adv = advantages.detach()
    spread = adv.std().item() if adv.numel() > 1 else 0.0
    if normalize and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    loss = -(policy.log_prob(obs, actions) * adv).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.get_total_norm([p.grad for p in policy.parameters() if p.grad is not None])
    optimizer.step()
    return {"policy_loss": loss.item(), "grad_norm": grad_norm.item(), "adv_std": spread}


def train_reinforce(
    config: ReinforceConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[ReinforceResult], object] | None = None,
) -> ReinforceResult:
    """Train a categorical policy with REINFORCE on ``config.env_id`` (discrete actions).

    The trainer contract is in :mod:`course_lib.rl.trainer`.
    """
    run = start_run(config, ReinforceConfig, seed=seed, device=device, callback=callback)
    envs = make_vec_env(config.env_id, config.num_envs)
    require_spaces(envs, "train_reinforce", observation=(spaces.Box,), action=(spaces.Discrete,))
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden, generator=run.init).to(run.device)
    value = None
    if config.baseline == "value":
        value = ValueNet(obs_dim, config.hidden, generator=run.init).to(run.device)
        value_opt = torch.optim.Adam(value.parameters(), lr=config.value_lr)
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    collector = RolloutCollector(envs, seed=seed, device=run.device)
    result = ReinforceResult(policy=policy, value=value, config=config, evaluations=SolveTracker(config.solved_return))
    result.episodes = collector.episodes
    schedule = EvalSchedule(config.eval_every)

    def greedy(obs: torch.Tensor) -> torch.Tensor:
        return policy.act(obs, deterministic=True)

    n_updates = max(1, config.total_steps // (config.num_envs * config.n_steps))
    for _ in progress_bar(range(n_updates), desc="REINFORCE", leave=False):
        t0 = time.perf_counter()
        roll = collector.collect(lambda o: policy.act(o, generator=run.sample), config.n_steps)
        adv, G, use = reinforce_advantages(roll, value, config.gamma, config.baseline)
        stats = {}
        if use.any():
            obs, actions = roll.obs[use], roll.actions[use]
            stats = reinforce_update(policy, opt, obs, actions, adv[use], config.normalize_advantages)
        if value is not None:
            stats["value_loss"] = fit_value(value, value_opt, roll.obs.flatten(0, 1), G.flatten(), config.value_epochs)
        result.train_seconds += time.perf_counter() - t0
        result.log.append({"step": collector.steps, **stats})
        if schedule.due(collector.steps):
            record_evaluation(result, greedy, collector.steps, run, callback)
    if schedule.final_due(result.evaluations, collector.steps):
        record_evaluation(result, greedy, collector.steps, run, callback)  # the final policy is always evaluated
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
    check_type("rollout", rollout, Rollout)
    check_shapes(rewards=(rollout.rewards, "T N"), values=(values, "T N"))
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
