r"""Expected semi-gradient TD(0) with linear features, with or without a target network (notebook ``07``).

With features :math:`X` (states × features), a state distribution :math:`d`, the
target policy's transitions :math:`P_\pi` and rewards :math:`r`, one *expected*
update (all states at once, weighted by :math:`d`) is

.. math::

    w \leftarrow w + \alpha\, X^\top D\big(r + \gamma P_\pi X w' - X w\big), \qquad D = \mathrm{diag}(d),

where :math:`w' = w` without a target network, or a copy of :math:`w` refreshed
every ``target_every`` updates. Using expectations removes sampling noise, so
what is left (divergence or not) comes from the triad of function
approximation, bootstrapping and an off-policy :math:`d`.
"""

from __future__ import annotations

import numpy as np

from course_lib._validation import as_float_array, check_positive, check_probability

__all__ = ["expected_td"]


def expected_td(
    features: np.ndarray,
    transitions: np.ndarray,
    rewards: np.ndarray,
    distribution: np.ndarray,
    w0: np.ndarray,
    *,
    gamma: float = 0.99,
    alpha: float = 0.01,
    steps: int = 1000,
    target_every: int = 1,
) -> np.ndarray:
    """Run ``steps`` expected semi-gradient TD(0) updates; return the weights after each, ``(steps + 1, n_features)``.

    ``target_every=1`` bootstraps from the current weights (no target network).
    """
    X = as_float_array("features", features)
    if X.ndim != 2:
        raise ValueError(f"features must have shape (n_states, n_features), got {X.shape}")
    n_states, n_features = X.shape
    if np.shape(transitions) != (n_states, n_states):
        raise ValueError(f"transitions must have shape ({n_states}, {n_states}), got {np.shape(transitions)}")
    for name, v, size in (
        ("rewards", rewards, n_states),
        ("distribution", distribution, n_states),
        ("w0", w0, n_features),
    ):
        if np.shape(v) != (size,):
            raise ValueError(f"{name} must have shape ({size},), got {np.shape(v)}")
    for name, v in (("transitions", transitions), ("rewards", rewards), ("w0", w0)):
        as_float_array(name, v)
    if not np.isclose(np.sum(distribution), 1.0) or np.min(distribution) < 0:
        raise ValueError("distribution must be a probability vector")
    check_probability("gamma", gamma)
    check_positive("alpha", alpha)
    check_positive("steps", steps, integer=True)
    check_positive("target_every", target_every, integer=True)
    D = np.asarray(distribution, dtype=float)
    w = np.asarray(w0, dtype=float).copy()
    w_target = w.copy()
    history = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if t % target_every == 0:
                w_target = w.copy()
            td_error = rewards + gamma * transitions @ (X @ w_target) - X @ w
            w = w + alpha * X.T @ (D * td_error)
            history.append(w.copy())
    return np.array(history)
