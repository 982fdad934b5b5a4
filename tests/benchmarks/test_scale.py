"""`benchmarks.scale`'s kiosk counts chosen from the model's prediction."""

from __future__ import annotations

import itertools
import math

import pytest

from benchmarks.scale import auto_kiosks


@pytest.mark.parametrize("predicted", [0.4, 3.2, 9.7, 13.5, 22.0, 31.9])
def test_every_count_around_the_target_is_tried_on_a_small_box(
    predicted: float,
) -> None:
    """Below 32 kiosks predicted, every N from half the prediction to past it is in
    the list, so 0.8 of the prediction is never between two tried counts."""
    counts = auto_kiosks(predicted)
    assert counts == sorted(set(counts))
    assert counts[:3] == [1, 2, 4]
    first = max(5, math.floor(predicted / 2))
    assert set(range(first, math.ceil(predicted) + 1)) <= set(counts)
    assert counts[-1] >= math.ceil(1.25 * predicted)


def test_larger_boxes_step_by_a_sixteenth_of_the_prediction() -> None:
    counts = auto_kiosks(54.0)
    assert counts[:5] == [1, 2, 4, 8, 16]
    steps = {b - a for a, b in itertools.pairwise(counts[5:])}
    assert steps == {3}
    assert counts[5] == 27 and counts[-1] >= 0.8 * 54 and counts[-1] <= 64


def test_no_count_above_the_limit() -> None:
    assert auto_kiosks(200.0) == [1, 2, 4, 8, 16, 32, 64]
    assert max(auto_kiosks(60.0, most=40)) <= 40
