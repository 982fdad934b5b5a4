"""The verdict debouncer: the first at once, a change once it has held."""

from __future__ import annotations

import pytest

from exercises.debounce import Debouncer


@pytest.mark.parametrize(
    ("stream", "announced"),
    [
        pytest.param([("a", 0)], ["a"], id="first-at-once"),
        pytest.param([("a", 0), ("a", 100)], ["a"], id="same-again-silent"),
        pytest.param(
            [("a", 0), ("b", 100), ("b", 400), ("b", 600)], ["a", "b@600"], id="held"
        ),
        pytest.param(
            [("a", 0), ("b", 100), ("a", 300), ("b", 500), ("b", 900)],
            ["a"],
            id="flicker-restarts-the-wait",
        ),
        pytest.param(
            [("a", 0), ("b", 100), ("c", 400), ("c", 900)], ["a", "c@900"], id="newest"
        ),
    ],
)
def test_debouncer(stream: list[tuple[str, int]], announced: list[str]) -> None:
    gate = Debouncer(hold_ms=500)
    out = []
    for key, ts in stream:
        if gate.update(key, ts):
            out.append(key if not out else f"{key}@{ts}")
    assert out == announced


def test_reset_announces_the_next_at_once() -> None:
    gate = Debouncer(hold_ms=500)
    assert gate.update("a", 0)
    gate.reset()
    assert gate.current is None
    assert gate.update("b", 10)
    assert gate.current == "b"
