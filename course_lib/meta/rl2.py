r"""RL²: a recurrent policy trained across bandit tasks learns to explore (notebook ``12_meta_rl_recurrent``).

RL² (Duan et al., 2016, arXiv:1611.02779) and the "learning to reinforcement learn" study
(Wang et al., 2016, arXiv:1611.05763) train a recurrent policy with an ordinary RL loss on
many tasks; the hidden state carries what the agent has seen *within* a task, and it is reset
to zero when a new task starts. After training, adapting to a new task needs no gradient step:
the GRU's state update is the learning algorithm.

At pull :math:`t` of a task the GRU reads :math:`x_t = [\text{onehot}(a_{t-1}), r_{t-1}, t/n]`
(zeros for the action and reward at :math:`t = 0`), updates :math:`h_t = \text{GRU}(x_t, h_{t-1})`,
and outputs logits :math:`\pi_\theta(\cdot \mid h_t)` and a value :math:`V_\theta(h_t)`. The loss
over a batch of :math:`B` tasks of :math:`n` pulls is the advantage actor-critic loss

.. math::

    L(\theta) = -\frac{1}{Bn}\sum_{i,t} \Big[\log \pi_\theta(a_t \mid h_t)\, \hat A_t
        + c_e\, \mathcal H\big(\pi_\theta(\cdot \mid h_t)\big)\Big]
        + c_v \frac{1}{Bn}\sum_{i,t} \big(V_\theta(h_t) - \hat R_t\big)^2,

with :math:`\hat A_t` from GAE(:math:`\gamma, \lambda`) (:func:`course_lib.rl.advantages.gae`), normalised
over the batch, and :math:`\hat R_t` the :math:`\lambda`-return (GAE before normalising plus :math:`V(h_t)`), both
held constant; :math:`c_e` and :math:`c_v` weigh the entropy bonus and the value loss (notation of notebook 05).

Speed: the pulls are sampled without autograd, one GRU step at a time; the loss then
re-runs the whole recorded sequence through ``nn.GRU`` in one call (one fused loop in C++),
which gives the same :math:`h_t` as the step-by-step unroll (tested).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._validation import check_positive, check_probability
from course_lib.envs.bandits import BanditBatch, pseudo_regret, sample_bandit_tasks
from course_lib.progress import progress_bar
from course_lib.rl.advantages import gae
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.trainer import TrainResult, start_run
from course_lib.seeding import torch_generator

__all__ = ["RL2Policy", "BanditEpisodes", "rollout", "a2c_loss", "RL2Config", "RL2Result", "train_rl2"]


class RL2Policy(nn.Module):
    """GRU over ``[onehot(a_{t-1}), r_{t-1}, t/n]`` with a policy head (``k`` logits) and a value head."""

    def __init__(self, k: int = 5, horizon: int = 100, hidden: int = 64, *, generator: torch.Generator | None = None):
        super().__init__()
        self.k, self.horizon, self.hidden = k, horizon, hidden
        self.gru = nn.GRU(k + 2, hidden, batch_first=True)
        self.pi = nn.Linear(hidden, k)
        self.v = nn.Linear(hidden, 1)
        with torch.no_grad():  # initialise from the generator, not torch's global one
            for p in self.parameters():
                bound = 1 / math.sqrt(hidden)
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)

    def inputs(self, prev_action: torch.Tensor, prev_reward: torch.Tensor, t: int) -> torch.Tensor:
        """``(B, k + 2)``; ``prev_action = -1`` (no previous pull) gives a zero one-hot."""
        dtype = prev_reward.dtype
        onehot = F.one_hot(prev_action.clamp(min=0), self.k).to(dtype) * (prev_action >= 0).to(dtype).unsqueeze(1)
        time_in = torch.full_like(prev_reward, t / self.horizon)
        return torch.cat([onehot, prev_reward.unsqueeze(1), time_in.unsqueeze(1)], 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None, *, detach_critic: bool = False):
        """``x`` ``(B, T, k + 2)`` -> logits ``(B, T, k)``, values ``(B, T)``, last hidden ``(1, B, hidden)``."""
        out, h = self.gru(x, h)
        return self.pi(out), self.v(out.detach() if detach_critic else out).squeeze(-1), h


@dataclass
class BanditEpisodes:
    """One episode per task: ``inputs`` ``(B, n, k + 2)``, ``actions`` and ``rewards`` ``(B, n)``."""

    inputs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor


@torch.no_grad()
def rollout(policy: RL2Policy, probs: torch.Tensor, generator: torch.Generator | None = None) -> BanditEpisodes:
    """Play ``policy.horizon`` pulls of every task of ``probs`` ``(B, k)``, hidden state starting at zero."""
    env = BanditBatch(probs)
    B = probs.shape[0]
    a = torch.full((B,), -1, dtype=torch.long, device=probs.device)
    r = torch.zeros(B, device=probs.device, dtype=probs.dtype)
    h = None
    xs, actions, rewards = [], [], []
    for t in range(policy.horizon):
        x = policy.inputs(a, r, t)
        logits, _, h = policy(x.unsqueeze(1), h)
        u = torch.rand(B, 1, generator=generator, device=probs.device, dtype=probs.dtype)
        a = (torch.softmax(logits[:, 0], 1).cumsum(1) < u).sum(1).clamp(max=policy.k - 1)  # inverse-CDF sample
        r = env.pull(a, generator)
        xs.append(x)
        actions.append(a)
        rewards.append(r)
    return BanditEpisodes(torch.stack(xs, 1), torch.stack(actions, 1), torch.stack(rewards, 1))


def a2c_loss(
    policy: RL2Policy,
    ep: BanditEpisodes,
    gamma: float,
    lam: float,
    value_coef: float,
    entropy_coef: float,
    *,
    detach_critic: bool = False,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The actor-critic loss of the module docstring over a batch of recorded episodes."""
    logits, values, _ = policy(ep.inputs, detach_critic=detach_critic)
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, ep.actions.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    with torch.no_grad():
        v = values.T  # gae wants time first: (n, B)
        next_v = torch.cat([v[1:], torch.zeros_like(v[:1])])
        done = torch.zeros_like(v, dtype=torch.bool)
        done[-1] = True  # the episode ends after n pulls
        adv, target = gae(ep.rewards.T, v, next_v, done, torch.zeros_like(done), gamma, lam)
        adv, target = adv.T, target.T
        # normalised over the batch: the step size no longer scales with the rewards
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    policy_loss = -(logp * adv).mean()
    value_loss = ((values - target) ** 2).mean()
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()
    return loss, {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.mean().item()}


