"""Progress bars for long loops: tqdm's, silent whenever ``TQDM_DISABLE`` is set.

tqdm's console bar honours the environment variable ``TQDM_DISABLE``, but the notebook bar that
``tqdm.auto`` picks inside Jupyter does not (tqdm 4.70): it still draws a widget, and a book page
built from such a notebook then asks a CDN for the widget scripts, which an offline build cannot
serve. :func:`progress_bar` passes the variable on, so tests, CI and ``make book`` stay silent while
``make lab`` (which clears the variable) shows the bars.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from tqdm.auto import tqdm

__all__ = ["progress_disabled", "progress_bar"]


def progress_disabled() -> bool:
    """Whether ``TQDM_DISABLE`` asks for silence (any value but empty, ``0``, ``false`` or ``no``)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def progress_bar(iterable: Iterable | None = None, **kwargs) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, disabled when :func:`progress_disabled` (unless ``disable`` is given)."""
    kwargs.setdefault("disable", progress_disabled())
    return tqdm(iterable, **kwargs)
