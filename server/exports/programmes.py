"""Programme results as the coach pages and the exports read them: a result's JSON
(a routine's sections, a posture screen's figures by view, a breathing session's
breaths and rhythm) and a posture screen against the resident's previous one
(`exercises.posture.compare_results`). Their CSV: `server.exports.programme_table`."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.orm import Session

from exercises.posture import Figure, PostureResult, compare_results
from server.jsonable import fields_json, to_jsonable
from server.store.models import ProgrammeResult
from server.store.repository import list_programme_results, programme_result_of

__all__ = [
    "posture_comparison",
    "previous_posture",
    "programme_json",
    "session_programme",
]

_RESULT_FIELDS: Final = (
    "id",
    "session_id",
    "resident_id",
    "kind",
    "programme_id",
    "completed",
    "score",
    "taken_at",
)
_SECTION_FIELDS: Final = (
    "position",
    "section_id",
    "name",
    "status",
    "rounds",
    "target_rounds",
    "score",
    "round_scores",
    "improvement_id",
    "improvement",
)
_FIGURE_FIELDS: Final = (
    "view",
    "figure",
    "value",
    "uncertainty",
    "unit",
    "window_uncertainty",
    "level",
    "threshold",
    "threshold_unit",
    "threshold_placeholder",
    "threshold_source",
)
_BREATH_FIELDS: Final = (
    "count",
    "start_ms",
    "top_ms",
    "inhale_s",
    "exhale_s",
    "top_hold_s",
    "period_s",
    "swing",
)
_DETAIL_KEYS: Final = {
    "routine": ("elder",),
    "posture": ("assessment", "repeatability"),
    "breathing": ("inhale_s", "exhale_s", "cycles", "pace_scale", "rhythm"),
}
"""What of the stored summary a result's JSON carries beyond its rows."""


def programme_json(result: ProgrammeResult) -> dict[str, Any]:
    """A programme result with its rows (see the module docstring)."""
    out = fields_json(result, _RESULT_FIELDS)
    out["sections"] = [fields_json(s, _SECTION_FIELDS) for s in result.sections]
    out["figures"] = [fields_json(f, _FIGURE_FIELDS) for f in result.figures]
    out["breaths"] = [fields_json(b, _BREATH_FIELDS) for b in result.breaths]
    details = result.details or {}
    for key in _DETAIL_KEYS.get(result.kind, ()):
        out[key] = details.get(key)
    if result.kind == "posture":
        out["stature_cm"] = (details.get("result") or {}).get("stature_cm")
    return out


def _posture(result: ProgrammeResult) -> PostureResult:
    combined = {
        f.figure: Figure(f.value, f.uncertainty, f.unit)
        for f in result.figures
        if f.view == "combined"
    }
    return PostureResult(views=(), combined=combined)


def previous_posture(db: Session, result: ProgrammeResult) -> ProgrammeResult | None:
    """The same resident's posture screen before `result` (None: the first, or an
    anonymous one)."""
    if result.resident_id is None:
        return None
    earlier = [
        r
        for r in list_programme_results(db, result.resident_id, "posture")
        if (r.taken_at, r.id) < (result.taken_at, result.id) and r.figures
    ]
    return earlier[-1] if earlier else None


def posture_comparison(
    before: ProgrammeResult, after: ProgrammeResult
) -> dict[str, Any]:
    """Per combined figure: the change from `before` to `after`, its uncertainty,
    whether it changed beyond twice that, and if so whether it came closer to
    level."""
    changes = compare_results(_posture(before), _posture(after))
    comparison = {
        "previous_id": before.id,
        "previous_session_id": before.session_id,
        "previous_taken_at": before.taken_at,
        "figures": {
            name: {
                "before": c.before.value,
                "after": c.after.value,
                "unit": c.after.unit,
                "delta": c.delta,
                "uncertainty": c.uncertainty,
                "changed": c.changed,
                "closer_to_level": c.closer_to_level,
            }
            for name, c in changes.items()
        },
    }
    wired: dict[str, Any] = to_jsonable(comparison)
    return wired


def session_programme(db: Session, session_id: int) -> dict[str, Any] | None:
    """A session's programme result, a posture screen with its comparison to the
    resident's previous one (`comparison`, None for a first screen)."""
    result = programme_result_of(db, session_id)
    if result is None:
        return None
    out = programme_json(result)
    if result.kind == "posture":
        previous = previous_posture(db, result)
        out["comparison"] = (
            None if previous is None else posture_comparison(previous, result)
        )
    return out