@dataclass(frozen=True)
class RL2Config:
    r"""Hyperparameters of :func:`train_rl2`; the defaults train in about 70 seconds of CPU time on one thread.

    Chosen by regret per second of computing (one seed per setting, then checked on others; notebook 12): a GRU of 32
    units costs about half as much per update as one of 64 and learned no slower per second; 512 tasks per update at
    a step size of 1e-2 beat 128 tasks at 3e-3; :math:`\gamma = \lambda = 0.8` left the regret of random arms sooner
    than 0.9; a value coefficient of 0.1 and an entropy bonus from 0.05 kept the regret near random for longer.
    A constant step size of 1e-2 (and an entropy bonus from 0.01 to 0.001) left the final regret noisy from seed to
    seed (9.4, 15.1, 14.1 on seeds 0-2); a cosine decay to 1e-3 brought seed 1 from 15.1 to 10.7, but seed 4 rose
    from 15.2 back to 17.9 during training; an entropy bonus from 0.03 to 0.003 brought seed 4 to 11.9 (a peak step
    size of 5e-3: 22.7). Notebook 12 gives the per-seed numbers of these defaults.
    """

    k: int = 5
    horizon: int = 100
    hidden: int = 32
    updates: int = 330
    batch_tasks: int = 512  #: tasks (episodes) per update
    lr: float = 1e-2
    lr_end: float | None = 1e-3  #: step size at the last update, along a cosine from lr (None: constant lr)
    gamma: float = 0.8
    lam: float = 0.8
    value_coef: float = 0.05
    entropy_start: float = 0.03  #: entropy bonus, decayed linearly to entropy_end
    entropy_end: float = 0.003  #: kept above 0: annealing to 0 collapses the policy onto one arm
    max_grad_norm: float = 1.0
    detach_critic: bool = False
    eval_every: int = 0  #: evaluate each time this many pulls have been trained on (0: only at the end)
    eval_tasks: int = 500  #: held-out tasks per evaluation (score: mean pseudo-regret after n pulls)

    def __post_init__(self) -> None:
        for name in ("k", "horizon", "hidden", "updates", "batch_tasks", "eval_tasks"):
            check_positive(name, getattr(self, name), integer=True)
        if self.k < 2:
            raise ValueError(f"k must be >= 2 arms, got {self.k}")
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        for name in ("lr", "max_grad_norm"):
            check_positive(name, getattr(self, name))
        if self.lr_end is not None:
            check_positive("lr_end", self.lr_end)
        for name in ("value_coef", "entropy_start", "entropy_end"):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_probability("gamma", self.gamma)
        check_probability("lam", self.lam)


