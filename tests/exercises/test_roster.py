"""exercises/roster.py: seats, leaving, and who the instructor is; exact events."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from exercises.events import Event
from exercises.roster import (
    InstructorChanged,
    ParticipantJoined,
    ParticipantLeft,
    Roster,
    pick_instructor,
)
from tests.factories import make_frame
from vision.types import Poses

PLACES = {1: (0.5, 0.6), 2: (0.2, 0.45), 3: (0.7, 0.45), 4: (0.6, 0.25)}


def scene(ts: int, ids: list[int]) -> Poses:
    frames = [make_frame(ts, center_x=PLACES[k][0], height=PLACES[k][1]) for k in ids]
    p = Poses.from_frames(frames, ts)
    return dataclasses.replace(p, track_ids=np.array(ids, np.int64))


def roster(**kw: Any) -> Roster:
    options: dict[str, Any] = {
        "max_participants": 2,
        "leave_after_ms": 1000,
        "instructor_lost_ms": 500,
        "pick_instructor": True,
    }
    return Roster(**(options | kw))


def step(r: Roster, ts: int, ids: list[int]) -> list[Event]:
    """A frame as the group session takes it: the update, then seats for the rest."""
    events: list[Event] = []
    r.update(scene(ts, ids), ts, events)
    for t in ids:
        if t != r.instructor and t not in r.participants:
            r.join(t, ts, events)
        if t in r.participants:
            r.participants[t].last_seen_ms = ts
    return events


def test_the_largest_central_person_leads_and_the_rest_take_seats() -> None:
    r = roster()
    assert step(r, 0, [2, 1, 3, 4]) == [
        InstructorChanged(0, 1, None, True),
        ParticipantJoined(0, 2, 1),
        ParticipantJoined(0, 3, 2),  # 4 gets no seat: two seats
    ]
    assert list(r.participants) == [2, 3] and r.instructor == 1


def test_leaving_frees_the_seat_for_the_next() -> None:
    r = roster()
    step(r, 0, [1, 2, 3])
    events = [e for ts in range(100, 1300, 100) for e in step(r, ts, [1, 3, 4])]
    assert events == [
        ParticipantLeft(1100, 2, 1),  # unseen for more than a second
        ParticipantJoined(1100, 4, 1),  # number 1 again
    ]


def test_a_lost_instructor_is_replaced_and_a_participant_promoted() -> None:
    r = roster()
    step(r, 0, [1, 2, 3])
    events = [e for ts in range(100, 800, 100) for e in step(r, ts, [2, 3])]
    assert events == [
        InstructorChanged(600, 3, 1, True),  # 600 - 0 > 500; 3 is nearer the centre
        ParticipantLeft(600, 3, 2),
    ]
    change = r.update(scene(700, [2, 3]), 700, [])
    assert change.replaced is False and change.dropped == () and change.left == ()


def test_a_set_instructor_is_announced_when_seen_and_never_picked_without_follow() -> (
    None
):
    r = roster(pick_instructor=False, instructor_track_id=4)
    assert step(r, 0, [1, 2]) == [
        ParticipantJoined(0, 1, 1),
        ParticipantJoined(0, 2, 2),
    ]
    assert step(r, 100, [1, 2, 4]) == [InstructorChanged(100, 4, None, False)]
    assert r.set_instructor(2) is True  # a participant: no longer one
    assert list(r.participants) == [1]
    assert step(r, 200, [1, 2]) == [InstructorChanged(200, 2, None, False)]


def test_pick_instructor_prefers_size_and_the_centre() -> None:
    assert pick_instructor(scene(0, [2, 3, 1])) == 1
    assert pick_instructor(scene(0, [2, 3])) == 3  # as tall, nearer the centre
    assert pick_instructor(scene(0, [2, 4])) == 2  # 4 is nearer, but much smaller
