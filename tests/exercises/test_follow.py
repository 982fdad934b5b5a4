"""exercises/follow.py: the follow scorer on its own: a lagging copy is in step, a
still person is not and falls short on the arms; scores come at their interval;
a new instructor starts the comparison over."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from exercises.events import Event
from exercises.follow import FollowRepCounted, FollowScorer, InStepScored
from exercises.group import GroupOptions
from exercises.roster import ParticipantState
from tests.factories import make_frame
from vision.types import Poses, Skeleton

FPS = 10.0


def arm(t: float) -> float:
    return 20.0 + 130.0 * 0.5 * (1 - math.cos(2 * math.pi * t / 3.0))


def scene(i: int) -> Poses:
    t = i / FPS
    ts = round(i * 1000 / FPS) + 1
    frames = [
        make_frame(ts, center_x=0.5, height=0.6, shoulder_deg=arm(t), aspect=16 / 9),
        make_frame(ts, center_x=0.2, shoulder_deg=arm(t - 0.5), aspect=16 / 9),
        make_frame(ts, center_x=0.8, shoulder_deg=20.0, aspect=16 / 9),
    ]
    p = Poses.from_frames(frames, ts)
    return dataclasses.replace(p, track_ids=np.array([1, 2, 3], np.int64))


def run(
    scorer: FollowScorer, states: dict[int, ParticipantState], frames: range
) -> list[Event]:
    events: list[Event] = []
    for i in frames:
        poses = scene(i)
        angles = scorer.frame(poses, 1, poses.timestamp_ms)
        for row, track_id in ((1, 2), (2, 3)):
            states[track_id].last_seen_ms = poses.timestamp_ms
            scorer.feed(
                states[track_id], poses[row], angles[row], poses.timestamp_ms, events
            )
    return events


def setup() -> tuple[FollowScorer, dict[int, ParticipantState]]:
    scorer = FollowScorer(GroupOptions(), Skeleton.BLAZEPOSE_33, elder_mode=True)
    states = {k: ParticipantState(k, k - 1, "participant", 1, 1) for k in (2, 3)}
    for k in states:
        scorer.join(k)
    return scorer, states


def test_a_lagging_copy_is_in_step_and_a_still_person_is_not() -> None:
    scorer, states = setup()
    events = run(scorer, states, range(300))
    scored = {
        k: [e for e in events if isinstance(e, InStepScored) and e.track_id == k]
        for k in (2, 3)
    }
    for k in (2, 3):
        times = [e.timestamp_ms for e in scored[k]]
        assert len(times) >= 20 and set(np.diff(times)) == {1000}  # every second
    copy, still = scored[2][-1], scored[3][-1]
    assert copy.score >= 85 and 300 <= copy.lag_ms <= 700, copy
    assert still.score <= 30, still
    assert "arms_higher" in states[3].faults and "arms_higher" not in states[2].faults
    reps = [e.count for e in events if isinstance(e, FollowRepCounted)]
    assert reps == list(range(1, len(reps) + 1)) and len(reps) >= 5
    assert states[2].reps == len(reps) and states[3].reps == 0


def test_a_new_instructor_starts_the_comparison_over() -> None:
    scorer, states = setup()
    run(scorer, states, range(100))
    scorer.instructor_changed()
    events = run(scorer, states, range(100, 120))  # 2 s: not a whole window + lag
    assert not any(isinstance(e, InStepScored) for e in events)
    events = run(scorer, states, range(120, 160))
    assert any(isinstance(e, InStepScored) for e in events)  # filled again
