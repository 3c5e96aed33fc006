"""Numerical helpers shared by the three-way (SymPy / autograd / finite differences) tests."""

from __future__ import annotations

import torch


def central_difference(f, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """d f / d x for a scalar function of a float64 tensor, entry by entry."""
    g = torch.zeros_like(x)
    flat, gf = x.view(-1), g.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f().item()
        flat[i] = old - eps
        down = f().item()
        flat[i] = old
        gf[i] = (up - down) / (2 * eps)
    return g
