"""Where tensors live: CUDA when present, otherwise the CPU."""

from __future__ import annotations

import os

import torch


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Choose the device for a run.

    Args:
        device: ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), a :class:`torch.device`,
            or ``None``. ``None`` reads the ``COURSE_DEVICE`` environment variable
            and otherwise picks CUDA when a GPU is present, else the CPU.

    The course's networks are small: on a laptop the CPU is the expected device,
    and every notebook is budgeted for it.
    """
    if device is None:
        device = os.environ.get("COURSE_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str, torch.device or None, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but no CUDA GPU is available")
    return dev
