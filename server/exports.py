"""Exports of a session or a resident: CSV (one row per rep), JSON (everything), and an
HL7 FHIR R4 `Bundle` of type `collection`.

FHIR content:

* `Patient`: the resident as a centre-scoped member-code `identifier`. Name, birth year
  (`birthDate` "YYYY") and `gender` are added only when the resident consented to data
  sharing; without it the bundle is pseudonymous.
* Per session, an exercise-session panel `Observation` whose `hasMember` points at:
  repetitions (`valueInteger`), mean form score (`valueQuantity` `{score}`, 0-100,
  with a `component` per angle), range of motion (a `component` per angle, UCUM
  `deg`), time held (UCUM `s`, hold exercises) and exercise duration (LOINC 55411-3
  "Exercise duration", UCUM `min`) once it ended. Each names the exercise in a LOINC
  73985-4 "Exercise activity" component.
* Per assessment, an `Observation` with the result as `valueQuantity` (UCUM code where
  the unit is a known UCUM unit), the band as `interpretation`, and the percentile as
  a component (UCUM `%`).
* Per fall alert that names the resident (a group screen saw them fall, docs/group.md),
  an `Observation` coded `fall-alert` in the MoveCoach observation code system, at the
  time it was raised, with `valueBoolean` true and components for the seat, the kiosk,
  when the person got up and when staff acknowledged it. It records an automated
  camera alert, not a clinical finding: no SNOMED CT "fall" code, no category, and a
  `note` saying so; `preliminary` until acknowledged, then `final`.

Real codes used: LOINC 55411-3 and 73985-4 (the HL7 Physical Activity IG uses both
for single bouts of exercise), the HL7 observation category `activity`, and UCUM units.
No LOINC code fits repetition counts, template form scores, per-angle range of motion
or these assessment protocols, so those use MoveCoach code systems under
`MOVECOACH_FHIR_BASE` (change it to the URL your deployment publishes them at).
Every reference is a `urn:uuid:` `fullUrl` inside the bundle; ids are UUIDv5 of the
database ids, so exporting twice gives the same resources.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from server.jsonable import replay_json
from server.store import repository
from server.store.models import (
    Alert,
    Assessment,
    Cue,
    ExerciseSession,
    Note,
    Rep,
    Resident,
    SessionStatus,
    utcnow,
)

__all__ = [
    "ALERT_NOTE",
    "ANGLE_SYSTEM",
    "ASSESSMENT_SYSTEM",
    "EXERCISE_SYSTEM",
    "EXPORT_FORMAT",
    "LOINC",
    "MOVECOACH_FHIR_BASE",
    "OBSERVATION_SYSTEM",
    "UCUM",
    "alert_export_json",
    "resident_csv",
    "resident_fhir",
    "resident_json",
    "session_csv",
    "session_fhir",
    "session_json",
]

EXPORT_FORMAT: Final[str] = "movecoach.export"
EXPORT_VERSION: Final[int] = 1

MOVECOACH_FHIR_BASE: Final[str] = "https://movecoach.example/fhir"
OBSERVATION_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/observation"
EXERCISE_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/exercise"
ANGLE_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/angle"
ASSESSMENT_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/assessment"
BAND_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/assessment-band"
MEMBER_CODE_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/sid/member-code"
LOINC: Final[str] = "http://loinc.org"
UCUM: Final[str] = "http://unitsofmeasure.org"
CATEGORY_SYSTEM: Final[str] = (
    "http://terminology.hl7.org/CodeSystem/observation-category"
)

_ACTIVITY_CATEGORY: Final[list[dict[str, Any]]] = [
    {"coding": [{"system": CATEGORY_SYSTEM, "code": "activity", "display": "Activity"}]}
]
_NAMESPACE: Final[uuid.UUID] = uuid.uuid5(uuid.NAMESPACE_URL, MOVECOACH_FHIR_BASE)

# Units residents' results come in -> UCUM code.
_UCUM_UNITS: Final[dict[str, str]] = {
    "s": "s",
    "sec": "s",
    "seconds": "s",
    "min": "min",
    "m": "m",
    "cm": "cm",
    "kg": "kg",
    "deg": "deg",
    "%": "%",
    "m/s": "m/s",
    "{repetitions}": "{repetitions}",
    "repetitions": "{repetitions}",
    "reps": "{repetitions}",
    "{score}": "{score}",
    "score": "{score}",
    "{steps}": "{steps}",
    "steps": "{steps}",
    "stands": "{stands}",
    "curls": "{curls}",
}

INTERPRETATION_SYSTEM: Final[str] = (
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
)
# An assessment's band against its age norms -> HL7 interpretation (low/normal/high).
_BAND_INTERPRETATION: Final[dict[str, tuple[str, str]]] = {
    "below": ("L", "Low"),
    "normal": ("N", "Normal"),
    "above": ("H", "High"),
}


# --- shared ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 3)


def _mean(values: Iterable[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _angle_means(maps: Iterable[dict[str, Any]]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for mapping in maps:
        for angle, value in (mapping or {}).items():
            if isinstance(value, int | float) and math.isfinite(value):
                sums.setdefault(angle, []).append(float(value))
    return {angle: sum(v) / len(v) for angle, v in sorted(sums.items())}


def _load_resident(db: Session, resident_id: int) -> Resident:
    resident = repository.get_resident(db, resident_id)
    if resident is None:
        raise LookupError(f"no resident {resident_id}")
    return resident


def _load_session(db: Session, session_id: int) -> ExerciseSession:
    session = repository.get_session(db, session_id)
    if session is None:
        raise LookupError(f"no session {session_id}")
    return session


def _resident_sessions(db: Session, resident_id: int) -> list[ExerciseSession]:
    overviews = repository.resident_sessions(db, resident_id, limit=1_000_000)
    return sorted((o.session for o in overviews), key=lambda s: (s.started_at, s.id))


def _resident_alerts(db: Session, resident_id: int) -> list[Alert]:
    """The alerts that name the resident, oldest first. Deleting a resident unlinks
    theirs (resident_id NULL), so none of those can come back under a reused id."""
    query = (
        select(Alert)
        .options(
            joinedload(Alert.kiosk),
            joinedload(Alert.acknowledger),
            joinedload(Alert.acknowledger_kiosk),
        )
        .where(Alert.resident_id == resident_id)
        .order_by(Alert.raised_at, Alert.id)
    )
    return list(db.scalars(query).unique())


# --- JSON -----------------------------------------------------------------------------


def rep_json(rep: Rep) -> dict[str, Any]:
    return {
        "count": rep.count,
        "score": rep.score,
        "breakdown": rep.breakdown,
        "range_of_motion_deg": rep.range_of_motion_deg,
        "duration_ms": rep.duration_ms,
        "cue_ids": rep.cue_ids,
        "side": rep.side,
        "timestamp_ms": rep.timestamp_ms,
        "recorded_at": _iso(rep.recorded_at),
    }


def cue_json(cue: Cue) -> dict[str, Any]:
    return {
        "timestamp_ms": cue.timestamp_ms,
        "cue_id": cue.cue_id,
        "severity": cue.severity,
        "message": cue.message,
        "value": cue.value,
    }


def note_json(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": None if note.author is None else note.author.display_name,
        "author_id": note.author_id,
        "resident_id": note.resident_id,
        "session_id": note.session_id,
        "text": note.text,
        "created_at": _iso(note.created_at),
    }


def assessment_json(assessment: Assessment) -> dict[str, Any]:
    return {
        "id": assessment.id,
        "protocol_id": assessment.protocol_id,
        "value": assessment.value,
        "unit": assessment.unit,
        "percentile": assessment.percentile,
        "band": assessment.band,
        "details": assessment.details,
        "session_id": assessment.session_id,
        "taken_at": _iso(assessment.taken_at),
    }


def alert_export_json(alert: Alert) -> dict[str, Any]:
    """A fall alert as kept: where (kiosk, seat), when (raised, cleared,
    acknowledged), who acknowledged it, and its details."""
    kiosk, staff, by_kiosk = alert.kiosk, alert.acknowledger, alert.acknowledger_kiosk
    return {
        "id": alert.id,
        "kind": alert.kind,
        "centre_id": alert.centre_id,
        "resident_id": alert.resident_id,
        "live_id": alert.live_id,
        "kiosk": None if kiosk is None else {"id": kiosk.id, "name": kiosk.name},
        "track_id": alert.track_id,
        "seat_number": alert.seat_number,
        "details": alert.details,
        "raised_at": _iso(alert.raised_at),
        "cleared_at": _iso(alert.cleared_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": None
        if staff is None
        else {"id": staff.id, "display_name": staff.display_name},
        "acknowledged_by_kiosk": None
        if by_kiosk is None
        else {"id": by_kiosk.id, "name": by_kiosk.name},
    }


def resident_profile(resident: Resident) -> dict[str, Any]:
    return {
        "id": resident.id,
        "centre_id": resident.centre_id,
        "member_code": resident.member_code,
        "display_name": resident.display_name,
        "birth_year": resident.birth_year,
        "sex": str(resident.sex),
        "conditions": resident.conditions,
        "consent": {
            "landmarks": resident.consent_landmarks,
            "video": resident.consent_video,
            "data_sharing": resident.consent_data_sharing,
        },
        "created_at": _iso(resident.created_at),
    }


def session_info(session: ExerciseSession) -> dict[str, Any]:
    """A session's own fields plus rep count and mean score (no reps, cues, notes)."""
    return {
        "id": session.id,
        "centre_id": session.centre_id,
        "resident_id": session.resident_id,
        "kiosk_id": session.kiosk_id,
        "exercise_id": session.exercise_id,
        "language": session.language,
        "elder_mode": session.elder_mode,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "status": str(session.status),
        "end_reason": session.end_reason,
        "summary": session.summary,
        "rep_count": len(session.reps),
        "mean_score": _mean(r.score for r in session.reps),
    }


