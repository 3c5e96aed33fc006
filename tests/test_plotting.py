"""Smoke tests of the course's figures: each draws what it says on a headless canvas."""

import matplotlib.pyplot as plt  # the Agg backend: conftest.py sets it for the test process
import numpy as np
import pytest

from course_lib import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_use_course_style_sets_the_colour_cycle():
    plotting.use_course_style()
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][:2] == plotting.COLORS[:2]


def test_learning_curves_draw_a_mean_and_a_band_per_label():
    _, ax = plt.subplots()
    x = np.arange(5)
    curves = {"A": (x, np.vstack([x, x + 2.0])), "B": (x, np.ones((3, 5)))}
    plotting.plot_learning_curves(curves, ax=ax, ylabel="return")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), x + 1.0)  # the mean over runs
    assert len(ax.collections) == 2  # one confidence band each
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A (n=2)", "B (n=3)"]
    assert ax.get_ylabel() == "return"


def test_show_frame_and_grid_paths_and_adaptation():
    _, axes = plt.subplots(1, 3)
    plotting.show_frame(np.zeros((10, 20, 3), dtype=np.uint8), ax=axes[0], title="frame")
    assert axes[0].get_title() == "frame" and len(axes[0].images) == 1
    plotting.plot_grid_paths({"path": [36, 24, 25, 37]}, (4, 12), ax=axes[1], cells={"cliff": range(37, 47)})
    texts = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert "path (3 steps)" in texts and "cliff" in texts
    x = np.linspace(-5, 5, 50)
    plotting.plot_adaptation(x, np.sin(x), x[:5], np.sin(x[:5]), {"before": 0 * x, "after 1 step": x}, ax=axes[2])
    assert len(axes[2].lines) == 3 and len(axes[2].collections) == 1  # truth, two predictions; support points


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad(
        "curves-not-mapping",
        lambda: plotting.plot_learning_curves([(np.arange(3), np.zeros((2, 3)))]),
        TypeError,
        "curves",
    ),
    bad(
        "curves-x-length",
        lambda: plotting.plot_learning_curves({"a": (np.arange(4), np.zeros((2, 3)))}),
        ValueError,
        "x",
        "points",
    ),
    bad("curves-ys-1d", lambda: plotting.plot_learning_curves({"a": (np.arange(3), np.zeros(3))}), ValueError, "ys"),
    bad("frame-2d-gray-float", lambda: plotting.show_frame(np.zeros((4, 4, 2))), ValueError, "frame"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    plt.close("all")
    refused(call, exc, words)
    plt.close("all")
