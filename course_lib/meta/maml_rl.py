r"""MAML for reinforcement learning: a policy-gradient inner step on 2-D navigation (notebook ``11_meta_rl_maml``).

A task :math:`i` is a goal; :math:`\theta` are the weights of a Gaussian policy
:math:`\pi_\theta(a \mid s) = \mathcal N(\mu_\theta(s), \operatorname{diag} e^{2\ell})` (standard deviation :math:`e^\ell`).
With trajectories :math:`\mathcal D_i` sampled from :math:`\pi_\theta` on task :math:`i`,
the inner step is one step of REINFORCE on the surrogate loss

.. math::

    L_i(\theta; \mathcal D) = -\frac{1}{|\mathcal D| T} \sum_{\tau \in \mathcal D} \sum_{t}
        \log \pi_\theta(a_t \mid s_t)\, \hat A_t, \qquad
    \tilde\theta_i = \theta - \alpha \nabla_\theta L_i(\theta; \mathcal D_i),

where :math:`\hat A_t` is the reward-to-go minus the mean reward-to-go of the task's
trajectories at the same step, normalised per task (:func:`advantages`). The outer
loss is the same surrogate of the adapted policy on *fresh* trajectories
:math:`\mathcal D'_i \sim \pi_{\tilde\theta_i}`, averaged over tasks, and its gradient
flows through the inner step (``create_graph=True``):

.. math::

    \nabla_\theta \sum_i L_i(\tilde\theta_i; \mathcal D'_i)
      = \sum_i \big(I - \alpha \nabla^2_\theta L_i(\theta; \mathcal D_i)\big)\, \nabla L_i(\tilde\theta_i; \mathcal D'_i).

**What this estimator drops.** With the sampled inner step inside the objective (E-MAML's formulation; Finn et al.
put the gradient of the *expected* return there),
:math:`J(\theta) = \mathbb E_{\mathcal D_i \sim \pi_\theta}\, \mathbb E_{\mathcal D'_i \sim \pi_{\tilde\theta_i}} [R(\mathcal D'_i)]`.
Its gradient has a second term, :math:`\mathbb E\big[R(\mathcal D'_i)\, \nabla_\theta \log \pi_\theta(\mathcal D_i)\big]`:
the pre-adaptation trajectories :math:`\mathcal D_i` are themselves drawn from
:math:`\pi_\theta`, so :math:`\theta` also changes *which* data the inner step sees.
Treating :math:`\mathcal D_i` as fixed samples, as here, drops it: the meta-gradient never
rewards the pre-adaptation policy for exploring in a way that makes the inner step useful.
E-MAML (Stadie et al., 2018) adds this term back; DiCE (Foerster et al., ICML 2018) gives a
surrogate whose derivatives of every order are unbiased estimators; ProMP (Rothfuss et al.,
ICLR 2019) analyses how each estimator assigns credit to the pre-adaptation sampling and
proposes a lower-variance (though biased) estimator of the curvature term. Under Finn et al.'s formulation the
estimator is biased in the curvature instead: the surrogate's Hessian misses
:math:`\mathbb E[\nabla\log\pi\,\nabla\log\pi^\top R]`.

The outer optimiser is Adam on this surrogate (the MAML paper used TRPO). Baselines:
``method="pretrain"`` trains one policy on all tasks with the plain policy gradient
and the same number of environment steps, then adapts with the same inner step; training
from scratch is the same inner step from the random initialisation; the oracle is
:func:`course_lib.envs.navigation.oracle_actions`.

Parameters are a dict ``{"w0", "b0", ..., "log_std"}``; inside the algorithm each tensor carries
a leading task dimension, and observations are ``(n_tasks, m, 2)`` (see :mod:`course_lib.meta.maml`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from course_lib._validation import check_hidden, check_positive, check_probability, check_real
from course_lib.envs.navigation import HORIZON, NavigationBatch, sample_goals
from course_lib.meta.maml import Params, batched_mlp, init_mlp
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.returns import reward_to_go
from course_lib.rl.trainer import TrainResult, start_run
from course_lib.seeding import torch_generator

__all__ = [
    "Trajectories",
    "init_policy",
    "per_task",
    "log_prob",
    "sample_trajectories",
    "advantages",
    "surrogate_loss",
    "inner_step",
    "maml_rl_meta_gradient",
    "pretrain_gradient",
    "adaptation_returns",
    "MamlRLConfig",
    "MamlRLResult",
    "train_maml_rl",
]

METHODS = ("maml", "pretrain")


@dataclass
class Trajectories:
    """``n_traj`` episodes of each of ``n_tasks`` tasks, time in dimension 1.

    Attributes:
        obs: ``(n_tasks, T, n_traj, 2)`` positions :math:`s_t`.
        actions: ``(n_tasks, T, n_traj, 2)`` actions as sampled (before the environment clips them).
        rewards: ``(n_tasks, T, n_traj)``.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor

    def returns(self) -> torch.Tensor:
        """Undiscounted return of each episode, ``(n_tasks, n_traj)``."""
        return self.rewards.sum(1)


