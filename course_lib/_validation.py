"""Argument checks shared by the package: clear errors instead of deep tracebacks."""

from __future__ import annotations

import contextlib
import contextvars
import functools
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


def check_bool(name: str, value: Any) -> bool:
    """Check that a flag is a real ``bool`` (so that the string ``"no"`` is not taken as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__} {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the strings ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_finite(name: str, x: torch.Tensor | np.ndarray) -> None:
    """Refuse NaN or infinite entries: where a NaN can only be a bug, stop it at the door."""
    if (torch.isfinite(x) if isinstance(x, torch.Tensor) else np.isfinite(x)).all():
        return  # one pass over the data in the usual case; the details below only when something is wrong
    bad = ~torch.isfinite(x) if isinstance(x, torch.Tensor) else ~np.isfinite(x)
    if bad.any():
        n_bad = int(bad.sum())
        first = tuple(int(i) for i in np.argwhere(np.asarray(bad.cpu() if isinstance(bad, torch.Tensor) else bad))[0])
        raise ValueError(f"{name} must be finite, got {n_bad} NaN or inf entries (the first at index {first})")


def check_shapes(**named: tuple[Any, str]) -> dict[str, int]:
    """Check tensors against shapes written with named dimensions; return the sizes found.

    Each keyword is ``name=(tensor, "T N")``: the tensor's dimensions, by name. A name
    (``T``, ``B``, ``obs_dim``...) must have the same size everywhere it appears; an
    integer must match exactly; a trailing ``...`` allows any further dimensions.
    ``check_shapes(logp=(logp, "B"), adv=(adv, "B"))`` refuses ``adv`` of shape
    ``(B, 1)``, which would otherwise broadcast to ``(B, B)`` without a word.
    """
    sizes: dict[str, int] = {}
    seen_in: dict[str, str] = {}
    for name, (x, spec) in named.items():
        if not isinstance(x, (torch.Tensor, np.ndarray)):
            raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
        dims = spec.split()
        rest = bool(dims) and dims[-1] == "..."
        dims = dims[:-1] if rest else dims
        shape = tuple(x.shape)
        ok = len(shape) >= len(dims) if rest else len(shape) == len(dims)
        for dim, size in zip(dims, shape):
            if dim.isdigit():
                ok = ok and size == int(dim)
            elif dim in sizes:
                ok = ok and size == sizes[dim]
        if not ok:
            known = ", ".join(f"{d}={sizes[d]} (from {seen_in[d]})" for d in dims if d in sizes)
            where = f" where {known}" if known else ""
            written = (
                "(" + ", ".join(dims + (["..."] if rest else [])) + ("," if len(dims) == 1 and not rest else "") + ")"
            )
            raise ValueError(f"{name} must have shape {written}{where}, got {shape}")
        for dim, size in zip(dims, shape):
            if not dim.isdigit() and dim not in sizes:
                sizes[dim], seen_in[dim] = size, name
    return sizes


def check_no_overflow(name: str, out: torch.Tensor, inputs: str) -> torch.Tensor:
    """Refuse a result that came out inf/NaN: inputs near the dtype's limit or, inside a trainer's loop (which skips
    the input checks), a diverged network. A check of the result, so it runs inside :func:`trusted` too."""
    if not torch.isfinite(out).all():
        raise ValueError(
            f"{name} overflowed to inf or NaN: {inputs} are too large for {out.dtype} (rescale them or use float64), "
            "or not finite (a diverged network?)"
        )
    return out


def check_nonempty(name: str, x: torch.Tensor | np.ndarray, what: str = "entries") -> None:
    """Refuse an empty tensor or array (e.g. a rollout with no steps)."""
    if (x.size if isinstance(x, np.ndarray) else x.numel()) == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)} (no {what})")


def check_type(name: str, value: Any, types: type | tuple[type, ...], hint: str = "") -> Any:
    """Check ``isinstance(value, types)``; ``hint`` says how to make one."""
    if not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise TypeError(f"{name} must be a {names}{' ' + hint if hint else ''}, got {type(value).__name__}")
    return value


def check_spaces(trainer: str, observation_space: Any, action_space: Any, *, observation: tuple, action: tuple) -> None:
    """Refuse an environment whose (single-environment) spaces ``trainer`` cannot handle, naming those it supports."""
    for kind, space, allowed in (("observation", observation_space, observation), ("action", action_space, action)):
        if not isinstance(space, allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise ValueError(
                f"{trainer} supports {kind} spaces of type {names}; the environment has {type(space).__name__} {space}"
            )


_CHECKING = contextvars.ContextVar("course_lib_checking", default=True)


def checking() -> bool:
    """False inside :func:`trusted` (and inside ``fn.unchecked``): the per-call checks are skipped there."""
    return _CHECKING.get()


@contextlib.contextmanager
def trusted():
    """Skip the argument checks of :func:`validated` functions called inside the block.

    For a trainer's loop, after it has validated its config, environment and buffers
    once, at its boundary: the loop's inputs are its own, so checking them again at
    every step would only cost time. Checks of results (a NaN loss, an overflow) and of
    the environment's data still run. The switch is a context variable, so it covers
    the calls made in this context (this thread or task) inside the block and is
    restored on the way out, also on an error; other threads' calls are still checked.
    It is meant for the library's own loops, not for code that runs a reader's functions.
    """
    token = _CHECKING.set(False)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def validated(check):
    """Decorator: call ``check`` with the function's arguments before the function itself.

    The checks of an update function that a chapter displays live in ``check``, a named
    function beside it, so the update reads as the maths it implements. A trainer that
    has validated its config, environment and data once, at its boundary, runs its loop
    inside :func:`trusted` or calls ``fn.unchecked``, which skips the checks of ``fn``
    and of the validated functions it calls, so the checks cost nothing per step.
    Methods work too (``check`` then takes ``self`` first).
    """

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if _CHECKING.get():
                check(*args, **kwargs)
            return fn(*args, **kwargs)

        @functools.wraps(fn)
        def unchecked(*args, **kwargs):
            with trusted():
                return fn(*args, **kwargs)

        inner.unchecked = unchecked
        return inner

    return wrap


def as_float_array(name: str, x: Any, *, finite: bool = True) -> np.ndarray:
    """``x`` (a list, array or tensor of numbers) as a float NumPy array; refuses non-numbers and, if ``finite``, NaN/inf."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must hold real numbers, got {type(x).__name__} ({e})") from None
    if finite:
        check_finite(name, arr)
    return arr
