# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Plan templates that a coach adapts, and the starting level suggested by the latest
fitness assessment.

A plan template is a bilingual TOML file (`exercises/prescriptions/plans/<id>.toml`,
layout in docs/prescriptions.md): the sessions of a prescription at a *standard*
dose, and per exercise an optional `easier` and `harder` dose and the assessments
(`assessed_by`) whose result picks among them. Templates say where their clinical
content comes from (`sources`) and whether it is an example to adapt (`status =
"example"`) or was reviewed for use (`status = "reviewed"`).

Suggestion: for each exercise, the latest result among its `assessed_by` tests gives a
band (below / normal / above the norm for age and sex, `exercises.assessments.Band`),
and the band a level: below -> easier, normal -> standard, above -> harder. No result
(or no band, e.g. no age or sex) -> standard.

Core module: stdlib only; `plan_template_from_toml` parses text, and only
`builtin_plan_templates` reads files (the templates shipped in the package).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exercises.assessments import NORMS, SESSIONS, Band
from exercises.checks import parse_toml
from exercises.events import LocalizedText
from exercises.fields import Fields
from exercises.national_standard import ITEMS, BatteryScore, ScoringTable
from exercises.prescriptions.model import (
    Catalogue,
    Dose,
    PlanSession,
    Prescriber,
    Prescription,
    PrescriptionError,
    check_schema,
    dose_to_dict,
    prescription_from_dict,
    read_dose,
    read_sessions,
    session_to_dict,
)
from exercises.prescriptions.progression import EntryKey

__all__ = [
    "ASSESSMENT_NAMES",
    "PLANS_DIR",
    "TEMPLATE_STATUSES",
    "AssessedBand",
    "ExerciseLevels",
    "Level",
    "LevelSuggestion",
    "PlanTemplate",
    "assessed_bands",
    "builtin_plan_templates",
    "plan_template_from_dict",
    "plan_template_from_toml",
    "prescription_from_template",
    "suggest_levels",
]

PLANS_DIR: Final[Path] = Path(__file__).resolve().parent / "plans"
TEMPLATE_STATUSES: Final[tuple[str, ...]] = ("example", "reviewed")


def _assessment_names() -> dict[str, LocalizedText]:
    names = {test_id: dict(cls.info.name) for test_id, cls in SESSIONS.items()}
    for test_id, table in NORMS.items():
        names.setdefault(test_id, dict(table.name))
    for item in ITEMS.values():
        names[item.id] = dict(item.name)
    return names


ASSESSMENT_NAMES: Final[dict[str, LocalizedText]] = _assessment_names()
"""Every assessment id a template may name in `assessed_by`, with its name: the
Senior Fitness Test protocols and norms, and the national-standard items."""


class Level(enum.StrEnum):
    """A starting dose of a template exercise."""

    EASIER = "easier"
    STANDARD = "standard"
    HARDER = "harder"


_BAND_LEVEL: Final[dict[Band, Level]] = {
    Band.BELOW: Level.EASIER,
    Band.NORMAL: Level.STANDARD,
    Band.ABOVE: Level.HARDER,
}


@dataclass(frozen=True, slots=True)
class ExerciseLevels:
    """A template exercise's alternatives to its standard dose.

    Attributes:
        assessed_by: Assessment ids whose latest result picks the level, in order of
            preference when two were taken the same day.
        easier: The dose for "below the norm" (None: the standard dose).
        harder: The dose for "above the norm" (None: the standard dose).
    """

    assessed_by: tuple[str, ...] = ()
    easier: Dose | None = None
    harder: Dose | None = None


@dataclass(frozen=True, slots=True)
class PlanTemplate:
    """A reusable plan.

    Attributes:
        id: File name stem.
        status: "example" (to adapt; not clinically reviewed) or "reviewed".
        name, description: For the coach.
        weeks: Suggested length of a plan made from it.
        elder_mode: Run the exercises in elder mode.
        sources: Where its clinical content comes from.
        source_note: What the sources support and what is ours.
        contraindications: What to check or avoid.
        sessions: The sessions at the standard dose.
        levels: Per (session id, exercise id): assessments and other doses.
    """

    id: str
    status: str
    name: LocalizedText
    description: LocalizedText
    weeks: int
    elder_mode: bool
    sources: tuple[str, ...]
    source_note: LocalizedText
    contraindications: tuple[LocalizedText, ...]
    sessions: tuple[PlanSession, ...]
    levels: dict[EntryKey, ExerciseLevels]


_TOP_KEYS: Final = (
    "schema",
    "id",
    "status",
    "name",
    "description",
    "weeks",
    "elder_mode",
    "sources",
    "source_note",
    "contraindications",
    "sessions",
)
_LEVEL_KEYS: Final = ("assessed_by", "easier", "harder")


