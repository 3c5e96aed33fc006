"""Argument checks shared by the package: clear errors instead of deep tracebacks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


def as_tensor(name: str, x: Any, kind: str) -> torch.Tensor:
    """Return ``x`` as a tensor, checking that its dtype is of ``kind``.

    ``kind`` is ``"float"`` (floating point) or ``"bool"``. NumPy arrays and
    tensors are accepted; anything else raises :class:`TypeError` naming ``name``.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    if kind == "float" and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if kind == "bool" and x.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool, got {x.dtype}")
    return x


def check_probability(name: str, value: Any, *, low_open: bool = False, high_open: bool = False) -> float:
    """Check that ``value`` is a real number in [0, 1] (ends optionally open)."""
    check_real(name, value)
    lo_ok = value > 0 if low_open else value >= 0
    hi_ok = value < 1 if high_open else value <= 1
    if not (lo_ok and hi_ok):
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo}0, 1{hi}, got {value!r}")
    return float(value)


def check_real(name: str, value: Any) -> float:
    """Check that ``value`` is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> Any:
    """Check that ``value`` is a positive (or non-negative) number, optionally an int."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    else:
        check_real(name, value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_hidden(name: str, value: Any) -> tuple[int, ...]:
    """Check a tuple of hidden-layer widths (positive ints)."""
    if not isinstance(value, tuple) or not all(
        isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h > 0 for h in value
    ):
        raise ValueError(f"{name} must be a tuple of positive ints, got {value!r}")
    return value