def _session_body(
    db: Session, session: ExerciseSession, landmarks: bool
) -> dict[str, Any]:
    body = session_info(session)
    body["reps"] = [rep_json(r) for r in session.reps]
    body["cues"] = [cue_json(c) for c in session.cues]
    body["notes"] = [
        note_json(n) for n in repository.list_notes(db, session_id=session.id)
    ]
    if landmarks:
        window = repository.load_landmarks(db, session.id)
        body["landmarks"] = replay_json(window, max_frames=10**9) if window else None
    return body


def session_json(
    db: Session, session_id: int, *, landmarks: bool = False
) -> dict[str, Any]:
    """One session with its reps, cues and notes (and landmarks when asked).

    Raises:
        LookupError: no such session.
    """
    session = _load_session(db, session_id)
    resident = session.resident
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _iso(utcnow()),
        "resident": None
        if resident is None
        else {"id": resident.id, "member_code": resident.member_code},
        "session": _session_body(db, session, landmarks),
    }


def resident_json(
    db: Session, resident_id: int, *, landmarks: bool = False
) -> dict[str, Any]:
    """Everything kept about a resident: profile, sessions (reps, cues, notes),
    assessments, notes and the fall alerts that name them (the answer to a
    data-access request).

    Raises:
        LookupError: no such resident.
    """
    resident = _load_resident(db, resident_id)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _iso(utcnow()),
        "resident": resident_profile(resident),
        "sessions": [
            _session_body(db, s, landmarks) for s in _resident_sessions(db, resident_id)
        ],
        "assessments": [
            assessment_json(a) for a in repository.list_assessments(db, resident_id)
        ],
        "notes": [
            note_json(n)
            for n in repository.list_notes(db, resident_id=resident_id)
            if n.session_id is None
        ],
        "alerts": [alert_export_json(a) for a in _resident_alerts(db, resident_id)],
    }


