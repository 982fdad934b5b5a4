"""The one rep counter of the assessments: exact outcomes per sample, both directions,
levels given per sample, the halfway rule."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from exercises.assessments.counter import RepGate, RepOutcome

NAN = math.nan
C, S = RepOutcome.COUNTED, RepOutcome.SHORT


def rising() -> RepGate:
    return RepGate(rest=0.3, attempt=0.5, target=1.0, armed=True)


def falling() -> RepGate:
    # An elbow angle: rest at 150 degrees or more, target 60 or less.
    return RepGate(rest=150.0, attempt=105.0, target=60.0)


@pytest.mark.parametrize(
    ("make", "samples", "outcomes", "count", "short"),
    [
        pytest.param(
            rising,
            [0.0, 0.6, 1.0, 0.6, 0.2],
            [None, None, C, None, None],
            1,
            0,
            id="rising-full",
        ),
        pytest.param(
            rising,
            [0.0, 0.7, 0.2],
            [None, None, S],
            0,
            1,
            id="rising-short",
        ),
        pytest.param(
            rising,
            [0.0, 0.45, 0.2],
            [None, None, None],
            0,
            0,
            id="below-attempt-is-nothing",
        ),
        pytest.param(
            rising,
            [1.0, 0.9, 1.2, 0.3, 1.0],
            [C, None, None, None, C],
            2,
            0,
            id="once-per-return-to-rest",
        ),
        pytest.param(
            rising,
            [NAN, 1.0, NAN, 0.0, NAN, 1.0],
            [None, C, None, None, None, C],
            2,
            0,
            id="nan-changes-nothing",
        ),
        pytest.param(
            falling,
            [100.0, 40.0, 170.0],
            [None, None, None],
            0,
            0,
            id="falling-unarmed-until-rest",
        ),
        pytest.param(
            falling,
            [150.0, 60.0, 151.0, 61.0, 150.0],
            [None, C, None, None, S],
            1,
            1,
            id="falling-edges-inclusive",
        ),
    ],
)
def test_outcomes(
    make: Callable[[], RepGate],
    samples: list[float],
    outcomes: list[RepOutcome | None],
    count: int,
    short: int,
) -> None:
    gate = make()
    assert [gate.update(v) for v in samples] == outcomes
    assert (gate.count, gate.short) == (count, short)


def test_a_condition_holds_the_count_back() -> None:
    gate = rising()
    assert gate.update(1.0, complete=False) is None
    assert gate.update(1.1, complete=True) is C
    assert gate.count == 1


def test_levels_per_sample() -> None:
    gate = RepGate(rest=0.0, attempt=0.0, target=0.0)
    assert gate.settle(1.0, rest=1.5) is None and gate.armed
    assert gate.rise(1.9, attempt=1.75, target=2.0) is None
    assert gate.settle(1.4, rest=1.5) is S
    assert gate.rise(2.0, attempt=1.75, target=2.0) is C
    assert (gate.count, gate.short, gate.armed) == (1, 1, False)


@pytest.mark.parametrize(
    ("samples", "over_halfway", "counted"),
    [
        pytest.param([0.0, 0.8], True, True, id="under-way-and-over-halfway"),
        pytest.param([0.0, 0.8], False, False, id="under-way-not-over-halfway"),
        pytest.param([0.0, 1.0, 0.8], True, False, id="already-counted"),
    ],
)
def test_finish(samples: list[float], over_halfway: bool, counted: bool) -> None:
    gate = rising()
    for v in samples:
        gate.update(v)
    before = gate.count
    assert gate.finish(over_halfway) is counted
    assert gate.count == before + int(counted)
    assert gate.last == samples[-1]
