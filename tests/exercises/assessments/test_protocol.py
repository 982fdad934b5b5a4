"""The common protocol machinery: phases, readiness, countdown, stop, norms, texts,
the wire contract and the sans-I/O layering."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exercises.assessments import (
    SESSIONS,
    AssessmentCancelled,
    AssessmentCompleted,
    AssessmentCountdownTicked,
    AssessmentCueIssued,
    AssessmentPhase,
    AssessmentPhaseChanged,
    Band,
    ChairStandSession,
    PhaseTiming,
    Sex,
    Subject,
    arm_curl,
    chair_stand,
    compare_to_norms,
    create_assessment,
    single_leg_stance,
    step_test,
)
from exercises.assessments.chair_stand import INFO
from exercises.events import Event
from tests.exercises.assessments.factories import (
    TICKS,
    chair,
    feed_all,
    frames,
    nothing,
)

ROOT = Path(__file__).resolve().parents[3]
TID = "chair_stand_30s"
SAY = INFO.say
INSTRUCTIONS, COUNTDOWN = AssessmentPhase.INSTRUCTIONS, AssessmentPhase.COUNTDOWN
TIMING = PhaseTiming(instructions_ms=1000, ready_hold_ms=500, countdown_ms=3000)


def phases(events: list[Event]) -> list[tuple[int, str]]:
    return [
        (e.timestamp_ms, e.phase)
        for e in events
        if isinstance(e, AssessmentPhaseChanged)
    ]


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param(
            [(3.0, chair(1.0)), (4.0, chair(0.0))],
            [(0, "instructions"), (3500, "countdown")],
            id="waits-until-seated-then-holds-0.5s",
        ),
        pytest.param(
            [
                (0.3, chair(0.0)),
                (0.3, chair(1.0)),
                (0.3, chair(0.0)),
                (4.0, chair(0.0)),
            ],
            [(0, "instructions"), (1100, "countdown")],
            id="ready-hold-restarts-when-broken",
        ),
        pytest.param(
            [(2.0, nothing), (4.0, chair(0.0))],
            [(0, "instructions"), (2500, "countdown")],
            id="nobody-in-view-is-not-ready",
        ),
        pytest.param(
            [(0.3, chair(0.0, hands="knees")), (4.0, chair(0.0))],
            [(0, "instructions"), (1000, "countdown")],
            id="hands-on-knees-is-not-the-start-position",
        ),
    ],
)
def test_instructions_last_until_the_start_position_is_held(
    segments: list[tuple[float, Any]], expected: list[tuple[int, str]]
) -> None:
    session = ChairStandSession(timing=TIMING)
    events = feed_all(session, frames(segments))
    assert phases(events)[:2] == expected
    assert session.phase is not AssessmentPhase.INSTRUCTIONS


def test_a_person_not_in_position_is_reminded_every_5s() -> None:
    session = ChairStandSession(timing=TIMING)
    events = feed_all(session, frames([(7.0, chair(1.0)), (1.0, chair(0.0))]))
    reminder = INFO.start_position
    assert set(reminder) == {"en", "zh-CN"}
    assert events == [
        AssessmentPhaseChanged(0, TID, "instructions", None, SAY[INSTRUCTIONS]),
        AssessmentCueIssued(1000, TID, "start_position", reminder),
        AssessmentCueIssued(6000, TID, "start_position", reminder),
        AssessmentPhaseChanged(7500, TID, "countdown", "instructions", SAY[COUNTDOWN]),
        AssessmentCountdownTicked(7500, TID, 3, TICKS[3]),
    ]


def test_countdown_ticks_each_second_and_go_is_exact_with_sparse_frames() -> None:
    """Frames every 700 ms: ticks on the first frame of each second, and the test
    clock starts at countdown start + 3000 ms, not at the frame after it."""
    session = ChairStandSession(timing=TIMING)
    fs = [chair(0.0)(ts) for ts in range(0, 6000, 700)]
    events = feed_all(session, fs)
    ticks = [
        (e.timestamp_ms, e.seconds_left)
        for e in events
        if isinstance(e, AssessmentCountdownTicked)
    ]
    assert ticks == [(1400, 3), (2800, 2), (3500, 1)]
    assert phases(events)[-1] == (4900, "running")
    assert session.started_at_ms == 4400


def test_zero_countdown_goes_straight_to_running() -> None:
    session = ChairStandSession(
        timing=PhaseTiming(instructions_ms=0, ready_hold_ms=0, countdown_ms=0)
    )
    events = session.feed(chair(0.0)(0))
    assert phases(events) == [(0, "instructions"), (0, "countdown"), (0, "running")]
    assert not any(isinstance(e, AssessmentCountdownTicked) for e in events)


def test_timestamps_must_increase() -> None:
    session = ChairStandSession(timing=TIMING)
    session.feed(chair(0.0)(100))
    with pytest.raises(ValueError, match="timestamps must increase: got 100 ms"):
        session.feed(chair(0.0)(100))


def test_stop_before_running_cancels() -> None:
    session = ChairStandSession(timing=TIMING)
    feed_all(session, frames([(2.0, chair(0.0))]))  # in the countdown
    assert session.stop(2000) == [AssessmentCancelled(2000, TID, "countdown")]
    assert session.result is None
    assert session.phase is AssessmentPhase.RESULT
    assert session.feed(chair(0.0)(2100)) == []
    assert session.stop(2200) == []


def test_stop_while_running_keeps_the_score() -> None:
    session = ChairStandSession(timing=TIMING)
    up = [(0.2, chair(0.33)), (0.2, chair(0.67)), (0.3, chair(1.0)), (0.8, chair(0.0))]
    feed_all(session, frames([(4.0, chair(0.0)), *up, *up]))  # last frame 6900
    events = session.stop(7000)
    assert session.result is not None
    assert events[-1] == AssessmentCompleted(7000, session.result)
    assert session.result.value == 2
    assert session.result.flags == ("stopped_early",)


@pytest.mark.parametrize(
    ("subject", "flags", "note"),
    [
        pytest.param(Subject(72, Sex.FEMALE), (), False, id="woman-72"),
        pytest.param(Subject(72, Sex.MALE), (), False, id="man-72"),
        pytest.param(Subject(97, Sex.FEMALE), ("age_outside_norms",), True, id="97"),
    ],
)
def test_results_are_compared_with_the_norms(
    subject: Subject, flags: tuple[str, ...], note: bool
) -> None:
    session = ChairStandSession(timing=TIMING, subject=subject)
    feed_all(session, frames([(35.0, chair(0.0))]))
    result = session.result
    assert result is not None and result.value == 0
    assert subject.sex is not None
    expected = compare_to_norms(TID, 0, subject.age_years, subject.sex, clamp_age=True)
    assert result.norm == expected
    assert result.percentile == expected.percentile
    assert result.band is Band.BELOW and result.band == "below"
    assert result.flags == flags
    assert result.explanation["en"].startswith(expected.explanation["en"])
    assert ("The norms go up to age 94" in result.explanation["en"]) is note
    assert ("常模只到94岁" in result.explanation["zh-CN"]) is note


def test_no_sex_no_norms() -> None:
    session = ChairStandSession(timing=TIMING, subject=Subject(72))
    feed_all(session, frames([(35.0, chair(0.0))]))
    assert session.result is not None
    assert session.result.norm is None and session.result.percentile is None


def test_sessions_by_id() -> None:
    assert set(SESSIONS) == {
        "chair_stand_30s",
        "arm_curl_30s",
        "step_test_2min",
        "single_leg_stance",
    }
    session = create_assessment("arm_curl_30s", arm="left")
    assert isinstance(session, arm_curl.ArmCurlSession) and session.arm == "left"
    with pytest.raises(KeyError, match="valid: chair_stand_30s"):
        create_assessment("six_minute_walk")


@pytest.mark.parametrize(
    "kw",
    [
        {"instructions_ms": -1},
        {"ready_hold_ms": 0.5},
        {"countdown_ms": None},
    ],
)
def test_phase_timing_is_validated(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be an int >= 0"):
        PhaseTiming(**kw)


MODULES = [chair_stand, arm_curl, step_test, single_leg_stance]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_every_text_in_both_languages(module: Any) -> None:
    info = module.INFO
    for phase in (
        AssessmentPhase.INSTRUCTIONS,
        AssessmentPhase.COUNTDOWN,
        AssessmentPhase.RUNNING,
    ):
        assert set(info.say[phase]) == {"en", "zh-CN"}
        assert all(info.say[phase].values())
    for text in [*module.TEXTS.values(), info.name, info.unit_label]:
        assert set(text) == {"en", "zh-CN"} and all(text.values())
    assert set(TICKS[3]) == {"en", "zh-CN"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_nobody_in_view_never_starts(module: Any) -> None:
    cls = SESSIONS[module.INFO.test_id]
    session = cls(timing=PhaseTiming(0, 0, 0))
    session.feed(nothing(0))
    session.feed(nothing(1))
    assert session.stop(2) == [
        AssessmentCancelled(2, module.INFO.test_id, "instructions")
    ]


def test_events_cross_the_wire() -> None:
    """server/schemas.py serializes any event dataclass; ours must survive it."""
    schemas = pytest.importorskip("server.schemas")
    session = ChairStandSession(timing=TIMING, subject=Subject(70, Sex.MALE))
    events = feed_all(session, frames([(35.0, chair(0.0))]))
    kinds = []
    for e in events:
        assert dataclasses.is_dataclass(e) and isinstance(e, Event)
        message = schemas.event_message(e)
        payload = json.loads(message.model_dump_json())
        kinds.append(payload["type"])
    assert kinds[0] == "assessment_phase_changed"
    assert kinds[-1] == "assessment_completed"
    done = json.loads(schemas.event_message(events[-1]).model_dump_json())
    assert done["result"]["value"] == 0.0
    assert done["result"]["explanation"]["zh-CN"]


@pytest.mark.parametrize(
    "module",
    [
        "exercises.assessments",
        "exercises.assessments.protocol",
        "exercises.assessments.norms",
        "exercises.assessments.chair_stand",
        "exercises.assessments.arm_curl",
        "exercises.assessments.step_test",
        "exercises.assessments.single_leg_stance",
    ],
)
def test_core_imports_no_edge_library(module: str) -> None:
    edges = ("cv2", "mediapipe", "onnxruntime", "fastapi", "websockets", "starlette")
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        f"print(json.dumps([m for m in {edges!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
