"""Device choice: COURSE_DEVICE, then CUDA, then Apple's mps (when it works), then the CPU."""

import pytest
import torch

import course_lib.device as device_mod
from course_lib import get_device


def test_get_device(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if device_mod.mps_works() else "cpu")
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="device must name a torch device"):
        get_device("tpu-ish")
    with pytest.raises(TypeError, match="device must be a str"):
        get_device(3)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is available"):
            get_device("cuda")


def test_empty_course_device_means_automatic(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "")
    monkeypatch.setattr(device_mod, "_auto", lambda: "cpu")
    assert get_device() == torch.device("cpu")


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_automatic_order_is_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_mod, "mps_works", lambda: mps)
    assert device_mod._auto() == expected


def test_mps_asked_for_where_it_does_not_work(monkeypatch):
    monkeypatch.setattr(device_mod, "mps_works", lambda: False)
    with pytest.raises(ValueError, match="mps backend is not available"):
        get_device("mps")
    monkeypatch.setenv("COURSE_DEVICE", "mps")
    with pytest.raises(ValueError, match="mps backend is not available"):
        get_device()


def test_mps_works_is_false_when_the_backend_is_missing_or_broken(monkeypatch):
    """On this (non-Apple) machine the probe says no; a backend that claims to be there but fails a matmul
    counts as not working either. (A real Mac is not available here: the True branch is untested.)"""
    device_mod.mps_works.cache_clear()
    try:
        if not torch.backends.mps.is_available():
            assert device_mod.mps_works() is False
        device_mod.mps_works.cache_clear()
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)

        def broken_ones(*args, **kwargs):
            raise RuntimeError("MPS backend out of order")

        monkeypatch.setattr(torch, "ones", broken_ones)
        assert device_mod.mps_works() is False
    finally:
        device_mod.mps_works.cache_clear()
