"""The sinusoid task family: ranges, shapes, reproducibility, independent splits, clear errors."""

import math

import pytest
import torch

from course_lib.meta.tasks import SinusoidFamily


def test_ranges_shapes_and_labels():
    fam = SinusoidFamily()
    b = fam.sample(1000, 10, 7, torch.Generator().manual_seed(0))
    assert b.x_support.shape == (1000, 10, 1) and b.y_query.shape == (1000, 7, 1) and len(b) == 1000
    assert 0.1 <= b.amplitude.min() and b.amplitude.max() <= 5.0
    assert 0.0 <= b.phase.min() and b.phase.max() <= math.pi
    assert -5 <= b.x_support.min() and b.x_query.max() <= 5
    i = 17
    want = b.amplitude[i] * torch.sin(b.x_support[i] - b.phase[i])
    torch.testing.assert_close(b.y_support[i], want)
    # roughly uniform: the mean amplitude is near 2.55
    assert abs(b.amplitude.mean().item() - 2.55) < 0.15


def test_same_generator_seed_same_tasks_and_splits_differ():
    fam = SinusoidFamily()
    a = fam.sample(5, 3, 3, torch.Generator().manual_seed(1))
    b = fam.sample(5, 3, 3, torch.Generator().manual_seed(1))
    c = fam.sample(5, 3, 3, torch.Generator().manual_seed(2))
    assert torch.equal(a.x_support, b.x_support) and not torch.equal(a.amplitude, c.amplitude)


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda f: f.sample(0, 5, 5, torch.Generator()), ValueError, "n_tasks must be > 0"),
        (lambda f: f.sample(2, 5.0, 5, torch.Generator()), TypeError, "k_support must be an int"),
        (lambda f: f.sample(2, 5, 5, 0), TypeError, "generator must be a torch.Generator"),
        (lambda f: SinusoidFamily(amplitude_range=(5.0, 0.1)), ValueError, "amplitude_range must be (low, high)"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc) as info:
        call(SinusoidFamily())
    assert words in str(info.value)


# ---------------------------------------------------------------- table of bad inputs, refused with the argument named
from course_lib.meta.tasks import TaskBatch  # noqa: E402
from tests.bad_inputs import bad, refused  # noqa: E402

_G = torch.Generator().manual_seed(0)
_T = SinusoidFamily().sample(2, 3, 4, torch.Generator().manual_seed(0))
BAD_INPUTS = [
    bad("family-range-reversed", lambda: SinusoidFamily(amplitude_range=(5.0, 0.1)), ValueError, "amplitude_range"),
    bad("family-range-nan", lambda: SinusoidFamily(x_range=(float("nan"), 1.0)), ValueError, "x_range"),
    bad("family-range-scalar", lambda: SinusoidFamily(phase_range=3.14), TypeError, "phase_range"),
    bad("sample-n-zero", lambda: SinusoidFamily().sample(0, 3, 3, _G), ValueError, "n_tasks"),
    bad("sample-generator", lambda: SinusoidFamily().sample(2, 3, 3, 0), TypeError, "generator"),
    bad(
        "batch-y-support-shape",
        lambda: TaskBatch(_T.amplitude, _T.phase, _T.x_support, _T.y_query, _T.x_query, _T.y_query),
        ValueError,
        "y_support",
    ),
    bad(
        "batch-phase-short",
        lambda: TaskBatch(_T.amplitude, _T.phase[:1], _T.x_support, _T.y_support, _T.x_query, _T.y_query),
        ValueError,
        "phase",
    ),
    bad(
        "batch-x-query-nan",
        lambda: TaskBatch(
            _T.amplitude, _T.phase, _T.x_support, _T.y_support, torch.full_like(_T.x_query, float("nan")), _T.y_query
        ),
        ValueError,
        "x_query",
        "finite",
    ),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_table_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
