r"""The MAML meta-gradient, derived in SymPy for linear regression (notebook ``10_meta_learning``).

Model :math:`f_\theta(x) = w x + b`, :math:`\theta = (w, b)`, squared loss on a
support set :math:`L_s` and a query set :math:`L_q`. One inner step
:math:`\theta' = \theta - \alpha \nabla L_s(\theta)`. By the chain rule,

.. math::

    \nabla_\theta\, L_q(\theta') = \Big(\frac{\partial \theta'}{\partial \theta}\Big)^{\!\top} \nabla L_q(\theta')
    = \big(I - \alpha \nabla^2 L_s(\theta)\big)\, \nabla L_q(\theta'),

since :math:`\nabla^2 L_s` is symmetric. First-order MAML keeps only
:math:`\nabla L_q(\theta')`: it drops :math:`-\alpha \nabla^2 L_s(\theta) \nabla L_q(\theta')`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from course_lib.derivations import is_identity

w, b, alpha = sp.symbols("w b alpha", real=True)
THETA = sp.Matrix([w, b])


def squared_loss(xs: Sequence, ys: Sequence, theta: sp.Matrix = THETA) -> sp.Expr:
    r""":math:`\frac1n \sum_i (w x_i + b - y_i)^2`."""
    n = len(xs)
    return sum((theta[0] * x + theta[1] - y) ** 2 for x, y in zip(xs, ys)) / n


def meta_gradient_terms(xs, ys, xq, yq) -> dict[str, sp.Matrix]:
    """The pieces of the derivation for support ``(xs, ys)`` and query ``(xq, yq)``.

    Returns a dict with ``adapted`` (:math:`\\theta'`), ``direct`` (SymPy's derivative of
    :math:`L_q(\\theta')` with respect to :math:`\\theta`), ``hessian`` (:math:`\\nabla^2 L_s`),
    ``formula`` (:math:`(I - \\alpha H)\\nabla L_q(\\theta')`) and ``first_order``
    (:math:`\\nabla L_q(\\theta')`).
    """
    Ls = squared_loss(xs, ys)
    grad_s = sp.Matrix([sp.diff(Ls, p) for p in THETA])
    adapted = THETA - alpha * grad_s
    meta_objective = squared_loss(xq, yq, adapted)
    direct = sp.Matrix([sp.diff(meta_objective, p) for p in THETA])
    hessian = sp.hessian(Ls, THETA)
    t1, t2 = sp.symbols("t1 t2", real=True)
    grad_q = sp.Matrix([sp.diff(squared_loss(xq, yq, sp.Matrix([t1, t2])), t) for t in (t1, t2)])
    grad_q_at_adapted = grad_q.subs({t1: adapted[0], t2: adapted[1]}, simultaneous=True)
    formula = (sp.eye(2) - alpha * hessian) * grad_q_at_adapted
    return {
        "adapted": adapted,
        "direct": direct,
        "hessian": hessian,
        "formula": formula,
        "first_order": grad_q_at_adapted,
    }


def check_meta_gradient_formula(xs, ys, xq, yq) -> bool:
    r"""SymPy's direct derivative equals :math:`(I - \alpha \nabla^2 L_s)\nabla L_q(\theta')`, for symbolic :math:`w, b, \alpha`."""
    t = meta_gradient_terms(xs, ys, xq, yq)
    return all(is_identity(d, f) for d, f in zip(t["direct"], t["formula"]))


def check_first_order_drops_the_hessian_term(xs, ys, xq, yq) -> bool:
    r"""direct − first_order equals :math:`-\alpha \nabla^2 L_s \nabla L_q(\theta')` exactly."""
    t = meta_gradient_terms(xs, ys, xq, yq)
    gap = t["direct"] - t["first_order"]
    want = -alpha * t["hessian"] * t["first_order"]
    return all(is_identity(g, h) for g, h in zip(gap, want))


def evaluate(expr: sp.Matrix, w_value: float, b_value: float, alpha_value: float) -> list[float]:
    """Numbers from a derivation term at a point."""
    return [float(e.subs({w: w_value, b: b_value, alpha: alpha_value})) for e in expr]
