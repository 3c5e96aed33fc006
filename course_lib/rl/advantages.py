r"""Generalised advantage estimation over vectorised rollouts (notebook ``05_actor_critic``).

Schulman et al. (2016), "High-Dimensional Continuous Control Using Generalized
Advantage Estimation", eq. (16):

.. math::

    \delta_t = r_t + \gamma (1 - \text{terminated}_t)\, V(s_{t+1}) - V(s_t), \qquad
    \hat A_t = \delta_t + \gamma\lambda\, (1 - d_t)\, \hat A_{t+1},

with :math:`d_t = \text{terminated}_t \lor \text{truncated}_t`. A truncated step
still bootstraps from :math:`V(s_{t+1})`, the value of the true last observation;
only termination zeroes the future. The value targets are
:math:`\hat A_t + V(s_t)` (the :math:`\lambda`-return). SymPy shows in
:mod:`course_lib.derivations.value` that :math:`\lambda = 0` gives :math:`\delta_t` and
:math:`\lambda = 1` the Monte Carlo advantage :math:`G_t - V(s_t)`.
"""

from __future__ import annotations

import torch

from course_lib._validation import (
    as_tensor,
    check_finite,
    check_no_overflow,
    check_nonempty,
    check_probability,
    validated,
)

__all__ = ["gae"]


def _check_gae(rewards, values, next_values, terminated, truncated, gamma, lam) -> None:
    rewards = as_tensor("rewards", rewards, "float")
    values = as_tensor("values", values, "float")
    next_values = as_tensor("next_values", next_values, "float")
    terminated = as_tensor("terminated", terminated, "bool")
    truncated = as_tensor("truncated", truncated, "bool")
    check_probability("gamma", gamma)
    check_probability("lam", lam)
    if rewards.ndim not in (1, 2):
        raise ValueError(f"rewards must have shape (T,) or (T, N), got {tuple(rewards.shape)}")
    for name, t in (
        ("values", values),
        ("next_values", next_values),
        ("terminated", terminated),
        ("truncated", truncated),
    ):
        if t.shape != rewards.shape:
            raise ValueError(f"{name} must have the shape of rewards {tuple(rewards.shape)}, got {tuple(t.shape)}")
    check_nonempty("rewards", rewards, "time steps")
    for name, t in (("rewards", rewards), ("values", values), ("next_values", next_values)):
        check_finite(name, t)


@validated(_check_gae)
def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""GAE(:math:`\lambda`) advantages and :math:`\lambda`-return targets.

    Args:
        rewards: ``(T, N)`` float.
        values: ``(T, N)``, :math:`V(s_t)`.
        next_values: ``(T, N)``, :math:`V(s_{t+1})` of the *same* episode (the true
            final observation where it ended; see :class:`course_lib.rl.rollouts.Rollout`).
        terminated, truncated: ``(T, N)`` bool.
        gamma, lam: in :math:`[0, 1]`.

    Returns:
        ``(advantages, targets)``, each ``(T, N)``.

    Raises:
        ValueError: on an empty rollout, mismatched shapes, or NaN/inf rewards or values.
        TypeError: on non-float values or non-bool flags.
    """
    rewards, values, next_values = (torch.as_tensor(x) for x in (rewards, values, next_values))
    terminated, truncated = torch.as_tensor(terminated), torch.as_tensor(truncated)
    alive = (~terminated).to(rewards.dtype)
    carry = (~(terminated | truncated)).to(rewards.dtype)
    deltas = rewards + gamma * alive * next_values - values
    adv = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * carry[t] * running
        adv[t] = running
    check_no_overflow("the advantages", adv, "rewards and values")
    return adv, check_no_overflow("the targets", adv + values, "rewards and values")
