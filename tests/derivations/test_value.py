"""SymPy checks of the value loss, the semi-gradient gap, the Huber gradient and the GAE limits."""

from course_lib.derivations import value as derive


def test_value_derivations():
    assert derive.check_value_loss_gradient()
    assert derive.check_semi_gradient_gap()
    assert derive.check_huber_gradient()
    assert derive.check_gae_limits(3) and derive.check_gae_limits(5)
