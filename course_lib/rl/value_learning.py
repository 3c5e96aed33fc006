r"""Fitting a state-value function :math:`V_\phi` from experience (notebook ``04_value_functions``).

* **Monte Carlo:** regress :math:`V_\phi(s_t)` on the observed reward-to-go :math:`G_t`.
* **TD(0):** regress on :math:`y_t = r_t + \gamma (1 - \text{terminated}_t) V_\phi(s_{t+1})`, recomputing the
  target from the current :math:`V_\phi` at every step. The usual *semi-gradient* treats :math:`y_t` as a
  constant; the *full* (residual) gradient also differentiates it, adding :math:`\gamma\,\delta_t \nabla V_\phi(s_{t+1})`.
  A truncated step bootstraps like any non-terminal one.
"""

from __future__ import annotations

import torch

from course_lib._validation import check_bool, check_positive, check_probability, check_shapes, check_type
from course_lib.rl.losses import value_loss
from course_lib.rl.policies import ValueNet
from course_lib.rl.rollouts import Rollout

__all__ = ["fit_value", "td_targets", "fit_td0", "binned_means"]


def fit_value(
    value: ValueNet, optimizer: torch.optim.Optimizer, obs: torch.Tensor, targets: torch.Tensor, steps: int
) -> float:
    r"""``steps`` full-batch optimizer steps on :math:`\frac1n\sum_i \tfrac12 (G_i - V_\phi(s_i))^2`; returns the last loss."""
    check_positive("steps", steps, integer=True)
    check_type("value", value, ValueNet)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    check_shapes(obs=(obs, "n obs_dim"), targets=(targets, "n"))
    for _ in range(steps):
        loss = value_loss(value(obs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def td_targets(value: ValueNet, rollout: Rollout, gamma: float, *, detach: bool = True) -> torch.Tensor:
    r""":math:`y_t = r_t + \gamma (1 - \text{terminated}_t) V_\phi(s_{t+1})`, shape ``(T, N)``.

    ``detach=True`` (semi-gradient) makes the target a constant for autograd.
    """
    gamma = check_probability("gamma", gamma)
    check_type("rollout", rollout, Rollout)
    check_bool("detach", detach)
    v_next = value(rollout.next_obs.flatten(0, 1)).view_as(rollout.rewards)
    if detach:
        v_next = v_next.detach()
    return rollout.rewards + gamma * (~rollout.terminated).to(v_next.dtype) * v_next


def fit_td0(
    value: ValueNet,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    gamma: float,
    steps: int,
    *,
    semi_gradient: bool = True,
) -> list[float]:
    r"""``steps`` full-batch steps on :math:`\frac1n \sum_t \tfrac12 (y_t - V_\phi(s_t))^2` with TD(0) targets.

    Returns the loss after each step.
    """
    check_positive("steps", steps, integer=True)
    check_type("rollout", rollout, Rollout)
    check_bool("semi_gradient", semi_gradient)
    obs = rollout.obs.flatten(0, 1)
    losses = []
    for _ in range(steps):
        target = td_targets(value, rollout, gamma, detach=semi_gradient).flatten()
        loss = value_loss(value(obs), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def binned_means(prediction: torch.Tensor, target: torch.Tensor, bins: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Calibration of a predictor of a mean: sort by prediction into ``bins`` equal-count bins and
    return each bin's mean prediction and mean target, both ``(bins,)``.

    A value function predicts the *expected* return, so single returns scatter
    around it; the bin means should lie near the diagonal (notebook 04).
    """
    check_positive("bins", bins, integer=True)
    if prediction.shape != target.shape or prediction.ndim != 1:
        raise ValueError(
            f"prediction and target must be 1-D of the same shape, got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    if prediction.numel() < bins:
        raise ValueError(f"need at least bins={bins} points, got {prediction.numel()}")
    order = torch.argsort(prediction)
    groups = torch.tensor_split(order, bins)
    return (torch.stack([prediction[g].mean() for g in groups]), torch.stack([target[g].mean() for g in groups]))
