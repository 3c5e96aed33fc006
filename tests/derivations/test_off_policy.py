"""SymPy derivations of the off-policy chapter (course_lib.derivations.off_policy): the squashed Gaussian's density
and its stable log-Jacobian, and the deterministic policy gradient's chain rule. The three-way checks of the losses
built on them (SymPy, autograd, finite differences) are in tests/rl/test_off_policy.py, beside the code they test."""

from course_lib.derivations import off_policy as dop


def test_squashed_density_derivations():
    assert dop.check_squashed_density()
    assert dop.check_stable_log_jacobian()


def test_dpg_chain_rule_symbolically():
    assert dop.check_dpg_chain_rule(2)
    assert dop.check_dpg_chain_rule(3)
