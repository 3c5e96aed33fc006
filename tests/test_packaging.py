"""environment.yml and pyproject.toml must list the same dependencies; torch stays pinned."""

import pathlib
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_agrees_with_pyproject():
    project = _pyproject()
    wanted = list(project["dependencies"])
    for extra in ("course", "test"):
        wanted += project["optional-dependencies"][extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section, "the course package is installed in editable mode"
    listed = [d for d in pip_section if d != "-e ."]
    assert sorted(listed) == sorted(wanted)


def test_torch_is_pinned_to_the_cpu_build_version():
    # an open range pulls a multi-GB CUDA build; the exact pin takes the local CPU wheel
    torch_reqs = [d for d in _pyproject()["dependencies"] if d.startswith("torch")]
    assert torch_reqs == ["torch==2.13.0"]


def test_jupyter_book_stays_on_version_1():
    # Jupyter Book 2 downloads its theme at build time and cannot build offline.
    course = _pyproject()["optional-dependencies"]["course"]
    assert any(d.startswith("jupyter-book") and "<2" in d for d in course)


def test_import_course_lib_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, course_lib, course_lib.rl.returns, course_lib.rl.rollouts; "
        "print(any(m in sys.modules for m in ('matplotlib', 'sympy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "training code must not import matplotlib or sympy"
    import course_lib

    assert course_lib.__version__


def test_dependencies_point_one_way():
    """envs and derivations stand alone; rl never imports meta; stats imports nothing from rl; only plotting
    imports matplotlib; training code never imports SymPy (CONVENTIONS.md)."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "course_lib"
    rules = {
        "envs": ("course_lib.rl", "course_lib.meta", "course_lib.stats", "matplotlib"),
        "derivations": ("course_lib.rl", "course_lib.meta", "matplotlib", "torch"),
        "rl": ("course_lib.meta", "course_lib.derivations", "sympy", "matplotlib", "course_lib.plotting"),
        "meta": ("course_lib.derivations", "sympy", "matplotlib", "course_lib.plotting"),
        "stats.py": ("course_lib.rl", "course_lib.meta", "torch", "matplotlib"),
    }
    for where, banned in rules.items():
        files = [root / where] if where.endswith(".py") else sorted((root / where).rglob("*.py"))
        for path in files:
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    assert not name.startswith(banned), f"{path.relative_to(root)} imports {name}"