def _levels(e: Fields, kind: str, standard: Dose, field: str | None) -> ExerciseLevels:
    tests = tuple(e.strings("assessed_by", min_items=1)) if e.has("assessed_by") else ()
    for test_id in tests:
        if test_id not in ASSESSMENT_NAMES:
            raise e.fail(
                "assessed_by",
                f"unknown assessment {test_id!r}; valid: "
                f"{', '.join(sorted(ASSESSMENT_NAMES))}",
            )
    doses: dict[str, Dose | None] = {}
    for level in ("easier", "harder"):
        if not e.has(level):
            doses[level] = None
            continue
        t = e.table(level)
        t.check_keys(("sets", "reps", "hold_s"))
        doses[level] = read_dose(t, kind, standard)
    if (doses["easier"] or doses["harder"]) and not tests:
        raise e.fail(
            "assessed_by", "easier/harder doses need the assessments that pick them"
        )
    if field is not None:
        cap = e.table("progression").data.get("maximum")
        for level, dose in doses.items():
            if dose is not None and cap is not None and dose.get(field) > cap:
                raise e.fail(
                    level,
                    f"{field} {dose.get(field):g} is above the progression "
                    f"maximum {cap:g}",
                )
    return ExerciseLevels(tests, doses["easier"], doses["harder"])


def plan_template_from_dict(
    data: Mapping[str, Any], catalogue: Catalogue, source: str = "<memory>"
) -> PlanTemplate:
    """Validate a plan template document.

    Raises:
        PrescriptionError: anything malformed, naming the key path and valid choices.
    """
    top = Fields.root(data, source, PrescriptionError)
    top.check_keys(_TOP_KEYS, _TOP_KEYS)
    check_schema(top)
    sessions = read_sessions(
        top, catalogue, both_languages=True, exercise_keys=_LEVEL_KEYS
    )
    levels: dict[EntryKey, ExerciseLevels] = {}
    for session, s in zip(sessions, top.tables("sessions"), strict=True):
        for ex, e in zip(session.exercises, s.tables("exercises"), strict=True):
            p = ex.progression
            levels[(session.id, ex.exercise_id)] = _levels(
                e, ex.kind, ex.dose, None if p is None else p.field
            )
    return PlanTemplate(
        id=top.ident("id"),
        status=top.choice("status", TEMPLATE_STATUSES),
        name=top.text("name"),
        description=top.text("description"),
        weeks=top.integer("weeks", minimum=1, maximum=104),
        elder_mode=top.boolean("elder_mode"),
        sources=tuple(top.strings("sources", min_items=1)),
        source_note=top.text("source_note"),
        contraindications=top.texts("contraindications"),
        sessions=sessions,
        levels=levels,
    )


def plan_template_from_toml(
    text: str, catalogue: Catalogue, source: str = "<memory>"
) -> PlanTemplate:
    """Parse and validate a plan template file's text."""
    data = parse_toml(text, source, PrescriptionError)
    return plan_template_from_dict(data, catalogue, source)


@functools.cache
def _builtin_texts() -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.name, p.read_text(encoding="utf-8"))
        for p in sorted(PLANS_DIR.glob("*.toml"))
    )


def builtin_plan_templates(catalogue: Catalogue) -> dict[str, PlanTemplate]:
    """The plan templates shipped in `PLANS_DIR`, by id, checked against the
    catalogue (an id must match its file name)."""
    out = {}
    for name, text in _builtin_texts():
        template = plan_template_from_toml(text, catalogue, f"plans/{name}")
        if template.id != name.removesuffix(".toml"):
            raise PrescriptionError(
                f"plans/{name}: id: expected the file name, got {template.id!r}"
            )
        out[template.id] = template
    return out


# --- suggestion --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssessedBand:
    """One assessment result as the suggestion needs it.

    Attributes:
        test_id: The assessment id (`AssessmentResult.test_id`, a national-standard
            item id).
        taken_on: When.
        band: Against the norm; None when it could not be compared.
    """

    test_id: str
    taken_on: dt.date
    band: Band | None


@dataclass(frozen=True, slots=True)
class LevelSuggestion:
    """The suggested starting level of one template exercise, and why."""

    session_id: str
    exercise_id: str
    level: Level
    based_on: AssessedBand | None
    reason: LocalizedText


_BAND_TEXT: Final[dict[Band, LocalizedText]] = {
    Band.BELOW: {"en": "below the normal range", "zh-CN": "低于正常范围"},
    Band.NORMAL: {"en": "within the normal range", "zh-CN": "在正常范围内"},
    Band.ABOVE: {"en": "above the normal range", "zh-CN": "高于正常范围"},
}
_LEVEL_TEXT: Final[dict[Level, LocalizedText]] = {
    Level.EASIER: {"en": "start easier", "zh-CN": "从较低强度开始"},
    Level.STANDARD: {"en": "standard start", "zh-CN": "标准起点"},
    Level.HARDER: {"en": "start harder", "zh-CN": "从较高强度开始"},
}


