"""The README's figure is the course's own output: redrawn here, it matches the committed PNG pixel for pixel."""

import pathlib
import runpy

import matplotlib.image as mpimg
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
PNG = ROOT / "book" / "figures" / "baird.png"


def test_readme_shows_the_committed_figure():
    assert "book/figures/baird.png" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert PNG.exists()


def test_the_committed_figure_is_what_the_script_draws(tmp_path):
    script = runpy.run_path(str(ROOT / "book" / "figures" / "readme_figure.py"))
    data = script["draw"](tmp_path / "baird.png")
    drawn, committed = mpimg.imread(tmp_path / "baird.png"), mpimg.imread(PNG)
    assert drawn.shape == committed.shape
    assert np.mean(np.abs(drawn - committed)) < 1e-3, "rerun book/figures/readme_figure.py and commit the PNG"
    off, target, on = data.values()
    assert off[-1] > 1e12 and target[-1] < target[0] and on[-1] < on[0]  # what the caption says
