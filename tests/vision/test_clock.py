"""vision/clock.py: strictly increasing timestamps, checked without taking them."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import pytest

from vision.clock import NonMonotonicTimestamp, VideoClock


@pytest.mark.parametrize(
    ("mode", "accepted", "offered", "expectation"),
    [
        pytest.param("", [], 0, does_not_raise(), id="first-any"),
        pytest.param("", [5], 6, does_not_raise(), id="later"),
        pytest.param("", [5], np.int64(9), does_not_raise(), id="numpy-int"),
        pytest.param(
            "",
            [10],
            10,
            pytest.raises(
                NonMonotonicTimestamp,
                match=r"^timestamps must increase: got 10 ms after 10 ms$",
            ),
            id="equal",
        ),
        pytest.param(
            "VIDEO mode",
            [10, 20],
            15,
            pytest.raises(
                ValueError,
                match=r"^timestamps must increase \(VIDEO mode\): "
                r"got 15 ms after 20 ms$",
            ),
            id="earlier-video-mode",
        ),
        pytest.param(
            "",
            [],
            1.5,
            pytest.raises(TypeError, match=r"timestamp_ms must be an int, got 1.5"),
            id="float",
        ),
        pytest.param(
            "",
            [],
            True,
            pytest.raises(TypeError, match=r"timestamp_ms must be an int, got True"),
            id="bool",
        ),
    ],
)
def test_check(mode: str, accepted: list[int], offered: Any, expectation: Any) -> None:
    clock = VideoClock(mode)
    for ts in accepted:
        clock.advance(ts)
    with expectation:
        assert clock.check(offered) == int(offered)
    # Checking never takes the timestamp.
    assert clock.last_ms == (accepted[-1] if accepted else None)


def test_advance_takes_the_timestamp_and_reset_forgets_it() -> None:
    clock = VideoClock()
    assert clock.advance(np.int32(7)) == 7 and type(clock.last_ms) is int
    with pytest.raises(NonMonotonicTimestamp) as info:
        clock.advance(7)
    assert (info.value.timestamp_ms, info.value.last_ms) == (7, 7)
    assert clock.last_ms == 7  # a rejected timestamp is not taken
    clock.reset()
    assert clock.last_ms is None and clock.advance(1) == 1
