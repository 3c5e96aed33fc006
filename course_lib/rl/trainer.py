"""The contract every trainer of the course follows.

Every algorithm is trained by one function of the same shape::

    result = train_x(config, *, seed, device=None, callback=None)

* ``config`` -- a frozen dataclass of hyperparameters (``XConfig``), validated when made;
* ``seed`` -- an int; the run draws all its randomness from generators seeded by it
  (:func:`start_run`) and never touches torch's or NumPy's global generators;
* ``device`` -- ``"cpu"``, ``"cuda"`` or ``None`` (:func:`course_lib.device.get_device`);
* ``callback(result)`` -- called after each evaluation with the result so far;
  what it returns is kept in ``result.callback_log`` beside the env step.
  Its time is not counted as training time.

and returns a dataclass derived from :class:`TrainResult`, whose fields mean the
same thing in every trainer. Steps are always *environment steps*, all
environments together; ``config.eval_every`` counts them too, and the final
network is always evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, is_dataclass
from typing import Any

import numpy as np
import torch

from course_lib._validation import check_positive
from course_lib.device import get_device
from course_lib.rl.evaluation import SolveTracker, evaluate
from course_lib.seeding import torch_generator

__all__ = ["TrainResult", "RunContext", "start_run", "record_evaluation"]


@dataclass(kw_only=True)
class TrainResult:
    """What every trainer returns (algorithm-specific results add their networks).

    Attributes:
        config: the hyperparameters of the run.
        evaluations: evaluation history ``(env steps, training seconds, mean return)``
            with ``first_solved``, ``stable_after_solve`` and ``final_return``.
        train_seconds: wall-clock seconds of training, evaluations and callbacks excluded.
        episodes: ``(env steps when it ended, undiscounted return)`` of every training episode.
        log: one dict per update (or per logged update, where updates are per step) of losses
            and diagnostics, each with the env ``step`` it was taken at.
        callback_log: ``(env steps, what the callback returned)`` after each evaluation.
    """

    config: Any
    evaluations: SolveTracker
    train_seconds: float = 0.0
    episodes: list[tuple[int, float]] = field(default_factory=list)
    log: list[dict[str, float]] = field(default_factory=list)
    callback_log: list[tuple[int, Any]] = field(default_factory=list)

    def log_series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one diagnostic in :attr:`log`, e.g. ``result.log_series("approx_kl")``."""
        rows = [row for row in self.log if key in row]
        if not rows:
            known = sorted({k for row in self.log for k in row})
            raise ValueError(f"key {key!r} is not in this result's log; it has {known}")
        return np.array([row["step"] for row in rows]), np.array([row[key] for row in rows])


@dataclass(frozen=True)
class RunContext:
    """The seeded generators and device of one training run (made by :func:`start_run`).

    Attributes:
        seed: the run's seed.
        device: where networks and batches live.
        init: CPU generator for the initial weights (the same on every device).
        sample: generator on ``device`` for actions and minibatch order.
        numpy: NumPy generator (replay sampling, epsilon-greedy, tabular methods).
    """

    seed: int
    device: torch.device
    init: torch.Generator
    sample: torch.Generator
    numpy: np.random.Generator


def start_run(
    config: Any, config_type: type, *, seed: int, device: str | torch.device | None, callback: Callable | None
) -> RunContext:
    """Check a trainer's arguments and make the run's generators.

    Raises :class:`TypeError` or :class:`ValueError` naming the argument that is wrong.
    The three generators get independent seeds derived from ``seed``
    (:class:`numpy.random.SeedSequence`), so drawing more from one never shifts another.
    """
    if not (is_dataclass(config_type) and isinstance(config, config_type)):
        raise TypeError(f"config must be a {config_type.__name__}, got {type(config).__name__}")
    check_positive("seed", seed, integer=True, allow_zero=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    dev = get_device(device)
    s_init, s_sample, s_numpy = (int(x) for x in np.random.SeedSequence(int(seed)).generate_state(3))
    return RunContext(
        seed=int(seed),
        device=dev,
        init=torch_generator(s_init),
        sample=torch_generator(s_sample, dev),
        numpy=np.random.default_rng(s_numpy),
    )


def record_evaluation(
    result: TrainResult,
    act: Callable[[torch.Tensor], torch.Tensor | np.ndarray],
    steps: int,
    run: RunContext,
    callback: Callable | None,
    **make_kwargs,
) -> None:
    """Evaluate ``act`` on ``config.eval_episodes`` fresh episodes (seeds ``10_000 + seed + i``, apart from
    training), record the mean return at ``steps`` in ``result.evaluations``, then run the callback."""
    config = result.config
    score = evaluate(act, config.env_id, config.eval_episodes, seed=10_000 + run.seed, device=run.device, **make_kwargs)
    result.evaluations.record(steps, result.train_seconds, float(score.mean()))
    if callback is not None:
        result.callback_log.append((steps, callback(result)))
