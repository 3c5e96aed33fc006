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
