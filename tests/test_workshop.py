"""`python -m course_lib.workshop`: student copies stub every solution and leak none of it; instructor copies and
notebooks without solutions are the originals, byte for byte."""

import json
import pathlib
import subprocess
import sys

import pytest

from course_lib import workshop

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cell(kind, source, cell_id, tags=None, outputs=None, **metadata):
    cell = {"cell_type": kind, "id": cell_id, "metadata": dict(metadata), "source": source}
    if tags:
        cell["metadata"]["tags"] = tags
    if kind == "code":
        cell["execution_count"] = 3 if outputs else None
        cell["outputs"] = outputs or []
    return cell


SECRET_1 = "return (a - torch.sigmoid(theta @ s)) * s  # SECRET-ONE"
SECRET_2 = "answer = 9.0152  # SECRET-TWO"
SECRET_3 = "The baseline must not see the action.  SECRET-THREE"


def synthetic_notebook() -> dict:
    cells = [
        _cell("markdown", "# A chapter\n\n## Exercises\n\n1. Score.\n2. A number.\n3. Why?", "c0"),
        _cell("code", "import torch\nfrom course_lib import exercises", "c1"),
        _cell(
            "code",
            'def score(theta, s, a):\n    """The score of the sigmoid policy."""\n    ### BEGIN SOLUTION\n'
            f"    {SECRET_1}\n    ### END SOLUTION",
            "c2",
            tags=["solution", "hide-input"],
            jupyter={"source_hidden": True},
        ),
        _cell("code", "exercises.check_bernoulli_score(score)", "c3", outputs=[_stream("Correct (score): SECRET-OUT")]),
        _cell("code", f"# Exercise 2: the discounted return\n{SECRET_2}", "c4", tags=["solution"]),
        _cell("code", "exercises.check_discounted_return(answer)", "c5"),
        _cell("markdown", SECRET_3, "c6", tags=["solution", "exercise-3"]),
        _cell("code", 'print("check passed")', "c7"),
    ]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _stream(text):
    return {"name": "stdout", "output_type": "stream", "text": [text]}


@pytest.fixture
def synthetic(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    (src / "01_x.ipynb").write_text(json.dumps(synthetic_notebook(), indent=1) + "\n")
    plain = synthetic_notebook()
    plain["cells"] = [c for c in plain["cells"] if "solution" not in c["metadata"].get("tags", [])]
    (src / "02_plain.ipynb").write_text(json.dumps(plain, indent=1) + "\n")
    return src


def _code(nb: dict) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def test_student_copy_stubs_each_solution_and_keeps_the_rest(synthetic, tmp_path):
    stubbed = workshop.write_copies("student", tmp_path / "out", synthetic)
    assert stubbed == {"01_x.ipynb": 3, "02_plain.ipynb": 0}
    original = json.loads((synthetic / "01_x.ipynb").read_text())
    student = json.loads((tmp_path / "out" / "01_x.ipynb").read_text())
    assert [c["id"] for c in student["cells"]] == [c["id"] for c in original["cells"]]
    assert student["metadata"] == original["metadata"]
    sources = ["".join(c["source"]) for c in student["cells"]]
    # the marked cell keeps its signature and docstring; the body raises with the exercise's number (by position)
    assert sources[2].startswith('def score(theta, s, a):\n    """The score of the sigmoid policy."""\n')
    assert '    raise NotImplementedError("Exercise 1: ' in sources[2]
    assert 'raise NotImplementedError("Exercise 2: ' in sources[4]  # numbered by its first line
    assert sources[6] == "*Exercise 3: your answer here.*"  # numbered by its tag
    for i in (0, 1, 3, 5, 7):
        assert sources[i] == "".join(original["cells"][i]["source"])
    assert "jupyter" not in student["cells"][2]["metadata"]  # the stub is visible in JupyterLab
    assert student["cells"][2]["metadata"]["tags"] == ["solution", "hide-input"]
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in student["cells"])


def test_no_solution_text_leaks_into_a_student_copy(synthetic, tmp_path):
    workshop.write_copies("student", tmp_path / "out", synthetic)
    text = (tmp_path / "out" / "01_x.ipynb").read_text()
    for secret in ("SECRET-ONE", "SECRET-TWO", "SECRET-THREE", "SECRET-OUT", "torch.sigmoid(theta @ s)"):
        assert secret not in text


def test_stubs_raise_not_implemented_with_the_exercise_number(synthetic, tmp_path):
    workshop.write_copies("student", tmp_path / "out", synthetic)
    student = json.loads((tmp_path / "out" / "01_x.ipynb").read_text())
    namespace: dict = {}
    exec("".join(student["cells"][2]["source"]), namespace)  # the def itself runs ...
    with pytest.raises(NotImplementedError, match="^Exercise 1: "):
        namespace["score"](None, None, 0)  # ... and the checker will call it and say "not done yet"
    with pytest.raises(NotImplementedError, match="^Exercise 2: "):
        exec("".join(student["cells"][4]["source"]), {})


