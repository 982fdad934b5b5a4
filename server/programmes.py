# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The centre's programmes at the kiosk: a routine (the whole Baduanjin), the spine
posture screen and paced breathing, each a `server.live.LiveSession` kind, so the
websocket loop (`server/ws.py`) runs them like exercises, with no per-kind `if`.

    programmes = builtin_programmes()              # id -> Programme
    info = programmes["baduanjin"].describe(elder)  # picker and `opened` entry
    start = programmes["baduanjin"].starter(ProgrammeOptions(elder=True))
    live = start(skeleton)                          # ValueError: joints missing

Each live session builds its core for the camera's aspect (the `open`'s, rebuilt on
the first frame when the frame's `aspect_wh` says otherwise: the posture, breathing and
routine cores take the aspect as an option, not yet from the frames), keeps
the last frame's time (controls and `stop` act at it), and keeps what its events said
for `summary()` (sent in `summary`, kept by `server.programme_records`):

- routine (`RoutineLive`, `exercises.routine_session`): `control` pause / resume /
  skip; `stop` finishes the routine (the section under way is closed, the rest
  reported not done); `RoutineSummary`: per section its status, rounds, score, round
  scores and the one thing to improve, and the whole score.
- posture (`PostureLive`, `exercises.posture`): no controls; `PostureSummary`: the
  result (views, combined figures, uncertainties), the reading against the thresholds
  (kept with the result, so a later change of thresholds does not rewrite it) and the
  repeatability constants the uncertainties include. A screen stopped after one view
  keeps that view, read on its own (`completed` false).
- breathing (`BreathingLive`, `exercises.breathing`): no controls; `stop` ends it
  with the rhythm seen so far; `BreathingSummary`: the programme's pace as run (elder
  pace slows it by `ELDER_BREATHING_PACE`) and the rhythm read from the arms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from exercises.breathing import (
    BreathingCompleted,
    BreathingOptions,
    BreathingProgramme,
    BreathingSession,
    RhythmSummary,
)
from exercises.breathing import builtin_programmes as builtin_breathing
from exercises.events import Event, LocalizedText
from exercises.posture import (
    CAMERA_LIMITS,
    PostureAssessment,
    PostureResult,
    PostureScreen,
    PostureScreenCompleted,
    PostureViewCaptured,
    ScreenOptions,
    ViewMeasurement,
    assess,
    combine_views,
)
from exercises.posture.measures import REPEATABILITY, REQUIRED_JOINTS
from exercises.routine import RoutineSpec, builtin_routines
from exercises.routine_events import (
    RoundCompleted,
    RoutineCompleted,
    SectionCompleted,
    SectionSkipped,
)
from exercises.routine_session import RoutineOptions, RoutineSession
from server.live import LiveSession, no_controls
from server.schemas import ProgrammeInfo, ProgrammeSection
from server.settings import LANGUAGES
from vision.types import COCO_JOINT_NAMES, PoseFrame, Skeleton

CoreT = TypeVar("CoreT")

__all__ = [
    "BREATHING_JOINTS",
    "ELDER_BREATHING_PACE",
    "POSTURE_ID",
    "ROUTINE_CONTROLS",
    "ROUTINE_JOINTS",
    "SECTION_STATUSES",
    "BreathingLive",
    "BreathingSummary",
    "ForAspect",
    "PostureLive",
    "PostureSummary",
    "Programme",
    "ProgrammeOptions",
    "RoutineLive",
    "RoutineRecord",
    "RoutineSummary",
    "SectionResult",
    "breathing_programme",
    "builtin_programmes",
    "posture_programme",
    "routine_programme",
]

POSTURE_ID: Final[str] = "posture_screen"
ELDER_BREATHING_PACE: Final[float] = 1.25
"""Elder pace of paced breathing: every in- and out-breath a quarter longer."""
ROUTINE_CONTROLS: Final[tuple[str, ...]] = ("pause", "resume", "skip")
SECTION_STATUSES: Final[tuple[str, ...]] = (
    "done",
    "skipped",
    "not_seen",
    "unfinished",
    "not_reached",
)
"""How a routine's section went (`SectionResult.status`)."""
ROUTINE_JOINTS: Final[tuple[str, ...]] = COCO_JOINT_NAMES
"""The routine's features are COCO-17 joints by name (`exercises.routine_features`)."""
BREATHING_JOINTS: Final[tuple[str, ...]] = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
_POSTURE_JOINTS: Final[tuple[str, ...]] = (*REQUIRED_JOINTS, "nose")

