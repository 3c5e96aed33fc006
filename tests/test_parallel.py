"""run_parallel: same results as running in-process, in order; clear errors."""

import functools

import numpy as np
import pytest

from course_lib.parallel import default_workers, run_parallel


def test_parallel_results_match_serial_and_keep_order():
    calls = [functools.partial(np.random.default_rng, seed=s) for s in (3, 1, 2)]
    parallel = [g.integers(0, 10**9) for g in run_parallel(calls, workers=2)]
    serial = [g.integers(0, 10**9) for g in run_parallel(calls, workers=1)]
    assert parallel == serial == [np.random.default_rng(s).integers(0, 10**9) for s in (3, 1, 2)]


def test_workers_and_errors(monkeypatch):
    monkeypatch.setenv("COURSE_WORKERS", "3")
    assert default_workers(10) == 3 and default_workers(2) == 2
    monkeypatch.setenv("COURSE_WORKERS", "zero")
    with pytest.raises(ValueError, match="COURSE_WORKERS"):
        default_workers(4)
    with pytest.raises(TypeError, match="callables"):
        run_parallel([1, 2])
    with pytest.raises(ValueError, match="workers"):
        run_parallel([lambda: 1], workers=0)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad("calls-not-callables", lambda: run_parallel([1, 2]), TypeError, "calls"),
    bad("calls-generator-of-results", lambda: run_parallel("ab"), TypeError, "calls"),
    bad("workers-zero", lambda: run_parallel([int], workers=0), ValueError, "workers"),
    bad("workers-float", lambda: run_parallel([int], workers=1.5), ValueError, "workers"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
