"""Session routes for coach review: recent sessions, one session's detail (reps, cues,
notes, the landmark recording for the skeleton replay, the template's reference band,
and the template's channels over the recording as the engine saw them: the angle
curves drawn against the band; a programme session's result: a routine's sections, a
posture screen's figures with the comparison to the previous one, a breathing
session's rhythm), the replay alone, and notes."""

from __future__ import annotations

import logging
import math
import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.analysis import channel_trace
from exercises.scoring import phase_span
from exercises.spec import (
    ExerciseSpec,
    Reference,
    SpecError,
    builtin_specs,
    spec_from_dict,
)
from server import exports
from server.api._access import listing_centre, new_note, resident_for, session_for
from server.auth import CurrentStaff, Db
from server.jsonable import replay_json
from server.store import repository
from server.store.models import ExerciseSession

__all__ = [
    "MAX_CURVE_POINTS",
    "reference_band",
    "router",
    "session_curves",
    "spec_band",
]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sessions", tags=["sessions"])

MaxFrames = Annotated[int, Query(ge=1, le=100_000)]
MAX_CURVE_POINTS = 1500


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def session_curves(
    spec: ExerciseSpec | None, window: Any, *, max_points: int = MAX_CURVE_POINTS
) -> dict[str, Any] | None:
    """The template's channels over a recording, as the engine computes them
    (`exercises.analysis.channel_trace`), thinned to at most `max_points` samples:
    `{"timestamp_ms": [...], "channels": {name: [deg or null, ...]}}`."""
    if spec is None or window is None or len(window) < 2:
        return None
    try:
        trace = channel_trace(window, spec)
    except ValueError as exc:  # the skeleton lacks a joint the template needs
        log.warning("no curves for %s: %s", spec.id, exc)
        return None
    step = max(1, math.ceil(len(trace.timestamp_ms) / max(1, max_points)))
    return {
        "timestamp_ms": trace.timestamp_ms[::step].tolist(),
        "channels": {
            name: [_finite(v) for v in trace.values[::step, k].tolist()]
            for k, name in enumerate(trace.channels)
        },
    }


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


def _band(reference: Reference) -> dict[str, Any]:
    channels = {}
    for name, values, tolerance in zip(
        reference.channels, reference.values, reference.tolerance, strict=True
    ):
        channels[name] = {
            "mean": list(values),
            "lower": [v - tolerance for v in values],
            "upper": [v + tolerance for v in values],
            "tolerance": tolerance,
        }
    return {"t": list(reference.t), "channels": channels}


def _spans(
    spec: ExerciseSpec, reference: Reference, cycle: tuple[str, ...]
) -> dict[str, list[float] | None]:
    """Where a rep cut at the phase thresholds starts and ends in normalised reference
    time (`exercises.scoring.phase_span`, as the engine crops the reference to score),
    with the normal and with the elder-mode phases: the page maps [start, end] onto a
    rep's recorded time span."""
    out: dict[str, list[float] | None] = {}
    for key, elder in (("span", False), ("elder_span", True)):
        phases = spec.phases_for(elder)
        span = (
            phase_span(reference, [phases[p] for p in cycle])
            if cycle and all(p in phases for p in cycle)
            else None
        )
        out[key] = None if span is None else [round(span[0], 4), round(span[1], 4)]
    return out


def session_spec(
    db: Session, exercise_id: str, centre_id: int | None
) -> ExerciseSpec | None:
    """The template a session used: built-in first, then the centre's own."""
    spec = builtin_specs().get(exercise_id)
    if spec is None and centre_id is not None:
        template = repository.get_template(db, centre_id, exercise_id)
        if template is not None:
            try:
                spec = spec_from_dict(tomllib.loads(template.toml_text))
            except (SpecError, tomllib.TOMLDecodeError):
                log.warning(
                    "custom template %r of centre %s no longer loads",
                    exercise_id,
                    centre_id,
                )
    return spec