# --- CSV ------------------------------------------------------------------------------

_CSV_BASE: Final[tuple[str, ...]] = (
    "session_id",
    "member_code",
    "exercise_id",
    "started_at",
    "status",
    "rep",
    "score",
    "duration_ms",
    "side",
    "timestamp_ms",
    "cue_ids",
)


def _cell(value: object) -> object:
    # Spreadsheets run cells starting with = + - @ as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _reps_csv(sessions: Sequence[ExerciseSession], member_code: str | None) -> str:
    angles_breakdown = sorted(
        {a for s in sessions for r in s.reps for a in r.breakdown}
    )
    angles_rom = sorted(
        {a for s in sessions for r in s.reps for a in r.range_of_motion_deg}
    )
    header = [
        *_CSV_BASE,
        *(f"score.{a}" for a in angles_breakdown),
        *(f"rom_deg.{a}" for a in angles_rom),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for session in sessions:
        for rep in session.reps:
            row = [
                session.id,
                member_code,
                session.exercise_id,
                _iso(session.started_at),
                str(session.status),
                rep.count,
                _number(rep.score),
                rep.duration_ms,
                rep.side,
                rep.timestamp_ms,
                ";".join(rep.cue_ids),
                *(_number(rep.breakdown.get(a)) for a in angles_breakdown),
                *(_number(rep.range_of_motion_deg.get(a)) for a in angles_rom),
            ]
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def session_csv(db: Session, session_id: int) -> str:
    """One row per rep of a session (per-angle score and ROM columns).

    Raises:
        LookupError: no such session.
    """
    session = _load_session(db, session_id)
    code = session.resident.member_code if session.resident is not None else None
    return _reps_csv([session], code)


def resident_csv(db: Session, resident_id: int) -> str:
    """One row per rep of every session of a resident, oldest first.

    Raises:
        LookupError: no such resident.
    """
    resident = _load_resident(db, resident_id)
    return _reps_csv(_resident_sessions(db, resident_id), resident.member_code)


# --- FHIR R4 --------------------------------------------------------------------------


def _uuid(kind: str, key: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{key}"))


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _quantity(value: float, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": round(float(value), 3), "unit": unit}
    code = _UCUM_UNITS.get(unit) or _UCUM_UNITS.get(unit.lower())
    if code is not None:
        quantity.update(system=UCUM, code=code)
    return quantity


def patient_resource(resident: Resident) -> dict[str, Any]:
    """The resident as a FHIR Patient; identity beyond the member code only with
    data-sharing consent."""
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _uuid("Patient", resident.id),
        "identifier": [
            {
                "system": f"{MEMBER_CODE_SYSTEM}/centre-{resident.centre_id}",
                "value": resident.member_code,
            }
        ],
        "active": True,
    }
    if resident.consent_data_sharing:
        patient["name"] = [{"use": "usual", "text": resident.display_name}]
        patient["gender"] = str(resident.sex)
        if resident.birth_year is not None:
            patient["birthDate"] = f"{resident.birth_year:04d}"
    return patient


def _exercise_component(exercise_id: str) -> dict[str, Any]:
    return {
        "code": {"coding": [_coding(LOINC, "73985-4", "Exercise activity")]},
        "valueCodeableConcept": {
            "coding": [_coding(EXERCISE_SYSTEM, exercise_id)],
            "text": exercise_id,
        },
    }


def _observation(
    key: str,
    code: dict[str, Any],
    subject: dict[str, Any] | None,
    effective: datetime,
    *,
    status: str = "final",
    **fields: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _uuid("Observation", key),
        "status": status,
        "category": _ACTIVITY_CATEGORY,
        "code": code,
    }
    if subject is not None:
        resource["subject"] = _ref(subject)
    resource["effectiveDateTime"] = effective.isoformat()
    resource.update(fields)
    return resource


def _session_observations(
    session: ExerciseSession, patient: dict[str, Any] | None
) -> list[dict[str, Any]]:
    sid = session.id
    exercise = _exercise_component(session.exercise_id)
    note = (
        [{"text": f"Session interrupted ({session.end_reason or 'unknown'})."}]
        if session.status is SessionStatus.INTERRUPTED
        else None
    )
    # A session still running is preliminary; ended ones (interrupted too) are final for
    # what was done.
    status = "preliminary" if session.status is SessionStatus.ACTIVE else "final"
    extra: dict[str, Any] = {"note": note} if note else {}
    members: list[dict[str, Any]] = []

    members.append(
        _observation(
            f"session-{sid}/repetitions",
            {
                "coding": [
                    _coding(OBSERVATION_SYSTEM, "repetitions", "Exercise repetitions")
                ],
                "text": f"Repetitions of {session.exercise_id}",
            },
            patient,
            session.started_at,
            status=status,
            valueInteger=len(session.reps),
            component=[exercise],
            **extra,
        )
    )
    mean_score = _mean(r.score for r in session.reps)
    if mean_score is not None:
        breakdown = _angle_means(r.breakdown for r in session.reps)
        members.append(
            _observation(
                f"session-{sid}/form-score",
                {
                    "coding": [
                        _coding(
                            OBSERVATION_SYSTEM, "form-score", "Mean exercise form score"
                        )
                    ],
                    "text": f"Mean form score of {session.exercise_id} (0-100)",
                },
                patient,
                session.started_at,
                status=status,
                valueQuantity=_quantity(mean_score, "{score}"),
                component=[
                    exercise,
                    *(
                        {
                            "code": {
                                "coding": [_coding(ANGLE_SYSTEM, a)],
                                "text": f"{a} score",
                            },
                            "valueQuantity": _quantity(v, "{score}"),
                        }
                        for a, v in breakdown.items()
                    ),
                ],
                **extra,
            )
        )
    rom = _angle_means(r.range_of_motion_deg for r in session.reps)
    if rom:
        members.append(
            _observation(
                f"session-{sid}/range-of-motion",
                {
                    "coding": [
                        _coding(
                            OBSERVATION_SYSTEM,
                            "range-of-motion",
                            "Mean range of motion",
                        )
                    ],
                    "text": f"Mean range of motion per angle, {session.exercise_id}",
                },
                patient,
                session.started_at,
                status=status,
                component=[
                    exercise,
                    *(
                        {
                            "code": {
                                "coding": [_coding(ANGLE_SYSTEM, a)],
                                "text": f"{a} range of motion",
                            },
                            "valueQuantity": _quantity(v, "deg"),
                        }
                        for a, v in rom.items()
                    ),
                ],
                **extra,
            )
        )
    summary = session.summary or {}
    if summary.get("kind") == "hold" and isinstance(summary.get("hold_ms"), int):
        hold_components: list[dict[str, Any]] = [exercise]
        if isinstance(summary.get("hold_score"), int | float):
            hold_components.append(
                {
                    "code": {
                        "coding": [
                            _coding(OBSERVATION_SYSTEM, "form-score", "Form score")
                        ]
                    },
                    "valueQuantity": _quantity(summary["hold_score"], "{score}"),
                }
            )
        members.append(
            _observation(
                f"session-{sid}/hold",
                {
                    "coding": [
                        _coding(OBSERVATION_SYSTEM, "hold-duration", "Hold duration")
                    ],
                    "text": f"Time held in position, {session.exercise_id}",
                },
                patient,
                session.started_at,
                status=status,
                valueQuantity=_quantity(summary["hold_ms"] / 1000, "s"),
                component=hold_components,
                **extra,
            )
        )
    if session.ended_at is not None:
        minutes = max(0.0, (session.ended_at - session.started_at).total_seconds() / 60)
        members.append(
            _observation(
                f"session-{sid}/duration",
                {"coding": [_coding(LOINC, "55411-3", "Exercise duration")]},
                patient,
                session.started_at,
                status=status,
                valueQuantity=_quantity(minutes, "min"),
                component=[exercise],
                **extra,
            )
        )
    panel = _observation(
        f"session-{sid}",
        {
            "coding": [
                _coding(OBSERVATION_SYSTEM, "exercise-session", "Exercise session")
            ],
            "text": f"MoveCoach session: {session.exercise_id}",
        },
        patient,
        session.started_at,
        status=status,
        component=[exercise],
        hasMember=[_ref(m) for m in members],
        **extra,
    )
    return [panel, *members]


def _assessment_observation(
    assessment: Assessment, patient: dict[str, Any]
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "valueQuantity": _quantity(assessment.value, assessment.unit)
    }
    if assessment.band:
        codings = [_coding(BAND_SYSTEM, assessment.band)]
        hl7 = _BAND_INTERPRETATION.get(assessment.band)
        if hl7 is not None:
            codings.insert(0, _coding(INTERPRETATION_SYSTEM, *hl7))
        fields["interpretation"] = [{"coding": codings, "text": assessment.band}]
    if assessment.percentile is not None:
        fields["component"] = [
            {
                "code": {
                    "coding": [_coding(OBSERVATION_SYSTEM, "percentile", "Percentile")]
                },
                "valueQuantity": _quantity(assessment.percentile, "%"),
            }
        ]
    return _observation(
        f"assessment-{assessment.id}",
        {
            "coding": [_coding(ASSESSMENT_SYSTEM, assessment.protocol_id)],
            "text": assessment.protocol_id,
        },
        patient,
        assessment.taken_at,
        **fields,
    )


ALERT_NOTE: Final[str] = (
    "Automated alert from a MoveCoach group screen camera; not a clinical finding. "
    "Staff acknowledgement means someone saw the alert, not that a fall was confirmed."
)


def _alert_observation(alert: Alert, patient: dict[str, Any]) -> dict[str, Any]:
    def component(code: str, display: str, **value: Any) -> dict[str, Any]:
        return {
            "code": {"coding": [_coding(OBSERVATION_SYSTEM, code, display)]},
            **value,
        }

    components = []
    if alert.seat_number is not None:
        components.append(
            component(
                "seat-number",
                "Seat on the group screen",
                valueInteger=alert.seat_number,
            )
        )
    if alert.kiosk is not None:
        components.append(
            component("kiosk", "Group screen", valueString=alert.kiosk.name)
        )
    if alert.cleared_at is not None:
        components.append(
            component(
                "alert-cleared", "Person got up", valueDateTime=_iso(alert.cleared_at)
            )
        )
    if alert.acknowledged_at is not None:
        components.append(
            component(
                "alert-acknowledged",
                "Alert acknowledged by staff",
                valueDateTime=_iso(alert.acknowledged_at),
            )
        )
    observation = _observation(
        f"alert-{alert.id}",
        {
            "coding": [
                _coding(
                    OBSERVATION_SYSTEM,
                    f"{alert.kind}-alert",
                    f"{alert.kind.capitalize()} alert",
                )
            ],
            "text": f"{alert.kind.capitalize()} detected by a group screen camera",
        },
        patient,
        alert.raised_at,
        # Open until someone acknowledges it: staff may still have to check on them.
        status="preliminary" if alert.acknowledged_at is None else "final",
        valueBoolean=True,
        note=[{"text": ALERT_NOTE}],
    )
    if components:
        observation["component"] = components
    # No observation category fits an automated safety alert (it is no `activity`).
    del observation["category"]
    return observation


def _bundle(key: str, resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": _uuid("Bundle", f"{key}/{utcnow().isoformat()}"),
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def session_fhir(db: Session, session_id: int) -> dict[str, Any]:
    """A FHIR R4 collection Bundle: the resident's Patient (if any) and the session's
    Observations.

    Raises:
        LookupError: no such session.
    """
    session = _load_session(db, session_id)
    patient = (
        patient_resource(session.resident) if session.resident is not None else None
    )
    resources = [patient] if patient is not None else []
    return _bundle(
        f"session-{session_id}", [*resources, *_session_observations(session, patient)]
    )


def resident_fhir(db: Session, resident_id: int) -> dict[str, Any]:
    """A FHIR R4 collection Bundle: the Patient, every session's Observations, every
    assessment's Observation and an Observation per fall alert that names them.

    Raises:
        LookupError: no such resident.
    """
    resident = _load_resident(db, resident_id)
    patient = patient_resource(resident)
    resources: list[dict[str, Any]] = [patient]
    for session in _resident_sessions(db, resident_id):
        resources.extend(_session_observations(session, patient))
    for assessment in repository.list_assessments(db, resident_id):
        resources.append(_assessment_observation(assessment, patient))
    for alert in _resident_alerts(db, resident_id):
        resources.append(_alert_observation(alert, patient))
    return _bundle(f"resident-{resident_id}", resources)
