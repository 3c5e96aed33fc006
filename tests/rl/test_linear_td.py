"""Expected semi-gradient TD on Baird's counterexample: the update three ways; divergence and its cures."""

import numpy as np
import pytest
import sympy as sp
import torch

from course_lib.envs import baird
from course_lib.rl.linear_td import expected_td

X, P = baird.FEATURES, baird.TARGET_TRANSITIONS
ZERO = np.zeros(7)


@pytest.mark.parametrize("seed", range(3))
def test_one_update_is_the_semi_gradient_three_ways(seed):
    """w1 - w0 = -alpha * grad of 1/2 sum_s d_s (y_s - x_s w)^2 with y = gamma P X w0 held fixed."""
    rng = np.random.default_rng(seed)
    w0, d = rng.normal(size=8), rng.dirichlet(np.ones(7))
    alpha, gamma = 0.05, 0.9
    step = expected_td(X, P, ZERO, d, w0, gamma=gamma, alpha=alpha, steps=1)[1] - w0
    y = gamma * P @ X @ w0
    # SymPy
    w = sp.Matrix(sp.symbols("w0:8", real=True))
    loss = sum(sp.Rational(1, 2) * d[s] * (y[s] - (sp.Matrix(X[s]).T * w)[0]) ** 2 for s in range(7))
    sym = np.array([float(sp.diff(loss, wi).subs(dict(zip(w, w0)))) for wi in w])
    # autograd
    wt = torch.tensor(w0, requires_grad=True)
    (0.5 * (torch.tensor(d) * (torch.tensor(y) - torch.tensor(X) @ wt) ** 2).sum()).backward()
    np.testing.assert_allclose(step, -alpha * sym, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(step, -alpha * wt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_off_policy_semi_gradient_td_diverges_and_a_target_network_stops_it():
    def max_value(steps=5000, **kw):
        return np.abs(
            X @ expected_td(X, P, ZERO, baird.BEHAVIOUR_DISTRIBUTION, baird.INITIAL_WEIGHTS, steps=steps, **kw)[-1]
        ).max()

    start = np.abs(X @ baird.INITIAL_WEIGHTS).max()
    assert max_value(target_every=1) > 1e5 * start  # no target: blows up (exponentially)
    assert max_value(steps=20_000, target_every=100) < start  # a slow enough target: values shrink toward 0
    on_policy = expected_td(X, P, ZERO, baird.ON_POLICY_DISTRIBUTION, baird.INITIAL_WEIGHTS, steps=5000)[-1]
    assert abs(X[6] @ on_policy) < start  # on-policy: fine even without a target


def test_bad_inputs():
    with pytest.raises(ValueError, match="distribution"):
        expected_td(X, P, ZERO, np.ones(7), baird.INITIAL_WEIGHTS)
    with pytest.raises(ValueError, match="w0"):
        expected_td(X, P, ZERO, baird.BEHAVIOUR_DISTRIBUTION, np.ones(7))
    with pytest.raises(ValueError, match="transitions"):
        expected_td(X, P[:6], ZERO, baird.BEHAVIOUR_DISTRIBUTION, baird.INITIAL_WEIGHTS)
    with pytest.raises(ValueError, match="target_every"):
        expected_td(X, P, ZERO, baird.BEHAVIOUR_DISTRIBUTION, baird.INITIAL_WEIGHTS, target_every=0)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_X = np.eye(3)
_P = np.full((3, 3), 1 / 3)
_D = np.full(3, 1 / 3)


def _td(**change):
    kwargs = dict(features=_X, transitions=_P, rewards=np.zeros(3), distribution=_D, w0=np.zeros(3))
    kwargs.update(change)
    return lambda: expected_td(**kwargs)


BAD_INPUTS = [
    bad("transitions-shape", _td(transitions=np.eye(2)), ValueError, "transitions"),
    bad("rewards-shape", _td(rewards=np.zeros(2)), ValueError, "rewards"),
    bad("w0-shape", _td(w0=np.zeros(4)), ValueError, "w0"),
    bad("distribution-not-probability", _td(distribution=np.array([0.5, 0.5, 0.5])), ValueError, "distribution"),
    bad("features-1d", _td(features=np.zeros(3)), ValueError, "features"),
    bad("rewards-nan", _td(rewards=np.array([0.0, np.nan, 0.0])), ValueError, "rewards", "finite"),
    bad("gamma", _td(gamma=1.2), ValueError, "gamma"),
    bad("alpha-zero", _td(alpha=0.0), ValueError, "alpha"),
    bad("target-every-zero", _td(target_every=0), ValueError, "target_every"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
