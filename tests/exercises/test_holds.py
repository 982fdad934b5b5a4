"""exercises/holds.py: the hold timer's exact events, and a move's end hold."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from exercises.events import Event, HoldCompleted, HoldProgressed
from exercises.holds import HoldTimer, MoveHold
from exercises.spec import Condition, HoldSpec

HOLD = HoldSpec(
    target_s=3.0,
    in_position=(Condition("hip", min=160.0),),
    target=(("hip", 175.0),),
    tolerance=(("hip", 10.0),),
)


def shape(events: Sequence[Event]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, HoldProgressed):
            out.append(("hold", e.timestamp_ms, e.held_ms, e.in_position))
        else:
            assert isinstance(e, HoldCompleted)
            out.append(("done", e.timestamp_ms, e.held_ms, e.score))
    return out


def run(timer: HoldTimer, hips: Sequence[float], step_ms: int = 250) -> list[Event]:
    return [
        e
        for i, hip in enumerate(hips)
        for e in timer.step({"hip": hip}, i * step_ms, True)
    ]


def test_in_position_ticks_completion_and_leaving() -> None:
    timer = HoldTimer(HOLD, target_ms=2000, tick_ms=1000, debounce_ms=300)
    hips = [100, 175, 175, 175, 175, 175, 175, 175, 175, 175, 100, 100, 100, 175]
    assert shape(run(timer, hips)) == [
        ("hold", 750, 500, True),  # in since 250 ms, which held 300 ms by 750
        ("hold", 1250, 1000, True),
        ("hold", 2250, 2000, True),
        ("done", 2250, 2000, 100.0),  # held exactly on target
        ("hold", 3000, 2250, False),  # out since 2500 ms: counted up to then
    ]
    assert (timer.in_position, timer.completed) == (False, True)
    assert timer.held_ms(5000) == 2250
    # The frames while leaving still count as held (until the change is confirmed).
    assert timer.score().score < 100.0


def test_a_short_dip_does_not_interrupt_the_hold() -> None:
    timer = HoldTimer(HOLD, target_ms=10_000, tick_ms=1000, debounce_ms=300)
    events = run(timer, [175, 175, 175, 175, 175, 100, 175, 175, 175], step_ms=100)
    assert shape(events) == [("hold", 300, 300, True)]
    assert timer.in_position and timer.held_ms(800) == 800


def test_not_usable_frames_are_out_of_position() -> None:
    timer = HoldTimer(HOLD, target_ms=1000, tick_ms=1000, debounce_ms=0)
    assert timer.step({"hip": 175.0}, 0, usable=False) == []
    assert shape(timer.step({"hip": 175.0}, 100, usable=True)) == [
        ("hold", 100, 0, True)
    ]


@pytest.mark.parametrize(
    ("holds", "finished_at"),
    [
        pytest.param([True] * 10, 500, id="held-for-the-target"),
        pytest.param([True, True, False, False, False, False], 400, id="left"),
        pytest.param([True, False, True, False, True, True], 500, id="flicker-held"),
        pytest.param([False] * 3, 200, id="never-there"),
    ],
)
def test_a_move_hold_ends_held_or_left(
    holds: list[bool], finished_at: int | None
) -> None:
    hold = MoveHold(move=1, start_idx=3, end_idx=7, entered_ms=0, target_ms=500)
    done = None
    for i, h in enumerate(holds):
        if hold.step(h, i * 100, debounce_ms=200):
            done = i * 100
            break
    assert done == finished_at
