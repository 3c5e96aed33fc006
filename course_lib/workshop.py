r"""Student and instructor copies of the notebooks, for workshops (issue 12).

.. code-block:: bash

    python -m course_lib.workshop student OUT_DIR      # exercises' solutions replaced by stubs
    python -m course_lib.workshop instructor OUT_DIR   # the notebooks as they are, solutions included

Every code cell tagged ``solution`` holds the answer to an exercise; the cell
after it calls a checker of :mod:`course_lib.exercises`. In a **student** copy

* a ``solution`` code cell becomes a stub that raises
  ``NotImplementedError("Exercise N: ...")``. If the cell marks its answer with
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines (nbgrader's convention),
  only the lines between the markers are replaced, at their indentation, so
  that a ``def`` line with its signature and docstring stays for the student;
  otherwise the whole cell is replaced;
* a ``solution`` Markdown cell (a written answer) becomes "*Exercise N: your
  answer here.*";
* the notebook's outputs and execution counts are cleared (an output could show
  a solution's result), and a solution cell's ``jupyter.source_hidden`` flag is
  dropped so that the stub is visible;
* everything else (cells, ids, metadata, the order) is kept; a notebook without
  ``solution`` cells is copied byte for byte.

``N`` is taken from a tag ``exercise-N`` on the cell, else from a first line
``# Exercise N`` (or ``**Exercise N**`` in Markdown), else it counts the
solution cells of the notebook (1, 2, ...).

An **instructor** copy is each notebook byte for byte: the notebooks that nbval
runs in the test suite.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import re
import shutil
import sys

__all__ = ["SOLUTION_TAG", "is_solution", "hidden_lines", "student_notebook", "exercise_number", "write_copies", "main"]

SOLUTION_TAG = "solution"
_BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
_TAG_NUMBER = re.compile(r"^exercise[-_:]?(\w+)$", re.IGNORECASE)
_FIRST_LINE_NUMBER = re.compile(r"^\s*(?:#+|\*\*)\s*Exercise\s+(\w+)", re.IGNORECASE)
DEFAULT_NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _as_lines(text: str) -> list[str]:
    """Notebook JSON's list-of-lines form (each line keeps its newline, the last has none)."""
    return text.splitlines(keepends=True)


def is_solution(cell: dict) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def exercise_number(cell: dict, ordinal: int) -> str:
    """The exercise a solution cell answers: its ``exercise-N`` tag, a first line ``# Exercise N``, or ``ordinal``."""
    for tag in cell.get("metadata", {}).get("tags", []):
        m = _TAG_NUMBER.match(tag)
        if m:
            return m.group(1)
    m = _FIRST_LINE_NUMBER.match(_source(cell).lstrip("\n").split("\n", 1)[0])
    return m.group(1) if m else str(ordinal)


def _stub_code(source: str, number: str, where: str) -> str:
    message = f"Exercise {number}: write your solution here; the check cell below says whether it is right"
    raise_line = f'raise NotImplementedError("{message}")'
    lines = source.split("\n")
    if not any(_BEGIN.match(line) for line in lines):
        return f"# Exercise {number}: your code here\n{raise_line}"
    out, inside = [], False
    for line in lines:
        begin = _BEGIN.match(line)
        if begin:
            if inside:
                raise ValueError(f"{where}: BEGIN SOLUTION inside another BEGIN SOLUTION")
            inside = True
            out.append(f"{begin.group(1)}{raise_line}")
        elif _END.match(line):
            if not inside:
                raise ValueError(f"{where}: END SOLUTION without a BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: BEGIN SOLUTION without an END SOLUTION")
    return "\n".join(out)


def hidden_lines(cell: dict) -> list[str]:
    """The lines of a solution cell that a student copy hides (between the markers, or the whole cell)."""
    lines = _source(cell).split("\n")
    if cell.get("cell_type") != "code" or not any(_BEGIN.match(line) for line in lines):
        return lines
    out, inside = [], False
    for line in lines:
        if _BEGIN.match(line) or _END.match(line):
            inside = bool(_BEGIN.match(line))
        elif inside:
            out.append(line)
    return out


def student_notebook(nb: dict, name: str = "notebook") -> tuple[dict, int]:
    """A student copy of the notebook ``nb`` (its JSON as a dict) and the number of solution cells stubbed."""
    out = copy.deepcopy(nb)
    ordinal = 0
    for cell in out.get("cells", []):
        if not is_solution(cell):
            continue
        ordinal += 1
        number = exercise_number(cell, ordinal)
        where = f"{name}, cell {cell.get('id', ordinal)}"
        if cell.get("cell_type") == "code":
            stub = _stub_code(_source(cell), number, where)
        else:
            stub = f"*Exercise {number}: your answer here.*"
        cell["source"] = _as_lines(stub)
        hidden = cell.get("metadata", {}).get("jupyter", {})
        for flag in ("source_hidden", "outputs_hidden"):
            hidden.pop(flag, None)
        if "jupyter" in cell.get("metadata", {}) and not hidden:
            del cell["metadata"]["jupyter"]
    if ordinal:
        for cell in out["cells"]:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
    return out, ordinal


def _dump(nb: dict) -> str:
    # the committed notebooks' own format (nbformat writes the same: one-space indent, unicode kept)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def write_copies(kind: str, out_dir: pathlib.Path, notebooks: pathlib.Path = DEFAULT_NOTEBOOKS) -> dict[str, int]:
    """Write ``kind`` ("student" or "instructor") copies of ``notebooks/*.ipynb`` into ``out_dir``.

    Returns ``{file name: solution cells stubbed}`` (all 0 for instructor copies).
    """
    if kind not in ("student", "instructor"):
        raise ValueError(f"kind must be 'student' or 'instructor', got {kind!r}")
    notebooks, out_dir = pathlib.Path(notebooks), pathlib.Path(out_dir)
    sources = sorted(notebooks.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {notebooks}; pass --notebooks DIR")
    if out_dir.resolve() == notebooks.resolve():
        raise ValueError(f"OUT_DIR must not be the notebooks' own folder {notebooks}: the copies would replace them")
    out_dir.mkdir(parents=True, exist_ok=True)
    stubbed = {}
    for path in sources:
        target = out_dir / path.name
        if kind == "instructor":
            shutil.copyfile(path, target)
            stubbed[path.name] = 0
            continue
        text = path.read_text(encoding="utf-8")
        student, n = student_notebook(json.loads(text), path.name)
        if n:
            target.write_text(_dump(student), encoding="utf-8")
        else:
            shutil.copyfile(path, target)  # nothing to hide: the very same file
        stubbed[path.name] = n
    return stubbed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.workshop",
        description="Write student copies (solutions replaced by stubs) or instructor copies of the notebooks.",
    )
    parser.add_argument("kind", choices=("student", "instructor"))
    parser.add_argument("out_dir", type=pathlib.Path, metavar="OUT_DIR")
    parser.add_argument(
        "--notebooks",
        type=pathlib.Path,
        default=DEFAULT_NOTEBOOKS,
        help=f"folder of the notebooks ({DEFAULT_NOTEBOOKS})",
    )
    args = parser.parse_args(argv)
    try:
        stubbed = write_copies(args.kind, args.out_dir, args.notebooks)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    total = sum(stubbed.values())
    what = f", {total} solution cells replaced by stubs" if args.kind == "student" else ", solutions included"
    print(f"{len(stubbed)} {args.kind} notebooks in {args.out_dir}{what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
