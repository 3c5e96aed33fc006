"""The book builds offline, with warnings as errors, and every chapter renders without an execution error."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import nb_cache_dir  # noqa: E402


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_toc_lists_every_notebook_in_course_order():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    listed = [c.split("/")[-1] for c in _chapters() if c.startswith("notebooks/")]
    assert listed == notebooks, "book/_toc.yml must list every notebook, in file-name order"
    assert (ROOT / "book" / "notebooks").resolve() == (ROOT / "notebooks").resolve()


@pytest.mark.slow
@pytest.mark.book
def test_book_builds_offline_without_errors(tmp_path):
    cache = nb_cache_dir()
    if cache is not None and cache.exists():  # reuse what nbval executed (see conftest.py)
        shutil.copytree(cache, tmp_path / "_build" / ".jupyter_cache")
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", TQDM_DISABLE="1")
    env.pop("MPLBACKEND", None)  # kernels keep the inline backend, so figures reach the book
    proc = subprocess.run(
        [str(jb), "build", str(ROOT / "book"), "--path-output", str(tmp_path), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        timeout=3000,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    html_dir = tmp_path / "_build" / "html"
    pages = ["intro"] + _chapters()
    for page in pages:
        html = (html_dir / f"{page}.html").read_text()
        assert "output traceback" not in html, f"{page} shows an execution error"
        assert "cdn.jsdelivr.net" not in html and "mathjax@" not in html, f"{page} loads MathJax from the web"
        assert not re.search(r"at 0x[0-9a-f]{6,}&gt;", html), f"{page} shows an object's repr (end the cell with ';')"
        bare_false = re.search(r"<pre><span></span>False\s*</pre>|\\text\{False\}|\\mathtt\{\\text\{False\}\}", html)
        assert not bare_false, f"{page} shows a bare boolean where an equation belongs: {bare_false.group(0)!r}"
    chapter_html = (html_dir / f"{_chapters()[0]}.html").read_text()
    assert "check passed" in chapter_html, "the chapter was rendered with its executed outputs"
    assert list((html_dir / "_static").rglob("tex-chtml*.js")), "offline MathJax is bundled"
    assert list((html_dir / "_images").glob("*.png")), "the chapters' figures are in the book"
