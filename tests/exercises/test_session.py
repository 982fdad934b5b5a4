# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""exercises.session: feed frames, assert the exact event list (websockets style)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from exercises.events import (
    CueIssued,
    Event,
    HoldCompleted,
    HoldProgressed,
    MoveCompleted,
    PhaseChanged,
    Placement,
    PlacementChanged,
    RepCompleted,
    Severity,
)
from exercises.session import PLACEMENT_MESSAGES, Session, SessionOptions
from exercises.spec import ExerciseSpec, get_spec, spec_from_dict, spec_to_dict
from tests.factories import make_frame, make_missing, sequence_frames
from vision.types import PoseFrame, Skeleton

EXACT = SessionOptions(smoothing=False)
"""No smoothing: phase changes happen exactly at the frames that cross a threshold."""


def knee_spec(**extra: Any) -> ExerciseSpec:
    """Knee bends: up >= 160, down <= 110, one rule per test as needed."""
    data: dict[str, Any] = {
        "schema": 1,
        "id": "knee_bend",
        "kind": "reps",
        "name": {"en": "Knee bend", "zh-CN": "屈膝"},
        "description": {"en": "Bend the knees.", "zh-CN": "屈膝。"},
        "instructions": {"en": "Bend and stand.", "zh-CN": "屈膝再站起。"},
        "view": "side",
        "posture": "standing",
        "pace_s": 1.0,
        "required_joints": ["hip", "knee", "ankle"],
        "angles": {"knee": {"joints": ["hip", "knee", "ankle"], "side": "best"}},
        "phases": {
            "up": {"knee": {"min_deg": 160.0}},
            "down": {"knee": {"max_deg": 110.0}},
        },
        "cycle": ["up", "down", "up"],
        "reference": {
            "knee": [170, 160, 140, 120, 105, 100, 105, 120, 140, 160, 170],
            "tolerance": {"knee": 15.0},
        },
    }
    data.update(extra)
    return spec_from_dict(data, source="<knee_bend>")


def lean_rule(severity: str = "major", **extra: Any) -> dict[str, Any]:
    return {
        "id": "lean",
        "metric": "trunk_lean_deg",
        "above": 20.0,
        "severity": severity,
        "min_duration_ms": 200,
        "text": {"en": "Stand tall.", "zh-CN": "站直。"},
        "firm": {"en": "Stand tall now!", "zh-CN": "马上站直！"},
        "gentle": {"en": "Stand tall, gently.", "zh-CN": "慢慢站直。"},
        **extra,
    }


def knees(
    angles: Sequence[float], *, start_ms: int = 0, step_ms: int = 100, **kw: Any
) -> list[PoseFrame]:
    """Side-view frames with both knees at each angle (hips following the knees)."""
    return [
        make_frame(start_ms + i * step_ms, view="side", knee_deg=a, **kw)
        for i, a in enumerate(angles)
    ]


def feed(session: Session, frames: Iterable[PoseFrame]) -> list[Event]:
    return [e for f in frames for e in session.feed(f)]


