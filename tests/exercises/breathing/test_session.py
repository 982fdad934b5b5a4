"""The breathing session: exact events on synthetic arm movements."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Any

import pytest

from exercises.breathing.events import (
    BreathCued,
    BreathingCompleted,
    BreathingGuidanceChanged,
    BreathingStarted,
    BreathMeasured,
)
from exercises.breathing.programme import (
    PROGRAMMES_DIR,
    BreathingProgramme,
    programme_from_dict,
)
from exercises.breathing.session import (
    GUIDANCE_MESSAGES,
    BreathingOptions,
    BreathingSession,
)
from exercises.events import Event
from tests.exercises.breathing.signals import arm_frames, breathing_signal
from tests.factories import make_frame
from vision.types import PoseFrame

STEP_S = 0.1


def _programme(**changes: Any) -> BreathingProgramme:
    doc = tomllib.loads((PROGRAMMES_DIR / "pursed_lip_breathing.toml").read_text())
    doc.update({"inhale_s": 2.0, "exhale_s": 4.0, "cycles": 4, "lead_in_s": 2.0})
    doc.update(changes)
    return programme_from_dict(doc)


def _frames(
    pattern: list[tuple[float, float, float, float]],
    *,
    lead_s: float = 2.0,
    tail_s: float = 6.0,
    **kw: object,
) -> list[PoseFrame]:
    times, values = breathing_signal(pattern, lead_s=lead_s, tail_s=tail_s, dt_s=STEP_S)
    return arm_frames(times, values, **kw)


def _feed(session: BreathingSession, frames: Iterable[PoseFrame]) -> list[Event]:
    events: list[Event] = []
    for f in frames:
        events += session.feed(f)
    return events


def _shape(events: Iterable[Event]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, BreathingStarted):
            out.append((e.timestamp_ms, "started", e.inhale_ms, e.exhale_ms, e.cycles))
        elif isinstance(e, BreathingGuidanceChanged):
            out.append((e.timestamp_ms, "guidance", e.key))
        elif isinstance(e, BreathCued):
            out.append((e.timestamp_ms, e.phase, e.cycle, e.at_ms, e.duration_ms))
        elif isinstance(e, BreathMeasured):
            out.append((e.timestamp_ms, "measured", e.count))
        elif isinstance(e, BreathingCompleted):
            out.append((e.timestamp_ms, "completed", e.summary.tip, e.stopped_early))
        else:
            raise AssertionError(f"unexpected event {e!r}")
    return out


FOLLOWS = [(2.0, 0.0, 4.0, 0.0)] * 4  # exactly the cued pace


def test_following_the_pace_exact_events() -> None:
    session = BreathingSession(_programme())
    events = _feed(session, _frames(FOLLOWS))
    assert _shape(events) == [
        (0, "started", 2000, 4000, 4),
        (0, "guidance", "ok"),
        (2000, "inhale", 1, 2000, 2000),
        (4000, "exhale", 1, 4000, 4000),
        (8000, "inhale", 2, 8000, 2000),
        (8600, "measured", 1),  # the arms a quarter way up again (8500 just short)
        (10000, "exhale", 2, 10000, 4000),
        (14000, "inhale", 3, 14000, 2000),
        (14600, "measured", 2),
        (16000, "exhale", 3, 16000, 4000),
        (20000, "inhale", 4, 20000, 2000),
        (20600, "measured", 3),
        (22000, "exhale", 4, 22000, 4000),
        (28000, "measured", 4),  # 26000 + settle_ms: the arms came to rest
        (28000, "completed", "well_done", False),
    ]
    s = session.summary
    assert s is not None
    assert len(s.breaths) == 4
    for b in s.breaths:
        assert b.inhale_s == pytest.approx(2.0, abs=0.01)
        assert b.exhale_s == pytest.approx(4.0, abs=0.01)
    assert s.period_s == pytest.approx(6.0, abs=0.01)
    assert s.ratio == pytest.approx(2.0, abs=0.01)
    assert s.regularity_cv == pytest.approx(0.0, abs=0.01)
    assert s.lag_s == pytest.approx(0.0, abs=0.01)
    assert (s.on_pace, s.long_out, s.even) == (True, True, True)
    done = events[-1]
    assert isinstance(done, BreathingCompleted)
    assert done.message == _programme().finish
    assert session.feed(make_frame(40000)) == []


def test_cues_carry_the_programme_texts() -> None:
    p = _programme()
    events = _feed(BreathingSession(p), _frames(FOLLOWS[:1]))
    cues = [e for e in events if isinstance(e, BreathCued)]
    assert cues[0].message == p.inhale_cue
    assert cues[1].message == p.exhale_cue
    started = events[0]
    assert isinstance(started, BreathingStarted)
    assert started.instructions == p.instructions
    assert started.lead_in_ms == 2000


@pytest.mark.parametrize(
    ("kw", "tip"),
    [
        pytest.param({}, "well_done", id="front-sideways"),
        pytest.param({"view": "side", "arm_plane": "sagittal"}, "well_done", id="side"),
        pytest.param(
            {"view": "side", "arm_plane": "sagittal", "posture": "seated"},
            "well_done",
            id="seated",
        ),
    ],
)
def test_views_and_postures(kw: dict[str, object], tip: str) -> None:
    session = BreathingSession(_programme())
    _feed(session, _frames(FOLLOWS, **kw))
    assert session.summary is not None
    assert session.summary.tip == tip
    assert len(session.summary.breaths) == 4


@pytest.mark.parametrize(
    ("pattern", "tip"),
    [
        pytest.param([(1.3, 0.0, 2.7, 0.0)] * 6, "slow_down", id="too-fast"),
        pytest.param([(2.0, 0.0, 2.0, 2.0)] * 4, "longer_out", id="short-out-breath"),
        pytest.param([(2.0, 0.0, 4.0, 3.0)] * 3, "keep_up", id="too-slow"),
    ],
)
def test_off_pace_breathing_gets_its_tip(
    pattern: list[tuple[float, float, float, float]], tip: str
) -> None:
    session = BreathingSession(_programme())
    _feed(session, _frames(pattern))
    assert session.summary is not None
    assert session.summary.tip == tip


def test_no_movement_and_no_arms() -> None:
    session = BreathingSession(_programme())
    frames = [make_frame(t) for t in range(0, 3000, 100)]
    frames += [
        make_frame(t, hidden=("left_wrist", "right_wrist"))
        for t in range(3000, 5000, 100)
    ]
    frames += [PoseFrame.missing(t) for t in range(5000, 7000, 100)]
    frames += [make_frame(t) for t in range(7000, 29000, 100)]
    events = _feed(session, frames)
    guidance = [
        (e.timestamp_ms, e.key)
        for e in events
        if isinstance(e, BreathingGuidanceChanged)
    ]
    assert guidance == [
        (0, "ok"),
        (4000, "show_arms"),
        (6000, "not_visible"),
        (8000, "ok"),
    ]
    assert session.summary is not None
    assert session.summary.tip == "not_seen"
    assert not any(isinstance(e, BreathMeasured) for e in events)
    for text in GUIDANCE_MESSAGES.values():
        assert set(text) == {"en", "zh-CN"}


def test_elder_pace_stretches_every_breath() -> None:
    session = BreathingSession(_programme(), BreathingOptions(pace_scale=1.5))
    pattern = [(3.0, 0.0, 6.0, 0.0)] * 4
    events = _feed(session, _frames(pattern, tail_s=4.0))
    cues = [(e.phase, e.at_ms) for e in events if isinstance(e, BreathCued)]
    assert cues[:4] == [
        ("inhale", 2000),
        ("exhale", 5000),
        ("inhale", 11000),
        ("exhale", 14000),
    ]
    assert session.summary is not None
    assert session.summary.tip == "well_done"
    assert session.summary.prescribed_inhale_s == 3.0


def test_sparse_frames_carry_every_due_cue() -> None:
    session = BreathingSession(_programme())
    events = session.feed(make_frame(0)) + session.feed(make_frame(8100))
    cues = [
        (e.timestamp_ms, e.phase, e.cycle, e.at_ms)
        for e in events
        if isinstance(e, BreathCued)
    ]
    assert cues == [
        (8100, "inhale", 1, 2000),
        (8100, "exhale", 1, 4000),
        (8100, "inhale", 2, 8000),
    ]


def test_stop_ends_early_with_what_was_seen() -> None:
    session = BreathingSession(_programme())
    frames = _frames(FOLLOWS)
    _feed(session, [f for f in frames if f.timestamp_ms <= 9000])
    events = session.stop(9000)
    assert _shape(events) == [(9000, "completed", "few", True)]
    assert session.summary is not None and len(session.summary.breaths) == 1
    assert session.stop(9100) == []
    assert BreathingSession(_programme()).stop(0) == []


@pytest.mark.parametrize("ts", [0, -1], ids=["same", "earlier"])
def test_time_must_move_forward(ts: int) -> None:
    session = BreathingSession(_programme())
    session.feed(make_frame(0))
    with pytest.raises(ValueError, match="timestamps must increase"):
        session.feed(make_frame(ts))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        pytest.param({"pace_scale": 5.0}, "pace_scale", id="pace"),
        pytest.param({"aspect_wh": -1.0}, "aspect_wh", id="aspect"),
        pytest.param({"settle_ms": -1}, "settle_ms", id="settle"),
    ],
)
def test_bad_options_are_refused(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BreathingOptions(**kw)
