"""Hard and Polyak target updates: torch in place vs SymPy's closed form vs NumPy; derivatives by finite differences."""

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

from course_lib.derivations import target as dt
from course_lib.rl.target import hard_update, make_target, polyak_update


def net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def flat(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()]).double()


@pytest.mark.parametrize("seed", range(3))
def test_polyak_recursion_equals_the_sympy_closed_form(seed):
    rng = np.random.default_rng(seed)
    n, tau = 7, float(rng.uniform(0.05, 0.9))
    online = net(seed)
    target = make_target(net(seed + 100))
    theta0_target = flat(target)
    history = []
    for _ in range(n):
        with torch.no_grad():  # the online net moves between updates
            for p in online.parameters():
                p.add_(torch.randn_like(p))
        history.append(flat(online))
        polyak_update(target, online, tau)
    # SymPy's closed form, evaluated elementwise
    t0, online_syms = dt.online_symbols(n)
    f = sp.lambdify([dt.tau, t0, *online_syms], dt.ema_closed_form(n), "numpy")
    sympy_value = f(tau, theta0_target.numpy(), *[h.numpy() for h in history])
    # NumPy, written out directly
    direct = (1 - tau) ** n * theta0_target.numpy() + sum(
        tau * (1 - tau) ** (n - 1 - k) * history[k].numpy() for k in range(n)
    )
    np.testing.assert_allclose(flat(target).numpy(), sympy_value, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(direct, sympy_value, rtol=1e-10, atol=1e-10)


def test_closed_form_weights_agree_with_finite_differences():
    """d theta'_n / d theta_k = tau (1 - tau)^(n-1-k): SymPy vs central differences of the recursion."""
    n, tau, h = 5, 0.3, 1e-6
    _, online_syms = dt.online_symbols(n)
    rec = dt.polyak_recursion(n)

    def run(thetas):
        t = 0.7
        for th in thetas:
            t = tau * th + (1 - tau) * t
        return t

    base = np.random.default_rng(0).normal(size=n)
    for k in range(n):
        e = np.eye(n)[k] * h
        fd = (run(base + e) - run(base - e)) / (2 * h)
        sym = float(sp.diff(rec, online_syms[k]).subs(dt.tau, tau))
        assert fd == pytest.approx(sym, rel=1e-7) == pytest.approx(tau * (1 - tau) ** (n - 1 - k), rel=1e-7)


def test_hard_update_and_tau_one_copy_everything():
    a, b = net(0), net(1)
    hard_update(a, b)
    assert torch.equal(flat(a), flat(b))
    c = net(2)
    polyak_update(c, b, 1.0)
    assert torch.equal(flat(c), flat(b))
    frozen = make_target(b)
    assert not any(p.requires_grad for p in frozen.parameters()) and torch.equal(flat(frozen), flat(b))


def test_bad_inputs():
    a = net(0)
    with pytest.raises(ValueError, match="tau"):
        polyak_update(a, net(1), 0.0)
    with pytest.raises(ValueError, match="tau"):
        polyak_update(a, net(1), 1.5)
    with pytest.raises(ValueError, match="same architecture"):
        hard_update(a, nn.Linear(3, 2))
    with pytest.raises(ValueError, match="differ at"):
        hard_update(a, nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)))
    with pytest.raises(TypeError, match="online"):
        polyak_update(a, {"w": 1}, 0.1)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_A, _B2 = nn.Linear(3, 2), nn.Linear(3, 4)
BAD_INPUTS = [
    bad("polyak-tau-zero", lambda: polyak_update(make_target(_A), _A, 0.0), ValueError, "tau"),
    bad("polyak-tau-above-1", lambda: polyak_update(make_target(_A), _A, 1.5), ValueError, "tau"),
    bad("polyak-tau-str", lambda: polyak_update(make_target(_A), _A, "0.01"), TypeError, "tau"),
    bad("polyak-shapes-differ", lambda: polyak_update(make_target(_B2), _A, 0.1), ValueError, "target", "online"),
    bad("hard-shapes-differ", lambda: hard_update(make_target(_B2), _A), ValueError, "target", "online"),
    bad("polyak-not-module", lambda: polyak_update({"w": torch.zeros(2)}, _A, 0.1), TypeError, "target"),
    bad("hard-online-not-module", lambda: hard_update(make_target(_A), torch.zeros(2)), TypeError, "online"),
    bad("make-target-not-module", lambda: make_target([1, 2]), TypeError, "online"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
