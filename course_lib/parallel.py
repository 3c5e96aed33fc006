"""Run independent training runs (e.g. seeds) in worker processes.

Seeds are independent, so a machine with several cores can train them side by
side. Each worker is a fresh ``spawn`` process with one torch thread (small
networks gain nothing from more), so results do not depend on how many workers
ran them. ``COURSE_WORKERS=1`` runs everything in the calling process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

__all__ = ["run_parallel", "default_workers"]

T = TypeVar("T")


def default_workers(n_calls: int) -> int:
    """``COURSE_WORKERS`` if set, else the number of CPU cores, never more than ``n_calls``."""
    env = os.environ.get("COURSE_WORKERS")
    if env is not None:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"COURSE_WORKERS must be a positive integer, got {env!r}")
        cores = int(env)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n_calls))


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run_parallel(calls: Sequence[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Call each zero-argument callable (e.g. ``functools.partial(train_dqn, config, seed=s)``) and return the
    results in order.

    The callables must be picklable: functions defined in a module (not in a
    notebook), bound with :func:`functools.partial`.
    """
    calls = list(calls)
    if not all(callable(c) for c in calls):
        raise TypeError(
            "calls must be callables taking no arguments, e.g. functools.partial(train_dqn, config, seed=0)"
        )
    if workers is None:
        workers = default_workers(len(calls))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if workers == 1 or len(calls) <= 1:
        return [c() for c in calls]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]
