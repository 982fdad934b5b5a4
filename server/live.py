"""What the kiosk websocket plays: an exercise `Session`, a fitness assessment or one
of the centre's programmes (`server.programmes`: a routine, the posture screen, paced
breathing), behind one small interface so `server/ws.py` stays a thin loop with no
per-mode `if`s.

    plan = await catalogue.plan(open_message, kiosk_id)  # ids, subject, texts
    live = plan.start(skeleton)                         # ValueError: cannot start
    events = live.feed(frame, image_wh)                 # every processed frame
    events = live.control("pause")                      # ValueError: not taken
    events = live.stop()                                # the kiosk closed the session
    live.summary()                                      # for `summary` and the records

Image aspect: every frame carries its image's `aspect_wh`, stamped where the JPEG was
decoded (`server.inference`); the engine makes the coordinates isotropic itself, so the
sessions here are built once and take the frames as they come.

Results of assessments are stored by `server.assessment_records`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from exercises.assessments import (
    NORMS,
    SESSIONS,
    AssessmentSession,
    PhaseTiming,
    Sex,
    Subject,
    compare_to_norms,
)
from exercises.events import Event
from exercises.session import Session
from exercises.spec import ExerciseSpec
from server.schemas import AssessmentInfo, ExerciseInfo, OpenMessage, ProgrammeInfo
from vision.types import PoseFrame, Skeleton

__all__ = [
    "KIOSK_OPTIONS",
    "AssessmentLive",
    "ExerciseLive",
    "LiveSession",
    "Plan",
    "assessment_info",
    "no_controls",
    "start_assessment",
    "start_exercise",
    "subject_of",
]


class LiveSession(Protocol):
    """One live session as the websocket loop drives it."""

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]: ...

    def control(self, action: str) -> list[Event]:
        """`pause`, `resume` or `skip` (ValueError: this session does not take it)."""
        ...

    def stop(self) -> list[Event]: ...

    def summary(self) -> object | None: ...


def no_controls(kind: str, action: str) -> list[Event]:
    """What a session that takes no `control` answers: ValueError."""
    raise ValueError(f"expected no control for {kind}, got {action!r}")


@dataclass
class ExerciseLive:
    """An exercise `Session` (frames carry their aspect: see the module docstring)."""

    session: Session

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        return self.session.feed(frame)

    def control(self, action: str) -> list[Event]:
        return no_controls("an exercise", action)

    def stop(self) -> list[Event]:
        return []

    def summary(self) -> object | None:
        return self.session.summary()


@dataclass
class AssessmentLive:
    """A fitness assessment session."""

    session: AssessmentSession[Any]
    _last_ts: int = 0

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        self._last_ts = int(frame.timestamp_ms)
        return self.session.feed(frame)

    def control(self, action: str) -> list[Event]:
        return no_controls("an assessment", action)

    def stop(self) -> list[Event]:
        return self.session.stop(self._last_ts)

    def summary(self) -> object | None:
        return self.session.result


@dataclass(frozen=True)
class Plan:
    """What an `open` resolved to: the id, the `opened` payload and how to start."""

    target_id: str
    exercise: ExerciseInfo | None
    assessment: AssessmentInfo | None
    start: Callable[[Skeleton], LiveSession]
    programme: ProgrammeInfo | None = None


def assessment_info(test_id: str, subject: Subject | None) -> AssessmentInfo:
    """The `opened` description of assessment `test_id` for `subject`."""
    info = SESSIONS[test_id].info
    normal: tuple[float, float] | None = None
    if subject is not None and subject.sex is not None and test_id in NORMS:
        norm = compare_to_norms(
            test_id, 0.0, subject.age_years, subject.sex, clamp_age=True
        )
        normal = (float(norm.p25), float(norm.p75))
    return AssessmentInfo(
        id=test_id,
        name=dict(info.name),
        unit=info.unit,
        unit_label=dict(info.unit_label),
        duration_ms=info.duration_ms,
        camera_view=info.camera_view,
        start_position=dict(info.start_position),
        sides=_sides(test_id),
        age_years=None if subject is None else subject.age_years,
        sex=None if subject is None or subject.sex is None else subject.sex.value,
        normal_range=normal,
    )


KIOSK_OPTIONS: dict[str, dict[str, Any]] = {
    # A kiosk cannot know the dominant arm: both are counted, each on its own, and
    # the better arm is the score (the protocol flags "both_arms").
    "arm_curl_30s": {"arm": "both"},
}
"""Protocol options the kiosk uses, by test id."""


def _sides(test_id: str) -> list[str]:
    return (
        ["left", "right"] if KIOSK_OPTIONS.get(test_id, {}).get("arm") == "both" else []
    )


def subject_of(
    message: OpenMessage, record: tuple[int | None, str | None] | None
) -> Subject | None:
    """The assessed person: birth year and sex from the resident's record where it
    has them, else what the kiosk sent; None without an age."""
    age = message.age_years
    sex: str | None = message.sex
    if record is not None:
        birth_year, record_sex = record
        if birth_year is not None:
            age = datetime.now(UTC).year - birth_year
        if record_sex in ("female", "male"):
            sex = record_sex
    if age is None:
        return None
    return Subject(age_years=age, sex=Sex(sex) if sex is not None else None)


def start_assessment(
    test_id: str, message: OpenMessage, subject: Subject | None
) -> Callable[[Skeleton], LiveSession]:
    timing = (
        PhaseTiming(**message.timing.model_dump())
        if message.timing is not None
        else None
    )

    def start(skeleton: Skeleton) -> LiveSession:
        if skeleton is not Skeleton.BLAZEPOSE_33:
            raise ValueError(
                f"assessments need the {Skeleton.BLAZEPOSE_33.value} skeleton, "
                f"got {skeleton.value}"
            )
        session = SESSIONS[test_id](
            subject=subject, timing=timing, **KIOSK_OPTIONS.get(test_id, {})
        )
        return AssessmentLive(session)

    return start


def start_exercise(
    spec: ExerciseSpec, message: OpenMessage, elder: bool
) -> Callable[[Skeleton], LiveSession]:
    """How to start exercise `spec` (`message`'s `resolution_wh` plays no part: each
    frame carries its image's aspect)."""

    def start(skeleton: Skeleton) -> LiveSession:
        # Raises early (ValueError) when the skeleton lacks the exercise's joints.
        return ExerciseLive(Session(spec, elder_mode=elder, skeleton=skeleton))

    return start
