"""JupyterLab, the client self-learners use, in a real browser (issue 12).

The test starts ``jupyter lab`` from the project's environment on 127.0.0.1
(a free port, a random token, no browser of its own) in a temporary copy of
``notebooks/``, so the repository's notebooks are never touched, with every
Jupyter folder (runtime, config, data, settings, workspaces, IPython) in a
temporary folder as well. It opens ``01_rl_basics.ipynb`` in Debian's headless
``chromium``, driven by Playwright through the system browser as in
``tests/test_browser.py``: nothing downloads a browser. Without Chromium or
Playwright a local run skips and says why; under CI (``CI`` set) it fails.

In the browser the test checks that

* opening the notebook does not mark it edited (no dirty tab) once its kernel
  is idle: the committed metadata is what JupyterLab would write. If it does,
  the test saves the temporary copy and names what changed. The one change
  allowed is ``language_info.version`` on a Python other than the committed
  one (JupyterLab writes the running kernel's version);
* Run > Run All Cells runs every code cell (each has an execution count) and
  the kernel goes back to idle;
* no cell shows a traceback, and every figure is an image that loaded;
* the check cell printed "check passed";
* a tqdm progress bar renders as a Jupyter widget (``tqdm.auto`` picks
  ``tqdm.notebook`` when ipywidgets is installed; without the widget manager
  it would print ``HBox(children=...)`` or a text bar instead). If the
  notebook itself never shows a progress bar, the test types a short ``tqdm``
  loop into a new cell of the temporary copy and runs that.

The kernel runs with ``COURSE_DEVICE=cpu`` and ``TQDM_DISABLE`` unset, so the
progress bars render. A screenshot is saved to ``COURSE_SCREENSHOTS`` (default:
a temporary folder) and its path printed (see it with ``-s``). The server is
shut down through its REST API (``POST /api/shutdown``) and killed if it does
not stop, so no process is left behind.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.test_browser import FLAGS, _chromium, _missing

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = "01_rl_basics.ipynb"
VIEWPORT = {"width": 1280, "height": 900}
PROBE = 'from tqdm.auto import tqdm; total = sum(tqdm(range(200), desc="progress probe")); total'

# The tab and the kernel as JupyterLab shows them; one evaluation, so the answers agree.
STATE = r"""
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const tab = document.querySelector('.jp-mod-current .lm-TabBar-tab.jp-mod-current, #jp-main-dock-panel .lm-TabBar-tab.jp-mod-current');
  const status = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = panel && panel.querySelector('.jp-KernelName');
  const prompts = panel ? [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim()) : [];
  return {
    open: !!panel,
    dirty: document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-dirty').length,
    tab: tab ? tab.textContent.trim() : null,
    kernel: status ? status.getAttribute('data-status') : null,
    kernel_name: kernel ? kernel.textContent.trim() : null,
    prompts,
  };
}
"""

# Every output area of the open notebook: tracebacks, text, widgets.
OUTPUTS = r"""
async () => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const short = (s) => s.replace(/\s+/g, ' ').trim().slice(0, 200);
  const out = {tracebacks: [], text: [], widgets: [], widget_text: [], figures: 0, broken_figures: []};
  const imgs = [...panel.querySelectorAll('.jp-OutputArea-output img')];
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  for (const img of imgs) {
    out.figures += 1;
    if (!img.complete || img.naturalWidth === 0) out.broken_figures.push((img.getAttribute('src') || '').slice(0, 60));
  }
  for (const o of panel.querySelectorAll('.jp-OutputArea-output')) {
    const mime = o.getAttribute('data-mime-type') || '';
    const text = o.textContent || '';
    if (/Traceback|most recent call last/.test(text) || (mime === 'application/vnd.jupyter.stderr' && /^\s*\w*(Error|Exception)\b/m.test(text)))
      out.tracebacks.push(short(text));
    if (o.classList.contains('jp-RenderedText') || o.querySelector('.jp-RenderedText')) out.text.push(text);
    if (/HBox\(children=|IntProgress\(|FloatProgress\(/.test(text)) out.widget_text.push(short(text));
  }
  for (const w of panel.querySelectorAll('.jp-OutputArea-output .widget-hprogress')) {
    const box = w.getBoundingClientRect();
    const row = w.closest('.widget-hbox') || w.parentElement;
    const bar = w.querySelector('.progress-bar');
    out.widgets.push({
      width: Math.round(box.width), height: Math.round(box.height),
      label: row ? short(row.textContent) : '',
      bar: bar ? bar.style.width : null,
      widget_view: !!w.closest('.jp-OutputArea-output > .jupyter-widgets.widget-hbox'),  // tqdm's HBox(label, bar, label)
      success: !!(bar && bar.classList.contains('progress-bar-success')),
    });
  }
  return out;
}
"""


def _finished(cell: int) -> str:
    """JavaScript: the kernel is idle, no cell waits to run (``[*]``), and code cell ``cell`` has run."""
    return (
        f"() => {{ const s = ({STATE})(); const p = s.prompts.at({cell}); "
        "return s.kernel === 'idle' && !!p && /^\\[\\d+\\]:$/.test(p) && !s.prompts.includes('[*]:'); }"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5.0) -> int:
    request = urllib.request.Request(
        base + path, method=method, headers={"Authorization": f"token {token}"}, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def _diff(before: dict, after: dict) -> tuple[list[str], list[str]]:
    """What JupyterLab changed in a notebook it merely opened: (changes, changes that depend on the machine).

    The one change a machine may cause is ``language_info.version``: JupyterLab writes the running Python's
    version, so a Python other than the one the notebooks were committed with marks every notebook edited.
    """
    found = [
        f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
        for k in ("nbformat", "nbformat_minor")
        if before.get(k) != after.get(k)
    ]
    machine = []
    for key in sorted(set(before["metadata"]) | set(after["metadata"])):
        old, new = before["metadata"].get(key), after["metadata"].get(key)
        if old == new:
            continue
        change = f"metadata.{key}: {old!r} -> {new!r}"
        same_but_version = (
            key == "language_info"
            and isinstance(old, dict)
            and isinstance(new, dict)
            and {k: v for k, v in old.items() if k != "version"} == {k: v for k, v in new.items() if k != "version"}
            and new.get("version") == platform.python_version()
        )
        (machine if same_but_version else found).append(change)
    for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=False)):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                found.append(f"cell {i} ({a.get('id')}) {key}: {a.get(key)!r:.80} -> {b.get(key)!r:.80}")
    if len(before["cells"]) != len(after["cells"]):
        found.append(f"{len(before['cells'])} cells -> {len(after['cells'])}")
    if not found and not machine:
        found.append("nothing in the saved file (a change JupyterLab does not save)")
    return found, machine


def _uses_tqdm(notebook: pathlib.Path) -> bool:
    """Whether a code cell of the notebook shows a progress bar (tqdm, or a trainer's ``progress=True``)."""
    cells = json.loads(notebook.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "tqdm" in code or "progress=True" in code


@pytest.fixture
def jupyter_lab(tmp_path):
    """``jupyter lab`` in a temporary copy of notebooks/; yields (base URL, token, copy), then shuts it down."""
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc"))
    home = tmp_path / "jupyter"
    settings = home / "lab-settings"
    # no news or update prompt over the notebook (and nothing to fetch: the test runs offline)
    notes = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notes.parent.mkdir(parents=True)
    notes.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    bin_dir = pathlib.Path(sys.executable).parent
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        COURSE_DEVICE="cpu",
        SDL_VIDEODRIVER="dummy",
        PYTHONUNBUFFERED="1",
    )
    for name in ("TQDM_DISABLE", "MPLBACKEND", "JUPYTER_PATH", "JUPYTER_TOKEN"):
        env.pop(name, None)
    port, token = _free_port(), secrets.token_hex(24)
    log = (tmp_path / "jupyter-lab.log").open("w")
    cmd = [
        str(bin_dir / "jupyter-lab"),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI runners often run as root
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine needs most of it
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited ({proc.returncode}):\n{_tail(tmp_path)}")
            try:
                if _api(base, token, "/api/status") == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"jupyter lab did not answer on {base} within 120 s:\n{_tail(tmp_path)}")
            time.sleep(0.25)
        yield base, token, work
    finally:
        _stop(proc, base, token, home / "runtime")
        log.close()


def _tail(tmp_path: pathlib.Path, n: int = 4000) -> str:
    return (tmp_path / "jupyter-lab.log").read_text(errors="replace")[-n:]


def _stop(proc: subprocess.Popen, base: str, token: str, runtime: pathlib.Path) -> None:
    """POST /api/shutdown (which also stops the kernels) and wait; on timeout kill the server and its kernels."""
    if proc.poll() is None:
        try:
            _api(base, token, "/api/shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print(f"jupyter lab (pid {proc.pid}) did not stop within 30 s: killed")
            os.killpg(proc.pid, signal.SIGKILL)  # its own session (start_new_session)
            proc.wait(timeout=10)
    # kernels run in sessions of their own; each was started with a connection file in our runtime folder
    for pid in _kernels(runtime):
        print(f"a kernel (pid {pid}) outlived the server: killed")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kernels(runtime: pathlib.Path) -> list[int]:
    """Processes whose command line names a file in ``runtime``: the kernels this server started (Linux)."""
    found = []
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(runtime) in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


@pytest.fixture
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    executable = _chromium()
    if executable is None:
        _missing("no Chromium found: apt-get install chromium fonts-noto-cjk (or set COURSE_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def screenshot_dir(tmp_path_factory) -> pathlib.Path:
    wanted = os.environ.get("COURSE_SCREENSHOTS")
    path = pathlib.Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.slow
def test_notebook_01_runs_in_jupyterlab(chromium, jupyter_lab, screenshot_dir):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, token, work = jupyter_lab
    n_code = sum(c["cell_type"] == "code" for c in json.loads((work / NOTEBOOK).read_text())["cells"])
    js_errors: list[str] = []
    problems: list[str] = []  # reported together at the end
    context = chromium.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.on("pageerror", lambda e: js_errors.append(str(e)[:200]))
    t0 = time.perf_counter()
    try:
        tab.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", wait_until="load", timeout=120_000)
        tab.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
        # Every cell rendered and the kernel connected ('No Kernel' shows 'idle' too) and idle: by then
        # JupyterLab has written the kernel's kernelspec and language_info into the notebook's metadata.
        ready = (
            f"() => {{ const s = ({STATE})(); return s.kernel === 'idle' && s.prompts.length === {n_code}"
            " && !!s.kernel_name && s.kernel_name !== 'No Kernel'; }"
        )
        tab.wait_for_function(ready, timeout=120_000, polling=250)
        tab.wait_for_timeout(1000)  # let the updates that follow the kernel's info reply land
        state = tab.evaluate(STATE)
        if state["dirty"]:
            # save the temporary copy, to name what JupyterLab changed
            before = json.loads((work / NOTEBOOK).read_text())
            tab.keyboard.press("Control+s")
            tab.wait_for_function("() => !document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-dirty')")
            after = json.loads((work / NOTEBOOK).read_text())
            changes, machine = _diff(before, after)
            if changes:
                problems.append(f"opening {NOTEBOOK} marked it edited (dirty tab); saved, it differs in {changes}")
            else:
                print(f"opening marked it edited only because this Python differs from the committed one: {machine}")
        print(f"opened, kernel idle in {time.perf_counter() - t0:.1f} s; dirty tabs: {state['dirty']}")

        tab.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").first.click()
        tab.locator(
            ".lm-Menu-item", has=tab.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
        ).click()
        t1 = time.perf_counter()
        tab.wait_for_function(_finished(0), timeout=240_000, polling=250)
        state = tab.evaluate(STATE)
        print(f"Run All Cells: {len(state['prompts'])} code cells in {time.perf_counter() - t1:.1f} s")
        assert len(state["prompts"]) == n_code, f"{len(state['prompts'])} code cells shown, the notebook has {n_code}"
        not_run = [i + 1 for i, p in enumerate(state["prompts"]) if not re.fullmatch(r"\[\d+\]:", p)]
        if not_run:
            problems.append(f"code cells {not_run} did not run (Run All stops at the first error)")

        outputs = tab.evaluate(OUTPUTS)
        if not _uses_tqdm(work / NOTEBOOK):
            print(f"{NOTEBOOK} shows no progress bar: a probe cell runs tqdm")
            tab.locator(".jp-NotebookPanel .jp-Cell").last.click()
            tab.keyboard.press("Escape")
            tab.keyboard.press("b")
            tab.keyboard.press("Enter")
            tab.keyboard.insert_text(PROBE)
            tab.keyboard.press("Control+Enter")  # run and stay: Shift+Enter on the last cell adds an empty one
            tab.wait_for_function(_finished(-1), timeout=60_000, polling=250)
            try:  # the widget renders after the cell's output arrives
                tab.wait_for_selector(".jp-OutputArea-output .widget-hprogress", timeout=10_000)
            except PlaywrightTimeout:
                pass  # reported below, with what the cell showed instead
            outputs = tab.evaluate(OUTPUTS)

        bar = tab.locator(".jp-OutputArea-output .widget-hprogress").last
        if bar.count():
            bar.scroll_into_view_if_needed()
    finally:
        shot = screenshot_dir / "jupyterlab_01_rl_basics.png"  # also when a step fails, to see why
        try:
            tab.wait_for_timeout(300)
            tab.screenshot(path=str(shot))
            print(f"screenshot: {shot}")
        except Exception as exc:  # never hide the failure that brought us here
            print(f"no screenshot: {exc}")
        context.close()

    print(f"figures: {outputs['figures']}; progress widgets: {outputs['widgets']}")
    problems += [f"a cell shows a traceback: {t}" for t in outputs["tracebacks"]]
    problems += [f"a figure did not load: {src}" for src in outputs["broken_figures"]]
    if not any("check passed" in t for t in outputs["text"]):
        problems.append("the check cell did not print 'check passed'")
    problems += [f"a widget printed as text (no widget manager?): {t}" for t in outputs["widget_text"]]
    if not outputs["widgets"]:
        problems.append("no tqdm progress widget rendered")
    for w in outputs["widgets"]:
        if not (w["width"] > 0 and w["height"] > 0):
            problems.append(f"a progress widget has no size: {w}")
        if not w["widget_view"]:
            problems.append(f"a progress bar outside an ipywidgets HBox output: {w}")
        if not ("100%" in w["label"] and w["success"] and w["bar"] == "100%"):
            problems.append(f"a progress bar did not finish: {w}")
    problems += [f"JavaScript error: {e}" for e in js_errors]
    assert not problems, f"{NOTEBOOK} in JupyterLab: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
