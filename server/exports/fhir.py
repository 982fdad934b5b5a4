"""Exports as an HL7 FHIR R4 `Bundle` of type `collection`.

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

import math
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from server.exports.records import (
    iso,
    load_resident,
    load_session,
    mean,
    resident_alerts,
    resident_sessions,
)
from server.store import repository
from server.store.models import (
    Alert,
    Assessment,
    ExerciseSession,
    Resident,
    SessionStatus,
    utcnow,
)

__all__ = [
    "ALERT_NOTE",
    "ANGLE_SYSTEM",
    "ASSESSMENT_SYSTEM",
    "BAND_INTERPRETATION",
    "BAND_SYSTEM",
    "EXERCISE_SYSTEM",
    "INTERPRETATION_SYSTEM",
    "LOINC",
    "MOVECOACH_FHIR_BASE",
    "OBSERVATION_SYSTEM",
    "UCUM",
    "patient_resource",
    "resident_fhir",
    "session_fhir",
]

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
INTERPRETATION_SYSTEM: Final[str] = (
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
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

BAND_INTERPRETATION: Final[dict[str, tuple[str, str]]] = {
    "below": ("L", "Low"),
    "normal": ("N", "Normal"),
    "above": ("H", "High"),
}
"""An assessment's band against its age norms -> HL7 interpretation (code, display)."""

ALERT_NOTE: Final[str] = (
    "Automated alert from a MoveCoach group screen camera; not a clinical finding. "
    "Staff acknowledgement means someone saw the alert, not that a fall was confirmed."
)


# --- building blocks ------------------------------------------------------------------