def _reason(result: AssessedBand | None, level: Level) -> LocalizedText:
    if result is None:
        return {
            "en": f"No assessment result: {_LEVEL_TEXT[level]['en']}.",
            "zh-CN": f"没有体测结果：{_LEVEL_TEXT[level]['zh-CN']}。",
        }
    name = ASSESSMENT_NAMES.get(
        result.test_id, {"en": result.test_id, "zh-CN": result.test_id}
    )
    day = result.taken_on.isoformat()
    if result.band is None:
        return {
            "en": f"{name['en']} on {day} has no comparison with norms (none exist, "
            f"or age or sex was missing): {_LEVEL_TEXT[level]['en']}.",
            "zh-CN": f"{day}的{name['zh-CN']}没有常模比较结果（无常模，或缺少年龄、"
            f"性别）：{_LEVEL_TEXT[level]['zh-CN']}。",
        }
    band = _BAND_TEXT[result.band]
    then = _LEVEL_TEXT[level]
    return {
        "en": f"{name['en']} on {day} was {band['en']}: {then['en']}.",
        "zh-CN": f"{day}的{name['zh-CN']}{band['zh-CN']}：{then['zh-CN']}。",
    }


def assessed_bands(
    table: ScoringTable, score: BatteryScore, taken_on: dt.date
) -> tuple[AssessedBand, ...]:
    """The bands of a national-standard battery's items (`Battery.band` of each
    item's points: below pass, pass to good, excellent) for `suggest_levels`."""
    battery = table.batteries[score.battery_id]
    return tuple(
        AssessedBand(s.item_id, taken_on, battery.band(s.points)) for s in score.items
    )


def suggest_levels(
    template: PlanTemplate, results: Iterable[AssessedBand]
) -> tuple[LevelSuggestion, ...]:
    """Each template exercise's starting level from the latest assessments.

    Args:
        template: The plan template.
        results: The resident's assessment results, any order. For each test the
            latest date wins (the later one in `results` on a tie).

    Returns:
        One suggestion per exercise, in plan order.
    """
    latest: dict[str, AssessedBand] = {}
    for r in results:
        prev = latest.get(r.test_id)
        if prev is None or r.taken_on >= prev.taken_on:
            latest[r.test_id] = r
    out = []
    for session in template.sessions:
        for ex in session.exercises:
            options = template.levels[(session.id, ex.exercise_id)]
            found = [latest[t] for t in options.assessed_by if t in latest]
            # Most recent first; on the same day the earlier-listed test (stable sort).
            found.sort(key=lambda r: r.taken_on, reverse=True)
            chosen = found[0] if found else None
            level = Level.STANDARD
            if chosen is not None and chosen.band is not None:
                level = _BAND_LEVEL[chosen.band]
            out.append(
                LevelSuggestion(
                    session.id, ex.exercise_id, level, chosen, _reason(chosen, level)
                )
            )
    return tuple(out)


def prescription_from_template(
    template: PlanTemplate,
    catalogue: Catalogue,
    *,
    start_date: dt.date,
    prescribed_by: Prescriber,
    levels: Mapping[EntryKey, Level] | None = None,
    end_date: dt.date | None = None,
    prescribed_on: dt.date | None = None,
) -> Prescription:
    """A resident's plan from a template, for the coach to adapt.

    Args:
        template: The template.
        catalogue: What may be prescribed (as for the template).
        start_date: The plan's first day.
        prescribed_by: Who prescribes it.
        levels: Starting level per exercise (e.g. from `suggest_levels`); missing
            entries start at the standard dose.
        end_date: Default: `template.weeks` weeks after the start, minus a day.
        prescribed_on: When it was written.
    """
    chosen = dict(levels or {})
    unknown = set(chosen) - set(template.levels)
    if unknown:
        raise KeyError(
            f"levels for exercises not in the template: {sorted(unknown)}; valid: "
            f"{sorted(template.levels)}"
        )
    sessions = []
    for session in template.sessions:
        doc = session_to_dict(session)
        for ex, e in zip(session.exercises, doc["exercises"], strict=True):
            key = (session.id, ex.exercise_id)
            options = template.levels[key]
            dose = {
                Level.EASIER: options.easier,
                Level.HARDER: options.harder,
            }.get(chosen.get(key, Level.STANDARD))
            e.update(dose_to_dict(dose or ex.dose))
        sessions.append(doc)
    end = end_date or start_date + dt.timedelta(days=7 * template.weeks - 1)
    doc_plan = {
        "schema": 1,
        "title": dict(template.name),
        "start_date": start_date,
        "end_date": end,
        "prescribed_by": {"name": prescribed_by.name, "role": prescribed_by.role},
        "template_id": template.id,
        "elder_mode": template.elder_mode,
        "contraindications": [dict(c) for c in template.contraindications],
        "sessions": sessions,
    }
    if prescribed_on is not None:
        doc_plan["prescribed_on"] = prescribed_on
    return prescription_from_dict(doc_plan, catalogue, f"<template {template.id}>")
