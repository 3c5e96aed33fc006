"""Where tensors live: a CUDA GPU, else Apple's Metal GPU (``mps``), else the CPU."""

from __future__ import annotations

import functools
import os

import torch

__all__ = ["get_device", "mps_works"]


@functools.cache
def mps_works() -> bool:
    """Whether Apple's Metal backend (``mps``) is present *and* runs a small computation.

    ``torch.backends.mps.is_available()`` can be true on a Mac whose macOS is too
    old for some kernels, so a tiny matrix product is tried once; any error
    counts as "does not work". The answer is cached for the process.
    """
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        return False
    try:
        x = torch.ones(4, 4, device="mps")
        return bool(((x @ x).sum() == 64.0).item())
    except Exception:  # any failure at all means: do not choose mps
        return False


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Choose the device for a run.

    Args:
        device: ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), ``"mps"``, a :class:`torch.device`,
            or ``None``. ``None`` reads the ``COURSE_DEVICE`` environment variable
            and otherwise picks, in this order, a CUDA GPU when one is present,
            Apple's ``mps`` when it is present and works (:func:`mps_works`), else the CPU.

    The course's networks are small: on a laptop the CPU is the expected device,
    and every notebook is budgeted for it (``make`` sets ``COURSE_DEVICE=cpu``
    for the notebooks and tests; see the README).

    Raises:
        TypeError: ``device`` is not a str, torch.device or None.
        ValueError: ``device`` names no torch device, or one this machine lacks.
    """
    if device is None:
        device = os.environ.get("COURSE_DEVICE") or _auto()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str, torch.device or None, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device must name a torch device such as 'cpu', 'cuda' or 'mps', got {device!r}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but no CUDA GPU is available")
    if dev.type == "mps" and not mps_works():
        raise ValueError(f"device {device!r} was asked for, but Apple's mps backend is not available or does not work")
    return dev


def _auto() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if mps_works():
        return "mps"
    return "cpu"