POSTURE_TEXTS: Final[dict[str, LocalizedText]] = {
    "name": {"en": "Posture screen", "zh-CN": "体态筛查"},
    "description": {
        "en": "A camera check of how level your shoulders, hips and head are, from "
        "the front and from behind. A screen, not a diagnosis.",
        "zh-CN": "用摄像头从正面和背面检查双肩、骨盆和头部是否水平。"
        "这是筛查，不是诊断。",
    },
    "instructions": {
        "en": "Stand facing the camera, feet slightly apart, arms relaxed at your "
        "sides, and hold still. Then turn around and do the same with your back to "
        "the camera.",
        "zh-CN": "请面对摄像头站好，双脚稍微分开，双臂自然下垂，保持不动；"
        "然后转身，背对摄像头，同样站好。",
    },
}


@dataclass(frozen=True, slots=True)
class ProgrammeOptions:
    """How one programme session runs: elder pace, the camera's aspect (width /
    height) as the `open` gave it, and the person's stature (posture: cm figures)."""

    elder: bool = False
    aspect: float = 1.0
    stature_cm: float | None = None


@dataclass(frozen=True)
class Programme:
    """One programme a kiosk may open.

    Attributes:
        id: Its id (`open.programme`).
        kind: "routine", "posture" or "breathing".
        describe: Its picker and `opened` entry, at the normal or the elder pace.
        live: A live session of it.
        joints: Joints the pose must name (ValueError at the start otherwise).
        routine: The routine (kind "routine"; the group screen runs it as a class).
    """

    id: str
    kind: str
    describe: Callable[[bool], ProgrammeInfo]
    live: Callable[[ProgrammeOptions], LiveSession]
    joints: tuple[str, ...]
    routine: RoutineSpec | None = None

    def starter(self, options: ProgrammeOptions) -> Callable[[Skeleton], LiveSession]:
        """`Plan.start`: checks the skeleton names the joints, then starts."""

        def start(skeleton: Skeleton) -> LiveSession:
            missing = [j for j in self.joints if j not in skeleton.joint_names]
            if missing:
                raise ValueError(
                    f"{self.id} needs the joints {', '.join(missing)}; "
                    f"the {skeleton.value} skeleton lacks them"
                )
            return self.live(options)

        return start


class ForAspect(Generic[CoreT]):
    """A core session built for the camera's aspect (see the module docstring): at
    once for the `open`'s, again on the first frame when its `aspect_wh` differs."""

    def __init__(self, build: Callable[[float], CoreT], aspect: float = 1.0) -> None:
        self.build = build
        self.aspect = aspect
        self.core = build(aspect)
        self._fed = False

    def first(self, frame: PoseFrame) -> CoreT:
        """The core for `frame` (only the first frame decides)."""
        if not self._fed:
            self._fed = True
            aspect = float(frame.aspect_wh)
            if not math.isclose(aspect, self.aspect, rel_tol=1e-6):
                self.aspect = aspect
                self.core = self.build(aspect)
        return self.core


def _texts(value: LocalizedText | None) -> dict[str, str]:
    return {k: str(value[k]) for k in LANGUAGES if k in value} if value else {}


# --- routine --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SectionResult:
    """One section of a routine as it went.

    Attributes:
        status: "done" (rounds counted), "skipped" (the person asked), "not_seen"
            (they went on without it), "unfinished" (rounds counted, the session
            ended before the section did) or "not_reached".
        score: 0-100, the mean of its rounds (NaN: none scored).
    """

    section_id: str
    index: int
    name: LocalizedText
    status: str
    rounds: int
    target_rounds: int
    score: float
    round_scores: tuple[float, ...] = ()
    improvement_id: str | None = None
    improvement: LocalizedText | None = None


@dataclass(frozen=True, slots=True)
class RoutineSummary:
    """A routine session: every section in order and the whole score (the mean of
    the sections done; NaN: none). `completed`: the routine reached its end."""

    programme_id: str
    name: LocalizedText
    elder: bool
    completed: bool
    score: float
    sections: tuple[SectionResult, ...]
    kind: str = "routine"


