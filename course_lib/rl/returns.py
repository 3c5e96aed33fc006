r"""Discounted returns and reward-to-go (notebook ``01_rl_basics``).

Conventions used throughout the course:

* Rollouts are **time-major**: ``rewards[t, i]`` is the reward of environment
  ``i`` at step ``t`` (shape ``(T,)`` or ``(T, N)`` for ``N`` vector envs).
* ``terminated[t]`` means the episode *ended in a terminal state* at step ``t``:
  the future is worth exactly 0, so nothing is bootstrapped.
* ``truncated[t]`` means the episode was *cut off* (a time limit) at step ``t``:
  the future still had value, so the return bootstraps from
  :math:`V(s_{t+1})`, the value of the true last observation.
* If both are true, termination wins.
"""

from __future__ import annotations

import torch

from course_lib._validation import as_tensor, check_finite, check_no_overflow, check_nonempty, check_probability

__all__ = ["discounted_return", "reward_to_go"]


def discounted_return(rewards: torch.Tensor, gamma: float, *, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Discounted return of each trajectory in a batch: :math:`G_0 = \sum_{t=0}^{T-1} \gamma^t r_t`.

    Args:
        rewards: ``(..., T)`` float tensor, one trajectory per row (batch-major).
        gamma: discount factor in :math:`[0, 1]`.
        mask: optional ``(..., T)`` bool tensor, ``True`` on valid steps. Use it
            for trajectories of different lengths padded to a common ``T``.

    Returns:
        ``(...)`` tensor of returns. For a constant reward :math:`r` this is the
        closed form :math:`r (1 - \gamma^T) / (1 - \gamma)` checked with SymPy in
        :mod:`course_lib.derivations.returns`.
    """
    rewards = as_tensor("rewards", rewards, "float")
    gamma = check_probability("gamma", gamma)
    if rewards.ndim < 1:
        raise ValueError("rewards must have at least one dimension (time), got a scalar")
    check_nonempty("rewards", rewards, "time steps")
    check_finite("rewards", rewards)
    if mask is not None:
        mask = as_tensor("mask", mask, "bool")
        if mask.shape != rewards.shape:
            raise ValueError(f"mask must have the shape of rewards {tuple(rewards.shape)}, got {tuple(mask.shape)}")
        rewards = rewards * mask
    T = rewards.shape[-1]
    discounts = gamma ** torch.arange(T, dtype=rewards.dtype, device=rewards.device)
    return check_no_overflow("the return", (rewards * discounts).sum(dim=-1), "rewards")


def reward_to_go(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    next_values: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Reward-to-go :math:`G_t` of every step of a time-major rollout.

    The backward recursion (derived and checked with SymPy in notebook 01):

    .. math::

        G_t = r_t + \gamma \big[(1 - d_t)\, G_{t+1} + b_t\, V(s_{t+1})\big],

    where :math:`d_t = \text{terminated}_t \lor \text{truncated}_t` ends the
    episode, and the bootstrap flag :math:`b_t` is 1 when the episode was
    truncated (and not terminated) at :math:`t`, or at the last step of the
    rollout if the episode is still running there. A terminated episode never
    bootstraps.

    Args:
        rewards: ``(T,)`` or ``(T, N)`` float tensor.
        terminated: bool tensor of the same shape.
        truncated: bool tensor of the same shape.
        gamma: discount factor in :math:`[0, 1]`.
        next_values: optional float tensor of the same shape holding
            :math:`V(s_{t+1})`, the value of the observation *after* step ``t``
            (the true final observation when the episode ended there). Only the
            entries where :math:`b_t = 1` are read. ``None`` bootstraps from 0:
            Monte Carlo returns of the observed rewards only.

    Returns:
        Tensor of the shape of ``rewards`` holding :math:`G_t`.

    Raises:
        ValueError: on an empty rollout, mismatched shapes, or NaN/inf rewards or values.
        TypeError: on a non-float ``rewards`` or non-bool flags.
    """
    rewards = as_tensor("rewards", rewards, "float")
    terminated = as_tensor("terminated", terminated, "bool")
    truncated = as_tensor("truncated", truncated, "bool")
    gamma = check_probability("gamma", gamma)
    if rewards.ndim not in (1, 2):
        raise ValueError(f"rewards must have shape (T,) or (T, N), got {tuple(rewards.shape)}")
    check_nonempty("rewards", rewards, "time steps")
    check_finite("rewards", rewards)
    for name, x in (("terminated", terminated), ("truncated", truncated)):
        if x.shape != rewards.shape:
            raise ValueError(f"{name} must have the shape of rewards {tuple(rewards.shape)}, got {tuple(x.shape)}")
    if next_values is None:
        next_values = torch.zeros_like(rewards)
    else:
        next_values = as_tensor("next_values", next_values, "float")
        if next_values.shape != rewards.shape:
            raise ValueError(
                f"next_values must have the shape of rewards {tuple(rewards.shape)}, got {tuple(next_values.shape)}"
            )
        check_finite("next_values", next_values)
    done = terminated | truncated
    bootstrap = truncated & ~terminated
    bootstrap[-1] = ~terminated[-1]  # the rollout's cut is a truncation too
    continues = (~done).to(rewards.dtype)
    boot_value = torch.where(bootstrap, next_values.to(rewards.dtype), torch.zeros_like(rewards))
    out = torch.empty_like(rewards)
    future = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        future = rewards[t] + gamma * (continues[t] * future + boot_value[t])
        out[t] = future
    return check_no_overflow("the reward-to-go", out, "rewards or next_values")
