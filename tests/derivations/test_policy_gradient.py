"""Score functions three ways: SymPy's derivative, torch autograd on course_lib's policy heads,
and central finite differences, on random inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.derivations import policy_gradient as pg
from course_lib.rl.policies import BernoulliPolicy, CategoricalPolicy, GaussianPolicy
from tests.numeric import central_difference

D = 3
vec = st.lists(st.floats(-2, 2, allow_nan=False), min_size=D, max_size=D)


def linear_head(module: torch.nn.Module, weight: np.ndarray) -> torch.nn.Linear:
    """The module's only linear layer, set to ``weight`` with a zero bias (as in the SymPy model)."""
    lin = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    assert len(lin) == 1
    with torch.no_grad():
        lin[0].weight.copy_(torch.as_tensor(weight, dtype=torch.float64).reshape(lin[0].weight.shape))
        lin[0].bias.zero_()
    return lin[0]


@settings(max_examples=60, deadline=None)
@given(vec, vec, st.sampled_from([0, 1]))
def test_bernoulli_score_three_ways(theta, s, a):
    theta_s, s_s, a_s, log_pi = pg.bernoulli_policy(D)
    sym = np.array(pg.lambdify_grad(log_pi, list(theta_s), list(s_s) + [a_s])(theta, s + [a]), dtype=float)
    closed = (a - 1 / (1 + np.exp(-np.dot(theta, s)))) * np.array(s)
    policy = BernoulliPolicy(D, hidden=()).double()
    lin = linear_head(policy, np.array(theta))
    obs, act = torch.tensor([s], dtype=torch.float64), torch.tensor([a])
    logp = policy.log_prob(obs, act).sum()
    auto = torch.autograd.grad(logp, lin.weight)[0].flatten().numpy()
    fd = central_difference(lambda: policy.log_prob(obs, act).sum(), lin.weight.data).flatten().numpy()
    np.testing.assert_allclose(sym, closed, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(auto, sym, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=6, max_size=6),
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=2, max_size=2),
    st.integers(0, 2),
)
def test_softmax_score_three_ways(theta, s, a):
    theta_s, s_s, log_pis = pg.softmax_policy(3, 2)
    sym = np.array(pg.lambdify_grad(log_pis[a], list(theta_s), list(s_s))(theta, s), dtype=float)
    policy = CategoricalPolicy(2, 3, hidden=()).double()
    lin = linear_head(policy, np.array(theta).reshape(3, 2))
    obs, act = torch.tensor([s], dtype=torch.float64), torch.tensor([a])
    auto = torch.autograd.grad(policy.log_prob(obs, act).sum(), lin.weight)[0].flatten().numpy()
    fd = central_difference(lambda: policy.log_prob(obs, act).sum(), lin.weight.data).flatten().numpy()
    np.testing.assert_allclose(auto, sym, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=2, max_size=2),
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=2, max_size=2),
    st.floats(-1, 1),
    st.floats(-3, 3),
)
def test_gaussian_score_three_ways(w, s, ell, a):
    w_s, ell_s, s_s, a_s, log_pi = pg.gaussian_policy(2)
    sym = np.array(pg.lambdify_grad(log_pi, list(w_s) + [ell_s], list(s_s) + [a_s])(w + [ell], s + [a]), dtype=float)
    policy = GaussianPolicy(2, 1, hidden=()).double()
    lin = linear_head(policy, np.array(w))
    with torch.no_grad():
        policy.log_std.fill_(ell)
    obs, act = torch.tensor([s], dtype=torch.float64), torch.tensor([[a]], dtype=torch.float64)
    f = lambda: policy.log_prob(obs, act).sum()  # noqa: E731
    gw, gl = torch.autograd.grad(f(), [lin.weight, policy.log_std])
    auto = np.concatenate([gw.flatten().numpy(), gl.numpy()])
    fd = np.concatenate(
        [central_difference(f, lin.weight.data).flatten().numpy(), central_difference(f, policy.log_std.data).numpy()]
    )
    np.testing.assert_allclose(auto, sym, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-6)


def test_symbolic_checks_hold():
    assert pg.check_bernoulli_score()
    assert pg.check_log_derivative_trick()
    assert pg.check_softmax_score()
    assert pg.check_gaussian_score()


def test_sympy_rejects_the_seed_articles_sigmoid_gradient():
    verdict = pg.check_seed_score_is_wrong()
    assert verdict == {"equals_grad_log_pi": False, "equals_grad_pi": True}


@pytest.mark.parametrize("d", [1, 4])
def test_bernoulli_check_other_sizes(d):
    assert pg.check_bernoulli_score(d)
