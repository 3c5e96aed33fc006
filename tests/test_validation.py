"""The argument checks every public function uses: clear errors naming the argument."""

import math

import numpy as np
import pytest
import torch

from course_lib._validation import (
    as_tensor,
    check_hidden,
    check_positive,
    check_probability,
    check_real,
    checking,
    trusted,
)


def test_as_tensor_accepts_arrays_and_tensors_and_checks_dtype():
    assert torch.equal(as_tensor("x", np.array([1.0, 2.0]), "float"), torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert as_tensor("mask", torch.tensor([True]), "bool").dtype == torch.bool
    with pytest.raises(TypeError, match="rewards must be a torch.Tensor or numpy.ndarray, got list"):
        as_tensor("rewards", [1.0], "float")
    with pytest.raises(TypeError, match="rewards must have a floating-point dtype, got torch.int64"):
        as_tensor("rewards", torch.tensor([1]), "float")
    with pytest.raises(TypeError, match="terminated must have dtype torch.bool"):
        as_tensor("terminated", torch.tensor([1.0]), "bool")


@pytest.mark.parametrize(
    "fn, args, kwargs, exc, words",
    [
        (check_real, ("lr", True), {}, TypeError, "lr must be a real number, got bool"),
        (check_real, ("lr", math.nan), {}, ValueError, "lr must be finite"),
        (check_probability, ("gamma", 1.5), {}, ValueError, r"gamma must lie in \[0, 1\]"),
        (check_probability, ("tau", 0.0), {"low_open": True}, ValueError, r"tau must lie in \(0, 1\]"),
        (check_positive, ("n", 0), {"integer": True}, ValueError, "n must be > 0"),
        (check_positive, ("n", 2.0), {"integer": True}, TypeError, "n must be an int"),
        (check_positive, ("c", -1.0), {"allow_zero": True}, ValueError, "c must be >= 0"),
        (check_hidden, ("hidden", [64]), {}, ValueError, "hidden must be a tuple of positive ints"),
        (check_hidden, ("hidden", (64, True)), {}, ValueError, "hidden must be a tuple of positive ints"),
    ],
)
def test_errors_name_the_argument(fn, args, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        fn(*args, **kwargs)


def test_good_values_pass_through():
    assert check_probability("p", 1) == 1.0 and check_real("x", np.float32(2.5)) == 2.5
    assert check_positive("n", np.int64(3), integer=True) == 3 and check_hidden("h", ()) == ()


# ---------------------------------------------------------------- the helpers added for the public boundary
import importlib  # noqa: E402
import pkgutil  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import tests  # noqa: E402
from course_lib._validation import check_bool, check_finite, check_shapes, validated  # noqa: E402
from course_lib.rl.actor_critic import ppo_policy_loss  # noqa: E402
from course_lib.rl.advantages import gae  # noqa: E402
from course_lib.rl.losses import huber_loss  # noqa: E402
from course_lib.rl.returns import discounted_return, reward_to_go  # noqa: E402
from course_lib.stats import iqm  # noqa: E402


def test_check_shapes_binds_named_dimensions_and_names_the_culprit():
    sizes = check_shapes(
        obs=(torch.zeros(5, 3), "B obs_dim"), adv=(torch.zeros(5), "B"), img=(torch.zeros(5, 2, 2), "B ...")
    )
    assert sizes == {"B": 5, "obs_dim": 3}
    with pytest.raises(ValueError, match=r"adv must have shape \(B,\) where B=5 \(from obs\), got \(5, 1\)"):
        check_shapes(obs=(torch.zeros(5, 3), "B obs_dim"), adv=(torch.zeros(5, 1), "B"))
    with pytest.raises(ValueError, match=r"q must have shape \(B, 2\)"):
        check_shapes(q=(torch.zeros(4, 3), "B 2"))
    with pytest.raises(TypeError, match="x must be a torch.Tensor or numpy.ndarray, got list"):
        check_shapes(x=([1.0], "B"))


def test_check_bool_and_check_finite():
    assert check_bool("flag", np.bool_(True)) is True
    with pytest.raises(TypeError, match="flag must be a bool"):
        check_bool("flag", "no")
    with pytest.raises(ValueError, match=r"r must be finite, got 2 NaN or inf entries \(the first at index \(1,\)\)"):
        check_finite("r", torch.tensor([0.0, float("nan"), float("inf")]))


def test_validated_checks_first_and_keeps_an_unchecked_path():
    calls = []

    def check(x):
        calls.append(x)
        if x < 0:
            raise ValueError("x must be >= 0")

    @validated(check)
    def double(x):
        """Twice x."""
        return 2 * x

    assert double(3) == 6 and calls == [3] and double.__doc__ == "Twice x."
    with pytest.raises(ValueError, match="x must be >= 0"):
        double(-1)
    assert double.unchecked(-1) == -2 and calls == [3, -1]


def test_trusted_skips_the_checks_inside_the_block_only_and_reaches_nested_calls():
    calls = []

    @validated(lambda x: calls.append(("inner", x)))
    def inner(x):
        return checking()

    @validated(lambda x: calls.append(("outer", x)))
    def outer(x):
        return inner(x)

    assert checking() and outer(1) is True and calls == [("outer", 1), ("inner", 1)]
    calls.clear()
    with trusted():
        assert not checking() and outer(2) is False and calls == []
    assert checking() and outer(3) and calls == [("outer", 3), ("inner", 3)]
    calls.clear()
    # fn.unchecked skips fn's checks and those of what it calls, and only during that call
    assert outer.unchecked(4) is False and calls == [] and checking()
    # an error inside the block still switches the checks back on
    with pytest.raises(RuntimeError, match="boom"), trusted():
        raise RuntimeError("boom")
    assert checking()
    with trusted(), trusted():  # nesting restores the state it found
        pass
    assert checking()


def test_trusted_is_per_thread():
    import threading

    seen = []
    with trusted():
        worker = threading.Thread(target=lambda: seen.append(checking()))
        worker.start()
        worker.join()
    assert seen == [True]  # another thread's calls (e.g. a reader's) are still checked


def test_at_least_150_bad_input_cases_across_the_modules():
    """Each module's test file keeps a BAD_INPUTS table; together they must cover at least 150 cases."""
    counts = {}
    for info in pkgutil.walk_packages(tests.__path__, "tests."):
        module = importlib.import_module(info.name)
        if hasattr(module, "BAD_INPUTS"):
            counts[info.name] = len(module.BAD_INPUTS)
    assert sum(counts.values()) >= 150, counts
    assert len(counts) >= 15, f"bad-input tables in only {len(counts)} modules: {sorted(counts)}"


# ---------------------------------------------------------------- properties: a documented error, or finite output
DOCUMENTED = (ValueError, TypeError)
floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5)


def arrays(shape=shapes):
    return hnp.arrays(np.float32, shape, elements=floats)


def _finite(x):
    return all(torch.isfinite(t).all() for t in (x if isinstance(x, tuple) else (x,)))


@settings(max_examples=150, deadline=None)
@given(r=arrays(), term=st.data(), gamma=st.floats(-0.5, 1.5))
def test_reward_to_go_raises_or_returns_finite_of_the_rewards_shape(r, term, gamma):
    flags = term.draw(hnp.arrays(bool, st.sampled_from([r.shape, r.shape[:1], (2, 2)])))
    try:
        out = reward_to_go(torch.from_numpy(r), torch.from_numpy(flags), torch.from_numpy(flags), gamma)
    except DOCUMENTED:
        return
    assert out.shape == r.shape and _finite(out)


@settings(max_examples=150, deadline=None)
@given(r=arrays(), v=arrays(), gamma=st.floats(0, 1), lam=st.floats(-0.2, 1.2))
def test_gae_raises_or_returns_finite_of_the_rewards_shape(r, v, gamma, lam):
    flags = torch.zeros(r.shape, dtype=torch.bool)
    try:
        adv, targets = gae(torch.from_numpy(r), torch.from_numpy(v), torch.from_numpy(v), flags, flags, gamma, lam)
    except DOCUMENTED:
        return
    assert adv.shape == targets.shape == r.shape and _finite((adv, targets))


@settings(max_examples=100, deadline=None)
@given(r=arrays(), gamma=st.floats(-0.5, 1.5))
def test_discounted_return_raises_or_returns_finite(r, gamma):
    try:
        out = discounted_return(torch.from_numpy(r), gamma)
    except DOCUMENTED:
        return
    assert out.shape == r.shape[:-1] and _finite(out)


@settings(max_examples=100, deadline=None)
@given(p=arrays(), y=arrays(), kappa=st.floats(-1, 3))
def test_huber_loss_raises_or_returns_a_finite_scalar(p, y, kappa):
    p = np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0)  # predictions are the network's; targets are checked
    try:
        out = huber_loss(torch.from_numpy(p), torch.from_numpy(y), kappa)
    except DOCUMENTED:
        return
    assert out.shape == () and _finite(out)


@settings(max_examples=100, deadline=None)
@given(
    logp=arrays(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)),
    adv=arrays(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)),
    clip=st.floats(-0.5, 1.5),
)
def test_ppo_loss_never_broadcasts(logp, adv, clip):
    logp = np.clip(np.nan_to_num(logp), -20, 0)
    adv = np.nan_to_num(adv, posinf=1e3, neginf=-1e3)
    try:
        out = ppo_policy_loss(torch.from_numpy(logp), torch.from_numpy(logp), torch.from_numpy(adv), clip)
    except DOCUMENTED:
        return
    assert logp.shape == adv.shape and logp.ndim == 1 and out.shape == ()


@settings(max_examples=100, deadline=None)
@given(x=arrays())
def test_iqm_raises_or_returns_a_finite_number(x):
    try:
        out = iqm(x)
    except DOCUMENTED:
        return
    assert np.isfinite(out)
