"""SymPy checks of notebook 01's closed forms, and that they are not vacuous."""

import sympy as sp

from course_lib.derivations import is_identity
from course_lib.derivations import returns as D


def test_constant_reward_closed_form():
    assert D.check_constant_reward_closed_form()


def test_closed_form_numerically():
    S = D.constant_reward_closed_form()
    val = S.subs({D.r: 2, D.gamma: sp.Rational(1, 2), D.T: 3})
    assert val == 2 * (1 + sp.Rational(1, 2) + sp.Rational(1, 4))


def test_reward_to_go_recursion_terminated_and_truncated():
    assert D.check_reward_to_go_recursion(6, bootstrap=False)
    assert D.check_reward_to_go_recursion(6, bootstrap=True)


def test_is_identity_rejects_a_wrong_formula():
    # a common slip: (1 - gamma^(T+1)) instead of (1 - gamma^T)
    wrong = D.r * (1 - D.gamma ** (D.T + 1)) / (1 - D.gamma)
    assert not is_identity(wrong.subs(D.T, 1), D.r)
