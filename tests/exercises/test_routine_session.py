"""exercises.routine_session on synthetic performances built from the Baduanjin's own
key poses (tests/routine_performance.py): exact section-level event lists."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pytest

from exercises.events import CueIssued, Event
from exercises.routine import RoutineSpec, get_routine
from exercises.routine_events import (
    RestStarted,
    RoundCompleted,
    RoutineCompleted,
    RoutinePaused,
    RoutineResumed,
    SectionCompleted,
    SectionSkipped,
    SectionStarted,
    TempoChanged,
)
from exercises.routine_session import RoutineOptions, RoutineSession
from tests.routine_performance import Part, Turn, perform
from vision.types import COCO_JOINT_NAMES, PoseFrame

FPS = 10.0
STANDARD = [
    ("preparation", 1),
    ("hold_up_heavens", 6),
    ("draw_the_bow", 6),
    ("raise_single_arm", 6),
    ("look_back", 6),
    ("sway_head_and_tail", 6),
    ("touch_the_feet", 6),
    ("punch_with_glare", 6),
    ("heel_raises", 7),
    ("closing", 1),
]
SIDES = ["left", "right"] * 3
TURN_SLACK_MS = 500
"""The plateau around a held pose takes in the frames just before and after the hold
that come within `PLATEAU` of it."""


def routine() -> RoutineSpec:
    return get_routine("baduanjin")


def run(
    frames: Sequence[PoseFrame], options: RoutineOptions | None = None
) -> list[Event]:
    session = RoutineSession(routine(), options)
    events: list[Event] = []
    for f in frames:
        events += session.feed(f)
    return events + session.finish(frames[-1].timestamp_ms + 1)


def sections(events: Sequence[Event]) -> list[tuple[str, str, object]]:
    """The section-level story: what started, ended (with rounds) or was skipped."""
    out: list[tuple[str, str, object]] = []
    for e in events:
        if isinstance(e, SectionStarted):
            out.append(("started", e.section_id, e.target_rounds))
        elif isinstance(e, SectionCompleted):
            out.append(("completed", e.section_id, e.rounds))
        elif isinstance(e, SectionSkipped):
            out.append(("skipped", e.section_id, e.reason))
    return out


def rounds(events: Sequence[Event], section_id: str) -> list[RoundCompleted]:
    return [
        e
        for e in events
        if isinstance(e, RoundCompleted) and e.section_id == section_id
    ]


@functools.cache
def whole_routine() -> tuple[list[Event], list[Turn], list[PoseFrame]]:
    frames, turns = perform(routine(), [Part(s, n) for s, n in STANDARD], fps=FPS)
    return run(frames), turns, frames


def test_whole_routine_every_section_in_order_with_the_standard_counts() -> None:
    events, _, _ = whole_routine()
    completed = [(s, n) for kind, s, n in sections(events) if kind == "completed"]
    assert completed == STANDARD
    started = [s for kind, s, _ in sections(events) if kind == "started"]
    assert started == [s for s, _ in STANDARD]
    assert not [e for e in events if isinstance(e, SectionSkipped)]
    final = events[-1]
    assert isinstance(final, RoutineCompleted)
    assert final.section_rounds == dict(STANDARD)
    assert final.skipped == ()
    assert final.score >= 80.0


def test_whole_routine_sides_and_turning_points() -> None:
    events, turns, frames = whole_routine()
    for section_id, _ in STANDARD:
        done = rounds(events, section_id)
        held = [t for t in turns if t.section_id == section_id]
        assert [r.round for r in done] == list(range(1, len(held) + 1))
        assert [r.side for r in done] == [
            t.side if routine().section(section_id).sides != "none" else None
            for t in held
        ]
        assert [r.expected_side for r in done] == [
            t.side if routine().section(section_id).sides == "alternate" else None
            for t in held
        ]
        for r, t in zip(done, held, strict=True):
            # the turning point lies in the turning phase, and in the held pose where
            # the section's turning channels are extreme only there (in sections 6
            # and 7 the hands stay at the feet / the fist stays out after it)
            assert (
                frames[t.rising].timestamp_ms
                <= r.turning_ms
                <= frames[t.returning].timestamp_ms
            ), (section_id, r.round)
            if section_id not in ("touch_the_feet", "punch_with_glare"):
                first = frames[t.first].timestamp_ms - TURN_SLACK_MS
                last = frames[t.last].timestamp_ms + TURN_SLACK_MS
                assert first <= r.turning_ms <= last, (section_id, r.round)
    assert not [e for e in events if isinstance(e, CueIssued)]
    # done at the standard's pace: no tempo message, nothing to improve
    assert not [e for e in events if isinstance(e, TempoChanged)]
    improvements = [e.improvement_id for e in events if isinstance(e, SectionCompleted)]
    assert improvements == [None] * len(STANDARD)


def test_rest_then_next_section_announced_after_the_target() -> None:
    events, _, _ = whole_routine()
    story = [
        (
            type(e).__name__,
            getattr(e, "next_section_id", getattr(e, "section_id", None)),
        )
        for e in events
        if isinstance(e, RestStarted | SectionStarted)
    ]
    expected = [("SectionStarted", "preparation")]
    for nxt, _ in STANDARD[1:]:
        expected += [("RestStarted", nxt), ("SectionStarted", nxt)]
    assert story == expected
    rest = [e for e in events if isinstance(e, RestStarted)]
    assert [e.duration_ms for e in rest] == [2000] + [4000] * 8


def test_a_skipped_section_is_reported_skipped() -> None:
    plan = [Part("draw_the_bow", 6), Part("raise_single_arm", 6)]
    plan += [Part("sway_head_and_tail", 6)]
    frames, _ = perform(routine(), plan, fps=FPS)
    assert sections(run(frames)) == [
        ("started", "preparation", 1),
        ("skipped", "preparation", "not_seen"),
        ("skipped", "hold_up_heavens", "not_seen"),
        ("started", "draw_the_bow", 6),
        ("started", "raise_single_arm", 6),
        ("completed", "draw_the_bow", 6),
        ("started", "look_back", 6),
        ("completed", "raise_single_arm", 6),
        ("skipped", "look_back", "not_seen"),
        ("started", "sway_head_and_tail", 6),
        ("started", "touch_the_feet", 6),
        ("completed", "sway_head_and_tail", 6),
        ("skipped", "touch_the_feet", "not_seen"),
        ("skipped", "punch_with_glare", "not_seen"),
        ("skipped", "heel_raises", "not_seen"),
        ("skipped", "closing", "not_seen"),
    ]


def test_a_mirrored_side_is_caught() -> None:
    mirrored = ("right", "left") * 3
    frames, _ = perform(routine(), [Part("draw_the_bow", 6, mirrored)], fps=FPS)
    events = run(frames)
    done = rounds(events, "draw_the_bow")
    assert [r.side for r in done] == list(mirrored)
    assert [r.expected_side for r in done] == SIDES
    cues = [e for e in events if isinstance(e, CueIssued)]
    assert [c.cue_id for c in cues] == ["other_side"] * 6
    assert cues[0].message == routine().messages["other_side"]


def test_the_same_side_twice_is_caught_once() -> None:
    sides = ("left", "left", "right", "left", "right", "left")
    frames, _ = perform(routine(), [Part("raise_single_arm", 6, sides)], fps=FPS)
    events = run(frames)
    assert [r.side for r in rounds(events, "raise_single_arm")] == list(sides)
    # from the second round on the standard's order is off by one side
    assert [e.cue_id for e in events if isinstance(e, CueIssued)] == ["other_side"] * 5


def test_skip_moves_on_and_reports_the_section() -> None:
    frames, _ = perform(routine(), [Part("hold_up_heavens", 3)], fps=FPS)
    session = RoutineSession(routine())
    events: list[Event] = []
    for f in frames:
        events += session.feed(f)
    end = frames[-1].timestamp_ms
    events += session.skip(end + 1)
    events += session.skip(end + 2)
    assert sections(events) == [
        ("started", "preparation", 1),
        ("skipped", "preparation", "not_seen"),
        ("started", "hold_up_heavens", 6),
        ("completed", "hold_up_heavens", 3),
        ("started", "draw_the_bow", 6),
        ("skipped", "draw_the_bow", "skipped"),
        ("started", "raise_single_arm", 6),
    ]
    assert session.position.section_id == "raise_single_arm"


def test_pause_ignores_frames_until_resume() -> None:
    frames, turns = perform(routine(), [Part("hold_up_heavens", 4)], fps=FPS)
    # pause over the third round's turning pose
    pause_at = frames[turns[2].first - 30].timestamp_ms
    resume_at = frames[turns[2].last + 30].timestamp_ms
    session = RoutineSession(routine())
    events: list[Event] = []
    for f in frames:
        if f.timestamp_ms == pause_at:
            events += session.pause(f.timestamp_ms)
        if f.timestamp_ms == resume_at:
            events += session.resume(f.timestamp_ms)
        events += session.feed(f)
    events += session.finish(frames[-1].timestamp_ms + 1)
    assert [r.round for r in rounds(events, "hold_up_heavens")] == [1, 2, 3]
    paused = [e for e in events if isinstance(e, RoutinePaused | RoutineResumed)]
    assert paused == [
        RoutinePaused(pause_at),
        RoutineResumed(resume_at, resume_at - pause_at),
    ]


def test_elder_pace_is_slower_with_longer_rests() -> None:
    frames, _ = perform(routine(), [Part("hold_up_heavens", 6)], fps=FPS, pace=1.3)
    events = run(frames, RoutineOptions(elder=True))
    started = [e for e in events if isinstance(e, SectionStarted)]
    assert [(e.section_id, e.pace_s) for e in started] == [
        ("preparation", 15.6),
        ("hold_up_heavens", 19.5),
    ]
    assert [e.duration_ms for e in events if isinstance(e, RestStarted)] == [8000]
    # at the elder pace a slow performance is on tempo
    assert not [e for e in events if isinstance(e, TempoChanged)]
    assert len(rounds(events, "hold_up_heavens")) == 6


def test_too_fast_is_ahead_and_named_as_the_thing_to_improve() -> None:
    frames, _ = perform(routine(), [Part("hold_up_heavens", 6)], fps=FPS, pace=0.5)
    events = run(frames)
    tempo = [(e.tempo, e.message) for e in events if isinstance(e, TempoChanged)]
    assert tempo == [("ahead", routine().messages["tempo_ahead"])]
    done = [e for e in events if isinstance(e, SectionCompleted)]
    assert [(e.section_id, e.rounds, e.improvement_id) for e in done] == [
        ("hold_up_heavens", 6, "tempo_ahead")
    ]


def test_hands_short_of_the_top_names_push_higher() -> None:
    shift = np.zeros((17, 2))
    for name in ("left_wrist", "right_wrist"):
        shift[COCO_JOINT_NAMES.index(name), 1] = 0.45  # torso lengths lower (y down)
    frames, _ = perform(
        routine(), [Part("hold_up_heavens", 6)], fps=FPS, turn_shift=shift
    )
    events = run(frames)
    done = [e for e in events if isinstance(e, SectionCompleted)]
    assert [(e.section_id, e.rounds, e.improvement_id) for e in done] == [
        ("hold_up_heavens", 6, "push_higher")
    ]
    section = routine().section("hold_up_heavens")
    assert done[0].improvement == section.cues[0].say


def test_position_follows_the_person() -> None:
    frames, turns = perform(routine(), [Part("raise_single_arm", 3)], fps=FPS)
    session = RoutineSession(routine())
    seen = []
    for i, f in enumerate(frames):
        session.feed(f)
        if i == turns[2].first + 2:
            seen.append(session.position)
    pos = seen[0]
    assert (pos.section_id, pos.rounds, pos.target_rounds, pos.side) == (
        "raise_single_arm",
        2,
        6,
        "left",
    )
    assert pos.progress > 0.9 and not pos.paused and not pos.finished


def test_time_must_go_forward() -> None:
    frames, _ = perform(routine(), [Part("hold_up_heavens", 1)], fps=FPS)
    session = RoutineSession(routine())
    session.feed(frames[5])
    with pytest.raises(
        ValueError, match="timestamps must increase: got 400 ms after 500 ms"
    ):
        session.feed(frames[4])


def test_nobody_in_view_counts_nothing() -> None:
    frames = [PoseFrame.missing(i * 100) for i in range(300)]
    events = run(frames)
    assert sections(events)[:2] == [
        ("started", "preparation", 1),
        ("skipped", "preparation", "not_seen"),
    ]
    final = events[-1]
    assert isinstance(final, RoutineCompleted)
    assert sum(final.section_rounds.values()) == 0
    assert np.isnan(final.score)
