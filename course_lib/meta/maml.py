r"""MAML, first-order MAML, Reptile and the fine-tuning baseline, with ``torch.func`` (notebook ``10_meta_learning``).

Notation: meta-parameters :math:`\theta`, inner step size :math:`\alpha`, task
:math:`i` with support loss :math:`L^s_i` and query loss :math:`L^q_i`.

* **Adaptation** (one inner step; more steps repeat it):
  :math:`\tilde\theta_i = \theta - \alpha \nabla_\theta L^s_i(\theta)`.
* **MAML** minimises :math:`\sum_i L^q_i(\tilde\theta_i)`. Its meta-gradient for one step is

  .. math:: \nabla_\theta L^q_i(\tilde\theta_i) = \big(I - \alpha \nabla^2_\theta L^s_i(\theta)\big)\, \nabla L^q_i(\tilde\theta_i),

  derived in SymPy in :mod:`course_lib.derivations.maml`. Here the inner
  gradient is taken with ``create_graph=True``, so the outer gradient flows
  through it and picks up the Hessian term (second order). (Nested
  ``torch.func.grad`` gives the same numbers, checked in the tests, but took
  3.4 ms per meta-batch against 1.9 ms here on one CPU thread.)
* **First-order MAML** drops the Hessian term: the inner gradient is treated
  as a constant, so the meta-gradient is :math:`\nabla L^q_i(\tilde\theta_i)`.
* **Reptile** (Nichol, Achiam and Schulman, 2018) takes several inner steps and
  moves :math:`\theta` toward the adapted weights: the meta-"gradient" is
  :math:`\theta - \frac1n\sum_i \tilde\theta_i`.
* **Pretrain, then fine-tune**: fit one network to all tasks at once (the
  *multi-task baseline*), and at test time take the same gradient steps on the
  support set. Seed article 003 §2.1.3 calls this meta-learning; it is the
  baseline MAML was designed to beat.

Models are functions ``forward(params, x)`` of a parameter dict whose tensors
carry a leading task dimension, with ``x`` of shape ``(n_tasks, k, in)``.
:func:`batched_mlp` does this by hand with ``baddbmm`` (one kernel for all
tasks, measured faster than ``vmap`` here); :func:`module_forward` turns any
``nn.Module`` into such a function with ``functional_call`` and ``vmap``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch.func import functional_call, vmap

from course_lib._validation import (
    check_bool,
    check_finite,
    check_hidden,
    check_positive,
    check_shapes,
    check_type,
    trusted,
    validated,
)
from course_lib.meta.tasks import SinusoidFamily, TaskBatch
from course_lib.progress import progress_bar
from course_lib.rl.evaluation import EvalSchedule, SolveTracker
from course_lib.rl.trainer import TrainResult, start_run
from course_lib.seeding import torch_generator

__all__ = [
    "Params",
    "ForwardFn",
    "init_mlp",
    "batched_mlp",
    "module_forward",
    "task_losses",
    "adapt",
    "maml_meta_gradient",
    "reptile_meta_gradient",
    "MetaConfig",
    "MetaResult",
    "meta_train",
    "meta_gradient",
    "adaptation_curve",
    "predict_after",
]

Params = dict[str, torch.Tensor]
ForwardFn = Callable[[Params, torch.Tensor], torch.Tensor]
METHODS = ("maml", "fomaml", "reptile", "pretrain")


def init_mlp(sizes: Sequence[int] = (1, 40, 40, 1), generator: torch.Generator | None = None) -> Params:
    """Parameters of a ReLU MLP (the MAML paper's 1-40-40-1 by default), PyTorch's default init."""
    if len(sizes) < 2 or any(not isinstance(s, int) or s <= 0 for s in sizes):
        raise ValueError(f"sizes must be at least two positive ints, got {sizes!r}")
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / math.sqrt(fan_in)
        params[f"w{i}"] = (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound
        params[f"b{i}"] = (torch.rand(fan_out, generator=generator) * 2 - 1) * bound
    return params


def batched_mlp(params: Params, x: torch.Tensor) -> torch.Tensor:
    """ReLU MLP applied per task: weights ``(n, out, in)``, biases ``(n, out)``, ``x`` ``(n, k, in)`` -> ``(n, k, out)``."""
    n_layers = len(params) // 2
    h = x
    for i in range(n_layers):
        w, b = params[f"w{i}"], params[f"b{i}"]
        h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if i < n_layers - 1:
            h = torch.relu(h)
    return h


def module_forward(module: torch.nn.Module) -> ForwardFn:
    """A :data:`ForwardFn` for any module: ``functional_call`` per task, vectorised with ``vmap``."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return vmap(lambda p, x: functional_call(module, p, (x,)))


def _batch(params: Params, n: int) -> Params:
    return {k: v.expand(n, *v.shape) for k, v in params.items()}


def check_task_data(forward: ForwardFn, params: Params, x: torch.Tensor, y: torch.Tensor) -> None:
    """``forward`` callable, ``params`` a dict of tensors, ``x`` ``(n, k, in)`` and ``y`` ``(n, k, out)`` finite."""
    if not callable(forward):
        raise TypeError(f"forward must be callable (params, x) -> predictions, got {type(forward).__name__}")
    check_type("params", params, dict, "of name -> tensor")
    check_shapes(x=(x, "n k d_in"), y=(y, "n k d_out"))
    check_finite("x", x)
    check_finite("y", y)


def _check_adapt(forward, params, x, y, alpha, steps, *, first_order=False, batched=False) -> None:
    check_task_data(forward, params, x, y)
    check_positive("alpha", alpha)
    check_positive("steps", steps, integer=True, allow_zero=True)
    check_bool("first_order", first_order)
    check_bool("batched", batched)


def _check_meta_gradient(forward, params, tasks, alpha, steps=1, **flags) -> None:
    check_type("tasks", tasks, TaskBatch, "(from SinusoidFamily.sample)")
    check_positive("steps", steps, integer=True)
    _check_adapt(forward, params, tasks.x_support, tasks.y_support, alpha, steps, **flags)


@validated(check_task_data)
def task_losses(forward: ForwardFn, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each task, ``(n_tasks,)``."""
    return ((forward(params, x) - y) ** 2).mean(dim=(1, 2))


@validated(_check_adapt)
def adapt(
    forward: ForwardFn,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    steps: int,
    *,
    first_order: bool = False,
    batched: bool = False,
) -> Params:
    r"""``steps`` inner gradient steps per task: :math:`\theta \leftarrow \theta - \alpha \nabla L^s_i(\theta)`.

    ``params`` are shared (no task dimension), or one copy per task if ``batched``.
    Returns one adapted copy per task. If ``params`` require grad, the result is
    differentiable with respect to them: through the inner gradients too
    (second order, ``create_graph=True``) unless ``first_order``, which treats
    each inner gradient as a constant. Otherwise the result is detached.
    """
    p = params if batched else _batch(params, x.shape[0])
    outer = any(v.requires_grad for v in p.values())
    with torch.enable_grad():
        for _ in range(steps):
            q = p if outer else {k: v.detach().requires_grad_() for k, v in p.items()}
            # Tasks do not share weights in q, so the gradient of the summed loss is each task's own gradient.
            loss = task_losses(forward, q, x, y).sum()
            g = torch.autograd.grad(loss, list(q.values()), create_graph=outer and not first_order)
            p = {k: q[k] - alpha * gk for k, gk in zip(q, g)}
            if not outer:
                p = {k: v.detach() for k, v in p.items()}
    return p


@validated(_check_meta_gradient)
def maml_meta_gradient(
    forward: ForwardFn, params: Params, tasks: TaskBatch, alpha: float, steps: int = 1, *, first_order: bool = False
) -> tuple[Params, torch.Tensor]:
    r"""Meta-gradient of :math:`\frac1n \sum_i L^q_i(\tilde\theta_i)`, and that loss.

    Second order (through the inner gradients) unless ``first_order``.
    """
    theta = {k: v.detach().requires_grad_() for k, v in params.items()}
    adapted = adapt(forward, theta, tasks.x_support, tasks.y_support, alpha, steps, first_order=first_order)
    loss = task_losses(forward, adapted, tasks.x_query, tasks.y_query).mean()
    g = torch.autograd.grad(loss, list(theta.values()))
    return dict(zip(theta, g)), loss.detach()


@validated(_check_meta_gradient)
def reptile_meta_gradient(
    forward: ForwardFn, params: Params, tasks: TaskBatch, alpha: float, steps: int
) -> tuple[Params, torch.Tensor]:
    r"""Reptile's direction :math:`\theta - \frac1n \sum_i \tilde\theta_i` (support and query pooled) and the post-adaptation query loss."""
    theta = {k: v.detach() for k, v in params.items()}
    x = torch.cat([tasks.x_support, tasks.x_query], 1)
    y = torch.cat([tasks.y_support, tasks.y_query], 1)
    adapted = adapt(forward, theta, x, y, alpha, steps)
    loss = task_losses(forward, adapted, tasks.x_query, tasks.y_query).mean()
    return {k: theta[k] - adapted[k].mean(0) for k in theta}, loss


@dataclass(frozen=True)
class MetaConfig:
    """Hyperparameters of :func:`meta_train`; defaults follow the MAML paper's sinusoid set-up."""

    method: str = "maml"  #: "maml", "fomaml", "reptile" or "pretrain"
    family: SinusoidFamily = field(default_factory=SinusoidFamily)  #: the task distribution
    iterations: int = 10_000
    meta_batch: int = 25  #: tasks per meta-update
    k_support: int = 10
    k_query: int = 10
    inner_lr: float = 0.01  #: alpha, also the step size used when adapting at test time
    inner_steps: int = 1  #: inner steps while meta-training (Reptile: its k steps)
    outer_lr: float = 1e-3  #: Adam's step size on the meta-parameters
    final_lr_fraction: float = 0.1  #: cosine decay of the outer step size to this fraction (1.0: constant)
    hidden: tuple[int, ...] = (40, 40)
    eval_every: int = 0  #: evaluate each time this many *tasks* have been trained on (0: only at the end)
    eval_tasks: int = 200  #: held-out tasks per evaluation (K = k_support support points, 100 query points)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not isinstance(self.family, SinusoidFamily):
            raise TypeError(f"family must be a SinusoidFamily, got {type(self.family).__name__}")
        for name in ("iterations", "meta_batch", "k_support", "k_query", "inner_steps", "eval_tasks"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("eval_every", self.eval_every, integer=True, allow_zero=True)
        for name in ("inner_lr", "outer_lr", "final_lr_fraction"):
            check_positive(name, getattr(self, name))
        if self.final_lr_fraction > 1:
            raise ValueError(f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}")
        check_hidden("hidden", self.hidden)


@dataclass(kw_only=True)
class MetaResult(TrainResult):
    """:class:`~course_lib.rl.trainer.TrainResult` plus the meta-parameters.

    Supervised meta-learning has no environment: its unit of experience is a *task*,
    so the ``step`` of ``evaluations`` and ``log`` counts tasks trained on, and
    ``episodes`` stays empty. An evaluation scores the mean query MSE on held-out
    tasks after ``inner_steps`` adaptation steps (lower is better).
    """

    params: Params


def meta_train(
    config: MetaConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    callback: Callable[[MetaResult], object] | None = None,
) -> MetaResult:
    """Meta-train a ReLU MLP (``1-hidden-...-1``) on tasks drawn from ``config.family``.

    The trainer contract is in :mod:`course_lib.rl.trainer`. ``log`` has one row per
    meta-update with its training loss (the query loss after adaptation; the plain
    loss for ``"pretrain"``).
    """
    run = start_run(config, MetaConfig, seed=seed, device=device, callback=callback)
    task_gen = torch_generator(int(run.numpy.integers(2**62)))  # tasks are drawn on the CPU
    held_out = config.family.sample(config.eval_tasks, config.k_support, 100, torch_generator(10_000 + seed))
    held_out = held_out.to(run.device)
    params = init_mlp((1, *config.hidden, 1), run.init)
    params = {k: v.to(run.device).requires_grad_() for k, v in params.items()}
    opt = torch.optim.Adam(params.values(), lr=config.outer_lr)
    floor = config.final_lr_fraction
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda it: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(it / config.iterations, 1.0)))
    )
    result = MetaResult(params=params, config=config, evaluations=SolveTracker(None, higher_is_better=False))
    schedule = EvalSchedule(config.eval_every)

    def evaluate_held_out(tasks_seen: int) -> None:
        curve = adaptation_curve(params, held_out, config.inner_lr, config.inner_steps)
        result.evaluations.record(tasks_seen, result.train_seconds, curve[:, -1].mean().item())
        if callback is not None:
            result.callback_log.append((tasks_seen, callback(result)))

    for it in progress_bar(range(config.iterations), desc=config.method, leave=False):
        t0 = time.perf_counter()
        tasks = config.family.sample(config.meta_batch, config.k_support, config.k_query, task_gen)  # checked
        with trusted():  # config and tasks were checked: no checks inside the meta-gradient
            g, loss = meta_gradient(config, params, tasks.to(run.device))
        for k, p in params.items():
            p.grad = g[k]
        opt.step()
        sched.step()
        result.train_seconds += time.perf_counter() - t0
        tasks_seen = (it + 1) * config.meta_batch
        result.log.append({"step": tasks_seen, "loss": loss.item()})
        if schedule.due(tasks_seen):
            evaluate_held_out(tasks_seen)
    if schedule.final_due(result.evaluations, config.iterations * config.meta_batch):
        evaluate_held_out(config.iterations * config.meta_batch)  # the final parameters are always evaluated
    return result


