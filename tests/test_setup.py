"""Set-up: the Makefile, the README's commands for machines without make, and the offline wheelhouse.

* The README's PowerShell and POSIX blocks install the same extras, set the same environment and run
  the same test and book commands as the Makefile, so that they cannot drift apart.
* `make -n` shows that `TORCH=cpu` hands PyTorch's CPU index to pip before the rest, that `WHEELS=DIR`
  installs with no index, and that CI stays on the default build. (The download from PyTorch's index
  itself cannot be tested: the course machines cannot reach it.)
* A slow round trip builds a wheelhouse for this machine, installs it into a fresh virtual environment
  with every package index switched off, imports course_lib and runs notebook 01 under nbval.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()
README = (ROOT / "README.md").read_text()
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# the environment every way of running the notebooks sets (XDG_RUNTIME_DIR is the Makefile's Linux detail)
SHARED_ENV = ("TQDM_DISABLE", "SDL_VIDEODRIVER", "PYTHONHASHSEED", "COURSE_DEVICE")

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _make_var(name: str) -> str:
    m = re.search(rf"^{name}\s*[:?]?=\s*(.*)$", MAKEFILE, re.M)
    assert m, f"Makefile defines {name}"
    return m.group(1).strip()


def _make_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target (all branches of its conditionals), without echo lines."""
    lines = MAKEFILE.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if re.match(r"(ifeq|ifneq|ifdef|ifndef|else|endif)\b", line):
            continue  # make's conditionals: the recipe goes on
        if not line.startswith("\t"):
            break
        if not line.startswith("\t@"):
            recipe.append(line.strip())
    return recipe


def _make_env() -> dict[str, str]:
    return dict(re.findall(r"^export (\w+) \??= (.*)$", MAKEFILE, re.M))


def _norm(cmd: str) -> str:
    """One spelling for a command whichever shell or file it comes from."""
    for prefix in ("$(VENV)/bin/", ".venv/bin/", ".venv\\Scripts\\"):
        cmd = cmd.replace(prefix, "")
    cmd = cmd.replace("$(PY) ", "python ").replace("$(EXTRAS)", _make_var("EXTRAS"))
    return re.sub(r"\s+#.*$", "", cmd).strip()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.M | re.S)


def _setup_blocks() -> dict[str, list[str]]:
    """The README's make-free set-up blocks (the ones that run pytest), one per shell, as lines."""
    found = {}
    for lang in ("powershell", "bash"):
        blocks = [b for b in _blocks(lang) if "-m pytest" in b]
        assert len(blocks) == 1, f"the README has one {lang} block that sets up and runs the tests"
        found[lang] = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    return found


def _extras(text: str) -> set[str]:
    """The extras of the course package that a command installs or downloads (``".[course,test]"``)."""
    return {e for group in re.findall(r'"\.\[([^\]]*)\]"', text) for e in group.split(",")}


