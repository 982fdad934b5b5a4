"""Programme results in the FHIR R4 exports: the bundles of `server.exports.fhir`
with one or more `Observation`s per programme session added.

* A routine: an `activity` Observation coded `routine-score` (MoveCoach observation
  code system) naming the routine, the whole score as `valueQuantity` (`{score}`,
  0-100), and per section a component with its score and one with its rounds, coded
  by section id in the MoveCoach routine-section code system.
* A posture screen: one `exam` Observation per combined figure (both views
  together), coded in the MoveCoach posture code system (`shoulder-tilt`, ...; no
  LOINC or SNOMED CT code was found to be certain for these camera figures), the
  value as `valueQuantity` in UCUM (`deg`; `%` of stature), the standard
  uncertainty as a `standard-uncertainty` component in the same unit, each view's
  value as a component, the screening threshold used as a `referenceRange` (its
  text says when it is a placeholder), the level as `interpretation` (within: N,
  above: A, borderline or unclear: IND, with the level in the MoveCoach posture-level
  code system) and `method` text "camera screen, not radiographic". The
  shoulder-height difference has no threshold of its own: no range, no
  interpretation.
* Paced breathing: an `activity` Observation coded `paced-breathing-rhythm` with the
  mean breath period as `valueQuantity` (s) and components for its error against
  the prescribed period (%), the out/in ratio, the regularity (coefficient of
  variation), the lag (s) and the breaths seen and prescribed; `method` text says the
  rhythm was read from arm movement, not airflow. No respiratory-rate code: this is
  not a measured breathing rate.
"""

from __future__ import annotations

import math
from typing import Any, Final

from sqlalchemy.orm import Session

from server.exports import fhir
from server.exports.fhir import (
    CATEGORY_SYSTEM,
    INTERPRETATION_SYSTEM,
    MOVECOACH_FHIR_BASE,
    OBSERVATION_SYSTEM,
    UCUM,
    _coding,
    _component,
    _concept,
    _observation,
    _quantity,
)
from server.exports.records import load_resident, load_session, resident_sessions
from server.store.models import ExerciseSession, ProgrammeResult, SessionStatus
from server.store.repository import programme_result_of

__all__ = [
    "BREATHING_METHOD",
    "FIGURE_CODES",
    "LEVEL_INTERPRETATION",
    "POSTURE_LEVEL_SYSTEM",
    "POSTURE_METHOD",
    "POSTURE_SYSTEM",
    "ROUTINE_SECTION_SYSTEM",
    "programme_observations",
    "resident_fhir",
    "session_fhir",
]

POSTURE_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/posture"
POSTURE_LEVEL_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/posture-level"
ROUTINE_SECTION_SYSTEM: Final[str] = f"{MOVECOACH_FHIR_BASE}/CodeSystem/routine-section"
POSTURE_METHOD: Final[str] = "camera screen, not radiographic"
BREATHING_METHOD: Final[str] = (
    "camera: breathing rhythm read from arm movement, not from airflow"
)
LEVEL_INTERPRETATION: Final[dict[str, tuple[str, str]]] = {
    "within": ("N", "Normal"),
    "above": ("A", "Abnormal"),
    "borderline": ("IND", "Indeterminate"),
    "unclear": ("IND", "Indeterminate"),
}
"""A posture figure's level -> HL7 v3 ObservationInterpretation (code, display)."""

FIGURE_CODES: Final[dict[str, tuple[str, str]]] = {  # figure -> (code, display)
    "shoulder_height_diff_pct": (
        "shoulder-height-difference",
        "Shoulder height difference",
    ),
    "shoulder_tilt_deg": ("shoulder-tilt", "Shoulder tilt"),
    "pelvic_tilt_deg": ("pelvic-tilt", "Pelvic tilt"),
    "trunk_shift_pct": ("trunk-lateral-shift", "Trunk lateral shift"),
    "head_tilt_deg": ("head-tilt", "Head tilt"),
}
_EXAM_CATEGORY: Final[list[dict[str, Any]]] = [
    {"coding": [_coding(CATEGORY_SYSTEM, "exam", "Exam")]}
]


def _ucum(value: float, unit: str) -> dict[str, Any]:
    """A quantity in a figure's unit: "%H" is UCUM "%" (of stature)."""
    if unit == "%H":
        return {
            "value": round(float(value), 3),
            "unit": "% of stature",
            "system": UCUM,
            "code": "%",
        }
    return _quantity(value, unit)


def _ratio(value: float) -> dict[str, Any]:
    quantity = {"value": round(float(value), 3), "unit": "ratio"}
    return {**quantity, "system": UCUM, "code": "1"}


def _local(code: str, display: str, **value: Any) -> dict[str, Any]:
    return _component(_concept(OBSERVATION_SYSTEM, code, display), **value)


def _routine(
    result: ProgrammeResult, observation: Any, key: str
) -> list[dict[str, Any]]:
    components = []
    for s in result.sections:
        name = (s.name or {}).get("en") or s.section_id
        code = _concept(ROUTINE_SECTION_SYSTEM, s.section_id, name)
        if s.score is not None:
            components.append(
                _component(code, valueQuantity=_quantity(s.score, "{score}"))
            )
        components.append(_component(code, valueInteger=int(s.rounds)))
    fields: dict[str, Any] = {"component": components}
    if result.score is not None:
        fields["valueQuantity"] = _quantity(result.score, "{score}")
    return [
        observation(
            key,
            _concept(
                OBSERVATION_SYSTEM,
                "routine-score",
                "Routine score",
                f"Routine {result.programme_id}: whole score and per-section scores "
                "(0-100) and rounds",
            ),
            **fields,
        )
    ]


