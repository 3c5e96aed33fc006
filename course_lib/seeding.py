"""One call that makes a run reproducible.

Randomness in ``course_lib`` never comes from hidden global state: functions take
a :class:`numpy.random.Generator` or :class:`torch.Generator` (or a seed) as an
argument, and trainers make their own generators from their ``seed``
(:func:`course_lib.rl.trainer.start_run`). :func:`seed_everything` is the one
function that seeds the global generators, for the reader's own code in a
notebook (e.g. a network built without a ``generator``); nothing in the library
calls it. It also returns fresh generators to pass on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from course_lib._validation import check_positive


@dataclass(frozen=True)
class Generators:
    """The generators of one seeded run.

    Attributes:
        seed: the seed everything was derived from.
        numpy: NumPy generator for sampling in NumPy code (replay, tasks).
        torch: torch generator (CPU) for ``torch.randn(..., generator=...)``.
    """

    seed: int
    numpy: np.random.Generator
    torch: torch.Generator

    def env_seeds(self, n: int) -> list[int]:
        """``n`` distinct seeds for ``env.reset(seed=...)``, derived from :attr:`seed`."""
        check_positive("n", n, integer=True)
        return [int(s) for s in np.random.SeedSequence(self.seed).generate_state(n)]


def seed_everything(seed: int) -> Generators:
    """Seed Python's ``random``, NumPy's and torch's global generators; return new ones.

    Args:
        seed: a non-negative int.

    Returns:
        :class:`Generators` seeded from ``seed`` (independent of the global state).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return Generators(
        seed=seed,
        numpy=np.random.default_rng(seed),
        torch=torch_generator(seed),
    )


def torch_generator(seed: int, device: str | torch.device | None = None) -> torch.Generator:
    """A new :class:`torch.Generator` on ``device`` (default: the CPU) seeded with ``seed``.

    The library's one way to make a torch random stream: a local generator to pass as
    ``generator=``, so the reader's global generator (``torch.manual_seed``) is never touched.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must lie in [0, 2**64), got {seed}")
    return torch.Generator(device=device if device is not None else "cpu").manual_seed(int(seed))
