"""SymPy: the Huber TD gradient with a target network; the expected max of noisy estimates."""

import numpy as np
import pytest

from course_lib.derivations import dqn as dd


@pytest.mark.parametrize("action, obs_dim, n_actions", [(0, 2, 2), (1, 3, 2), (2, 2, 3)])
def test_td_gradient_piecewise(action, obs_dim, n_actions):
    assert dd.check_td_gradient(action, obs_dim, n_actions)


def test_expected_max_of_uniform_noise_matches_monte_carlo():
    assert dd.check_overestimation(6)
    rng = np.random.default_rng(0)
    for m in (2, 4, 8):
        a = rng.uniform(-1, 1, size=(200_000, m))
        b = rng.uniform(-1, 1, size=(200_000, m))
        single = a.max(1).mean()
        double = b[np.arange(len(b)), a.argmax(1)].mean()  # B scores the action A picked
        assert single == pytest.approx(float(dd.expected_max_uniform(m)), abs=0.01)
        assert abs(double) < 0.01  # the double estimator is unbiased here
