"""course_lib.rl.returns against naive Python loops, plus its error messages."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.rl.returns import discounted_return, reward_to_go


def naive_reward_to_go(rewards, terminated, truncated, gamma, next_values):
    """Episode by episode, straight from the definition G_t = sum_k gamma^(k-t) r_k (+ bootstrap)."""
    T, N = len(rewards), len(rewards[0])
    out = [[0.0] * N for _ in range(T)]
    for i in range(N):
        start = 0
        for end in range(T):
            ends_here = terminated[end][i] or truncated[end][i] or end == T - 1
            if not ends_here:
                continue
            boot = 0.0 if terminated[end][i] else next_values[end][i]
            for t in range(start, end + 1):
                g = sum(gamma ** (k - t) * rewards[k][i] for k in range(t, end + 1))
                out[t][i] = g + gamma ** (end + 1 - t) * boot
            start = end + 1
    return out


@st.composite
def trajectories(draw):
    T = draw(st.integers(1, 25))
    N = draw(st.integers(1, 4))
    floats = st.floats(-10, 10, allow_nan=False)
    rewards = draw(st.lists(st.lists(floats, min_size=N, max_size=N), min_size=T, max_size=T))
    flags = st.lists(st.lists(st.booleans(), min_size=N, max_size=N), min_size=T, max_size=T)
    terminated, truncated = draw(flags), draw(flags)
    next_values = draw(st.lists(st.lists(floats, min_size=N, max_size=N), min_size=T, max_size=T))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]) | st.floats(0, 1))
    return rewards, terminated, truncated, next_values, gamma


@settings(max_examples=200, deadline=None)
@given(trajectories())
def test_reward_to_go_matches_naive_loop_with_truncation(data):
    rewards, terminated, truncated, next_values, gamma = data
    got = reward_to_go(
        torch.tensor(rewards, dtype=torch.float64),
        torch.tensor(terminated),
        torch.tensor(truncated),
        gamma,
        next_values=torch.tensor(next_values, dtype=torch.float64),
    )
    want = naive_reward_to_go(rewards, terminated, truncated, gamma, next_values)
    np.testing.assert_allclose(got.numpy(), np.array(want), rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(trajectories())
def test_reward_to_go_without_values_bootstraps_from_zero(data):
    rewards, terminated, truncated, _, gamma = data
    zeros = [[0.0] * len(rewards[0]) for _ in rewards]
    got = reward_to_go(
        torch.tensor(rewards, dtype=torch.float64), torch.tensor(terminated), torch.tensor(truncated), gamma
    )
    want = naive_reward_to_go(rewards, terminated, truncated, gamma, zeros)
    np.testing.assert_allclose(got.numpy(), np.array(want), atol=1e-9)


def test_truncation_bootstraps_and_termination_does_not():
    r = torch.ones(3)
    no = torch.zeros(3, dtype=torch.bool)
    end = torch.tensor([False, False, True])
    v = torch.full((3,), 10.0)
    g_term = reward_to_go(r, end, no, 0.5, next_values=v)
    g_trunc = reward_to_go(r, no, end, 0.5, next_values=v)
    assert g_term.tolist() == [1.75, 1.5, 1.0]
    assert g_trunc.tolist() == [1.75 + 0.125 * 10, 1.5 + 0.25 * 10, 1.0 + 0.5 * 10]
    # terminated and truncated together: termination wins
    assert reward_to_go(r, end, end, 0.5, next_values=v).tolist() == g_term.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=30),
    st.floats(0, 1),
    st.integers(0, 30),
)
def test_discounted_return_matches_loop_and_respects_mask(rewards, gamma, valid):
    want = sum(gamma**t * x for t, x in enumerate(rewards[:valid]))
    mask = torch.arange(len(rewards)) < valid
    got = discounted_return(torch.tensor(rewards, dtype=torch.float64), gamma, mask=mask)
    assert math.isclose(got.item(), want, rel_tol=1e-9, abs_tol=1e-9)


def test_discounted_return_is_batched_and_equals_reward_to_go_at_start():
    rewards = torch.randn(5, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    flags = torch.zeros(12, 5, dtype=torch.bool)
    flags[-1] = True
    g = reward_to_go(rewards.T, flags, torch.zeros_like(flags), 0.9)
    torch.testing.assert_close(discounted_return(rewards, 0.9), g[0])


def test_constant_reward_matches_closed_form():
    T, r, gamma = 50, 2.0, 0.95
    got = discounted_return(torch.full((T,), r, dtype=torch.float64), gamma)
    assert math.isclose(got.item(), r * (1 - gamma**T) / (1 - gamma), rel_tol=1e-12)


R = torch.zeros(4, 2)
F = torch.zeros(4, 2, dtype=torch.bool)


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: reward_to_go(R, F, F, 1.5), ValueError, "gamma must lie in [0, 1]"),
        (lambda: reward_to_go(R, F, F, -0.1), ValueError, "gamma"),
        (lambda: reward_to_go(R, F, F, float("nan")), ValueError, "gamma must be finite"),
        (lambda: reward_to_go(R, F, F, "0.9"), TypeError, "gamma must be a real number"),
        (lambda: reward_to_go(R, F[:3], F, 0.9), ValueError, "terminated must have the shape of rewards"),
        (lambda: reward_to_go(R, F, F[:, :1], 0.9), ValueError, "truncated must have the shape"),
        (lambda: reward_to_go(R, F.float(), F, 0.9), TypeError, "terminated must have dtype torch.bool"),
        (lambda: reward_to_go(R.long(), F, F, 0.9), TypeError, "rewards must have a floating-point dtype"),
        (lambda: reward_to_go([[0.0]], F, F, 0.9), TypeError, "rewards must be a torch.Tensor or numpy.ndarray"),
        (lambda: reward_to_go(torch.zeros(2, 2, 2), F, F, 0.9), ValueError, "rewards must have shape (T,) or (T, N)"),
        (lambda: reward_to_go(R, F, F, 0.9, next_values=torch.zeros(3)), ValueError, "next_values must have the shape"),
        (lambda: discounted_return(torch.tensor(1.0), 0.9), ValueError, "at least one dimension"),
        (lambda: discounted_return(R, 0.9, mask=torch.ones(4, 2)), TypeError, "mask must have dtype torch.bool"),
        (lambda: discounted_return(R, 0.9, mask=F[:2]), ValueError, "mask must have the shape of rewards"),
    ],
)
def test_bad_input_gets_a_clear_error(call, exc, words):
    with pytest.raises(exc, match=None) as info:
        call()
    assert words in str(info.value)


def test_numpy_input_is_accepted():
    g = reward_to_go(np.ones(3, np.float32), np.zeros(3, bool), np.zeros(3, bool), 1.0)
    assert g.tolist() == [3.0, 2.0, 1.0]


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_R, _F = torch.ones(4, 2), torch.zeros(4, 2, dtype=torch.bool)
_NAN = torch.tensor([[1.0, float("nan")], [0.0, 0.0]])
BAD_INPUTS = [
    bad(
        "dr-nan-reward",
        lambda: discounted_return(torch.tensor([1.0, float("nan")]), 0.9),
        ValueError,
        "rewards",
        "finite",
    ),
    bad("dr-inf-reward", lambda: discounted_return(torch.tensor([float("inf")]), 0.9), ValueError, "rewards", "finite"),
    bad("dr-list", lambda: discounted_return([1.0, 2.0], 0.9), TypeError, "rewards"),
    bad("dr-int-dtype", lambda: discounted_return(torch.tensor([1, 2]), 0.9), TypeError, "rewards", "floating"),
    bad("dr-gamma-high", lambda: discounted_return(torch.ones(3), 1.01), ValueError, "gamma"),
    bad("dr-gamma-str", lambda: discounted_return(torch.ones(3), "0.9"), TypeError, "gamma"),
    bad("dr-gamma-nan", lambda: discounted_return(torch.ones(3), float("nan")), ValueError, "gamma"),
    bad("dr-scalar", lambda: discounted_return(torch.tensor(1.0), 0.9), ValueError, "rewards"),
    bad("dr-empty", lambda: discounted_return(torch.ones(0), 0.9), ValueError, "rewards", "empty"),
    bad(
        "dr-mask-shape",
        lambda: discounted_return(torch.ones(3), 0.9, mask=torch.ones(2, dtype=torch.bool)),
        ValueError,
        "mask",
    ),
    bad("dr-mask-float", lambda: discounted_return(torch.ones(3), 0.9, mask=torch.ones(3)), TypeError, "mask"),
    bad("rtg-nan-reward", lambda: reward_to_go(_NAN, _F[:2], _F[:2], 0.9), ValueError, "rewards", "finite"),
    bad(
        "rtg-nan-next-values",
        lambda: reward_to_go(_R, _F, _F, 0.9, next_values=_NAN.repeat(2, 1)),
        ValueError,
        "next_values",
        "finite",
    ),
    bad("rtg-empty", lambda: reward_to_go(torch.ones(0, 2), _F[:0], _F[:0], 0.9), ValueError, "rewards", "empty"),
    bad(
        "rtg-3d",
        lambda: reward_to_go(torch.ones(2, 2, 2), _F[:2, None].expand(2, 2, 2), _F[:2, None].expand(2, 2, 2), 0.9),
        ValueError,
        "rewards",
        "(T,) or (T, N)",
    ),
    bad("rtg-terminated-float", lambda: reward_to_go(_R, torch.zeros(4, 2), _F, 0.9), TypeError, "terminated", "bool"),
    bad("rtg-truncated-shape", lambda: reward_to_go(_R, _F, _F[:, :1], 0.9), ValueError, "truncated"),
    bad("rtg-terminated-transposed", lambda: reward_to_go(_R, _F.T, _F, 0.9), ValueError, "terminated"),
    bad(
        "rtg-next-values-shape",
        lambda: reward_to_go(_R, _F, _F, 0.9, next_values=torch.ones(4, 1)),
        ValueError,
        "next_values",
    ),
    bad("rtg-gamma-negative", lambda: reward_to_go(_R, _F, _F, -0.1), ValueError, "gamma"),
    bad("rtg-gamma-bool", lambda: reward_to_go(_R, _F, _F, True), TypeError, "gamma"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
