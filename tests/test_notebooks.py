"""The notebooks as committed: clean, with stable cell ids and complete metadata.

Opening a notebook in JupyterLab must not mark it as edited: the kernel fills in
``metadata.language_info``, so the committed notebook carries the same fields.
"""

import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean_with_complete_metadata(path):
    nb = json.loads(path.read_text())
    # "Python 3 (ipykernel)" is the name ipykernel installs: JupyterLab writes it back on opening, so any other name
    # marks the notebook edited (tests/test_jupyterlab.py)
    assert nb["metadata"]["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    info = nb["metadata"].get("language_info", {})
    missing = {k: v for k, v in LANGUAGE_INFO.items() if info.get(k) != v}
    assert not missing, f"{path.name}: language_info lacks {missing}, so opening it in JupyterLab marks it edited"
    assert info.get("version", "").startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique, stable id"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name}: cell {cell['id']} has outputs"
            )
