"""A Baduanjin class on the group screen: three synthetic people side by side, built
from the routine's own key poses, each followed through a two-section Baduanjin, the
guide shared."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from exercises.events import Event
from exercises.group import ParticipantEvent
from exercises.roster import ParticipantJoined, ParticipantLeft
from exercises.routine import get_routine
from exercises.routine_events import (
    RoundCompleted,
    RoutineCompleted,
    RoutinePaused,
    SectionSkipped,
    SectionStarted,
)
from exercises.routine_group import RoutineClass
from exercises.routine_session import RoutineOptions, RoutineSession
from tests.routine_performance import Part, perform
from tests.server.programme_scripts import short_routine
from vision.types import PoseFrame, Poses, Skeleton

FPS = 10.0
SECTIONS = ("hold_up_heavens", "draw_the_bow")
PLANS = {
    1: ((Part("hold_up_heavens", 2), Part("draw_the_bow", 2)), 1.0),
    2: ((Part("hold_up_heavens", 2), Part("draw_the_bow", 2)), 1.2),  # slower
    3: ((Part("hold_up_heavens", 2),), 1.0),  # stops after section 1
}
"""track id -> (what they do, their pace against the standard)."""


@functools.cache
def routine():  # type: ignore[no-untyped-def]
    return short_routine(get_routine("baduanjin"), SECTIONS, 2)


def _tiled(
    absent_after_s: dict[int, float] | None = None, plans: dict = PLANS
) -> list[Poses]:
    """Everyone in their third of a 3:1 picture, on one clock; someone who has done
    their plan stands still (or, with `absent_after_s`, is gone from then on)."""
    absent = absent_after_s or {}
    people = {
        t: perform(routine(), plan, fps=FPS, pace=pace)[0]
        for t, (plan, pace) in plans.items()
    }
    n = max(len(f) for f in people.values())
    out = []
    for i in range(n):
        ts = round(i * 1000 / FPS)
        ids, xyz, vis = [], [], []
        for k, (t, frames) in enumerate(people.items()):
            if t in absent and ts > absent[t] * 1000:
                continue
            f: PoseFrame = frames[min(i, len(frames) - 1)]
            p = f.xyz.copy()
            p[:, 0] = (k + p[:, 0]) / 3.0
            ids.append(t)
            xyz.append(p)
            vis.append(f.visibility)
        out.append(
            Poses(
                np.array(xyz, np.float32).reshape(-1, 17, 3),
                np.array(vis, np.float32).reshape(-1, 17),
                np.array(ids, np.int64),
                np.ones(len(ids), np.float32),
                ts,
                Skeleton.COCO_17,
                aspect_wh=3.0,
            )
        )
    return out


def _run(frames: list[Poses]) -> tuple[RoutineClass, list[Event]]:
    group = RoutineClass(routine())
    events: list[Event] = []
    for p in frames:
        events += group.feed(p)
    return group, events + group.finish(frames[-1].timestamp_ms + 1)


def _theirs(events: list[Event], track_id: int, kind: type) -> list:
    return [
        e.event
        for e in events
        if isinstance(e, ParticipantEvent)
        and e.track_id == track_id
        and isinstance(e.event, kind)
    ]


@functools.cache
def _class() -> tuple[RoutineClass, list[Event]]:
    return _run(_tiled())


def test_everyone_joins_and_the_room_hears_each_section_once() -> None:
    _, events = _class()
    joined = [
        (e.track_id, e.number) for e in events if isinstance(e, ParticipantJoined)
    ]
    assert joined == [(1, 1), (2, 2), (3, 3)]
    spoken = [e.section_id for e in events if isinstance(e, SectionStarted)]
    assert spoken == list(SECTIONS)
    # nobody's own transitions reach the room
    assert not [
        e
        for e in events
        if isinstance(e, ParticipantEvent) and isinstance(e.event, SectionStarted)
    ]


@pytest.mark.parametrize(
    ("track_id", "rounds", "skipped"),
    [
        pytest.param(1, {"hold_up_heavens": 2, "draw_the_bow": 2}, (), id="whole"),
        pytest.param(2, {"hold_up_heavens": 2, "draw_the_bow": 2}, (), id="slower"),
        pytest.param(
            3, {"hold_up_heavens": 2, "draw_the_bow": 0}, ("draw_the_bow",), id="stops"
        ),
    ],
)
def test_each_participant_is_followed_on_their_own(
    track_id: int, rounds: dict[str, int], skipped: tuple[str, ...]
) -> None:
    group, events = _class()
    done = _theirs(events, track_id, RoutineCompleted)
    assert len(done) == 1
    assert done[0].section_rounds == rounds
    assert done[0].skipped == skipped
    assert all(score >= 80 for score in done[0].section_scores.values())
    counted = _theirs(events, track_id, RoundCompleted)
    assert len(counted) == sum(rounds.values())
    member = next(m for m in group.summary() if m.track_id == track_id)
    assert member.present and member.rounds == rounds and member.result == done[0]
    assert group.participants[track_id].reps == sum(rounds.values())


def test_the_guide_waits_for_half_the_room() -> None:
    whole = (Part("hold_up_heavens", 2), Part("draw_the_bow", 2))
    plans = {1: (whole, 1.0), 2: (whole, 1.2), 3: (whole, 1.4)}
    frames = _tiled(plans=plans)
    group, events = _run(frames)
    room = [e for e in events if isinstance(e, SectionStarted)]
    # each person's own guide, alone: when it would have announced section two
    own = []
    for k, t in enumerate(plans):
        session = RoutineSession(routine(), RoutineOptions(image_aspect=3.0))
        for p in frames:
            row = list(p.track_ids).index(t)
            for e in session.feed(p[row]):
                if isinstance(e, SectionStarted) and e.index == 1:
                    own.append(e.timestamp_ms)
        assert len(own) == k + 1
    assert own[0] < own[1] < own[2]
    assert [e.section_id for e in room] == list(SECTIONS)
    assert room[1].timestamp_ms == own[1]  # the second of three: half the room
    assert group.guide_index == 1


def test_someone_who_leaves_keeps_their_sections() -> None:
    group, events = _run(_tiled(absent_after_s={3: 34.0}))
    left = [e.track_id for e in events if isinstance(e, ParticipantLeft)]
    assert left == [3]
    done = _theirs(events, 3, RoutineCompleted)
    assert len(done) == 1 and done[0].section_rounds == {
        "hold_up_heavens": 2,
        "draw_the_bow": 0,
    }
    member = next(m for m in group.summary() if m.track_id == 3)
    assert not member.present
    assert _theirs(events, 3, SectionSkipped)[-1].section_id == "draw_the_bow"
    # finished there, then gone: their result comes before their leaving (the
    # group screen closes a checked-in record at the leaving, with the result)
    order = [
        type(e.event if isinstance(e, ParticipantEvent) else e).__name__
        for e in events
        if getattr(e, "track_id", None) == 3
    ]
    assert order[-2:] == ["RoutineCompleted", "ParticipantLeft"]


def test_pause_reaches_everyone() -> None:
    frames = _tiled()
    group = RoutineClass(routine())
    for p in frames[:20]:
        group.feed(p)
    paused = group.pause(frames[19].timestamp_ms + 1)
    assert sorted(e.track_id for e in paused if isinstance(e.event, RoutinePaused)) == [  # type: ignore[attr-defined]
        1,
        2,
        3,
    ]


def test_untracked_poses_are_refused() -> None:
    frame = _tiled()[0]
    bad = Poses(
        frame.xyz,
        frame.visibility,
        np.full(len(frame.track_ids), -1, np.int64),
        frame.scores,
        frame.timestamp_ms,
        frame.skeleton,
        aspect_wh=frame.aspect_wh,
    )
    with pytest.raises(ValueError, match="tracked poses"):
        RoutineClass(routine()).feed(bad)
