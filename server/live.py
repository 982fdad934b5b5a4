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

Image aspect. Landmarks are normalised by the image's width and height separately, so
on a 16:9 camera every angle is skewed unless x is scaled back by width / height. The
engine session takes `SessionOptions(image_aspect=...)`; it is built with the aspect of
`open.resolution_wh` (1.0 without one) and rebuilt, lazily on the first frame, when the
decoded frame's size says otherwise (the decoded size wins). Assessments take frames
whose x (and z, which shares x's scale) is multiplied by the aspect, which makes the
image plane isotropic for their angles and distances alike.

Results of assessments are stored by `server.assessment_records`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

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
from exercises.session import Session, SessionOptions
from exercises.spec import ExerciseSpec
from server.schemas import AssessmentInfo, ExerciseInfo, OpenMessage, ProgrammeInfo
from vision.types import PoseFrame, Skeleton

__all__ = [
    "KIOSK_OPTIONS",
    "AssessmentLive",
    "ExerciseLive",
    "ForAspect",
    "LiveSession",
    "Plan",
    "aspect_of",
    "assessment_info",
    "no_controls",
    "scale_frame",
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


def aspect_of(resolution_wh: tuple[int, ...] | None) -> float:
    """width / height; 1.0 when unknown or degenerate."""
    if resolution_wh is None or len(resolution_wh) != 2:
        return 1.0
    w, h = resolution_wh
    return float(w) / float(h) if w > 0 and h > 0 else 1.0


def scale_frame(frame: PoseFrame, aspect: float) -> PoseFrame:
    """`frame` with x and z multiplied by `aspect` (isotropic image units)."""
    if aspect == 1.0:
        return frame
    xyz = frame.xyz * np.array([aspect, 1.0, aspect], np.float32)
    return PoseFrame(xyz, frame.visibility, frame.timestamp_ms, frame.skeleton)


CoreT = TypeVar("CoreT")


class ForAspect(Generic[CoreT]):
    """A core session built for the camera's aspect (see the module docstring): at
    once for the `open`'s aspect (so it fails early: missing joints), again on the
    first frame when the decoded frame's size says otherwise."""

    def __init__(self, build: Callable[[float], CoreT], aspect: float = 1.0) -> None:
        self.build = build
        self.aspect = aspect
        self.core = build(aspect)
        self._fed = False

    def first(self, image_wh: tuple[int, int]) -> CoreT:
        """The core for a frame of `image_wh` (only the first frame decides)."""
        if not self._fed:
            self._fed = True
            aspect = aspect_of(image_wh)
            if not math.isclose(aspect, self.aspect, rel_tol=1e-6):
                self.aspect = aspect
                self.core = self.build(aspect)
        return self.core


class ExerciseLive:
    """An exercise `Session`, built for the camera's aspect (`ForAspect`)."""

    def __init__(self, build: Callable[[float], Session], aspect: float = 1.0) -> None:
        self._built = ForAspect(build, aspect)

    @property
    def session(self) -> Session:
        return self._built.core

    @property
    def aspect(self) -> float:
        return self._built.aspect

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        return self._built.first(image_wh).feed(frame)

    def control(self, action: str) -> list[Event]:
        return no_controls("an exercise", action)

    def stop(self) -> list[Event]:
        return []

    def summary(self) -> object | None:
        return self.session.summary()


@dataclass
class AssessmentLive:
    """A fitness assessment session; frames are scaled to isotropic units."""

    session: AssessmentSession[Any]
    aspect: float = 1.0
    _fed: bool = False
    _last_ts: int = 0

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        if not self._fed:
            self._fed = True
            self.aspect = aspect_of(image_wh)
        self._last_ts = int(frame.timestamp_ms)
        return self.session.feed(scale_frame(frame, self.aspect))

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
        return AssessmentLive(session, aspect_of(message.resolution_wh))

    return start


def start_exercise(
    spec: ExerciseSpec, message: OpenMessage, elder: bool
) -> Callable[[Skeleton], LiveSession]:
    def start(skeleton: Skeleton) -> LiveSession:
        def build(aspect: float) -> Session:
            return Session(
                spec,
                elder_mode=elder,
                skeleton=skeleton,
                options=SessionOptions(image_aspect=aspect),
            )

        return ExerciseLive(build, aspect_of(message.resolution_wh))

    return start