def init_policy(
    hidden: tuple[int, ...] = (64, 64), log_std: float = math.log(0.1), generator: torch.Generator | None = None
) -> Params:
    """Weights of a ReLU MLP mean ``2 -> hidden -> 2`` and a state-independent log-std (no task dimension).

    The output layer starts 100 times smaller than PyTorch's default (as ``GaussianPolicy``'s ``out_gain=0.01``):
    the untrained policy's mean action is close to 0, so it starts near "stay put" rather than racing off.
    """
    params = init_mlp((2, *hidden, 2), generator)
    last = len(hidden)
    params[f"w{last}"], params[f"b{last}"] = params[f"w{last}"] * 0.01, params[f"b{last}"] * 0.01
    params["log_std"] = torch.full((2,), float(log_std))
    return params


def per_task(params: Params, n: int) -> Params:
    """One copy of ``params`` (no task dimension) per task: each tensor gets a leading dimension ``n`` (a view)."""
    check_positive("n", n, integer=True)
    return {k: v.expand(n, *v.shape) for k, v in params.items()}


def _mean(params: Params, obs: torch.Tensor) -> torch.Tensor:
    return batched_mlp({k: v for k, v in params.items() if k != "log_std"}, obs)


def log_prob(params: Params, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \pi_\theta(a \mid s) = \sum_d \big(-\tfrac12 z_d^2 - \ell_d - \tfrac12 \log 2\pi\big)`,
    :math:`z = (a - \mu_\theta(s)) e^{-\ell}`; ``obs``, ``actions`` ``(n_tasks, m, 2)`` -> ``(n_tasks, m)``."""
    log_std = params["log_std"].unsqueeze(1)
    z = (actions - _mean(params, obs)) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


@torch.no_grad()
def sample_trajectories(
    params: Params,
    goals: torch.Tensor,
    n_traj: int,
    generator: torch.Generator | None = None,
    *,
    deterministic: bool = False,
) -> Trajectories:
    """Run ``n_traj`` episodes per task in :class:`~course_lib.envs.navigation.NavigationBatch`.

    ``params`` carry a task dimension (one policy per task); ``deterministic`` takes the mean action.
    """
    env = NavigationBatch(goals, n_traj)
    obs, done = env.reset(), False
    all_obs, all_actions, all_rewards = [], [], []
    std = params["log_std"].exp().unsqueeze(1)  # (n_tasks, 1, 2)
    while not done:
        action = _mean(params, obs)
        if not deterministic:
            action = action + std * torch.randn(action.shape, generator=generator, device=action.device)
        all_obs.append(obs)
        all_actions.append(action)
        obs, reward, done = env.step(action)
        all_rewards.append(reward)
    return Trajectories(torch.stack(all_obs, 1), torch.stack(all_actions, 1), torch.stack(all_rewards, 1))


def advantages(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Per-task normalised advantages ``(n_tasks, T, n_traj)`` from rewards of the same shape.

    :math:`G_t` is the reward-to-go; the baseline :math:`b_t` is the mean of :math:`G_t` over the
    task's trajectories; :math:`\hat A = (G - b - \overline{G - b}) / \operatorname{std}(G - b)` per task.
    Up to the factor :math:`n/(n-1)`, which the normalisation removes, :math:`G - b` equals the
    advantage against the leave-one-out mean of the *other* trajectories, a baseline that does not
    depend on the trajectory it scores.
    """
    n_tasks, T, n_traj = rewards.shape
    flat = rewards.permute(1, 0, 2).reshape(T, n_tasks * n_traj)
    no = torch.zeros_like(flat, dtype=torch.bool)
    g = reward_to_go(flat, no, no, gamma).reshape(T, n_tasks, n_traj).permute(1, 0, 2)
    a = g - g.mean(2, keepdim=True)
    a = a - a.mean((1, 2), keepdim=True)
    return a / (a.std((1, 2), keepdim=True) + 1e-8)


def surrogate_loss(params: Params, traj: Trajectories, gamma: float) -> torch.Tensor:
    r"""REINFORCE surrogate of each task, :math:`L_i(\theta; \mathcal D_i)`, shape ``(n_tasks,)``."""
    n_tasks, T, n_traj, _ = traj.obs.shape
    logp = log_prob(params, traj.obs.reshape(n_tasks, T * n_traj, 2), traj.actions.reshape(n_tasks, T * n_traj, 2))
    adv = advantages(traj.rewards, gamma).reshape(n_tasks, T * n_traj)
    return -(logp * adv).mean(1)


def inner_step(params: Params, traj: Trajectories, alpha: float, gamma: float, *, create_graph: bool) -> Params:
    r"""One policy-gradient step per task, :math:`\tilde\theta_i = \theta_i - \alpha \nabla L_i(\theta_i; \mathcal D_i)`.

    ``params`` carry a task dimension. With ``create_graph`` the result stays differentiable
    through the gradient (second order); otherwise it is detached.
    """
    with torch.enable_grad():
        p = params if create_graph else {k: v.detach().requires_grad_() for k, v in params.items()}
        loss = surrogate_loss(p, traj, gamma).sum()  # tasks share no weights in p: each gets its own gradient
        grads = torch.autograd.grad(loss, list(p.values()), create_graph=create_graph)
    adapted = {k: p[k] - alpha * g for k, g in zip(p, grads)}
    return adapted if create_graph else {k: v.detach() for k, v in adapted.items()}


def maml_rl_meta_gradient(
    params: Params, goals: torch.Tensor, n_traj: int, alpha: float, gamma: float, generator: torch.Generator
) -> tuple[Params, Trajectories, Trajectories]:
    r"""MAML-RL meta-gradient :math:`\nabla_\theta \frac1n \sum_i L_i(\tilde\theta_i; \mathcal D'_i)` and the
    trajectories before (:math:`\mathcal D_i`) and after (:math:`\mathcal D'_i`) adaptation.

    Drops the score-function term of :math:`\mathcal D_i \sim \pi_\theta` (module docstring)."""
    theta = {k: v.detach().requires_grad_() for k, v in params.items()}
    batched = per_task(theta, goals.shape[0])
    pre = sample_trajectories(batched, goals, n_traj, generator)
    adapted = inner_step(batched, pre, alpha, gamma, create_graph=True)
    post = sample_trajectories({k: v.detach() for k, v in adapted.items()}, goals, n_traj, generator)
    loss = surrogate_loss(adapted, post, gamma).mean()
    return dict(zip(theta, torch.autograd.grad(loss, list(theta.values())))), pre, post


def pretrain_gradient(
    params: Params, goals: torch.Tensor, n_traj: int, gamma: float, generator: torch.Generator
) -> tuple[Params, Trajectories]:
    """Plain policy gradient of one policy across tasks (the baseline), and its trajectories."""
    theta = {k: v.detach().requires_grad_() for k, v in params.items()}
    batched = per_task(theta, goals.shape[0])
    traj = sample_trajectories(batched, goals, n_traj, generator)
    loss = surrogate_loss(batched, traj, gamma).mean()
    return dict(zip(theta, torch.autograd.grad(loss, list(theta.values())))), traj


def adaptation_returns(
    params: Params,
    goals: torch.Tensor,
    alpha: float,
    max_steps: int,
    n_traj: int,
    gamma: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns on each task after 0, 1, ..., ``max_steps`` inner steps.

    At each step, ``n_traj`` sampled episodes per task give the sampled-action return
    and the data of the next inner step; one more episode with the mean action gives the
    mean-action return. Both ``(n_tasks, max_steps + 1)``.
    """
    check_positive("max_steps", max_steps, integer=True, allow_zero=True)
    p = per_task({k: v.detach() for k, v in params.items()}, goals.shape[0])
    sampled, greedy = [], []
    for k in range(max_steps + 1):
        traj = sample_trajectories(p, goals, n_traj, generator)
        sampled.append(traj.returns().mean(1))
        greedy.append(sample_trajectories(p, goals, 1, deterministic=True).returns()[:, 0])
        if k < max_steps:
            p = inner_step(p, traj, alpha, gamma, create_graph=False)
    return torch.stack(sampled, 1), torch.stack(greedy, 1)


@dataclass(frozen=True)
class MamlRLConfig:
    r"""Hyperparameters of :func:`train_maml_rl`; the defaults meta-train in about 30 seconds of CPU time on one thread.

    The inner step size must scale with the policy's noise: the score of the mean is :math:`(a - \mu)/e^{2\ell}`, so with
    normalised advantages one step moves the output bias (every mean action) by :math:`\alpha c / e^\ell`, where
    :math:`c`, the correlation of advantage and noise :math:`z = (a - \mu)/e^\ell`, is at most about 1 in size; the
    other layers add to it. At
    :math:`e^\ell = 0.1` and :math:`\alpha = 0.1` one step can exceed the 0.1 action clip, and meta-training diverged in
    our runs (adapted returns near -600); at :math:`\alpha = 0.01` it did not. A constant outer step of
    :math:`3 \times 10^{-3}` learned faster at first but collapsed after about 300 iterations in a run of ours; the
    default starts at :math:`2 \times 10^{-3}` and decays it along a cosine to ``outer_lr_final`` times that.
    With :math:`\gamma = 0.9` instead of 0.99 (a shorter credit horizon, so less variance in the advantages), MAML's
    sampled return after one step on 100 held-out goals was 0.5 to 0.9 higher on each of 3 seeds, but the
    pretrained baseline gained far more from adapting with 0.9 (notebook 11 shows it); the default keeps 0.99, the
    discount of Finn et al.'s released code.
    """

    method: str = "maml"  #: "maml" or "pretrain" (same env steps: pretrain samples 2 * n_traj per task)
    iterations: int = 300
    meta_batch: int = 20  #: tasks per meta-update
    n_traj: int = 20  #: trajectories per task, before and again after adaptation
    inner_lr: float = 0.01  #: alpha, also the step size of adaptation at test time
    outer_lr: float = 2e-3  #: Adam's step size on the meta-parameters at the first iteration
    outer_lr_final: float = 0.05  #: ... decayed along a cosine to this fraction of ``outer_lr`` at the last iteration
    gamma: float = 0.99
    hidden: tuple[int, ...] = (32, 32)
    init_log_std: float = math.log(0.1)  #: std 0.1, the scale of the action clip
    eval_every: int = 0  #: evaluate each time this many env steps have been taken (0: only at the end)
    eval_tasks: int = 40  #: held-out goals per evaluation (score: sampled return after one inner step)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("iterations", "meta_batch", "n_traj", "eval_tasks"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        check_positive("inner_lr", self.inner_lr)
        check_positive("outer_lr", self.outer_lr)
        check_probability("outer_lr_final", self.outer_lr_final)
        check_probability("gamma", self.gamma)
        check_real("init_log_std", self.init_log_std)
        check_hidden("hidden", self.hidden)


@dataclass(kw_only=True)
class MamlRLResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the meta-parameters ``params`` (no task dimension).

    ``evaluations`` scores the mean sampled-action return on ``eval_tasks`` held-out goals
    after one inner step; ``episodes`` holds the return of every training episode
    (for MAML, the post-adaptation ones are those its loss is computed on).
    """

    params: Params


def train_maml_rl(
    config: MamlRLConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[MamlRLResult], object] | None = None,
) -> MamlRLResult:
    """Meta-train (``"maml"``) or pretrain (``"pretrain"``) a navigation policy; contract in :mod:`course_lib.rl.trainer`."""
    run = start_run(config, MamlRLConfig, seed=seed, device=device, callback=callback)
    params = {k: v.to(run.device) for k, v in init_policy(config.hidden, config.init_log_std, run.init).items()}
    params = {k: v.requires_grad_() for k, v in params.items()}
    held_out = sample_goals(config.eval_tasks, torch_generator(10_000 + seed)).to(run.device)
    opt = torch.optim.Adam(params.values(), lr=config.outer_lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.iterations, config.outer_lr * config.outer_lr_final)
    result = MamlRLResult(params=params, config=config, evaluations=SolveTracker(None))
    schedule = EvalSchedule(config.eval_every)
    steps_per_iter = 2 * config.meta_batch * config.n_traj * HORIZON
    eval_gen = torch_generator(20_000 + seed, run.device)
    task_gen = torch_generator(int(run.numpy.integers(2**62)))  # training goals, drawn on the CPU

    def evaluate_held_out(steps: int) -> None:
        sampled, _ = adaptation_returns(params, held_out, config.inner_lr, 1, config.n_traj, config.gamma, eval_gen)
        result.evaluations.record(steps, result.train_seconds, sampled[:, 1].mean().item())
        if callback is not None:
            result.callback_log.append((steps, callback(result)))

    for it in progress_bar(range(config.iterations), desc=config.method, leave=False):
        t0 = time.perf_counter()
        goals = sample_goals(config.meta_batch, task_gen).to(run.device)
        if config.method == "maml":
            grads, pre, post = maml_rl_meta_gradient(
                params, goals, config.n_traj, config.inner_lr, config.gamma, run.sample
            )
            row = {"return_before": pre.returns().mean().item(), "return_after": post.returns().mean().item()}
            trained_on = post
        else:
            grads, trained_on = pretrain_gradient(params, goals, 2 * config.n_traj, config.gamma, run.sample)
            row = {"return": trained_on.returns().mean().item()}
        for k, p in params.items():
            p.grad = grads[k]
        opt.step()
        decay.step()
        result.train_seconds += time.perf_counter() - t0
        steps = (it + 1) * steps_per_iter
        result.episodes.extend((steps, r) for r in trained_on.returns().flatten().tolist())
        result.log.append({"step": steps, **row})
        if schedule.due(steps):
            evaluate_held_out(steps)
    if schedule.final_due(result.evaluations, config.iterations * steps_per_iter):
        evaluate_held_out(config.iterations * steps_per_iter)
    return result