def reference_band(
    db: Session, exercise_id: str, centre_id: int | None
) -> dict[str, Any] | None:
    """The template's reference trajectories with their tolerance band (None when the
    exercise is unknown or has no reference): built-in templates first, then the
    centre's custom ones. Channels are over normalised rep time `t` (0..1)."""
    spec = session_spec(db, exercise_id, centre_id)
    return None if spec is None else spec_band(spec)


def spec_band(spec: ExerciseSpec) -> dict[str, Any] | None:
    """`spec`'s reference trajectories with their tolerance band and where a rep cut
    at the phase thresholds lies in them (None without a reference): the coach page's
    curves and `movecoach analyze --report` draw the recorded angles against it."""
    band: dict[str, Any] = {"exercise_id": spec.id}
    if spec.reference is not None:
        band["reference"] = _band(spec.reference)
        band["reference"].update(_spans(spec, spec.reference, spec.cycle))
    if spec.moves:
        band["moves"] = [
            {
                "id": m.id,
                "name": m.name,
                "reference": {
                    **_band(m.reference),
                    **_spans(spec, m.reference, (m.start, m.end)),
                },
            }
            for m in spec.moves
        ]
    return band if len(band) > 1 else None


def _band_for(
    request: Request, db: Session, session: ExerciseSession
) -> dict[str, Any] | None:
    from server.api import REFERENCE_BAND_STATE_KEY

    lookup = getattr(request.app.state, REFERENCE_BAND_STATE_KEY, reference_band)
    try:
        return lookup(db, session.exercise_id, session.centre_id)
    except Exception:  # a detail page without a band beats no page
        log.exception("reference band for %r failed", session.exercise_id)
        return None


@router.get("")
def recent(
    staff: CurrentStaff,
    db: Db,
    resident_id: int | None = None,
    centre_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Newest sessions of the centre (anonymous ones included), or of one resident."""
    if resident_id is not None:
        resident_for(db, staff, resident_id)
        query = select(ExerciseSession).where(
            ExerciseSession.resident_id == resident_id
        )
    else:
        query = select(ExerciseSession)
        centre = listing_centre(staff, centre_id)
        if centre is not None:
            query = query.where(ExerciseSession.centre_id == centre)
    found = db.scalars(
        query.order_by(ExerciseSession.started_at.desc(), ExerciseSession.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return {"sessions": [exports.session_info(s) for s in found]}


@router.get("/{session_id}")
def detail(
    session_id: int,
    request: Request,
    staff: CurrentStaff,
    db: Db,
    landmarks: bool = True,
    max_frames: MaxFrames = 3000,
) -> dict[str, Any]:
    session = session_for(db, staff, session_id)
    resident = session.resident
    body: dict[str, Any] = {
        "session": exports.session_info(session),
        "resident": None
        if resident is None
        else {
            "id": resident.id,
            "member_code": resident.member_code,
            "display_name": resident.display_name,
        },
        "reps": [exports.rep_json(r) for r in session.reps],
        "cues": [exports.cue_json(c) for c in session.cues],
        "notes": [
            exports.note_json(n)
            for n in repository.list_notes(db, session_id=session.id)
        ],
        "reference_band": _band_for(request, db, session),
        "programme": exports.session_programme(db, session.id),
    }
    if landmarks:
        window = repository.load_landmarks(db, session.id)
        body["landmarks"] = replay_json(window, max_frames=max_frames)
        body["curves"] = session_curves(
            session_spec(db, session.exercise_id, session.centre_id), window
        )
    return body


@router.get("/{session_id}/landmarks")
def landmarks(
    session_id: int, staff: CurrentStaff, db: Db, max_frames: MaxFrames = 3000
) -> dict[str, Any]:
    session = session_for(db, staff, session_id)
    return replay_json(repository.load_landmarks(db, session.id), max_frames=max_frames)


@router.get("/{session_id}/notes")
def notes(session_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    session = session_for(db, staff, session_id)
    return {
        "notes": [
            exports.note_json(n)
            for n in repository.list_notes(db, session_id=session.id)
        ]
    }


@router.post("/{session_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(
    session_id: int, body: NoteIn, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    session = session_for(db, staff, session_id)
    note = new_note(db, staff, body.text, session_id=session.id)
    return exports.note_json(note)