@dataclass
class RoutineRecord:
    """What a routine's events said so far, for the summary (the kiosk's session,
    or one participant of a class on the group screen)."""

    routine: RoutineSpec
    elder: bool
    round_scores: dict[str, list[float]] = field(default_factory=dict)
    closed: dict[str, SectionCompleted | SectionSkipped] = field(default_factory=dict)
    completed: RoutineCompleted | None = None

    def add(self, events: list[Event]) -> list[Event]:
        for e in events:
            if isinstance(e, RoundCompleted):
                self.round_scores.setdefault(e.section_id, []).append(e.score)
            elif isinstance(e, SectionCompleted | SectionSkipped):
                self.closed[e.section_id] = e
            elif isinstance(e, RoutineCompleted):
                self.completed = e
        return events

    def summary(self) -> RoutineSummary:
        sections = []
        for i, s in enumerate(self.routine.sections):
            scores = tuple(self.round_scores.get(s.id, ()))
            scored = [v for v in scores if not math.isnan(v)]
            mean = round(sum(scored) / len(scored), 1) if scored else math.nan
            closed = self.closed.get(s.id)
            improvement_id, improvement = None, None
            if isinstance(closed, SectionCompleted):
                status, mean = "done", closed.score
                improvement_id, improvement = closed.improvement_id, closed.improvement
            elif isinstance(closed, SectionSkipped):
                status = closed.reason
            else:
                status = "unfinished" if scores else "not_reached"
            sections.append(
                SectionResult(
                    s.id,
                    i,
                    dict(s.name),
                    status,
                    len(scores),
                    s.rounds,
                    mean,
                    scores,
                    improvement_id,
                    None if improvement is None else dict(improvement),
                )
            )
        done = [r.score for r in sections if r.rounds and not math.isnan(r.score)]
        whole = (
            self.completed.score
            if self.completed is not None
            else (round(sum(done) / len(done), 1) if done else math.nan)
        )
        return RoutineSummary(
            self.routine.id,
            dict(self.routine.name),
            self.elder,
            self.completed is not None,
            whole,
            tuple(sections),
        )


class RoutineLive:
    """A routine at the kiosk (see the module docstring)."""

    def __init__(self, routine: RoutineSpec, options: ProgrammeOptions) -> None:
        elder = options.elder
        self._built = ForAspect(
            lambda aspect: RoutineSession(
                routine, RoutineOptions(image_aspect=aspect, elder=elder)
            ),
            options.aspect,
        )
        self._record = RoutineRecord(routine, elder)
        self._last_ms: int | None = None

    @property
    def session(self) -> RoutineSession:
        return self._built.core

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        events = self._built.first(frame).feed(frame)
        self._last_ms = int(frame.timestamp_ms)
        return self._record.add(events)

    def control(self, action: str) -> list[Event]:
        if action not in ROUTINE_CONTROLS:
            return no_controls("a routine", action)
        if self._last_ms is None:  # nothing seen yet: nothing to pause or skip
            return []
        core = self.session
        act = {"pause": core.pause, "resume": core.resume, "skip": core.skip}[action]
        return self._record.add(act(self._last_ms))

    def stop(self) -> list[Event]:
        if self._last_ms is None:
            return []
        return self._record.add(self.session.finish(self._last_ms))

    def summary(self) -> RoutineSummary:
        return self._record.summary()


def routine_programme(routine: RoutineSpec, picture: str) -> Programme:
    """A routine as a programme (its sections at the normal or the elder pace)."""

    def describe(elder: bool) -> ProgrammeInfo:
        return ProgrammeInfo(
            id=routine.id,
            kind="routine",
            name=_texts(routine.name),
            description=_texts(routine.description),
            instructions=_texts(routine.sections[0].say),
            picture=picture,
            posture="standing",
            controls=list(ROUTINE_CONTROLS),
            sections=[
                ProgrammeSection(
                    id=s.id,
                    name=_texts(s.name),
                    rounds=s.rounds,
                    pace_s=round(routine.pace_s(s, elder), 3),
                )
                for s in routine.sections
            ],
        )

    return Programme(
        routine.id,
        "routine",
        describe,
        lambda options: RoutineLive(routine, options),
        ROUTINE_JOINTS,
        routine,
    )


# --- posture screen -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostureSummary:
    """A posture screen: the result and its reading (None before any view was
    captured), and the between-capture repeatability its uncertainties include."""

    programme_id: str
    completed: bool
    result: PostureResult | None
    assessment: PostureAssessment | None
    repeatability: dict[str, float]
    kind: str = "posture"


class PostureLive:
    """The posture screen at the kiosk (see the module docstring)."""

    def __init__(self, options: ProgrammeOptions) -> None:
        stature = options.stature_cm
        self._built = ForAspect(
            lambda aspect: PostureScreen(
                ScreenOptions(aspect_wh=aspect, stature_cm=stature)
            ),
            options.aspect,
        )
        self._stature_cm = stature
        self._views: list[ViewMeasurement] = []
        self._done: PostureScreenCompleted | None = None

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        events = self._built.first(frame).feed(frame)
        for e in events:
            if isinstance(e, PostureViewCaptured):
                self._views.append(e.measurement)
            elif isinstance(e, PostureScreenCompleted):
                self._done = e
        return events

    def control(self, action: str) -> list[Event]:
        return no_controls("the posture screen", action)

    def stop(self) -> list[Event]:
        return []

    def summary(self) -> PostureSummary:
        repeatability = dict(REPEATABILITY)
        if self._done is not None:
            return PostureSummary(
                POSTURE_ID,
                True,
                self._done.result,
                self._done.assessment,
                repeatability,
            )
        if not self._views:
            return PostureSummary(POSTURE_ID, False, None, None, repeatability)
        result = combine_views(tuple(self._views), self._stature_cm)
        return PostureSummary(POSTURE_ID, False, result, assess(result), repeatability)


