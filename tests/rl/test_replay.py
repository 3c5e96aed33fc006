"""Ring buffer, sum tree, prioritised replay and n-step transitions."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from course_lib.rl.replay import NStepAccumulator, PrioritizedReplayBuffer, ReplayBuffer, SumTree


def batch(ids, obs_dim=3):
    """Transitions whose every field encodes an integer id, so order can be read back."""
    ids = np.asarray(ids)
    b = len(ids)
    return dict(
        obs=np.repeat(ids[:, None], obs_dim, 1).astype(np.float32),
        actions=ids.astype(np.int64) % 2,
        rewards=ids.astype(np.float32),
        next_obs=np.repeat(ids[:, None] + 1, obs_dim, 1).astype(np.float32),
        terminated=ids % 3 == 0,
        truncated=ids % 5 == 0,
        steps=np.ones(b, dtype=np.int64),
    )


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 20), sizes=st.lists(st.integers(1, 25), min_size=1, max_size=12))
def test_ring_keeps_exactly_the_last_capacity_items_in_order(capacity, sizes):
    buf = ReplayBuffer(capacity, (3,))
    next_id = 0
    for size in sizes:
        buf.add(**batch(np.arange(next_id, next_id + size)))
        next_id += size
    expected = np.arange(max(0, next_id - capacity), next_id)
    order = buf.ordered_indices()
    assert len(buf) == len(expected)
    np.testing.assert_array_equal(buf.rewards[order], expected)
    np.testing.assert_array_equal(buf.obs[order, 0], expected)
    np.testing.assert_array_equal(buf.next_obs[order, 2], expected + 1)
    np.testing.assert_array_equal(buf.terminated[order], expected % 3 == 0)
    assert buf.added == next_id


def test_uniform_sampling_only_returns_stored_items_and_is_reproducible():
    buf = ReplayBuffer(50, (3,))
    buf.add(**batch(np.arange(30)))
    a = buf.sample(30, np.random.default_rng(1))
    b = buf.sample(30, np.random.default_rng(1))
    assert torch.equal(a.rewards, b.rewards)
    assert torch.equal(a.obs[:, 0], a.rewards) and torch.equal(a.next_obs[:, 0], a.rewards + 1)
    assert a.obs.dtype == torch.float32 and a.actions.dtype == torch.int64 and a.terminated.dtype == torch.bool
    rng = np.random.default_rng(2)
    draws = np.concatenate([buf.sample(30, rng).rewards.long().numpy() for _ in range(150)])
    assert set(draws.tolist()) == set(range(30))  # all 30 seen, nothing empty
    counts = np.bincount(draws, minlength=30)
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ReplayBuffer(0, (3,)), "capacity"),
        (lambda: ReplayBuffer(-5, (3,)), "capacity"),
        (lambda: ReplayBuffer(10, [3]), "obs_shape"),
    ],
)
def test_bad_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_add_and_sample_inputs():
    buf = ReplayBuffer(10, (3,))
    with pytest.raises(ValueError, match="empty"):
        buf.sample(2, np.random.default_rng(0))
    good = batch(np.arange(4))
    with pytest.raises(ValueError, match="obs must have shape"):
        buf.add(**{**good, "obs": np.zeros((4, 2), np.float32)})
    with pytest.raises(ValueError, match="rewards must have shape"):
        buf.add(**{**good, "rewards": np.zeros(3, np.float32)})
    with pytest.raises(TypeError, match="terminated must have dtype bool"):
        buf.add(**{**good, "terminated": np.zeros(4)})
    with pytest.raises(TypeError, match="actions must have an integer dtype"):
        buf.add(**{**good, "actions": np.zeros(4, np.float32)})
    with pytest.raises(TypeError, match="numpy.ndarray"):
        buf.add(**{**good, "obs": [[0, 0, 0]] * 4})
    buf.add(**good)
    with pytest.raises(TypeError, match="rng"):
        buf.sample(2, 0)
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="larger than the buffer's contents"):
        buf.sample(5, np.random.default_rng(0))  # holds 4


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 40), data=st.data())
def test_sum_tree_totals_stay_consistent(capacity, data):
    tree = SumTree(capacity)
    shadow = np.zeros(capacity)
    for _ in range(data.draw(st.integers(1, 8))):
        idx = data.draw(st.lists(st.integers(0, capacity - 1), min_size=1, max_size=10))
        vals = data.draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=len(idx), max_size=len(idx)))
        tree.update(np.array(idx), np.array(vals))
        for i, v in zip(idx, vals):  # sequential semantics: the last write wins
            shadow[i] = v
        assert tree.total == pytest.approx(shadow.sum(), rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(tree.get(np.arange(capacity)), shadow)
        internal = np.arange(1, tree.leaves)
        np.testing.assert_allclose(tree.tree[internal], tree.tree[2 * internal] + tree.tree[2 * internal + 1])


def test_sum_tree_find_inverts_the_cumulative_sum():
    tree = SumTree(5)
    w = np.array([1.0, 0.0, 2.0, 3.0, 0.5])
    tree.update(np.arange(5), w)
    edges = np.cumsum(w)
    u = np.array([0.0, 0.999, 1.0, 2.5, 2.999, 3.0, 5.9, 6.4999])
    np.testing.assert_array_equal(tree.find(u), np.searchsorted(edges, u, side="right"))
    assert tree.find(np.array([tree.total]))[0] == 4  # round-off past the end lands on a real leaf
    with pytest.raises(ValueError, match="finite"):
        tree.update([0], [np.nan])
    with pytest.raises(ValueError, match="idx"):
        tree.update([5], [1.0])


def test_prioritised_sampling_matches_p_alpha():
    """Frequencies from 100k draws against P(i) = p_i^a / sum p^a with a chi-square test.

    The same test must *reject* the nearby wrong law (alpha = 1 instead of 0.6),
    so passing it is not an accident of a weak test.
    """
    rng = np.random.default_rng(0)
    n, alpha = 20, 0.6
    buf = PrioritizedReplayBuffer(32, (3,), alpha=alpha, eps=1e-9)
    buf.add(**batch(np.arange(n)))
    priorities = rng.uniform(0.05, 3.0, size=n)
    buf.update_priorities(np.arange(n), priorities)
    rng1 = np.random.default_rng(1)
    draws = np.concatenate([buf.sample(n, rng1, beta=0.5).indices.numpy() for _ in range(5000)])  # 100k draws
    counts = np.bincount(draws, minlength=n)[:n]
    law = priorities**alpha / (priorities**alpha).sum()
    assert stats.chisquare(counts, law * counts.sum()).pvalue > 1e-3
    wrong = priorities / priorities.sum()
    assert stats.chisquare(counts, wrong * counts.sum()).pvalue < 1e-12
    np.testing.assert_allclose(buf.probabilities()[:n], law, rtol=1e-6)


def test_importance_weights():
    buf = PrioritizedReplayBuffer(8, (3,), alpha=1.0, eps=1e-12)
    buf.add(**batch(np.arange(4)))
    buf.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    rng = np.random.default_rng(0)
    p = np.array([1, 2, 3, 4]) / 10
    s = buf.sample(4, rng, beta=1.0)
    raw = (4 * p[s.indices.numpy()]) ** -1.0
    np.testing.assert_allclose(s.weights.numpy(), raw / raw.max(), rtol=1e-6)
    # beta = 1: the weighted mean of any f under P equals its uniform mean (unbiased), up to the max-normalisation
    f = np.array([5.0, -1.0, 2.0, 7.0])
    idx = np.concatenate([buf.sample(4, rng, beta=1.0).indices.numpy() for _ in range(500)])
    unnorm = (4 * p[idx]) ** -1.0
    assert np.mean(unnorm * f[idx]) == pytest.approx(f.mean(), rel=0.1)
    assert torch.all(buf.sample(4, rng, beta=0.0).weights == 1)


def test_new_items_get_the_max_priority_and_bad_priorities_are_refused():
    buf = PrioritizedReplayBuffer(8, (3,), alpha=1.0, eps=1e-12)
    buf.add(**batch(np.arange(2)))
    buf.update_priorities(np.array([0, 1]), np.array([5.0, 0.1]))
    buf.add(**batch(np.array([2])))
    assert buf.tree.get([2])[0] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="NaN"):
        buf.update_priorities(np.array([0]), np.array([np.nan]))
    with pytest.raises(ValueError, match=">= 0"):
        buf.update_priorities(np.array([0]), np.array([-1.0]))
    with pytest.raises(ValueError, match="stored"):
        buf.update_priorities(np.array([7]), np.array([1.0]))
    with pytest.raises(ValueError, match="beta"):
        buf.sample(2, np.random.default_rng(0), beta=1.5)
    with pytest.raises(ValueError, match="alpha"):
        PrioritizedReplayBuffer(8, (3,), alpha=-0.1)


def test_n_step_transitions_match_a_direct_sum():
    gamma, n = 0.9, 3
    acc = NStepAccumulator(n, gamma, num_envs=1)
    # one episode of 5 steps that is truncated, then one of 2 steps that terminates
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    ends = [(False, False)] * 4 + [(False, True), (False, False), (True, False)]
    out = []
    for t, (r, (te, tr)) in enumerate(zip(rewards, ends)):
        got = acc.push(
            np.array([[t]], np.float32),
            np.array([t % 2]),
            np.array([r]),
            np.array([[t + 1]], np.float32),
            np.array([te]),
            np.array([tr]),
        )
        if got is not None:
            out += [dict(zip(got, vals)) for vals in zip(*got.values())]
    starts = [int(o["obs"][0]) for o in out]
    assert starts == [0, 1, 2, 3, 4, 5, 6]
    by_start = {int(o["obs"][0]): o for o in out}
    assert by_start[0]["rewards"] == pytest.approx(1 + 0.9 * 2 + 0.81 * 3)
    assert by_start[0]["next_obs"][0] == 3 and by_start[0]["steps"] == 3 and not by_start[0]["terminated"]
    assert by_start[3]["rewards"] == pytest.approx(4 + 0.9 * 5)  # cut short by the truncation
    assert by_start[3]["steps"] == 2 and by_start[3]["truncated"] and not by_start[3]["terminated"]
    assert by_start[3]["next_obs"][0] == 5  # bootstraps from the true final observation
    assert by_start[5]["rewards"] == pytest.approx(6 + 0.9 * 7) and by_start[5]["terminated"]
    assert by_start[6]["steps"] == 1 and by_start[6]["terminated"]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), data=st.data())
def test_n_step_with_several_envs_emits_every_transition_once(n, data):
    num_envs, T = 3, 12
    acc = NStepAccumulator(n, 0.5, num_envs)
    ends = data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=T * num_envs, max_size=T * num_envs))
    ends = np.array(ends).reshape(T, num_envs)
    seen = []
    for t in range(T):
        ids = np.array([[100 * i + t] for i in range(num_envs)], np.float32)
        got = acc.push(ids, np.zeros(num_envs, np.int64), np.ones(num_envs), ids + 1, ends[t] == 1, ends[t] == 2)
        if got is not None:
            seen += got["obs"][:, 0].tolist()
            # each n-step reward is the discounted sum of `steps` ones
            np.testing.assert_allclose(got["rewards"], (1 - 0.5 ** got["steps"]) / 0.5)
            assert (got["steps"] <= n).all()
    pending = sum(len(q) for q in acc.pending)
    assert len(seen) == len(set(seen)) and len(seen) + pending == T * num_envs


def test_autocorrelation_of_an_ar1_process_is_phi_to_the_k():
    from course_lib.rl.replay import autocorrelation

    rng = np.random.default_rng(0)
    phi, n = 0.8, 50_000
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal()
    acf = autocorrelation(x, 5)
    np.testing.assert_allclose(acf, phi ** np.arange(1, 6), atol=0.03)
    assert abs(autocorrelation(rng.normal(size=n), 1)[0]) < 4 / np.sqrt(n)  # white noise
    with pytest.raises(ValueError, match="constant"):
        autocorrelation(np.ones(100), 3)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from course_lib.rl.replay import autocorrelation  # noqa: E402
from tests.bad_inputs import bad, refused  # noqa: E402


def _filled(kind=ReplayBuffer, **kwargs):
    buf = kind(16, (3,), **kwargs)
    buf.add(**batch(np.arange(8)))
    return buf


def _add(**change):
    return lambda: ReplayBuffer(16, (3,)).add(**{**batch(np.arange(4)), **change})


_RNG = np.random.default_rng(0)
BAD_INPUTS = [
    bad("buffer-capacity-float", lambda: ReplayBuffer(10.0, (3,)), TypeError, "capacity"),
    bad("buffer-obs-shape-int", lambda: ReplayBuffer(10, 3), ValueError, "obs_shape"),
    bad("buffer-action-shape-zero", lambda: ReplayBuffer(10, (3,), action_shape=(0,)), ValueError, "action_shape"),
    bad("add-rewards-nan", _add(rewards=np.array([0, np.nan, 0, 0], np.float32)), ValueError, "rewards", "finite"),
    bad("add-obs-inf", _add(obs=np.full((4, 3), np.inf, np.float32)), ValueError, "obs", "finite"),
    bad("add-rewards-column", _add(rewards=np.zeros((4, 1), np.float32)), ValueError, "rewards"),
    bad("add-terminated-int", _add(terminated=np.zeros(4, np.int64)), TypeError, "terminated"),
    bad("add-actions-float", _add(actions=np.zeros(4, np.float32)), TypeError, "actions"),
    bad("add-steps-zero", _add(steps=np.zeros(4, np.int64)), ValueError, "steps"),
    bad("add-next-obs-list", _add(next_obs=[[0.0] * 3] * 4), TypeError, "next_obs"),
    bad("add-truncated-short", _add(truncated=np.zeros(3, bool)), ValueError, "truncated"),
    bad("sample-too-many", lambda: _filled().sample(9, _RNG), ValueError, "batch_size"),
    bad("sample-batch-zero", lambda: _filled().sample(0, _RNG), ValueError, "batch_size"),
    bad("sample-rng-int", lambda: _filled().sample(4, 0), TypeError, "rng"),
    bad("sample-rng-legacy", lambda: _filled().sample(4, np.random.RandomState(0)), TypeError, "rng"),
    bad("per-alpha-negative", lambda: PrioritizedReplayBuffer(16, (3,), alpha=-0.1), ValueError, "alpha"),
    bad("per-beta-above-1", lambda: PrioritizedReplayBuffer(16, (3,), beta=1.5), ValueError, "beta"),
    bad("per-eps-zero", lambda: PrioritizedReplayBuffer(16, (3,), eps=0.0), ValueError, "eps"),
    bad("per-sample-beta", lambda: _filled(PrioritizedReplayBuffer).sample(4, _RNG, beta=-0.5), ValueError, "beta"),
    bad(
        "per-priorities-nan",
        lambda: _filled(PrioritizedReplayBuffer).update_priorities(np.arange(2), np.array([1.0, np.nan])),
        ValueError,
        "priorities",
        "NaN",
    ),
    bad(
        "per-priorities-negative",
        lambda: _filled(PrioritizedReplayBuffer).update_priorities(np.arange(2), np.array([1.0, -1.0])),
        ValueError,
        "priorities",
    ),
    bad(
        "per-priorities-shape",
        lambda: _filled(PrioritizedReplayBuffer).update_priorities(np.arange(2), np.ones(3)),
        ValueError,
        "priorities",
    ),
    bad(
        "per-indices-out-of-range",
        lambda: _filled(PrioritizedReplayBuffer).update_priorities(np.array([0, 99]), np.ones(2)),
        ValueError,
        "indices",
    ),
    bad("sumtree-capacity-zero", lambda: SumTree(0), ValueError, "capacity"),
    bad(
        "sumtree-update-negative", lambda: SumTree(4).update(np.arange(2), np.array([1.0, -2.0])), ValueError, "values"
    ),
    bad("sumtree-update-index", lambda: SumTree(4).update(np.array([7]), np.ones(1)), ValueError, "idx"),
    bad("nstep-n-zero", lambda: NStepAccumulator(0, 0.99, 2), ValueError, "n"),
    bad("nstep-gamma", lambda: NStepAccumulator(3, 1.1, 2), ValueError, "gamma"),
    bad(
        "nstep-rewards-shape",
        lambda: NStepAccumulator(3, 0.9, 2).push(
            np.zeros((3, 3)), np.zeros(3), np.zeros(3), np.zeros((3, 3)), np.zeros(3, bool), np.zeros(3, bool)
        ),
        ValueError,
        "rewards",
    ),
    bad(
        "autocorr-max-lag-zero",
        lambda: autocorrelation(np.random.default_rng(0).normal(size=100), max_lag=0),
        ValueError,
        "max_lag",
    ),
    bad("autocorr-too-short", lambda: autocorrelation(np.ones(5), max_lag=10), ValueError, "max_lag"),
    bad("autocorr-nan", lambda: autocorrelation(np.array([0.0, np.nan] * 30), max_lag=3), ValueError, "x", "finite"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_autocorrelation_divides_by_the_number_of_pairs():
    """Review 06-E4: rho_k averages the n - k products z_t z_{t+k} of the standardised series."""
    x = np.random.default_rng(0).normal(size=50)
    z = (x - x.mean()) / x.std()
    assert np.isclose(autocorrelation(x, 3)[2], np.mean(z[:-3] * z[3:]))
    assert np.isclose(autocorrelation(x, 1)[0], np.mean(z[:-1] * z[1:]))
