"""exercises/trace.py: rows by a frame counter that survives trimming and growth."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from exercises.trace import Trace


def filled(n: int, *, step_ms: int = 100, capacity: int = 256) -> Trace:
    trace = Trace(("knee", "hip"), capacity=capacity)
    for i in range(n):
        side = ("left", "right", None)[i % 3]
        view = ("side", "front", None, "oblique")[i % 4]
        assert trace.append(i * step_ms, {"knee": float(i), "hip": -i}, side, view) == i
    return trace


def test_rows_come_back_by_frame_index() -> None:
    trace = filled(6)
    times, values = trace.window(2, 4)
    npt.assert_array_equal(times, [200, 300, 400])
    npt.assert_array_equal(values, [[2, -2], [3, -3], [4, -4]])
    assert values.dtype == np.float32 and times.dtype == np.int64
    assert trace.sides(2, 4) == [None, "left", "right"]
    assert trace.views(2, 4) == [None, "oblique", "side"]
    assert (trace.timestamp_ms(5), trace.side(5), trace.column("hip")) == (500, None, 1)
    assert (trace.first_idx, trace.next_idx, len(trace)) == (0, 6, 6)


def test_a_channel_missing_from_the_values_is_nan() -> None:
    trace = Trace(("knee", "hip"))
    trace.append(0, {"knee": 90.0}, None, None)
    _, values = trace.window(0, 0)
    assert values[0, 0] == 90.0 and math.isnan(values[0, 1])


@pytest.mark.parametrize(
    ("keep_from", "lookback_ms", "first"),
    [
        pytest.param(5, 0, 5, id="no-lead-in"),
        pytest.param(5, 250, 3, id="lead-in-250ms"),  # 300, 400 >= 500 - 250
        pytest.param(5, 10_000, 0, id="lead-in-beyond-the-start"),
        pytest.param(0, 1000, 0, id="nothing-before"),
    ],
)
def test_trim_keeps_the_lead_in(keep_from: int, lookback_ms: int, first: int) -> None:
    trace = filled(8)
    assert trace.lead_in(keep_from, lookback_ms) == first
    trace.trim(keep_from, lookback_ms)
    assert (trace.first_idx, trace.next_idx) == (first, 8)
    assert trace.timestamp_ms(first) == first * 100
    if first > 0:
        with pytest.raises(IndexError, match=f"frame {first - 1} is not in the trace"):
            trace.window(first - 1, 7)


def test_indices_survive_sliding_and_growing() -> None:
    trace = Trace(("knee",), capacity=4)
    for i in range(50):
        trace.append(i * 10, {"knee": float(i)}, "left", "side")
        if i % 7 == 0:
            trace.trim(max(0, i - 5), 0)  # keep the last 6 rows, then more
    assert trace.first_idx == 44 and trace.next_idx == 50
    for i in range(200):  # nothing trimmed: the arrays grow
        trace.append(500 + i * 10, {"knee": 50.0 + i}, None, None)
    times, values = trace.window(44, 249)
    npt.assert_array_equal(values[:, 0], np.arange(44, 250, dtype=np.float32))
    npt.assert_array_equal(np.diff(times), 10)
    assert trace.lead_in(249, 30) == 246
