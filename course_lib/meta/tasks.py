r"""The sinusoid regression task family of the MAML paper (notebook ``10_meta_learning``).

Finn, Abbeel and Levine (2017), "Model-Agnostic Meta-Learning for Fast
Adaptation of Deep Networks", ICML, §5.1: each task is
:math:`y = A \sin(x - \psi)` with amplitude :math:`A \sim U[0.1, 5]`, phase
:math:`\psi \sim U[0, \pi]`, and inputs :math:`x \sim U[-5, 5]`. A learner sees
:math:`K` support points of a new task and is scored on fresh query points.

Meta-training tasks and held-out (meta-test) tasks come from separate
generators, so the two splits never share a draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_lib._validation import check_finite, check_positive, check_real, check_shapes, checking

__all__ = ["SinusoidFamily", "TaskBatch"]


@dataclass
class TaskBatch:
    """``n`` tasks with their support and query sets, as batched tensors.

    Attributes:
        amplitude, phase: ``(n,)``.
        x_support, y_support: ``(n, k_support, 1)``.
        x_query, y_query: ``(n, k_query, 1)``.
    """

    amplitude: torch.Tensor
    phase: torch.Tensor
    x_support: torch.Tensor
    y_support: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor

    def __post_init__(self) -> None:
        if not checking():  # a trainer's own draw, inside trusted()
            return
        check_shapes(
            amplitude=(self.amplitude, "n"),
            phase=(self.phase, "n"),
            x_support=(self.x_support, "n k_support d_in"),
            y_support=(self.y_support, "n k_support d_out"),
            x_query=(self.x_query, "n k_query d_in"),
            y_query=(self.y_query, "n k_query d_out"),
        )
        for name in ("x_support", "y_support", "x_query", "y_query"):
            check_finite(name, getattr(self, name))

    def __len__(self) -> int:
        return self.amplitude.shape[0]

    def to(self, device: torch.device | str) -> TaskBatch:
        return TaskBatch(
            *(
                t.to(device)
                for t in (self.amplitude, self.phase, self.x_support, self.y_support, self.x_query, self.y_query)
            )
        )


@dataclass(frozen=True)
class SinusoidFamily:
    """The task distribution; the defaults are the MAML paper's."""

    amplitude_range: tuple[float, float] = (0.1, 5.0)
    phase_range: tuple[float, float] = (0.0, math.pi)
    x_range: tuple[float, float] = (-5.0, 5.0)

    def __post_init__(self) -> None:
        for name in ("amplitude_range", "phase_range", "x_range"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise TypeError(f"{name} must be a (low, high) pair, got {value!r}")
            lo, hi = (check_real(f"{name}[{i}]", v) for i, v in enumerate(value))
            if not lo < hi:
                raise ValueError(f"{name} must be (low, high) with low < high, got {(lo, hi)}")

    def function(self, amplitude: torch.Tensor, phase: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        r""":math:`A \sin(x - \psi)`, broadcasting ``(n,)`` task parameters over ``(n, k, 1)`` inputs."""
        return amplitude.view(-1, 1, 1) * torch.sin(x - phase.view(-1, 1, 1))

    def sample(self, n_tasks: int, k_support: int, k_query: int, generator: torch.Generator) -> TaskBatch:
        """Draw ``n_tasks`` tasks and their support/query inputs with ``generator``."""
        for name, v in (("n_tasks", n_tasks), ("k_support", k_support), ("k_query", k_query)):
            check_positive(name, v, integer=True)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")

        def uniform(shape, lo_hi):
            lo, hi = lo_hi
            return lo + (hi - lo) * torch.rand(shape, generator=generator)

        amplitude = uniform((n_tasks,), self.amplitude_range)
        phase = uniform((n_tasks,), self.phase_range)
        x_s = uniform((n_tasks, k_support, 1), self.x_range)
        x_q = uniform((n_tasks, k_query, 1), self.x_range)
        return TaskBatch(
            amplitude, phase, x_s, self.function(amplitude, phase, x_s), x_q, self.function(amplitude, phase, x_q)
        )
