"""Baird's counterexample as matrices: the features and distributions the text describes."""

import numpy as np

from course_lib.envs import baird


def test_features_give_the_values_of_sutton_and_barto_example_11_1():
    w = np.arange(1.0, 9.0)
    v = baird.FEATURES @ w
    np.testing.assert_allclose(v[:6], 2 * w[:6] + w[7])
    assert v[6] == w[6] + 2 * w[7]
    assert np.linalg.matrix_rank(baird.FEATURES) == 7  # 8 weights, 7 states: the true values (0) are representable


def test_distributions_and_transitions():
    np.testing.assert_allclose(baird.TARGET_TRANSITIONS.sum(1), 1.0)
    assert (baird.TARGET_TRANSITIONS[:, 6] == 1).all()
    assert np.isclose(baird.BEHAVIOUR_DISTRIBUTION.sum(), 1)
    assert np.isclose(baird.BEHAVIOUR_DISTRIBUTION, 1 / 7).all() and baird.ON_POLICY_DISTRIBUTION[6] == 1
    assert not baird.FEATURES.flags.writeable
