"""Show package code inside a notebook (the notebooks never paste a second copy)."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer


class Source:
    """Source code that renders syntax-highlighted in Jupyter and the book.

    The HTML sits in a ``<div class="course-source">``: a listing is code, so like a code cell it scrolls
    sideways inside its own box (``book/_static/course.css``), and the browser test recognises it by that class.
    """

    def __init__(self, code: str, title: str = "") -> None:
        self.code = code
        self.title = title

    def _repr_html_(self) -> str:
        formatter = HtmlFormatter(style="default", noclasses=True)
        caption = f"<div style='font-size:85%;color:#555'><code>{self.title}</code></div>" if self.title else ""
        return f"<div class='course-source'>{caption}{highlight(self.code, PythonLexer(), formatter)}</div>"

    def _repr_markdown_(self) -> str:
        return f"`{self.title}`\n```python\n{self.code}\n```" if self.title else f"```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code


def show_source(obj: Any) -> Source:
    """Return the source of a function, class or module of the package, highlighted.

    Usage in a notebook cell: ``show_source(course_lib.rl.returns.reward_to_go)``.
    """
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj) or inspect.ismethod(obj)):
        raise TypeError(f"obj must be a function, class, method or module, got {type(obj).__name__}")
    code = inspect.getsource(obj)
    module = inspect.getmodule(obj)
    title = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    if module is not None and module is not obj:
        title = f"{module.__name__}.{title}"
    return Source(textwrap.dedent(code).rstrip(), title)


class Equation:
    r"""``lhs = rhs`` typeset in Jupyter and the book, never evaluated.

    ``sp.Eq(symbol, matrix)`` *evaluates* to a boolean and a cell would show a bare
    ``False``; this object only ever renders the two sides with :func:`sympy.latex`.
    ``relation`` is the LaTeX between them (``"="``, ``"\neq"``, ``"\approx"``...).
    ``rhs_below=True`` puts ``relation rhs`` on a line of its own under ``lhs``, for a right-hand side
    too wide to share a line with a long left-hand side (the book's text column is about 690 px).
    """

    def __init__(self, lhs: Any, rhs: Any, relation: str = "=", *, rhs_below: bool = False) -> None:
        if isinstance(lhs, bool) or isinstance(rhs, bool):
            raise TypeError("lhs and rhs must be expressions, not booleans (was an equation evaluated already?)")
        if not isinstance(rhs_below, bool):
            raise TypeError(f"rhs_below must be True or False, got {rhs_below!r}")
        self.lhs, self.rhs, self.relation, self.rhs_below = lhs, rhs, relation, rhs_below

    def latex(self) -> str:
        import sympy as sp  # notebooks only: training code never imports SymPy

        def tex(side: Any) -> str:
            return side if isinstance(side, str) else sp.latex(side)

        if self.rhs_below:  # two lines of an aligned block: lhs, then the relation indented under it
            return f"&{tex(self.lhs)} \\\\ &\\qquad {self.relation} {tex(self.rhs)}"
        return f"{tex(self.lhs)} {self.relation} {tex(self.rhs)}"

    def _repr_latex_(self) -> str:
        return (
            f"$$\\begin{{aligned}}{self.latex()}\\end{{aligned}}$$" if "\\\\" in self.latex() else f"$${self.latex()}$$"
        )

    def __repr__(self) -> str:
        return f"{self.lhs} {self.relation} {self.rhs}"


def show_equation(lhs: Any, rhs: Any, relation: str = "=", *, rhs_below: bool = False) -> Equation:
    """Display ``lhs = rhs`` (SymPy expressions, matrices or LaTeX strings) as an equation; see :class:`Equation`."""
    return Equation(lhs, rhs, relation, rhs_below=rhs_below)
