"""Seeding, device choice and show_source."""

import numpy as np
import pytest
import torch

import course_lib
from course_lib import get_device, seed_everything
from course_lib.display import Source, show_source
from course_lib.rl.returns import reward_to_go


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


def test_get_device(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
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


def test_show_source_highlights_package_code():
    src = show_source(reward_to_go)
    assert isinstance(src, Source)
    assert src.code.startswith("def reward_to_go(")
    assert "course_lib.rl.returns.reward_to_go" in src.title
    html = src._repr_html_()
    assert "<span" in html and "reward_to_go" in html
    assert "```python" in src._repr_markdown_()
    with pytest.raises(TypeError, match="obj must be a function"):
        show_source(42)


def test_import_course_lib_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, course_lib, course_lib.rl.returns, course_lib.rl.rollouts; "
        "print(any(m in sys.modules for m in ('matplotlib', 'sympy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "training code must not import matplotlib or sympy"
    assert course_lib.__version__
