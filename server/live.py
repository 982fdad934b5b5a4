"""What the kiosk websocket plays: an exercise `Session` or a fitness assessment,
behind one small interface so `server/ws.py` stays a thin loop with no per-mode `if`s.

    plan = await runtime.plan(open_message, kiosk_id)   # resolve ids, subject, texts
    live = plan.start(skeleton)                         # ValueError: cannot start
    events = live.feed(frame, image_wh)                 # every processed frame
    events = live.stop()                                # the kiosk closed the session
    live.summary()                                      # for `summary` and the records

Image aspect. Landmarks are normalised by the image's width and height separately, so
on a 16:9 camera every angle is skewed unless x is scaled back by width / height. The
engine session takes `SessionOptions(image_aspect=...)`; it is built with the aspect of
`open.resolution_wh` (1.0 without one) and rebuilt, lazily on the first frame, when the
decoded frame's size says otherwise (the decoded size wins). Assessments take frames
whose x (and z, which shares x's scale) is multiplied by the aspect, which makes the
image plane isotropic for their angles and distances alike.

`AssessmentResultRecorder` wraps the session recorder: an `AssessmentCompleted`
passing through it is stored for a signed-in resident (`repository.add_assessment`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from exercises.assessments import (
    NORMS,
    SESSIONS,
    AssessmentCompleted,
    AssessmentSession,
    PhaseTiming,
    Sex,
    Subject,
    compare_to_norms,
)
from exercises.events import Event
from exercises.session import Session, SessionOptions
from server.schemas import AssessmentInfo, ExerciseInfo, OpenMessage
from vision.types import PoseFrame, Skeleton

if TYPE_CHECKING:
    from server.store import Store

__all__ = [
    "KIOSK_OPTIONS",
    "AssessmentLive",
    "AssessmentResultRecorder",
    "ExerciseLive",
    "LiveSession",
    "Plan",
    "aspect_of",
    "assessment_info",
    "scale_frame",
]

log = logging.getLogger(__name__)


class LiveSession(Protocol):
    """One live session as the websocket loop drives it."""

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]: ...

    def stop(self) -> list[Event]: ...

    def summary(self) -> object | None: ...


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


@dataclass
class ExerciseLive:
    """An exercise `Session`, built for the camera's aspect (see the module
    docstring)."""

    build: Callable[[float], Session]
    aspect: float = 1.0
    session: Session = field(init=False)
    _fed: bool = False

    def __post_init__(self) -> None:
        self.session = self.build(self.aspect)  # raises early: missing joints

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        if not self._fed:
            self._fed = True
            aspect = aspect_of(image_wh)
            if not math.isclose(aspect, self.aspect, rel_tol=1e-6):
                self.aspect = aspect
                self.session = self.build(aspect)
        return self.session.feed(frame)

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
    spec: Any, message: OpenMessage, elder: bool
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


# --- storing results -----------------------------------------------------------------


class AssessmentResultRecorder:
    """A `SessionRecorder` that passes everything to `inner` and stores each
    `AssessmentCompleted` of a signed-in resident in `store` (on its own thread;
    `on_event` returns the write's future, which the loop awaits before sending)."""

    def __init__(self, inner: Any, store: Store) -> None:
        self.inner = inner
        self.store = store
        self._open: dict[str, Any] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="assessments"
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def on_open(self, info: Any) -> None:
        self._open[info.session_id] = info
        self.inner.on_open(info)

    def on_event(self, session_id: str, event: Event) -> object:
        inner = self.inner.on_event(session_id, event)
        info = self._open.get(session_id)
        if not isinstance(event, AssessmentCompleted) or info is None:
            return inner
        if not info.resident:
            return inner
        return self._pool.submit(self._store, info, event)

    def on_close(self, session_id: str, *args: Any) -> None:
        self._open.pop(session_id, None)
        self.inner.on_close(session_id, *args)

    def close(self, *args: Any, **kwargs: Any) -> None:
        self._pool.shutdown(wait=True)
        close = getattr(self.inner, "close", None)
        if callable(close):
            close(*args, **kwargs)

    def _store(self, info: Any, event: AssessmentCompleted) -> int | None:
        from server.store import repository as repo

        flush = getattr(self.inner, "flush", None)
        if callable(flush):  # the recorder's session row first, to link to it
            try:
                flush(5.0)
            except Exception:
                log.warning("session %s: recorder flush failed", info.session_id)
        result = event.result
        try:
            with self.store.begin() as db:
                row = repo.find_session_by_live_id(db, info.session_id)
                resident_id = row.resident_id if row is not None else None
                if resident_id is None:
                    resident_id = _find_resident(db, info)
                if resident_id is None:
                    log.warning(
                        "session %s: no resident %r; assessment not stored",
                        info.session_id,
                        info.resident,
                    )
                    return None
                saved = repo.add_assessment(
                    db,
                    resident_id=resident_id,
                    protocol_id=result.test_id,
                    value=result.value,
                    unit=result.unit,
                    percentile=result.percentile,
                    band=None if result.band is None else str(result.band.value),
                    details=_details(result),
                    session_id=None if row is None else row.id,
                )
                return int(saved.id)
        except Exception:
            log.exception("session %s: assessment not stored", info.session_id)
            return None


def _find_resident(db: Any, info: Any) -> int | None:
    from sqlalchemy import select

    from server.store import repository as repo
    from server.store.models import Centre, Kiosk

    centre_id = None
    if info.kiosk_id is not None:
        kiosk = db.get(Kiosk, info.kiosk_id)
        centre_id = None if kiosk is None else kiosk.centre_id
    if centre_id is None:
        ids = db.scalars(select(Centre.id).limit(2)).all()
        centre_id = ids[0] if len(ids) == 1 else None
    if centre_id is None:
        return None
    resident = repo.find_resident(db, centre_id, info.resident)
    return None if resident is None else int(resident.id)


def _details(result: Any) -> dict[str, Any]:
    from server.schemas import to_wire

    wired = to_wire(result)
    return {
        k: wired[k]
        for k in ("per_side", "flags", "duration_ms", "explanation", "norm")
        if k in wired
    }


def resident_record(store: Store, kiosk_id: int | None, member_code: str) -> Any:
    """(birth_year, sex) of a resident named at the kiosk, or None when unknown."""
    with store.session() as db:
        info = type("Info", (), {"kiosk_id": kiosk_id, "resident": member_code})
        resident_id = _find_resident(db, info)
        if resident_id is None:
            return None
        from server.store import repository as repo

        resident = repo.get_resident(db, resident_id)
        if resident is None:
            return None
        sex = getattr(resident.sex, "value", resident.sex)
        return resident.birth_year, str(sex) if sex is not None else None