def shape(events: Iterable[Event]) -> list[tuple[Any, ...]]:
    """The fields these tests pin down (scores are checked on their own)."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, PlacementChanged):
            out.append(
                ("placement", e.timestamp_ms, e.placement.name, e.missing_joints)
            )
        elif isinstance(e, PhaseChanged):
            out.append(("phase", e.timestamp_ms, e.phase, e.previous))
        elif isinstance(e, RepCompleted):
            out.append(
                (
                    "rep",
                    e.timestamp_ms,
                    e.count,
                    e.duration_ms,
                    e.side,
                    e.cue_ids,
                    e.partial,
                )
            )
        elif isinstance(e, CueIssued):
            out.append(("cue", e.timestamp_ms, e.cue_id, e.message["en"]))
        elif isinstance(e, HoldProgressed):
            out.append(("hold", e.timestamp_ms, e.held_ms, e.in_position))
        elif isinstance(e, HoldCompleted):
            out.append(("hold_done", e.timestamp_ms, e.held_ms))
        elif isinstance(e, MoveCompleted):
            out.append(("move", e.move_id, e.index, e.round, e.held_ms))
        else:  # pragma: no cover - every event type is listed above
            raise AssertionError(e)
    return out


ONE_REP = [175, 175, 150, 120, 100, 95, 100, 120, 150, 175, 175]


def test_one_rep_exact_events() -> None:
    session = Session(knee_spec(), options=EXACT)
    events = feed(session, knees(ONE_REP))
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("phase", 100, "up", None),
        ("phase", 500, "down", "up"),
        # From the last frame still up (100 ms) to the first frame up again (900 ms):
        # the rep counter counts it with that frame, the phase needs two frames.
        ("rep", 900, 1, 800, "left", (), False),
        ("phase", 1000, "up", "down"),
    ]
    rep = events[-2]
    assert isinstance(rep, RepCompleted)
    assert rep.score >= 85.0
    assert set(rep.breakdown) == {"knee"}
    assert rep.range_of_motion_deg["knee"] == pytest.approx(80.0, abs=1.0)
    assert session.reps == 1
    assert session.phase == "up"


def test_placement_message_is_localised() -> None:
    events = Session(knee_spec(), options=EXACT).feed(make_frame(0, view="side"))
    assert isinstance(events[0], PlacementChanged)
    assert events[0].message == PLACEMENT_MESSAGES["ok"]
    assert set(events[0].message) == {"en", "zh-CN"}


def test_placement_gates_counting_until_visible() -> None:
    session = Session(knee_spec(), options=EXACT)
    frames = [make_missing(t) for t in (0, 100, 200)]
    # Found at 300 ms (squatting already), within max_gap_ms of the first frame:
    # counted from that frame; OK is announced 500 ms later.
    frames += knees([100] * 7 + [175, 175, 100, 100, 175, 175], start_ms=300)
    assert shape(feed(session, frames)) == [
        ("placement", 0, "NOT_VISIBLE", ()),
        ("phase", 400, "down", None),
        ("placement", 800, "OK", ()),
        ("phase", 1100, "up", "down"),  # the cycle starts here: not a rep yet
        ("phase", 1300, "down", "up"),
        ("rep", 1400, 1, 300, "left", (), False),
        ("cue", 1400, "slow_down", "Slow down and move with control."),
        ("phase", 1500, "up", "down"),
    ]


def test_someone_appearing_long_after_the_start_is_counted_once_placed() -> None:
    """After longer than max_gap_ms without anyone (a title card, a walk in), a
    person may appear mid-movement: counting waits for the placement to hold."""
    session = Session(knee_spec(), options=EXACT)
    frames = [make_missing(t) for t in range(0, 2000, 100)]
    # Found at 2000 ms half-way down a squat; its frames before OK is announced
    # are not read (found within max_gap_ms of the first frame, they would be:
    # test_placement_gates_counting_until_visible).
    frames += knees([140, 100, 100, 175, 175, 175, 175, 100, 100, 175], start_ms=2000)
    assert shape(feed(session, frames)) == [
        ("placement", 0, "NOT_VISIBLE", ()),
        ("placement", 2500, "OK", ()),
        ("phase", 2600, "up", None),  # counting starts only now
        ("phase", 2800, "down", "up"),
        ("rep", 2900, 1, 300, "left", (), False),
        ("cue", 2900, "slow_down", "Slow down and move with control."),
    ]


def test_feet_out_of_view_asks_to_step_back() -> None:
    session = Session(knee_spec(), options=EXACT)
    frames = knees([175, 175]) + knees(
        [175] * 7,
        start_ms=200,
        hidden=("left_ankle", "right_ankle", "left_heel", "right_heel"),
    )
    events = feed(session, frames)
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("phase", 100, "up", None),
        ("placement", 700, "STEP_BACK", ("left_ankle",)),
    ]
    assert events[-1].message == PLACEMENT_MESSAGES["step_back_feet"]  # type: ignore[attr-defined]


def test_front_view_asks_to_turn_sideways_but_keeps_counting() -> None:
    session = Session(knee_spec(), options=EXACT)
    frames = [
        make_frame(i * 100, view="front", knee_deg=a) for i, a in enumerate(ONE_REP)
    ]
    events = feed(session, frames)
    # Seen from the front the knee angle barely changes: no phases, no reps, but the
    # session says why.
    assert shape(events)[:1] == [("placement", 0, "TURN_SIDEWAYS", ())]
    assert events[0].message == PLACEMENT_MESSAGES["turn_sideways"]  # type: ignore[attr-defined]


def test_missing_frames_never_make_a_rep() -> None:
    session = Session(knee_spec(), options=EXACT)
    assert shape(feed(session, [make_missing(t) for t in range(0, 3000, 100)])) == [
        ("placement", 0, "NOT_VISIBLE", ())
    ]
    assert session.summary().reps == 0


def test_a_long_gap_abandons_the_rep() -> None:
    session = Session(knee_spec(), options=EXACT)
    frames = knees([175, 175, 100, 100])
    frames += [make_missing(t) for t in range(400, 2500, 100)]  # 2.1 s away
    frames += knees([100] * 8 + [175, 175, 100, 100, 175, 175], start_ms=2500)
    events = feed(session, frames)
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("phase", 100, "up", None),
        ("phase", 300, "down", "up"),
        ("placement", 900, "NOT_VISIBLE", ()),
        ("placement", 3000, "OK", ()),
        ("phase", 3100, "down", None),  # the phase was forgotten during the gap
        ("phase", 3400, "up", "down"),  # back at the start: not a rep
        ("phase", 3600, "down", "up"),
        ("rep", 3700, 1, 300, "left", (), False),
        ("cue", 3700, "slow_down", "Slow down and move with control."),
        ("phase", 3800, "up", "down"),
    ]


def test_a_short_dropout_inside_a_rep_still_counts() -> None:
    session = Session(knee_spec(), options=EXACT)
    frames = knees([175, 175, 150, 100, 100])
    frames += [make_missing(t) for t in (500, 600, 700)]
    frames += knees([120, 175, 175], start_ms=800)
    reps = [e for e in feed(session, frames) if isinstance(e, RepCompleted)]
    assert [(r.count, r.duration_ms) for r in reps] == [(1, 800)]


def test_timestamps_must_increase() -> None:
    session = Session(knee_spec())
    session.feed(make_frame(100, view="side"))
    with pytest.raises(
        ValueError, match="timestamps must increase: got 100 ms after 100 ms"
    ):
        session.feed(make_frame(100, view="side"))
    with pytest.raises(
        ValueError, match="timestamps must increase: got 50 ms after 100 ms"
    ):
        session.feed(make_frame(50, view="side"))
    session.feed(make_frame(101, view="side"))  # the session is still usable


def test_frames_of_another_skeleton_are_refused() -> None:
    session = Session(knee_spec())
    frame = make_frame(0, view="side", skeleton=Skeleton.OPENPOSE_18)
    with pytest.raises(
        ValueError, match="session expects blazepose_33 frames, got openpose_18"
    ):
        session.feed(frame)


def test_skeleton_lacking_joints_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match="exercise 'heel_raise' needs joints that skeleton coco_17 lacks: "
        "left_foot_index, left_heel, right_foot_index, right_heel",
    ):
        Session(get_spec("heel_raise"), skeleton=Skeleton.COCO_17)


def test_openpose_frames_count_with_an_openpose_session() -> None:
    session = Session(knee_spec(), skeleton=Skeleton.OPENPOSE_18, options=EXACT)
    frames = knees(ONE_REP, skeleton=Skeleton.OPENPOSE_18)
    assert [e.count for e in feed(session, frames) if isinstance(e, RepCompleted)] == [
        1
    ]


def test_jitter_faster_than_a_rep_is_not_counted() -> None:
    session = Session(knee_spec(), options=EXACT)
    # Flickering between the phases every two frames at 30 fps: 133 ms cycles.
    angles = [175, 175] + [100, 100, 175, 175] * 10
    events = feed(session, knees(angles, step_ms=33))
    assert not [e for e in events if isinstance(e, RepCompleted)]
    assert len([e for e in events if isinstance(e, PhaseChanged)]) == 21


def test_cue_cooldown_and_firmer_wording() -> None:
    spec = knee_spec(rules=[lean_rule()])
    options = SessionOptions(
        smoothing=False, cue_cooldown_ms=2000, repeat_cue_cooldown_ms=3000
    )
    session = Session(spec, options=options)
    frames = [make_frame(t, view="side") for t in (0, 500)]
    frames += [
        make_frame(t, view="side", trunk_pitch_deg=30.0) for t in range(1000, 8500, 500)
    ]
    frames += [make_frame(t, view="side") for t in range(8500, 12000, 500)]
    events = feed(session, frames)
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("phase", 500, "up", None),
        ("cue", 1500, "lean", "Stand tall."),  # the fault held 200 ms, then spoken
        ("cue", 4500, "lean", "Stand tall now!"),  # same cue: 3 s apart, firmer
        ("cue", 7500, "lean", "Stand tall now!"),
    ]
    cue = events[2]
    assert isinstance(cue, CueIssued)
    assert cue.severity is Severity.MAJOR
    assert cue.value == pytest.approx(30.0, abs=1.0)
    assert cue.message == {"en": "Stand tall.", "zh-CN": "站直。"}
    assert session.summary().cues_by_id == {"lean": 3}


def test_one_cue_at_a_time_highest_severity_first() -> None:
    minor = {
        "id": "deep",
        "angle": "knee",
        "below": 170.0,
        "severity": "minor",
        "min_duration_ms": 0,
        "text": {"en": "Knees.", "zh-CN": "膝盖。"},
    }
    spec = knee_spec(rules=[minor, lean_rule(min_duration_ms=0)])
    session = Session(
        spec, options=SessionOptions(smoothing=False, cue_cooldown_ms=1000)
    )
    frames = [
        make_frame(t, view="side", knee_deg=150.0, trunk_pitch_deg=30.0)
        for t in range(0, 1600, 100)
    ]
    cues = [shape([e])[0] for e in feed(session, frames) if isinstance(e, CueIssued)]
    assert cues == [("cue", 0, "lean", "Stand tall."), ("cue", 1000, "deep", "Knees.")]


def test_elder_mode_voices_only_major_cues_gently_and_waits_longer() -> None:
    minor = lean_rule("minor")
    spec = knee_spec(rules=[minor])
    frames = [
        make_frame(t, view="side", trunk_pitch_deg=30.0) for t in range(0, 20000, 500)
    ]
    assert [
        e
        for e in feed(Session(spec, elder_mode=True, options=EXACT), frames)
        if isinstance(e, CueIssued)
    ] == []
    assert (
        len(
            [
                e
                for e in feed(Session(spec, options=EXACT), frames)
                if isinstance(e, CueIssued)
            ]
        )
        > 1
    )

    major = knee_spec(rules=[lean_rule("major")])
    cues = [
        e
        for e in feed(Session(major, elder_mode=True, options=EXACT), frames)
        if isinstance(e, CueIssued)
    ]
    assert [(c.timestamp_ms, c.message["en"]) for c in cues] == [
        (500, "Stand tall, gently."),  # gentle wording, never escalated
        (8500, "Stand tall, gently."),  # elder cooldown: 8 s
        (16500, "Stand tall, gently."),
    ]


def test_faults_are_recorded_in_the_rep_even_when_not_spoken() -> None:
    deep = {
        "id": "too_deep",
        "angle": "knee",
        "below": 98.0,
        "during": ["down"],
        "severity": "minor",
        "min_duration_ms": 0,
        "text": {"en": "Not so deep.", "zh-CN": "不要蹲太深。"},
    }
    session = Session(knee_spec(rules=[deep]), elder_mode=True, options=EXACT)
    events = feed(session, knees(ONE_REP, step_ms=200))
    reps = [e for e in events if isinstance(e, RepCompleted)]
    assert [r.cue_ids for r in reps] == [("too_deep",)]
    assert not [e for e in events if isinstance(e, CueIssued)]
    assert session.summary().faults_by_id == {"too_deep": 1}


def test_too_fast_rep_gets_slow_down_after_the_rep() -> None:
    session = Session(knee_spec(pace_s=4.0), options=EXACT)
    events = feed(session, knees(ONE_REP))  # 0.8 s of a rep expected to take 3.2 s
    assert shape(events)[-3:] == [
        ("rep", 900, 1, 800, "left", (), False),
        ("cue", 900, "slow_down", "Slow down and move with control."),
        ("phase", 1000, "up", "down"),
    ]
    elder = feed(
        Session(knee_spec(pace_s=4.0), elder_mode=True, options=EXACT), knees(ONE_REP)
    )
    cue = elder[-2]
    assert isinstance(cue, CueIssued) and cue.severity is Severity.MAJOR
    assert cue.message["en"] == "Take your time, nice and slow."


def test_partial_rep_counts_flagged_and_cued() -> None:
    partial = {
        "cue": {"en": "A little lower.", "zh-CN": "再低一点。"},
        "phases": {"down": {"knee": {"max_deg": 140.0}}},
    }
    session = Session(knee_spec(partial=partial), options=EXACT)
    events = feed(
        session,
        knees([175, 175, 150, 130, 130, 150, 175, 175, 150, 100, 100, 150, 175, 175]),
    )
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("phase", 100, "up", None),
        ("phase", 400, "down", "up"),
        ("rep", 600, 1, 500, "left", ("partial_rep",), True),
        ("cue", 600, "partial_rep", "A little lower."),
        ("phase", 700, "up", "down"),
        ("phase", 1000, "down", "up"),
        ("rep", 1200, 2, 500, "left", (), False),
        ("phase", 1300, "up", "down"),
    ]
    summary = session.summary()
    assert (summary.reps, summary.partial_reps) == (2, 1)
    ignoring = Session(
        knee_spec(partial=partial),
        options=SessionOptions(smoothing=False, count_partial_reps=False),
    )
    assert ignoring.summary().reps == 0
    feed(ignoring, knees([175, 175, 150, 130, 130, 150, 175, 175]))
    assert ignoring.summary().reps == 0


def test_best_side_follows_the_person_turning_between_reps() -> None:
    session = Session(knee_spec(), options=EXACT)
    # The far side is poorly visible, as BlazePose reports an occluded side.
    frames = knees(ONE_REP, far_visibility=0.6)
    frames += knees(ONE_REP, start_ms=1100, facing=-1, far_visibility=0.6)
    reps = [e for e in feed(session, frames) if isinstance(e, RepCompleted)]
    assert [(r.count, r.side) for r in reps] == [(1, "left"), (2, "right")]


def test_hold_progress_exact_events() -> None:
    spec = spec_from_dict(
        {
            "schema": 1,
            "id": "wall_sit",
            "kind": "hold",
            "name": {"en": "Wall sit", "zh-CN": "靠墙静蹲"},
            "description": {"en": "Hold a squat.", "zh-CN": "保持下蹲。"},
            "instructions": {"en": "Hold.", "zh-CN": "保持。"},
            "view": "side",
            "posture": "standing",
            "required_joints": ["hip", "knee", "ankle"],
            "angles": {"knee": {"joints": ["hip", "knee", "ankle"], "side": "best"}},
            "hold": {
                "target_s": 3.0,
                "in_position": {"knee": {"max_deg": 120.0}},
                "target": {"knee": 90.0},
                "tolerance": {"knee": 10.0},
            },
        }
    )
    session = Session(spec, options=EXACT)
    frames = knees([175] * 4)
    frames += knees([90.0] * 17, start_ms=1000, step_ms=250)  # 1000 .. 5000 ms
    frames += knees([175] * 4, start_ms=5250, step_ms=250)
    events = feed(session, frames)
    assert shape(events) == [
        ("placement", 0, "OK", ()),
        ("hold", 1500, 500, True),  # in position since 1000 ms, confirmed after 300 ms
        ("hold", 2000, 1000, True),
        ("hold", 3000, 2000, True),
        ("hold", 4000, 3000, True),
        ("hold_done", 4000, 3000),
        ("hold", 5000, 4000, True),
        ("hold", 5750, 4250, False),  # out since 5250 ms
    ]
    done = events[5]
    assert isinstance(done, HoldCompleted) and done.score >= 95.0
    summary = session.summary()
    assert (summary.hold_ms, summary.hold_target_ms, summary.hold_completed) == (
        4250,
        3000,
        True,
    )


def test_elder_hold_target_is_shorter() -> None:
    spec = get_spec("plank")
    assert Session(spec, elder_mode=True).summary().hold_target_ms == 15000
    assert Session(spec).summary().hold_target_ms == 30000


def test_sequence_scores_each_move_and_counts_rounds() -> None:
    spec = get_spec("baduanjin_1")
    session = Session(spec)
    events = feed(session, sequence_frames(spec, rounds=2))
    done = [e for e in events if isinstance(e, MoveCompleted | RepCompleted)]
    assert [
        shape([e])[0][:5] if isinstance(e, MoveCompleted) else ("rep", e.count)
        for e in done
    ] == [
        ("move", "raise", 0, 1, 2000),
        ("move", "lower", 1, 1, 0),
        ("rep", 1),
        ("move", "raise", 0, 2, 2000),
        ("move", "lower", 1, 2, 0),
        ("rep", 2),
    ]
    moves = [e for e in done if isinstance(e, MoveCompleted)]
    assert all(m.score >= 85.0 for m in moves)
    assert all(m.name["zh-CN"] for m in moves)
    rep = done[2]
    assert isinstance(rep, RepCompleted)
    assert rep.score == pytest.approx((moves[0].score + moves[1].score) / 2, abs=0.05)
    assert session.summary().moves_completed == 4


def test_sequence_hold_cut_short_costs_score() -> None:
    data = spec_to_dict(get_spec("baduanjin_1"))
    data["moves"][0]["hold_s"] = 4.0  # longer than the arms pass through "overhead"
    spec = spec_from_dict(data)

    def raise_move(hold_scale: float) -> MoveCompleted:
        events = feed(Session(spec), sequence_frames(spec, hold_scale=hold_scale))
        return next(e for e in events if isinstance(e, MoveCompleted))

    full, short = raise_move(1.0), raise_move(0.0)
    assert full.held_ms == 4000
    assert 1000 < short.held_ms < 3000
    assert short.score < full.score - 10


def test_summary_after_reps() -> None:
    session = Session(knee_spec(), options=EXACT)
    feed(session, knees(ONE_REP + ONE_REP[2:]))
    s = session.summary()
    assert (s.exercise_id, s.kind, s.reps, s.elder_mode) == (
        "knee_bend",
        "reps",
        2,
        False,
    )
    assert (
        s.mean_score is not None
        and s.best_score is not None
        and s.worst_score is not None
    )
    assert s.worst_score <= s.mean_score <= s.best_score
    assert s.duration_ms == 1900 and s.active_ms == 1900
    assert s.mean_rep_duration_ms == pytest.approx(800.0)
    assert s.hold_target_ms is None


def test_values_expose_the_channels() -> None:
    session = Session(get_spec("squat"))
    session.feed(make_frame(0, view="side", knee_deg=100.0, hip_deg=90.0))
    values = session.values
    assert values["knee"] == pytest.approx(100.0, abs=1.0)
    assert {"hip", "hip_height_ratio", "knee_valgus_ratio"} <= set(values)
    session.feed(make_missing(100))
    assert math.isnan(session.values["knee"])


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="phase_confirm_frames must be >= 1, got 0"):
        SessionOptions(phase_confirm_frames=0)
    with pytest.raises(ValueError, match="cue_cooldown_ms must be >= 0, got -1"):
        SessionOptions(cue_cooldown_ms=-1)


def test_the_frames_aspect_undoes_widescreen_normalisation() -> None:
    # A 16:9 camera: normalised x shrinks by 9/16 relative to y; the frame says so.
    frame = make_frame(0, view="side", knee_deg=100.0, aspect=16 / 9)
    assert frame.aspect_wh == pytest.approx(16 / 9)
    unknown = Session(knee_spec(), options=EXACT)
    unknown.feed(dataclasses.replace(frame, aspect_wh=1.0))
    assert abs(unknown.values["knee"] - 100.0) > 10.0
    corrected = Session(knee_spec(), options=EXACT)
    corrected.feed(frame)
    assert corrected.values["knee"] == pytest.approx(100.0, abs=0.5)
    # The in-picture checks use the picture as normalised: a person at the right of
    # a wide image is in it (x up to 1.0 there, up to 16/9 once isotropic).
    right = make_frame(0, view="side", knee_deg=100.0, aspect=16 / 9, center_x=0.85)
    at_the_edge = Session(knee_spec(), options=EXACT)
    assert [type(e) for e in at_the_edge.feed(right)] == [PlacementChanged]
    assert at_the_edge.placement is Placement.OK
    with pytest.raises(ValueError, match="aspect_wh must be > 0 and finite, got 0"):
        dataclasses.replace(frame, aspect_wh=0)


def test_form_rules_wait_for_a_clear_view() -> None:
    # A side-view metric is not cued while the person is seen from the front.
    rule = {
        "id": "lean_back",
        "metric": "trunk_forward_deg",
        "below": -10.0,
        "severity": "major",
        "min_duration_ms": 0,
        "text": {"en": "Don't lean back.", "zh-CN": "不要后仰。"},
    }
    spec = knee_spec(rules=[rule])
    side = [
        make_frame(t, view="side", trunk_pitch_deg=-20.0) for t in range(0, 1000, 100)
    ]
    front = [
        make_frame(t, view="front", trunk_pitch_deg=-20.0) for t in range(0, 1000, 100)
    ]
    assert [
        e.cue_id
        for e in feed(Session(spec, options=EXACT), side)
        if isinstance(e, CueIssued)
    ] == ["lean_back"]
    assert not [
        e for e in feed(Session(spec, options=EXACT), front) if isinstance(e, CueIssued)
    ]
