"""show_source: package code shown in notebooks."""

import pytest

from course_lib.display import Source, show_source
from course_lib.rl.returns import reward_to_go


def test_show_source_highlights_package_code():
    src = show_source(reward_to_go)
    assert isinstance(src, Source)
    assert src.code.startswith("def reward_to_go(")
    assert "course_lib.rl.returns.reward_to_go" in src.title
    html = src._repr_html_()
    assert "<span" in html and "reward_to_go" in html
    assert "```python" in src._repr_markdown_()
    with pytest.raises(TypeError, match="obj must be a function"):
        show_source(42)


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad("source-of-int", lambda: show_source(3), TypeError, "obj"),
    bad("source-of-string", lambda: show_source("reward_to_go"), TypeError, "obj"),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)


def test_equations_display_and_never_evaluate():
    import sympy as sp

    from course_lib.display import Equation, show_equation

    x = sp.Symbol("x")
    theta = sp.Matrix([[1, 2]])
    eq = show_equation(sp.Symbol(r"\theta'"), theta)  # sp.Eq(symbol, Matrix) would be False
    assert isinstance(eq, Equation)
    latex = eq._repr_latex_()
    assert latex.startswith("$$") and "False" not in latex and r"\left[\begin{matrix}1 & 2\end{matrix}\right]" in latex
    assert show_equation(x**2, "2x", r"\neq")._repr_latex_() == r"$$x^{2} \neq 2x$$"
    with pytest.raises(TypeError, match="not booleans"):
        show_equation(sp.Eq(x, theta) if isinstance(sp.Eq(x, theta), bool) else False, theta)


def test_source_listing_is_marked_as_code_for_the_book():
    # the book's CSS lets it scroll like a code cell, and tests/test_browser.py recognises it by this class
    html = show_source(reward_to_go)._repr_html_()
    assert html.startswith("<div class='course-source'>") and html.endswith("</div>")


def test_equation_can_put_its_right_hand_side_on_a_line_below():
    import sympy as sp

    from course_lib.display import show_equation

    x = sp.Symbol("x")
    latex = show_equation(r"\text{a long left-hand side}", x**2, rhs_below=True)._repr_latex_()
    assert latex == r"$$\begin{aligned}&\text{a long left-hand side} \\ &\qquad = x^{2}\end{aligned}$$"
    with pytest.raises(TypeError, match="rhs_below"):
        show_equation(x, x, rhs_below="yes")