def meta_gradient(config: MetaConfig, params: Params, tasks: TaskBatch) -> tuple[Params, torch.Tensor]:
    """The meta-gradient of ``config.method`` on one batch of tasks, and its training loss."""
    if config.method in ("maml", "fomaml"):
        first_order = config.method == "fomaml"
        return maml_meta_gradient(
            batched_mlp, params, tasks, config.inner_lr, config.inner_steps, first_order=first_order
        )
    if config.method == "reptile":
        return reptile_meta_gradient(batched_mlp, params, tasks, config.inner_lr, config.inner_steps)
    # pretrain: one network for all tasks, no adaptation
    x = torch.cat([tasks.x_support, tasks.x_query], 1)
    y = torch.cat([tasks.y_support, tasks.y_query], 1)
    return grad_and_loss_shared(params, x, y)


def grad_and_loss_shared(params: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[Params, torch.Tensor]:
    """Gradient of the plain multi-task loss: the same weights for every task."""
    theta = {k: v.detach().requires_grad_() for k, v in params.items()}
    loss = task_losses(batched_mlp, _batch(theta, x.shape[0]), x, y).mean()
    return dict(zip(theta, torch.autograd.grad(loss, list(theta.values())))), loss.detach()


def adaptation_curve(params: Params, tasks: TaskBatch, alpha: float, max_steps: int) -> torch.Tensor:
    """Query MSE of each task after 0, 1, ..., ``max_steps`` gradient steps on its support set: ``(n, max_steps+1)``."""
    check_positive("max_steps", max_steps, integer=True, allow_zero=True)
    p = _batch({k: v.detach() for k, v in params.items()}, len(tasks))
    curve = [task_losses(batched_mlp, p, tasks.x_query, tasks.y_query).detach()]
    for _ in range(max_steps):
        p = adapt(batched_mlp, p, tasks.x_support, tasks.y_support, alpha, 1, first_order=True, batched=True)
        curve.append(task_losses(batched_mlp, p, tasks.x_query, tasks.y_query).detach())
    return torch.stack(curve, 1)


def predict_after(params: Params, tasks: TaskBatch, x: torch.Tensor, alpha: float, steps: int) -> torch.Tensor:
    """Predictions on inputs ``x`` (``(n, m, 1)``) after ``steps`` gradient steps on each task's support set."""
    adapted = adapt(
        batched_mlp, {k: v.detach() for k, v in params.items()}, tasks.x_support, tasks.y_support, alpha, steps
    )
    return batched_mlp(adapted, x).detach()
