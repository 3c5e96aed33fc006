"""environment.yml and pyproject.toml list the same dependencies; torch stays pinned; version and licences agree."""

import pathlib
import re
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
    # every machine runs the version the notebooks were tested with; the build (CPU or CUDA) is chosen by
    # the index it comes from (`make setup TORCH=cpu`, tests/test_setup.py)
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


def _citation() -> dict:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    cff["date-released"] = str(cff["date-released"])  # YAML reads an unquoted date as a date
    return cff


def _latest_changelog_version() -> tuple[str, str]:
    """(version, date) of the newest released section of CHANGELOG.md."""
    for line in (ROOT / "CHANGELOG.md").read_text().splitlines():
        m = re.match(r"## \[?(\d+\.\d+\.\d+)\]? - (\d{4}-\d{2}-\d{2})$", line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError("CHANGELOG.md has no '## X.Y.Z - YYYY-MM-DD' heading")


def test_version_agrees_everywhere_it_is_shown():
    import course_lib

    version = course_lib.__version__
    assert _pyproject()["version"] == version
    assert _latest_changelog_version() == (version, _citation()["date-released"])
    assert _citation()["version"] == version
    footer = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["html"]["extra_footer"]
    assert f"Version {version}" in footer
    assert re.search(r"the version is\s+(\S+) ", (ROOT / "README.md").read_text()).group(1) == version


def test_licences_for_code_and_for_text_are_stated():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    project = _pyproject()
    assert project["license"] == "MIT" and "LICENSE" in project["license-files"]
    text = (ROOT / "LICENSE-text.md").read_text()
    assert "CC BY 4.0" in text and "https://creativecommons.org/licenses/by/4.0/" in text
    cff = _citation()
    assert cff["license"] == ["MIT", "CC-BY-4.0"]
    assert {"cff-version", "message", "title", "authors", "version", "date-released"} <= set(cff)
    footer = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["html"]["extra_footer"]
    readme = (ROOT / "README.md").read_text()
    for where in (footer, readme):
        assert "MIT" in where and "CC BY 4.0" in where