def _posture(
    result: ProgrammeResult, observation: Any, key: str
) -> list[dict[str, Any]]:
    views = {(f.view, f.figure): f for f in result.figures}
    out = []
    for f in result.figures:
        if f.view != "combined":
            continue
        code, display = FIGURE_CODES.get(f.figure, (f.figure, f.figure))
        components = [
            _local(
                "standard-uncertainty",
                "Standard uncertainty (1 sigma)",
                valueQuantity=_ucum(f.uncertainty, f.unit),
            )
        ]
        for view in ("front", "back"):
            one = views.get((view, f.figure))
            if one is not None:
                components.append(
                    _local(
                        f"{view}-view",
                        f"{view.capitalize()} view",
                        valueQuantity=_ucum(one.value, one.unit),
                    )
                )
        fields: dict[str, Any] = {
            "valueQuantity": _ucum(f.value, f.unit),
            "method": {"text": POSTURE_METHOD},
            "component": components,
        }
        if f.threshold is not None and f.threshold_unit is not None:
            kind = "Placeholder screening" if f.threshold_placeholder else "Screening"
            fields["referenceRange"] = [
                {
                    "high": _ucum(f.threshold, f.threshold_unit),
                    "text": f"{kind} threshold on the absolute value: "
                    f"{f.threshold} {f.threshold_unit}",
                }
            ]
        if f.level is not None:
            codings = [_coding(POSTURE_LEVEL_SYSTEM, f.level)]
            hl7 = LEVEL_INTERPRETATION.get(f.level)
            if hl7 is not None:
                codings.insert(0, _coding(INTERPRETATION_SYSTEM, *hl7))
            fields["interpretation"] = [{"coding": codings, "text": f.level}]
        resource = observation(
            f"{key}/{code}",
            _concept(POSTURE_SYSTEM, code, display, f"{display} (posture screen)"),
            **fields,
        )
        resource["category"] = _EXAM_CATEGORY
        out.append(resource)
    return out


def _breathing(
    result: ProgrammeResult, observation: Any, key: str
) -> list[dict[str, Any]]:
    details = result.details or {}
    rhythm = details.get("rhythm") or {}
    components = []
    for code, display, name, unit in (
        ("period-error", "Breath period error", "period_error_pct", "%"),
        ("out-in-ratio", "Out-breath to in-breath ratio", "ratio", None),
        ("regularity-cv", "Period variation (CV)", "regularity_cv", None),
        ("lag", "Lag behind the cue", "lag_s", "s"),
    ):
        value = rhythm.get(name)
        if isinstance(value, int | float) and math.isfinite(value):
            number = float(value)
            quantity = _ratio(number) if unit is None else _quantity(number, unit)
            components.append(_local(code, display, valueQuantity=quantity))
    components.append(
        _local("breaths-seen", "Breaths seen", valueInteger=len(result.breaths))
    )
    if isinstance(details.get("cycles"), int):
        prescribed = int(details["cycles"])
        components.append(
            _local("breaths-prescribed", "Breaths prescribed", valueInteger=prescribed)
        )
    fields: dict[str, Any] = {
        "method": {"text": BREATHING_METHOD},
        "component": components,
    }
    period = rhythm.get("period_s")
    if isinstance(period, int | float) and math.isfinite(period):
        fields["valueQuantity"] = _quantity(period, "s")
    return [
        observation(
            key,
            _concept(
                OBSERVATION_SYSTEM,
                "paced-breathing-rhythm",
                "Paced breathing rhythm",
                f"Paced breathing {result.programme_id}: mean breath period",
            ),
            **fields,
        )
    ]


_KINDS: Final = {"routine": _routine, "posture": _posture, "breathing": _breathing}


def programme_observations(
    db: Session, session: ExerciseSession, patient: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The Observations of a session's programme result (none without one)."""
    result = programme_result_of(db, session.id)
    if result is None:
        return []
    status = "preliminary" if session.status is SessionStatus.ACTIVE else "final"

    def observation(key: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        if not result.completed:
            fields["note"] = [{"text": "Stopped before the end: what was measured."}]
        return _observation(
            key, code, patient, result.taken_at, status=status, **fields
        )

    return _KINDS[result.kind](result, observation, f"programme-{result.id}")


def _extended(
    bundle: dict[str, Any], resources: list[dict[str, Any]]
) -> dict[str, Any]:
    bundle["entry"] += [
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources
    ]
    return bundle


def session_fhir(db: Session, session_id: int) -> dict[str, Any]:
    """`fhir.session_fhir` with the session's programme Observations.

    Raises:
        LookupError: no such session.
    """
    bundle = fhir.session_fhir(db, session_id)
    session = load_session(db, session_id)
    patient = (
        None if session.resident is None else fhir.patient_resource(session.resident)
    )
    return _extended(bundle, programme_observations(db, session, patient))


def resident_fhir(db: Session, resident_id: int) -> dict[str, Any]:
    """`fhir.resident_fhir` with every session's programme Observations.

    Raises:
        LookupError: no such resident.
    """
    bundle = fhir.resident_fhir(db, resident_id)
    patient = fhir.patient_resource(load_resident(db, resident_id))
    resources = []
    for session in resident_sessions(db, resident_id):
        resources += programme_observations(db, session, patient)
    return _extended(bundle, resources)