def posture_programme(picture: str) -> Programme:
    """The spine posture screen (front, then back) as a programme."""

    def describe(elder: bool) -> ProgrammeInfo:
        return ProgrammeInfo(
            id=POSTURE_ID,
            kind="posture",
            name=dict(POSTURE_TEXTS["name"]),
            description=dict(POSTURE_TEXTS["description"]),
            instructions=dict(POSTURE_TEXTS["instructions"]),
            picture=picture,
            posture="standing",
            views=["front", "back"],
            limits=_texts(CAMERA_LIMITS),
        )

    return Programme(POSTURE_ID, "posture", describe, PostureLive, _POSTURE_JOINTS)


# --- breathing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BreathingSummary:
    """A paced-breathing session: the pace as run (seconds, after the elder pace),
    and the rhythm read from the arms (None: stopped before it began).
    `completed`: it ran to its end (not stopped early)."""

    programme_id: str
    name: LocalizedText
    completed: bool
    inhale_s: float
    exhale_s: float
    cycles: int
    pace_scale: float
    rhythm: RhythmSummary | None
    kind: str = "breathing"


class BreathingLive:
    """Paced breathing at the kiosk (see the module docstring)."""

    def __init__(
        self, programme: BreathingProgramme, options: ProgrammeOptions
    ) -> None:
        self.programme = programme
        self.pace_scale = ELDER_BREATHING_PACE if options.elder else 1.0
        self._built = ForAspect(
            lambda aspect: BreathingSession(
                programme,
                BreathingOptions(aspect_wh=aspect, pace_scale=self.pace_scale),
            ),
            options.aspect,
        )
        self._last_ms: int | None = None
        self._done: BreathingCompleted | None = None

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        events = self._built.first(frame).feed(frame)
        self._last_ms = int(frame.timestamp_ms)
        return self._keep(events)

    def _keep(self, events: list[Event]) -> list[Event]:
        for e in events:
            if isinstance(e, BreathingCompleted):
                self._done = e
        return events

    def control(self, action: str) -> list[Event]:
        return no_controls("paced breathing", action)

    def stop(self) -> list[Event]:
        if self._last_ms is None:
            return []
        return self._keep(self._built.core.stop(self._last_ms))

    def summary(self) -> BreathingSummary:
        core = self._built.core
        done = self._done
        return BreathingSummary(
            self.programme.id,
            dict(self.programme.name),
            done is not None and not done.stopped_early,
            core.inhale_ms / 1000,
            core.exhale_ms / 1000,
            self.programme.cycles,
            self.pace_scale,
            None if done is None else done.summary,
        )


def breathing_programme(programme: BreathingProgramme, picture: str) -> Programme:
    """A paced-breathing programme (its pace at the normal or the elder pace)."""

    def describe(elder: bool) -> ProgrammeInfo:
        scale = ELDER_BREATHING_PACE if elder else 1.0
        return ProgrammeInfo(
            id=programme.id,
            kind="breathing",
            name=_texts(programme.name),
            description=_texts(programme.description),
            instructions=_texts(programme.instructions),
            picture=picture,
            posture=programme.posture,
            schedule={
                "inhale_s": round(programme.inhale_s * scale, 3),
                "exhale_s": round(programme.exhale_s * scale, 3),
                "cycles": programme.cycles,
                "lead_in_s": programme.lead_in_s,
            },
        )

    return Programme(
        programme.id,
        "breathing",
        describe,
        lambda options: BreathingLive(programme, options),
        BREATHING_JOINTS,
    )


# --- the catalogue's programmes -------------------------------------------------------


def builtin_programmes(
    picture: Callable[[Iterable[str]], str] = lambda stems: "",
) -> dict[str, Programme]:
    """Every built-in programme by id: the routines (`exercises/routines/`), the
    posture screen and the breathing programmes (`exercises/breathing/programmes/`).
    `picture(stems)` is the URL of the first pictogram found among `stems`."""
    out: dict[str, Programme] = {}
    for routine in builtin_routines().values():
        out[routine.id] = routine_programme(
            routine, picture((routine.id, f"{routine.id}_1", "routine"))
        )
    out[POSTURE_ID] = posture_programme(picture((POSTURE_ID, "posture")))
    for programme in builtin_breathing().values():
        out[programme.id] = breathing_programme(
            programme, picture((programme.id, "breathing"))
        )
    return out
