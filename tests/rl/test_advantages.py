"""GAE against a naive loop, its lambda limits against reward_to_go, and its errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.rl.advantages import gae
from course_lib.rl.returns import reward_to_go


def naive_gae(r, v, vn, term, trunc, gamma, lam):
    T, N = r.shape
    out = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            acc, k, discount = 0.0, t, 1.0
            while True:
                delta = r[k, i] + gamma * (0.0 if term[k, i] else vn[k, i]) - v[k, i]
                acc += discount * delta
                if term[k, i] or trunc[k, i] or k == T - 1:
                    break
                discount *= gamma * lam
                k += 1
            out[t, i] = acc
    return out


@st.composite
def rollouts(draw):
    T, N = draw(st.integers(1, 12)), draw(st.integers(1, 3))
    f = st.floats(-5, 5, allow_nan=False)
    arr = lambda el: np.array(draw(st.lists(st.lists(el, min_size=N, max_size=N), min_size=T, max_size=T)))  # noqa: E731
    return arr(f), arr(f), arr(f), arr(st.booleans()), arr(st.booleans()), draw(st.floats(0, 1)), draw(st.floats(0, 1))


@settings(max_examples=150, deadline=None)
@given(rollouts())
def test_gae_matches_naive_loop(data):
    r, v, vn, term, trunc, gamma, lam = data
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    adv, targets = gae(t(r), t(v), t(vn), torch.tensor(term), torch.tensor(trunc), gamma, lam)
    np.testing.assert_allclose(adv.numpy(), naive_gae(r, v, vn, term, trunc, gamma, lam), atol=1e-9)
    np.testing.assert_allclose(targets.numpy(), adv.numpy() + v, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(rollouts())
def test_lambda_limits(data):
    r, v, vn, term, trunc, gamma, _ = data
    # a consistent critic: inside an episode, V(s_{t+1}) is the next row's V(s_t)
    vn = vn.copy()
    inside = ~(term | trunc)[:-1]
    vn[:-1][inside] = v[1:][inside]
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    term_t, trunc_t = torch.tensor(term), torch.tensor(trunc)
    a0, _ = gae(t(r), t(v), t(vn), term_t, trunc_t, gamma, 0.0)
    delta = t(r) + gamma * (~term_t).double() * t(vn) - t(v)
    torch.testing.assert_close(a0, delta)
    a1, _ = gae(t(r), t(v), t(vn), term_t, trunc_t, gamma, 1.0)
    G = reward_to_go(t(r), term_t, trunc_t, gamma, next_values=t(vn))
    torch.testing.assert_close(a1, G - t(v))


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"gamma": 1.5}, ValueError, "gamma"),
        ({"lam": -0.2}, ValueError, "lam"),
        ({"values": torch.zeros(2)}, ValueError, "values must have the shape of rewards"),
        ({"terminated": torch.zeros(3, 2)}, TypeError, "terminated must have dtype torch.bool"),
        ({"rewards": torch.zeros(3, 2, dtype=torch.long)}, TypeError, "rewards must have a floating-point dtype"),
    ],
)
def test_bad_input(kwargs, exc, words):
    args = dict(
        rewards=torch.zeros(3, 2),
        values=torch.zeros(3, 2),
        next_values=torch.zeros(3, 2),
        terminated=torch.zeros(3, 2, dtype=torch.bool),
        truncated=torch.zeros(3, 2, dtype=torch.bool),
        gamma=0.9,
        lam=0.95,
    )
    args.update(kwargs)
    with pytest.raises(exc) as info:
        gae(**args)
    assert words in str(info.value)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_Z = torch.zeros(3, 2)
_B = torch.zeros(3, 2, dtype=torch.bool)
_N = torch.tensor([[0.0, float("nan")], [0.0, 0.0], [0.0, 0.0]])


def _gae(**change):
    kwargs = dict(rewards=_Z, values=_Z, next_values=_Z, terminated=_B, truncated=_B, gamma=0.99, lam=0.95)
    kwargs.update(change)
    return lambda: gae(**kwargs)


BAD_INPUTS = [
    bad("nan-rewards", _gae(rewards=_N), ValueError, "rewards", "finite"),
    bad("inf-values", _gae(values=_N.nan_to_num(nan=float("inf"))), ValueError, "values", "finite"),
    bad("nan-next-values", _gae(next_values=_N), ValueError, "next_values", "finite"),
    bad(
        "empty-rollout",
        _gae(rewards=_Z[:0], values=_Z[:0], next_values=_Z[:0], terminated=_B[:0], truncated=_B[:0]),
        ValueError,
        "rewards",
        "empty",
    ),
    bad("values-column", _gae(values=torch.zeros(3, 1)), ValueError, "values"),
    bad("next-values-transposed", _gae(next_values=_Z.T), ValueError, "next_values"),
    bad("terminated-float", _gae(terminated=_Z), TypeError, "terminated", "bool"),
    bad("truncated-int", _gae(truncated=_B.long()), TypeError, "truncated", "bool"),
    bad("rewards-list", _gae(rewards=[[0.0, 0.0]] * 3), TypeError, "rewards"),
    bad("lam-above-1", _gae(lam=1.5), ValueError, "lam"),
    bad("gamma-string", _gae(gamma="0.99"), TypeError, "gamma"),
    bad("lam-none", _gae(lam=None), TypeError, "lam"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
