"""The exact Bellman solution of a small MDP (SymPy)."""

import sympy as sp

from course_lib.derivations import bellman


def test_bellman_exact_solution_of_the_small_mdp():
    g = sp.Symbol("gamma", positive=True)
    right = {0: {1: 1}, 1: {1: 1}, 2: {0: 1}}
    V = bellman.solve_bellman(bellman.SMALL_MDP, right, g)
    assert sp.simplify(V[0] - 3 * g / (4 - g)) == 0 and V[1] == 1 and V[2] == 0
    # a policy that dithers is worth less
    dither = {0: {0: sp.Rational(1, 2), 1: sp.Rational(1, 2)}, 1: {1: 1}, 2: {0: 1}}
    V2 = bellman.solve_bellman(bellman.SMALL_MDP, dither, sp.Rational(9, 10))
    assert V2[0] < V.subs(g, sp.Rational(9, 10))[0]


def test_bellman_system_is_linear_and_its_solution_satisfies_it():
    g = sp.Rational(9, 10)
    right = {0: {1: 1}, 1: {1: 1}, 2: {0: 1}}
    A, b = bellman.bellman_system(bellman.SMALL_MDP, right, g)
    V = bellman.solve_bellman(bellman.SMALL_MDP, right, g)
    assert sp.simplify(A * V - b) == sp.zeros(*b.shape)