def test_copies_without_solutions_and_instructor_copies_are_the_originals(synthetic, tmp_path):
    workshop.write_copies("student", tmp_path / "student", synthetic)
    workshop.write_copies("instructor", tmp_path / "instructor", synthetic)
    assert (tmp_path / "student" / "02_plain.ipynb").read_bytes() == (synthetic / "02_plain.ipynb").read_bytes()
    for name in ("01_x.ipynb", "02_plain.ipynb"):
        assert (tmp_path / "instructor" / name).read_bytes() == (synthetic / name).read_bytes()


def test_unbalanced_markers_are_refused_with_the_cell(tmp_path):
    nb = synthetic_notebook()
    nb["cells"][2]["source"] = "def f():\n    ### BEGIN SOLUTION\n    return 1\n"
    with pytest.raises(ValueError, match=r"01_x.ipynb, cell c2: BEGIN SOLUTION without an END SOLUTION"):
        workshop.student_notebook(nb, "01_x.ipynb")


def test_the_notebooks_folder_is_never_overwritten(synthetic):
    with pytest.raises(ValueError, match="must not be the notebooks' own folder"):
        workshop.write_copies("student", synthetic, synthetic)


@pytest.mark.parametrize("kind", ["student", "instructor"])
def test_real_notebooks_from_the_command_line(kind, tmp_path):
    out = tmp_path / kind
    proc = subprocess.run(
        [sys.executable, "-m", "course_lib.workshop", kind, str(out)], capture_output=True, text=True, check=True
    )
    assert f"{len(NOTEBOOKS)} {kind} notebooks in {out}" in proc.stdout
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        original = json.loads(path.read_text())
        copy = (out / path.name).read_bytes()
        has_solutions = any(workshop.is_solution(c) for c in original["cells"])
        if kind == "instructor" or not has_solutions:
            assert copy == path.read_bytes(), f"{path.name}: the copy must be the original"
            continue
        student = json.loads(copy)
        assert [c.get("id") for c in student["cells"]] == [c.get("id") for c in original["cells"]]
        solution_lines = {
            line.strip()
            for c in original["cells"]
            if workshop.is_solution(c)
            for line in workshop.hidden_lines(c)
            if len(line.strip()) > 12
        }
        elsewhere = _code({"cells": [c for c in original["cells"] if not workshop.is_solution(c)]})
        text = _code(student)
        leaked = [line for line in solution_lines if line in text and line not in elsewhere]
        assert not leaked, f"{path.name}: solution lines in the student copy: {leaked[:3]}"


def test_hidden_lines_are_the_marked_block_or_the_whole_cell():
    nb = synthetic_notebook()
    assert workshop.hidden_lines(nb["cells"][2]) == [f"    {SECRET_1}"]
    assert workshop.hidden_lines(nb["cells"][4]) == ["# Exercise 2: the discounted return", SECRET_2]


def test_bad_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be 'student' or 'instructor', got 'teacher'"):
        workshop.write_copies("teacher", pathlib.Path("unused"))


def _errors_up_to_first_exercise(nb_dict: dict, name: str, cwd: pathlib.Path) -> tuple[int, list]:
    """Run a student copy up to and including its first code stub; return (its index, [(cell, error name)])."""
    import nbclient
    import nbformat

    student, _ = workshop.student_notebook(nb_dict, name)
    first = next(i for i, c in enumerate(student["cells"]) if workshop.is_solution(c) and c["cell_type"] == "code")
    student["cells"] = student["cells"][: first + 1]
    nb = nbformat.reads(json.dumps(student), as_version=4)  # joins list-of-lines sources
    nbclient.NotebookClient(nb, timeout=600, allow_errors=True, resources={"metadata": {"path": str(cwd)}}).execute()
    errors = [
        (i, out.get("ename"))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for out in c.outputs
        if out.output_type == "error"
    ]
    return first, errors


@pytest.mark.slow
def test_a_student_copy_runs_up_to_its_first_stub(tmp_path):
    first, errors = _errors_up_to_first_exercise(synthetic_notebook(), "01_x.ipynb", tmp_path)
    assert first == 2 and errors == []  # the marked stub only defines the function
    nb = synthetic_notebook()
    nb["cells"][2]["metadata"]["tags"] = []  # now the first stub is the whole-cell one
    first, errors = _errors_up_to_first_exercise(nb, "01_x.ipynb", tmp_path)
    assert (first, errors) == (4, [(4, "NotImplementedError")])


WITH_SOLUTIONS = [p for p in NOTEBOOKS if any(workshop.is_solution(c) for c in json.loads(p.read_text())["cells"])]


@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_SOLUTIONS, ids=[p.stem for p in WITH_SOLUTIONS])
def test_student_copy_runs_cleanly_up_to_its_first_exercise(path):
    """Every cell before the first stub runs without an error (the stub itself may raise NotImplementedError).
    Empty until the chapters have solution cells; pytest then reports it as skipped."""
    first, errors = _errors_up_to_first_exercise(json.loads(path.read_text()), path.name, path.parent)
    assert all(i == first and name == "NotImplementedError" for i, name in errors), (
        f"{path.name}: errors before the first exercise: {errors}"
    )
