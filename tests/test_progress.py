"""Progress bars: silent under TQDM_DISABLE, also in a Jupyter kernel, where tqdm's own notebook bar ignores it."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.progress import progress_bar, progress_disabled


@pytest.mark.parametrize(("value", "silent"), [("1", True), ("true", True), ("", False), ("0", False), ("no", False)])
def test_tqdm_disable_is_read_from_the_environment(monkeypatch, value, silent):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert progress_disabled() is silent
    assert progress_bar(range(3)).disable is silent
    assert progress_bar(range(3), disable=True).disable is True  # an explicit choice wins


def test_no_progress_widget_in_a_kernel_when_disabled(monkeypatch):
    """Under TQDM_DISABLE=1 a trainer's bar leaves no widget in the notebook (no widget scripts for the book page)."""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    code = "from course_lib.progress import progress_bar\nfor _ in progress_bar(range(3), desc='x'):\n    pass"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs
    assert "widgets" not in nb.metadata
