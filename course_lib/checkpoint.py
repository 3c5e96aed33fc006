"""Checkpoints: written atomically, loaded safely.

A checkpoint is a dict of state dicts and plain values. :func:`save` writes to
a temporary file in the same folder and renames it over the target, so a crash
never leaves a half-written file; :func:`load` uses ``torch.load(...,
weights_only=True)``, which refuses to unpickle arbitrary objects.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Any

import torch

__all__ = ["save", "load"]


def save(payload: dict[str, Any], path: str | os.PathLike) -> pathlib.Path:
    """Write ``payload`` (tensors, state dicts, numbers, strings, lists, dicts) to ``path`` atomically."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save`, with ``weights_only=True``."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict):
        raise ValueError(f"{path} does not hold a checkpoint dict")
    return payload