def _uuid(kind: str, key: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{key}"))


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """A CodeableConcept of one coding (and a text, when given)."""
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text is not None:
        concept["text"] = text
    return concept


def _quantity(value: float, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": round(float(value), 3), "unit": unit}
    code = _UCUM_UNITS.get(unit) or _UCUM_UNITS.get(unit.lower())
    if code is not None:
        quantity.update(system=UCUM, code=code)
    return quantity


def _component(code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"code": code, **value}


def _angle_components(
    values: dict[str, float], what: str, unit: str
) -> list[dict[str, Any]]:
    """One component per angle: `values[angle]` in `unit`, named "<angle> <what>"."""
    return [
        _component(
            _concept(ANGLE_SYSTEM, angle, text=f"{angle} {what}"),
            valueQuantity=_quantity(value, unit),
        )
        for angle, value in values.items()
    ]


def _angle_means(maps: Iterable[dict[str, Any]]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for mapping in maps:
        for angle, value in (mapping or {}).items():
            if isinstance(value, int | float) and math.isfinite(value):
                sums.setdefault(angle, []).append(float(value))
    return {angle: sum(v) / len(v) for angle, v in sorted(sums.items())}


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


def _bundle(key: str, resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": _uuid("Bundle", f"{key}/{utcnow().isoformat()}"),
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


# --- resources --------------------------------------------------------------------


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


def _session_observations(
    session: ExerciseSession, patient: dict[str, Any] | None
) -> list[dict[str, Any]]:
    sid, exercise_id = session.id, session.exercise_id
    exercise = _component(
        _concept(LOINC, "73985-4", "Exercise activity"),
        valueCodeableConcept={
            "coding": [_coding(EXERCISE_SYSTEM, exercise_id)],
            "text": exercise_id,
        },
    )
    extra: dict[str, Any] = (
        {
            "note": [
                {"text": f"Session interrupted ({session.end_reason or 'unknown'})."}
            ]
        }
        if session.status is SessionStatus.INTERRUPTED
        else {}
    )
    # A session still running is preliminary; ended ones (interrupted too) are final for
    # what was done.
    status = "preliminary" if session.status is SessionStatus.ACTIVE else "final"

    def observation(key: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return _observation(
            key, code, patient, session.started_at, status=status, **fields, **extra
        )

    def member(suffix: str, code: str, display: str, text: str, **fields: Any) -> None:
        members.append(
            observation(
                f"session-{sid}/{suffix}",
                _concept(OBSERVATION_SYSTEM, code, display, text),
                **fields,
            )
        )

    members: list[dict[str, Any]] = []
    member(
        "repetitions",
        "repetitions",
        "Exercise repetitions",
        f"Repetitions of {exercise_id}",
        valueInteger=len(session.reps),
        component=[exercise],
    )
    mean_score = mean(r.score for r in session.reps)
    if mean_score is not None:
        breakdown = _angle_means(r.breakdown for r in session.reps)
        member(
            "form-score",
            "form-score",
            "Mean exercise form score",
            f"Mean form score of {exercise_id} (0-100)",
            valueQuantity=_quantity(mean_score, "{score}"),
            component=[exercise, *_angle_components(breakdown, "score", "{score}")],
        )
    rom = _angle_means(r.range_of_motion_deg for r in session.reps)
    if rom:
        member(
            "range-of-motion",
            "range-of-motion",
            "Mean range of motion",
            f"Mean range of motion per angle, {exercise_id}",
            component=[exercise, *_angle_components(rom, "range of motion", "deg")],
        )
    summary = session.summary or {}
    if summary.get("kind") == "hold" and isinstance(summary.get("hold_ms"), int):
        hold_components: list[dict[str, Any]] = [exercise]
        if isinstance(summary.get("hold_score"), int | float):
            hold_components.append(
                _component(
                    _concept(OBSERVATION_SYSTEM, "form-score", "Form score"),
                    valueQuantity=_quantity(summary["hold_score"], "{score}"),
                )
            )
        member(
            "hold",
            "hold-duration",
            "Hold duration",
            f"Time held in position, {exercise_id}",
            valueQuantity=_quantity(summary["hold_ms"] / 1000, "s"),
            component=hold_components,
        )
    if session.ended_at is not None:
        minutes = max(0.0, (session.ended_at - session.started_at).total_seconds() / 60)
        members.append(
            observation(
                f"session-{sid}/duration",
                _concept(LOINC, "55411-3", "Exercise duration"),
                valueQuantity=_quantity(minutes, "min"),
                component=[exercise],
            )
        )
    panel = observation(
        f"session-{sid}",
        _concept(
            OBSERVATION_SYSTEM,
            "exercise-session",
            "Exercise session",
            f"MoveCoach session: {exercise_id}",
        ),
        component=[exercise],
        hasMember=[_ref(m) for m in members],
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
        hl7 = BAND_INTERPRETATION.get(assessment.band)
        if hl7 is not None:
            codings.insert(0, _coding(INTERPRETATION_SYSTEM, *hl7))
        fields["interpretation"] = [{"coding": codings, "text": assessment.band}]
    if assessment.percentile is not None:
        fields["component"] = [
            _component(
                _concept(OBSERVATION_SYSTEM, "percentile", "Percentile"),
                valueQuantity=_quantity(assessment.percentile, "%"),
            )
        ]
    return _observation(
        f"assessment-{assessment.id}",
        _concept(
            ASSESSMENT_SYSTEM, assessment.protocol_id, text=assessment.protocol_id
        ),
        patient,
        assessment.taken_at,
        **fields,
    )


def _alert_observation(alert: Alert, patient: dict[str, Any]) -> dict[str, Any]:
    def component(code: str, display: str, **value: Any) -> dict[str, Any]:
        return _component(_concept(OBSERVATION_SYSTEM, code, display), **value)

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
                "alert-cleared", "Person got up", valueDateTime=iso(alert.cleared_at)
            )
        )
    if alert.acknowledged_at is not None:
        components.append(
            component(
                "alert-acknowledged",
                "Alert acknowledged by staff",
                valueDateTime=iso(alert.acknowledged_at),
            )
        )
    kind = alert.kind.capitalize()
    observation = _observation(
        f"alert-{alert.id}",
        _concept(
            OBSERVATION_SYSTEM,
            f"{alert.kind}-alert",
            f"{kind} alert",
            f"{kind} detected by a group screen camera",
        ),
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


# --- bundles ----------------------------------------------------------------------


def session_fhir(db: Session, session_id: int) -> dict[str, Any]:
    """A FHIR R4 collection Bundle: the resident's Patient (if any) and the session's
    Observations.

    Raises:
        LookupError: no such session.
    """
    session = load_session(db, session_id)
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
    resident = load_resident(db, resident_id)
    patient = patient_resource(resident)
    resources: list[dict[str, Any]] = [patient]
    for session in resident_sessions(db, resident_id):
        resources.extend(_session_observations(session, patient))
    for assessment in repository.list_assessments(db, resident_id):
        resources.append(_assessment_observation(assessment, patient))
    for alert in resident_alerts(db, resident_id):
        resources.append(_alert_observation(alert, patient))
    return _bundle(f"resident-{resident_id}", resources)
