"""What the kiosk websocket plays: an exercise `Session` or a fitness assessment,
behind one small interface so `server/ws.py` stays a thin loop with no per-mode `if`s.

    plan = await runtime.plan(open_message, kiosk_id)   # resolve ids, subject, texts
    live = plan.start(skeleton)                         # ValueError: cannot start
    events = live.feed(frame, image_wh)                 # every processed frame
    events = live.stop()                                # the kiosk closed the session
    live.summary()                                      # for `summary` and the records

Image aspect: every frame carries its image's `aspect_wh`, stamped where the JPEG was
decoded (`server.inference`); the engine makes the coordinates isotropic itself, so the
sessions here are built once and take the frames as they come.

`AssessmentResultRecorder` wraps the session recorder: an `AssessmentCompleted`
passing through it is stored for a signed-in resident (`repository.add_assessment`).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

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
from exercises.session import Session
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
    "assessment_info",
]

log = logging.getLogger(__name__)


class LiveSession(Protocol):
    """One live session as the websocket loop drives it."""

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]: ...

    def stop(self) -> list[Event]: ...

    def summary(self) -> object | None: ...


@dataclass
class ExerciseLive:
    """An exercise `Session` (frames carry their aspect: see the module docstring)."""

    session: Session

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        return self.session.feed(frame)

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
        return AssessmentLive(session)

    return start


def start_exercise(
    spec: Any, message: OpenMessage, elder: bool
) -> Callable[[Skeleton], LiveSession]:
    """How to start exercise `spec` (`message`'s `resolution_wh` plays no part: each
    frame carries its image's aspect)."""

    def start(skeleton: Skeleton) -> LiveSession:
        # Raises early (ValueError) when the skeleton lacks the exercise's joints.
        return ExerciseLive(Session(spec, elder_mode=elder, skeleton=skeleton))

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
