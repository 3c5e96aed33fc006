"""Table-driven bad-input tests: each row is a call that must be refused with a clear error.

A row is ``bad(id, call, exc, *words)``: calling ``call()`` must raise ``exc`` (a
``ValueError`` or ``TypeError`` subclass, never a deep torch/NumPy error) whose message
contains every one of ``words`` -- at least the name of the argument at fault.
Each test module keeps its rows in ``BAD_INPUTS`` and runs them with :func:`refused`;
``tests/test_validation.py`` counts the rows of all modules.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


def bad(id: str, call: Callable[[], object], exc: type[Exception], *words: str):
    assert words, f"row {id!r} must name at least the argument at fault"
    assert issubclass(exc, (ValueError, TypeError)), f"row {id!r}: {exc} is not a ValueError or TypeError"
    return pytest.param(call, exc, words, id=id)


def refused(call: Callable[[], object], exc: type[Exception], words: tuple[str, ...]) -> None:
    with pytest.raises(exc) as info:  # another exception type propagates and fails the test with its traceback
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"the message {message!r} does not say {word!r}"