@dataclass(kw_only=True)
class RL2Result(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the trained ``policy``.

    Steps count pulls (environment steps) of all tasks. ``evaluations`` records the mean
    pseudo-regret after ``horizon`` pulls on held-out tasks (lower is better); ``episodes``
    holds each training episode's total reward.
    """

    policy: RL2Policy


def train_rl2(
    config: RL2Config,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[RL2Result], object] | None = None,
) -> RL2Result:
    """Train an :class:`RL2Policy` across bandit tasks; contract in :mod:`course_lib.rl.trainer`."""
    run = start_run(config, RL2Config, seed=seed, device=device, callback=callback)
    policy = RL2Policy(config.k, config.horizon, config.hidden, generator=run.init).to(run.device)
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    held_out = sample_bandit_tasks(config.eval_tasks, config.k, torch_generator(10_000 + seed))
    held_out = held_out.to(run.device)
    task_gen = torch_generator(int(run.numpy.integers(2**62)))
    eval_gen = torch_generator(20_000 + seed, run.device)
    result = RL2Result(policy=policy, config=config, evaluations=SolveTracker(None, higher_is_better=False))
    schedule = EvalSchedule(config.eval_every)
    pulls_per_update = config.batch_tasks * config.horizon

    def evaluate_held_out(steps: int) -> None:
        ep = rollout(policy, held_out, eval_gen)
        result.evaluations.record(steps, result.train_seconds, pseudo_regret(held_out, ep.actions)[:, -1].mean().item())
        if callback is not None:
            result.callback_log.append((steps, callback(result)))

    for u in progress_bar(range(config.updates), desc="RL2", leave=False):
        t0 = time.perf_counter()
        frac = u / max(config.updates - 1, 1)
        entropy_coef = config.entropy_start + frac * (config.entropy_end - config.entropy_start)
        if config.lr_end is not None:
            lr = config.lr_end + 0.5 * (config.lr - config.lr_end) * (1 + math.cos(math.pi * frac))
            for group in opt.param_groups:
                group["lr"] = lr
        probs = sample_bandit_tasks(config.batch_tasks, config.k, task_gen).to(run.device)
        ep = rollout(policy, probs, run.sample)
        loss, stats = a2c_loss(
            policy, ep, config.gamma, config.lam, config.value_coef, entropy_coef, detach_critic=config.detach_critic
        )
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
        opt.step()
        result.train_seconds += time.perf_counter() - t0
        steps = (u + 1) * pulls_per_update
        result.episodes.extend((steps, r) for r in ep.rewards.sum(1).tolist())
        result.log.append({"step": steps, "loss": loss.item(), "lr": opt.param_groups[0]["lr"], **stats})
        if schedule.due(steps):
            evaluate_held_out(steps)
    if schedule.final_due(result.evaluations, config.updates * pulls_per_update):
        evaluate_held_out(config.updates * pulls_per_update)
    return result
