"""The argument checks every public function uses: clear errors naming the argument."""

import math

import numpy as np
import pytest
import torch

from course_lib._validation import as_tensor, check_hidden, check_positive, check_probability, check_real


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
