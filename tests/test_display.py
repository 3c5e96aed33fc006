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
