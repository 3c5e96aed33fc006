"""Value and Huber losses three ways (SymPy, autograd, finite differences), the value derivations, and errors."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.derivations import value as derive
from course_lib.rl.losses import huber_loss, value_loss

vec = st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=50, deadline=None)
@given(vec, vec, st.floats(-10, 10, allow_nan=False))
def test_value_loss_gradient_three_ways(phi, s, y):
    phi_s, s_s, _, _, y_s = derive.linear_value(3)
    f = sp.lambdify([list(phi_s), list(s_s), y_s], [sp.diff(derive.value_loss(phi_s, s_s, y_s), p) for p in phi_s])
    sym = np.array(f(phi, s, y), dtype=float)
    w = torch.tensor(phi, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(s, dtype=torch.float64)
    loss = lambda: value_loss((w @ x).view(1), torch.tensor([y], dtype=torch.float64))  # noqa: E731
    auto = torch.autograd.grad(loss(), w)[0].numpy()
    eps, fd = 1e-6, np.zeros(3)
    with torch.no_grad():
        for i in range(3):
            w[i] += eps
            up = loss().item()
            w[i] -= 2 * eps
            down = loss().item()
            w[i] += eps
            fd[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(auto, sym, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fd, sym, rtol=1e-5, atol=1e-5)


@settings(max_examples=80, deadline=None)
@given(st.floats(-5, 5, allow_nan=False).filter(lambda v: abs(abs(v) - 1.5) > 1e-3), st.floats(0.5, 2.5))
def test_huber_gradient_three_ways(x, kappa):
    h = derive.huber(sp.Float(kappa))
    sym = float(sp.diff(h, derive.x).subs(derive.x, x))
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    if abs(abs(x) - kappa) < 1e-4:
        return  # the kink: one-sided derivatives agree (both kappa), finite differences straddle it
    auto = torch.autograd.grad(huber_loss(xt, torch.zeros(1, dtype=torch.float64), kappa), xt)[0].item()
    eps = 1e-6
    fd = (
        huber_loss(xt.detach() + eps, torch.zeros(1, dtype=torch.float64), kappa)
        - huber_loss(xt.detach() - eps, torch.zeros(1, dtype=torch.float64), kappa)
    ).item() / (2 * eps)
    assert auto == pytest.approx(sym, abs=1e-9) and fd == pytest.approx(sym, abs=1e-5)
    assert sym == pytest.approx(np.clip(x, -kappa, kappa))


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        value_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(TypeError, match="target must be a floating-point torch.Tensor"):
        huber_loss(torch.zeros(3), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="kappa must be > 0"):
        huber_loss(torch.zeros(3), torch.zeros(3), kappa=0.0)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_P = torch.zeros(4)
BAD_INPUTS = [
    bad("value-target-column", lambda: value_loss(_P, torch.zeros(4, 1)), ValueError, "prediction", "target"),
    bad("value-target-list", lambda: value_loss(_P, [0.0] * 4), TypeError, "target"),
    bad("value-prediction-int", lambda: value_loss(torch.zeros(4, dtype=torch.long), _P), TypeError, "prediction"),
    bad("value-target-nan", lambda: value_loss(_P, torch.full((4,), float("nan"))), ValueError, "target", "finite"),
    bad("huber-kappa-zero", lambda: huber_loss(_P, _P, kappa=0.0), ValueError, "kappa"),
    bad("huber-kappa-str", lambda: huber_loss(_P, _P, kappa="1"), TypeError, "kappa"),
    bad("huber-weights-column", lambda: huber_loss(_P, _P, weights=torch.ones(4, 1)), ValueError, "weights"),
    bad("huber-weights-numpy", lambda: huber_loss(_P, _P, weights=np.ones(4)), TypeError, "weights"),
    bad("huber-target-row", lambda: huber_loss(_P, torch.zeros(1, 4)), ValueError, "target"),
    bad("huber-target-inf", lambda: huber_loss(_P, torch.full((4,), float("inf"))), ValueError, "target", "finite"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
