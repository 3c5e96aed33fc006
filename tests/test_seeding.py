"""seed_everything: the one function that seeds the global generators, on the reader's request."""

import numpy as np
import pytest
import torch

from course_lib import seed_everything


def test_seed_everything_is_reproducible_and_returns_generators():
    a = seed_everything(7)
    x1, n1, t1 = torch.rand(3), a.numpy.random(3), torch.rand(3, generator=a.torch)
    b = seed_everything(7)
    x2, n2, t2 = torch.rand(3), b.numpy.random(3), torch.rand(3, generator=b.torch)
    assert torch.equal(x1, x2) and np.array_equal(n1, n2) and torch.equal(t1, t2)
    assert a.env_seeds(4) == b.env_seeds(4) and len(set(a.env_seeds(4))) == 4
    assert not np.array_equal(seed_everything(8).numpy.random(3), n1)


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seed(bad, exc):
    with pytest.raises(exc, match="seed must"):
        seed_everything(bad)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad("seed-str", lambda: seed_everything("0"), TypeError, "seed"),
    bad("seed-negative", lambda: seed_everything(-3), ValueError, "seed"),
    bad("seed-bool", lambda: seed_everything(True), TypeError, "seed"),
    bad("env-seeds-zero", lambda: seed_everything(0).env_seeds(0), ValueError, "n"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_torch_generator_is_a_local_stream_that_leaves_the_global_one_alone():
    from course_lib.seeding import torch_generator

    state = torch.random.get_rng_state()
    a, b = torch_generator(5), torch_generator(5)
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    assert not torch.equal(torch.rand(4, generator=torch_generator(5)), torch.rand(4, generator=torch_generator(6)))
    assert torch.equal(
        torch.rand(3, generator=torch_generator(9)), torch.rand(3, generator=torch.Generator().manual_seed(9))
    )
    assert torch_generator(np.int64(2), "cpu").device.type == "cpu"
    assert torch.equal(torch.random.get_rng_state(), state)  # the reader's global generator is untouched


@pytest.mark.parametrize(
    "bad, exc, words",
    [(-1, ValueError, r"seed must lie in \[0, 2\*\*64\), got -1"), (1.5, TypeError, "seed must be an int, got float"),
     (True, TypeError, "seed must be an int, got bool"), (2**64, ValueError, "seed must lie in")],
)  # fmt: skip
def test_torch_generator_refuses_bad_seeds(bad, exc, words):
    from course_lib.seeding import torch_generator

    with pytest.raises(exc, match=words):
        torch_generator(bad)
