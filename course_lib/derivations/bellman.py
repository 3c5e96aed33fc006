r"""The Bellman expectation equation of a small MDP, solved exactly (notebook ``02``).

For a fixed policy :math:`\pi`, :math:`V^\pi = R^\pi + \gamma P^\pi V^\pi`, i.e.
:math:`(I - \gamma P^\pi)\, V^\pi = R^\pi`: a linear system that SymPy solves in
exact rational arithmetic.

MDPs here use Gymnasium's toy-text model format: ``P[s][a]`` is a list of
``(probability, next_state, reward, terminated)``.
"""

from __future__ import annotations

import sympy as sp

#: A 3-state chain: move "left" (0) or "right" (1); reaching state 2 pays 1 and ends the episode.
#: From state 0, "right" succeeds with probability 3/4. A small MDP the notebook solves by hand.
SMALL_MDP: dict = {
    0: {0: [(1.0, 0, 0.0, False)], 1: [(0.75, 1, 0.0, False), (0.25, 0, 0.0, False)]},
    1: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 2, 1.0, True)]},
    2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
}


def _rational(x) -> sp.Rational:
    return sp.nsimplify(x, rational=True)


def bellman_system(P: dict, policy: dict, gamma) -> tuple[sp.Matrix, sp.Matrix]:
    r"""``(A, b)`` with :math:`A = I - \gamma P^\pi`, :math:`b = R^\pi` (terminal transitions do not bootstrap).

    Args:
        P: ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.
        policy: ``policy[s][a]`` = probability of action ``a`` in state ``s``.
        gamma: discount (number or SymPy expression).
    """
    n = len(P)
    A, b = sp.eye(n), sp.zeros(n, 1)
    g = _rational(gamma) if not isinstance(gamma, sp.Basic) else gamma
    for s in range(n):
        for a, pa in policy[s].items():
            pa = _rational(pa)
            for prob, s2, r, term in P[s][a]:
                w = pa * _rational(prob)
                b[s] += w * _rational(r)
                if not term:
                    A[s, int(s2)] -= g * w
    return A, b


def solve_bellman(P: dict, policy: dict, gamma) -> sp.Matrix:
    r"""Exact :math:`V^\pi` by solving :math:`(I - \gamma P^\pi) V = R^\pi`."""
    A, b = bellman_system(P, policy, gamma)
    return A.LUsolve(b).applyfunc(sp.simplify)
