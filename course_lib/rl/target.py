r"""Target networks: hard copies and Polyak (soft) updates (notebook ``07_target_networks``).

Convention, stated once for the course: :math:`\tau` weights the **online** network,

.. math::  \theta' \leftarrow \tau\,\theta + (1 - \tau)\,\theta',

as in Stable-Baselines3 and CleanRL. (Spinning Up's ``polyak`` is :math:`1-\tau`.)
:math:`\tau = 1` is the hard copy of DQN (Mnih et al., 2015), made every ``C``
steps. After :math:`n` soft updates :math:`\theta'` is an exponential moving
average of the online parameters (closed form in
:mod:`course_lib.derivations.target`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from course_lib._validation import check_probability, validated

__all__ = ["hard_update", "polyak_update", "make_target"]


def _tensors(m: nn.Module) -> list[torch.Tensor]:
    """Parameters, then buffers: the tensors a target copies."""
    return [*m.parameters(), *m.buffers()]


def _check_architecture(target: nn.Module, online: nn.Module) -> None:
    for name, m in (("target", target), ("online", online)):
        if not isinstance(m, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
    targets, onlines = _tensors(target), _tensors(online)
    if len(targets) != len(onlines):
        raise ValueError(
            f"target and online must have the same architecture (make the target with make_target): "
            f"{len(targets)} vs {len(onlines)} tensors"
        )
    if any(t.shape != o.shape for t, o in zip(targets, onlines)):
        name, t, o = next((n, t, o) for n, t, o in zip(target.state_dict(), targets, onlines) if t.shape != o.shape)
        raise ValueError(f"target and online differ at {name!r}: {tuple(t.shape)} vs {tuple(o.shape)}")


def _check_polyak(target: nn.Module, online: nn.Module, tau: float) -> None:
    _check_architecture(target, online)
    check_probability("tau", tau, low_open=True)


@validated(_check_architecture)
@torch.no_grad()
def hard_update(target: nn.Module, online: nn.Module) -> None:
    r""":math:`\theta' \leftarrow \theta` (parameters and buffers)."""
    for t, o in zip(_tensors(target), _tensors(online)):
        t.copy_(o)


@validated(_check_polyak)
@torch.no_grad()
def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    r""":math:`\theta' \leftarrow \tau\,\theta + (1-\tau)\,\theta'` for every floating-point tensor, in place.

    ``tau`` in (0, 1]; integer buffers (e.g. batch-norm counters) are copied.
    """
    for t, o in zip(_tensors(target), _tensors(online)):
        if t.is_floating_point():
            t.lerp_(o, tau)  # t + tau (o - t) = tau o + (1 - tau) t
        else:
            t.copy_(o)


def make_target(online: nn.Module) -> nn.Module:
    """A frozen copy of ``online`` (no gradients), to be refreshed by the functions above."""
    if not isinstance(online, nn.Module):
        raise TypeError(f"online must be a torch.nn.Module, got {type(online).__name__}")
    target = copy.deepcopy(online)
    target.requires_grad_(False)
    return target