def _block_env(lines: list[str]) -> dict[str, str]:
    env = {}
    for line in lines:
        env.update(re.findall(r'\$env:(\w+) = "([^"]*)"', line))
        if line.startswith("export "):
            env.update(kv.split("=", 1) for kv in line.split()[1:])
    return env


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    first = _blocks("bash")[0]
    assert README.index(first) < README.index("## "), "the two commands come first"
    assert [line.split("#")[0].strip() for line in first.splitlines()] == ["make book", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run runs the README's test command, on the default TORCH"
    assert _make_var("TORCH") == "default"


def test_readme_blocks_install_the_same_extras_as_the_makefile():
    make_extras = set(_make_var("EXTRAS").split(","))
    assert make_extras == {"course", "test"}
    setup = _make_recipe("$(STAMP)")
    assert _extras(_norm("\n".join(setup))) == make_extras
    for lang, lines in _setup_blocks().items():
        assert _extras("\n".join(lines)) == make_extras, lang
        assert any('pip install -e ".[' in line for line in lines), f"{lang}: the course in editable mode"
        assert any(_norm(line) == "python -m pip install --upgrade pip" for line in lines), lang


def test_readme_blocks_run_the_same_test_and_book_commands_as_the_makefile():
    make_test = [_norm(c) for c in _make_recipe("test")]
    make_book = [_norm(c) for c in _make_recipe("book")]
    assert make_test == ["ruff check .", "ruff format --check .", "python -m pytest"]
    for lang, lines in _setup_blocks().items():
        cmds = [_norm(line) for line in lines]
        assert [c for c in cmds if c.startswith(("ruff ", "python -m pytest"))] == make_test, lang
        assert [c for c in cmds if c.startswith("jupyter-book ")] == make_book, lang


def test_readme_blocks_set_the_same_environment_as_the_makefile():
    wanted = {k: v for k, v in _make_env().items() if k in SHARED_ENV}
    assert set(wanted) == set(SHARED_ENV)
    for lang, lines in _setup_blocks().items():
        assert _block_env(lines) == wanted, lang


def test_readme_torch_cpu_step_matches_the_makefile():
    pin = next(d for d in _pyproject()["project"]["dependencies"] if d.startswith("torch"))
    assert _make_var("TORCH_CPU_INDEX") == CPU_INDEX
    posix = _setup_blocks()["bash"]
    torch_line = next(line for line in posix if CPU_INDEX in line)
    assert f'--extra-index-url {CPU_INDEX} "{pin}"' in torch_line
    assert posix.index(torch_line) < next(i for i, line in enumerate(posix) if '-e ".[' in line)


@needs_make
def test_readme_windows_wheelhouse_commands_match_the_makefile(tmp_path):
    build_req = next(r for r in _pyproject()["build-system"]["requires"] if r.startswith("setuptools"))
    block = next(b for b in _blocks("powershell") if "pip download" in b)
    download = next(line for line in block.splitlines() if "pip download" in line)
    proc = _make_n("wheelhouse", "WHEELHOUSE=wheelhouse", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    make_download = next(line for line in proc.stdout.splitlines() if "pip download" in line)
    for part in ("--only-binary=:all:", "--dest wheelhouse", f' pip "{build_req}" '):
        assert part in download and part.replace("wheelhouse", '"wheelhouse"') in make_download, part
    assert _extras(download) == _extras(make_download) == set(_make_var("EXTRAS").split(","))
    installs = [line for line in block.splitlines() if "pip install" in line]
    assert installs and all("--no-index --find-links wheelhouse" in line for line in installs)
    assert _extras("\n".join(installs)) == set(_make_var("EXTRAS").split(","))


def _make_n(*args: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # a virtual environment that does not exist yet, so that make prints the whole set-up
    cmd = ["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def _pip_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if " -m pip " in line]


@needs_make
@pytest.mark.parametrize("target", ["setup", "test", "book"])
def test_torch_cpu_installs_the_cpu_build_from_pytorchs_index_first(target, tmp_path):
    pin = next(d for d in _pyproject()["project"]["dependencies"] if d.startswith("torch"))
    proc = _make_n(target, "TORCH=cpu", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pips = _pip_lines(proc.stdout)
    torch_i = next(i for i, line in enumerate(pips) if f'--extra-index-url {CPU_INDEX} "{pin}"' in line)
    rest_i = next(i for i, line in enumerate(pips) if '-e ".[course,test]"' in line)
    assert torch_i < rest_i, "the CPU build comes first, so that the rest finds torch already installed"
    assert CPU_INDEX not in pips[rest_i], "only torch comes from PyTorch's index"


@needs_make
def test_default_torch_takes_what_the_package_index_serves(tmp_path):
    proc = _make_n("test", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "download.pytorch.org" not in proc.stdout and "--no-index" not in proc.stdout
    assert proc.stdout.rstrip().endswith("-m pytest")


@needs_make
def test_wheels_install_with_no_index_whatever_torch_says(tmp_path):
    wheels = tmp_path / "wheel house"
    for torch in ("default", "cpu"):
        proc = _make_n("setup", f"WHEELS={wheels}", f"TORCH={torch}", tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr
        pips = _pip_lines(proc.stdout)
        assert len(pips) == 2 and all(f'--no-index --find-links "{wheels}"' in line for line in pips), pips
        assert "download.pytorch.org" not in proc.stdout


@needs_make
def test_wheelhouse_commands(tmp_path):
    wh = tmp_path / "wh"
    proc = _make_n("wheelhouse", f"WHEELHOUSE={wh}", "TORCH=cpu", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    downloads = [line for line in proc.stdout.splitlines() if "pip download" in line]
    assert len(downloads) == 2 and f"--extra-index-url {CPU_INDEX}" in downloads[0]
    assert f'--find-links "{wh}"' in downloads[1] and '".[course,test]"' in downloads[1]
    # another platform: resolved by uv for that platform, downloaded by pip without dependencies
    proc = _make_n("wheelhouse", f"WHEELHOUSE={wh}", "PLATFORM=windows-amd64", "PYVER=3.12", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.replace("\\\n", " ")
    assert "--python-platform x86_64-pc-windows-msvc" in out and "--python-version 3.12" in out
    assert re.search(r"pip download .*--no-deps .*--platform win_amd64 .*--python-version 3.12", out)
    proc = _make_n("wheelhouse", "PLATFORM=amiga", tmp_path=tmp_path)
    assert proc.returncode != 0 and "PLATFORM must be one of" in proc.stderr


@needs_make
def test_a_bad_torch_choice_is_refused(tmp_path):
    proc = _make_n("setup", "TORCH=cuda", tmp_path=tmp_path)
    assert proc.returncode != 0 and "TORCH must be default or cpu, got 'cuda'" in proc.stderr


def _offline_env(**extra: str) -> dict[str, str]:
    """This process's environment with every package source switched off except what a command names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "MAKE", "MFLAGS", "XDG_RUNTIME"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # no pip.conf: no extra index, no find-links
        PIP_NO_CACHE_DIR="1",
        HTTP_PROXY="http://127.0.0.1:9",  # any attempt to reach the network fails at once
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        NO_PROXY="",
        no_proxy="",
    )
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: pathlib.Path, env: dict | None = None, timeout: int = 1200) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow
@needs_make
@pytest.mark.skipif(sys.platform == "win32", reason="the wheelhouse round trip runs through make")
def test_wheelhouse_round_trip_installs_and_runs_a_notebook_offline(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "LICENSE", "conftest.py"):
        shutil.copy2(ROOT / name, course / name)
    shutil.copytree(ROOT / "course_lib", course / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    (course / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "01_rl_basics.ipynb", course / "notebooks")
    wh = tmp_path / "wheelhouse"
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}

    t0 = time.perf_counter()
    _run(["make", "wheelhouse", f"WHEELHOUSE={wh}", f"PYTHON={sys.executable}"], course, clean_env)
    t_download = time.perf_counter() - t0
    wheels = sorted(wh.glob("*.whl"))
    names = {w.name.split("-")[0].lower() for w in wheels}
    assert {"torch", "gymnasium", "jupyter_book", "nbval", "pip", "setuptools"} <= names
    assert not [p for p in wh.iterdir() if p.suffix != ".whl"], "wheels only: nothing to build offline"

    # no user-level Jupyter kernels either: nbval must start the new environment's own kernel
    jupyter_home = {k: str(tmp_path / k.lower()) for k in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR")}
    offline = _offline_env(TQDM_DISABLE="1", COURSE_NB_CACHE="", **jupyter_home)
    _run(["make", "setup", f"WHEELS={wh}", f"PYTHON={sys.executable}"], course, offline)
    t_install = time.perf_counter() - t0 - t_download
    py = course / ".venv" / "bin" / "python"
    out = _run([str(py), "-c", "import course_lib, torch; print(course_lib.__file__, course_lib.__version__)"], course)
    where, version = out.split()
    assert pathlib.Path(where).is_relative_to(course) and version == _pyproject()["project"]["version"]
    specs = json.loads(_run([str(py), "-m", "jupyter", "kernelspec", "list", "--json"], course, offline))
    python3 = specs["kernelspecs"]["python3"]
    assert pathlib.Path(python3["resource_dir"]).is_relative_to(course / ".venv"), python3
    assert python3["spec"]["argv"][0] == "python", "the kernel runs the interpreter that starts it"
    _run([str(py), "-m", "pytest", "-p", "no:cacheprovider", "notebooks/01_rl_basics.ipynb"], course, offline)
    t_total = time.perf_counter() - t0
    size_mb = sum(w.stat().st_size for w in wheels) / 1e6
    print(
        f"\nwheelhouse: {len(wheels)} wheels, {size_mb:.0f} MB; download {t_download:.0f} s, "
        f"offline install {t_install:.0f} s, round trip with notebook 01 {t_total:.0f} s"
    )
