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
    assert len(ax.collections) == 3  # one band each, and the legend's key to what a band is
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["A: mean of 2 runs", "B: mean of 3 runs", "band: 95% CI of the mean"]
    assert ax.get_ylabel() == "return"


def _band_ys(collection):
    return np.concatenate([p.vertices[:, 1] for p in collection.get_paths()])


@pytest.mark.parametrize("band", ["ci", "iqr"])
def test_bands_stay_within_the_possible_values(band):
    """CartPole returns lie in [0, 500]; three runs at 0, 500, 500 give a t-interval of the mean far outside it."""
    rng = np.random.default_rng(0)
    ys = np.vstack([np.zeros(6), np.full(6, 500.0), rng.uniform(0, 500, 6)])
    centre, lo, hi = plotting.learning_curve_band(ys, band, bounds=(0, 500))
    assert (lo >= 0).all() and (hi <= 500).all() and (lo <= centre).all() and (centre <= hi).all()
    unclipped = plotting.learning_curve_band(ys, "ci")
    assert unclipped[1].min() < 0 or unclipped[2].max() > 500, "the example must need the clipping"
    _, ax = plt.subplots()
    plotting.plot_learning_curves({"run": (np.arange(6), ys)}, ax=ax, band=band, bounds=(0, 500))
    band_ys = _band_ys(ax.collections[0])
    assert band_ys.min() >= 0 and band_ys.max() <= 500


def _data_points_in_display(ax):
    points = [line.get_xydata() for line in ax.lines]
    points += [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    points += [p.vertices for c in ax.collections for p in c.get_paths()]
    return ax.transData.transform(np.vstack([p for p in points if len(p)]))


def test_each_figure_helper_puts_its_legend_where_it_covers_no_data():
    x = np.linspace(-5, 5, 50)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    rng = np.random.default_rng(1)
    plotting.plot_learning_curves({"A": (x, rng.normal(size=(4, 50))), "B": (x, rng.normal(size=(4, 50)))}, ax=axes[0])
    plotting.plot_grid_paths({"path": [36, 24, 25, 37]}, (4, 12), ax=axes[1], cells={"cliff": range(37, 47)})
    plotting.plot_adaptation(x, np.sin(x), x[:5], np.sin(x[:5]), {"before": 0 * x, "after 1 step": x}, ax=axes[2])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        box = ax.get_legend().get_window_extent(renderer)
        pts = _data_points_in_display(ax)
        inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
        assert not inside.any(), f"the legend of {ax.get_title() or ax} covers {inside.sum()} data points"


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


def _runs():
    """Two algorithms on two tasks, 8 runs each, as course_lib.sweep.load_runs gives them."""
    rng = np.random.default_rng(0)
    steps = np.array([10, 20, 30])
    runs = {}
    for algo, shift in (("good", 0.3), ("poor", 0.0)):
        runs[algo] = {}
        for env, (low, high) in (("A", (0.0, 1.0)), ("B", (-500.0, -100.0))):
            curves = low + (high - low) * np.clip(rng.uniform(0, 0.7, (8, 3)).cumsum(1) * 0.5 + shift, 0, 1.2)
            runs[algo][env] = {"seeds": np.arange(8), "final": curves[:, -1], "steps": steps, "curves": curves}
    return runs, {"A": (0.0, 1.0), "B": (-500.0, -100.0)}


def test_interval_estimates_mark_the_iqm_of_each_algorithm_per_task_and_pooled():
    from course_lib.stats import iqm, normalized_scores

    runs, bounds = _runs()
    fig = plotting.plot_interval_estimates(runs, bounds)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["A", "B", "both, normalised"]
    # each algorithm draws an interval line then a marker at its IQM
    assert axes[1].lines[1].get_xdata()[0] == pytest.approx(iqm(runs["good"]["B"]["final"]))
    pooled = normalized_scores(
        np.stack([runs["poor"]["A"]["final"], runs["poor"]["B"]["final"]], 1), [0.0, -500.0], [1.0, -100.0]
    )
    assert axes[2].lines[3].get_xdata()[0] == pytest.approx(iqm(pooled))
    lo, hi = axes[2].lines[2].get_xdata()
    assert lo <= iqm(pooled) <= hi


def test_performance_profiles_start_at_one_and_fall():
    runs, bounds = _runs()
    fig = plotting.plot_performance_profiles(runs, bounds)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["good", "poor"]
    for line in ax.lines[:2]:
        y = line.get_ydata()
        assert y[0] == 1.0 and np.all(np.diff(y) <= 0)  # every run scores above 0 here; a profile never rises
    assert np.all(ax.lines[0].get_ydata() >= ax.lines[1].get_ydata())  # "good" is shifted up: it dominates


def test_sample_efficiency_draws_the_iqm_at_each_evaluation():
    from course_lib.stats import iqm

    runs, bounds = _runs()
    fig = plotting.plot_sample_efficiency(runs, bounds)
    ax = fig.axes[1]
    assert ax.get_title() == "B"
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [10, 20, 30])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), iqm(runs["good"]["B"]["curves"], axis=0))
    assert ax.lines[-1].get_ydata()[0] == -100.0  # the dotted "solved" line
