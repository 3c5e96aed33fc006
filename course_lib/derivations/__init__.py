"""SymPy derivations: each formula of the course as an expression, with a check.

Notebooks show the derivations step by step and call the checks; ``tests/``
calls the same checks. Training code never imports this package.
"""

from __future__ import annotations

import sympy as sp


def is_identity(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """True when SymPy proves ``lhs - rhs`` simplifies to 0."""
    return sp.simplify(sp.expand(lhs - rhs)) == 0
