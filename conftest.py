"""Test-suite plumbing shared by the unit tests and the notebooks.

1. nbval executes every notebook in ``notebooks/`` (a fresh kernel each, top to
   bottom). When all cells of a notebook pass, the executed notebook is stored
   in the Jupyter Book execution cache (jupyter-cache), so that the book build
   which follows (``tests/test_book.py`` or ``make book``) reuses those outputs
   instead of executing every notebook a second time. Set ``COURSE_NB_CACHE``
   to another folder, or to an empty string to turn this off.
2. Tests marked ``book`` run last, after the notebooks have filled the cache.
3. The test process draws with matplotlib's Agg backend (headless). Notebook
   kernels keep Jupyter's inline backend, which also draws with Agg but sends
   the figures as cell outputs, so they reach the book.
4. The ``built_book`` fixture builds the book once per session (for the browser
   test, ``tests/test_browser.py``). ``COURSE_BOOK_HTML=DIR`` makes it use an
   already built ``_build/html`` folder instead, e.g. while working on a check.
5. nbval sends each cell with ``store_history=False``. IPython then cannot see a
   cell's trailing ``;`` (its display hook reads the last *stored* input), so a
   value that JupyterLab hides would be shown, and the book reuses nbval's
   outputs. Cells are sent as JupyterLab and the book's own executor send them,
   with ``store_history=True`` (``_execute_like_jupyterlab``).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time

import matplotlib
import pytest

matplotlib.use("Agg")


def _execute_like_jupyterlab() -> None:
    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # nbval is a test dependency; without it there are no notebook tests
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    RunningKernel.execute_cell_input = execute_cell_input


_execute_like_jupyterlab()

ROOT = pathlib.Path(__file__).resolve().parent
DEFAULT_CACHE = ROOT / "book" / "_build" / ".jupyter_cache"
_NB_SECONDS: dict[str, float] = {}  # seconds per notebook, summed over its cells


def nb_cache_dir() -> pathlib.Path | None:
    value = os.environ.get("COURSE_NB_CACHE")
    if value is None:
        return DEFAULT_CACHE
    return pathlib.Path(value) if value else None


def build_book(out_dir: pathlib.Path) -> subprocess.CompletedProcess:
    """``jupyter-book build book --path-output out_dir``, offline, warnings as errors, reusing nbval's cache."""
    cache = nb_cache_dir()
    if cache is not None and cache.exists():  # reuse what nbval executed
        shutil.copytree(cache, out_dir / "_build" / ".jupyter_cache", dirs_exist_ok=True)
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", TQDM_DISABLE="1")
    env.pop("MPLBACKEND", None)  # kernels keep the inline backend, so figures reach the book
    return subprocess.run(
        [str(jb), "build", str(ROOT / "book"), "--path-output", str(out_dir), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        timeout=3000,
    )


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> pathlib.Path:
    """The book's ``_build/html`` folder, built once per session (or ``COURSE_BOOK_HTML``, built before)."""
    prebuilt = os.environ.get("COURSE_BOOK_HTML")
    if prebuilt:
        html = pathlib.Path(prebuilt)
        assert (html / "intro.html").exists(), f"COURSE_BOOK_HTML={prebuilt} holds no built book (intro.html)"
        return html
    out = tmp_path_factory.mktemp("book")
    proc = build_book(out)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    return out / "_build" / "html"


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_collection_modifyitems(session, config, items):
    # book builds last, so that they find every notebook nbval has executed
    items.sort(key=lambda it: it.get_closest_marker("book") is not None)
    counts: dict = {}
    for it in items:
        if _is_nbval_cell(it):
            counts[it.parent] = counts.get(it.parent, 0) + 1
    config._course_nb_cells = counts
    config._course_nb_passed = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_is_nbval_cell(item) and report.when == "call"):
        return
    passed = item.config._course_nb_passed
    nb_file = item.parent
    if report.passed and item.test_outputs is not None:
        n = passed.get(nb_file, 0) + 1
        passed[nb_file] = n
        item.cell.outputs = list(item.test_outputs)
        item.cell.execution_count = n
        for out in item.cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = n
        if n == item.config._course_nb_cells.get(nb_file):
            _store_executed(nb_file)
    else:
        passed[nb_file] = -(10**9)  # never complete: a failed notebook is not cached


def pytest_runtest_setup(item):
    if _is_nbval_cell(item) and not hasattr(item.parent, "_course_t0"):
        item.parent._course_t0 = time.perf_counter()


def pytest_runtest_logreport(report):
    if "::Cell " in report.nodeid:
        nb = report.nodeid.split("::")[0]
        _NB_SECONDS[nb] = _NB_SECONDS.get(nb, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _NB_SECONDS:
        terminalreporter.section("seconds per notebook (nbval, fresh kernel each)")
        for nb, sec in sorted(_NB_SECONDS.items()):
            terminalreporter.write_line(f"{sec:7.1f} s  {nb}")


def _store_executed(nb_file) -> None:
    cache_dir = nb_cache_dir()
    if cache_dir is None:
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = nb_file.nb
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        return  # the book build will execute this notebook itself
    seconds = time.perf_counter() - getattr(nb_file, "_course_t0", time.perf_counter())
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = get_cache(str(cache_dir))
    cache.cache_notebook_bundle(
        CacheBundleIn(nb=nb, uri=str(nb_file.path), data={"execution_seconds": seconds}),
        check_validity=False,
        overwrite=True,
    )
