"""Exercise prescriptions (运动处方) as data: one resident's plan, FITT-VP.

- **F**requency: sessions on named weekdays (`PlanSession.days`).
- **I**ntensity: a target form score, a pace (seconds per rep), an optional load.
- **T**ime: sets x reps, or sets x hold seconds, with the rest between sets.
- **T**ype: exercises from the template library (`exercises/templates/*.toml` ids),
  checked against the catalogue the caller passes in.
- **V**olume: follows from the above (`exercises.prescriptions.adherence` adds it up).
- **P**rogression: one closed rule per exercise (`Progression`), no expressions.

`prescription_from_dict` validates a plan document (the layout of docs/prescriptions.md,
from JSON or TOML) into frozen dataclasses; every problem is a `PrescriptionError`
naming the key path and the valid choices. `prescription_to_dict` is its inverse.

Core module: stdlib only; no file I/O (the catalogue is passed in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from exercises.events import LocalizedText
from exercises.fields import Fields

__all__ = [
    "KIND_FIELDS",
    "ON_MISSED_WEEK",
    "PRESCRIBER_ROLES",
    "SCHEMA_VERSION",
    "WEEKDAYS",
    "Catalogue",
    "Dose",
    "PlanSession",
    "PrescribedExercise",
    "Prescriber",
    "Prescription",
    "PrescriptionError",
    "Progression",
    "catalogue_of",
    "prescription_from_dict",
    "prescription_to_dict",
    "read_sessions",
]

SCHEMA_VERSION: Final[int] = 1
WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names in `datetime.date.weekday()` order (Monday = 0)."""
PRESCRIBER_ROLES: Final[tuple[str, ...]] = (
    "coach",
    "doctor",
    "physiotherapist",
    "nurse",
)
ON_MISSED_WEEK: Final[tuple[str, ...]] = ("hold", "step_back")
"""After a week with no session at all: keep the dose, or go one step back (never
below the prescribed start)."""
KIND_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "reps": ("reps", "sets"),
    "sequence": ("reps", "sets"),
    "hold": ("hold_s", "sets"),
}
"""Which dose fields a template kind takes, the first being its amount per set; a
progression may raise either."""

# Plausible limits: a value beyond them is a typing error, not a prescription.
MAX_SETS: Final[int] = 20
MAX_REPS: Final[int] = 200
MAX_HOLD_S: Final[float] = 600.0
MAX_REST_S: Final[float] = 600.0
MAX_PACE_S: Final[float] = 30.0
MAX_LOAD_KG: Final[float] = 200.0

Catalogue = Mapping[str, str]
"""Exercise id -> template kind ("reps", "hold", "sequence"): what may be prescribed."""

_TOP_KEYS: Final = (
    "schema",
    "title",
    "start_date",
    "end_date",
    "prescribed_by",
    "prescribed_on",
    "template_id",
    "elder_mode",
    "contraindications",
    "notes",
    "sessions",
)
_TOP_REQUIRED: Final = ("schema", "title", "start_date", "end_date", "prescribed_by")
_EXERCISE_KEYS: Final = (
    "exercise",
    "sets",
    "reps",
    "hold_s",
    "rest_s",
    "pace_s",
    "target_score",
    "load_kg",
    "progression",
    "notes",
)
_PROGRESSION_KEYS: Final = ("field", "step", "min_mean_score", "maximum", "on_missed")


class PrescriptionError(ValueError):
    """A malformed prescription or plan template; the message names the key path."""


def catalogue_of(specs: Iterable[Any]) -> dict[str, str]:
    """The catalogue of exercise specs (anything with `id` and `kind`, e.g.
    `exercises.spec.builtin_specs().values()` plus a centre's own templates)."""
    return {spec.id: spec.kind for spec in specs}


@dataclass(frozen=True, slots=True)
class Dose:
    """How much of one exercise per session.

    Attributes:
        sets: Sets per session.
        reps: Repetitions per set (rep and sequence templates), else None.
        hold_s: Seconds held per set (hold templates), else None.
    """

    sets: int
    reps: int | None = None
    hold_s: float | None = None

    def get(self, name: str) -> float:
        """The value of a progression field ("sets", "reps", "hold_s")."""
        value = {"sets": self.sets, "reps": self.reps, "hold_s": self.hold_s}[name]
        if value is None:
            raise ValueError(f"this dose has no {name}")
        return float(value)

    def with_value(self, name: str, value: float) -> Dose:
        """A copy with one progression field changed (whole numbers for sets/reps)."""
        if name == "hold_s":
            return replace(self, hold_s=round(value, 1))
        return replace(self, **{name: round(value)})


@dataclass(frozen=True, slots=True)
class Progression:
    """How an exercise's dose changes from week to week (see progression.py).

    Attributes:
        field: What changes: "reps", "sets" or "hold_s" (of those the kind has).
        step: Added after each qualifying week (whole for reps and sets).
        min_mean_score: A week qualifies when the mean score of the exercise's sets
            that week is at least this (0-100); None: any week it was done.
        maximum: The value it never exceeds; None: no cap.
        on_missed: After a week with no session at all: "hold" or "step_back".
    """

    field: str
    step: float
    min_mean_score: float | None = None
    maximum: float | None = None
    on_missed: str = "hold"


@dataclass(frozen=True, slots=True)
class PrescribedExercise:
    """One exercise of a session.

    Attributes:
        exercise_id: A template id from the catalogue.
        kind: The template's kind ("reps", "hold", "sequence").
        dose: The starting dose (progression changes it week by week).
        rest_s: Rest between sets, seconds.
        pace_s: Seconds per repetition; None = the template's pace.
        target_score: The form score (0-100) to aim for; None = none set.
        load_kg: Hand weight or band equivalent; None = body weight.
        progression: The rule, or None (the dose stays).
        notes: For the resident, in one or both languages.
    """

    exercise_id: str
    kind: str
    dose: Dose
    rest_s: float
    pace_s: float | None = None
    target_score: float | None = None
    load_kg: float | None = None
    progression: Progression | None = None
    notes: LocalizedText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanSession:
    """One session of the week, done on each of `days`.

    Attributes:
        id: Unique within the plan ("a", "strength").
        name: Shown at the kiosk.
        days: Weekday names from `WEEKDAYS`, in week order.
        exercises: In the order they are done; an exercise appears once.
    """

    id: str
    name: LocalizedText
    days: tuple[str, ...]
    exercises: tuple[PrescribedExercise, ...]

    def runs_on(self, date: dt.date) -> bool:
        """Whether the session is scheduled on this date's weekday."""
        return WEEKDAYS[date.weekday()] in self.days


@dataclass(frozen=True, slots=True)
class Prescriber:
    """Who prescribed the plan."""

    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Prescription:
    """A resident's plan.

    Attributes:
        title: What the plan is for.
        start_date: First day (inclusive).
        end_date: Last day (inclusive); a review is due then.
        prescribed_by: Who prescribed it.
        sessions: The week's sessions.
        contraindications: What to avoid or watch for, for staff and the resident.
        notes: Anything else.
        elder_mode: Run the exercises in elder mode (slower pace, fewer cues).
        template_id: The plan template it was adapted from, if any.
        prescribed_on: When it was written.
    """

    title: LocalizedText
    start_date: dt.date
    end_date: dt.date
    prescribed_by: Prescriber
    sessions: tuple[PlanSession, ...]
    contraindications: tuple[LocalizedText, ...] = ()
    notes: LocalizedText = field(default_factory=dict)
    elder_mode: bool = False
    template_id: str | None = None
    prescribed_on: dt.date | None = None

    @property
    def sessions_per_week(self) -> int:
        """Scheduled sessions in a full week."""
        return sum(len(s.days) for s in self.sessions)

    def session(self, session_id: str) -> PlanSession:
        """The session with this id; KeyError naming the valid ids otherwise."""
        for s in self.sessions:
            if s.id == session_id:
                return s
        valid = ", ".join(s.id for s in self.sessions)
        raise KeyError(f"no session {session_id!r} in the plan; valid: {valid}")


# --- reading ---------------------------------------------------------------------


def _optional_number(
    f: Fields, key: str, *, minimum: float, maximum: float, positive: bool = False
) -> float | None:
    if not f.has(key):
        return None
    return f.number(key, minimum=minimum, maximum=maximum, positive=positive)


def read_dose(f: Fields, kind: str, base: Dose | None = None) -> Dose:
    """Read `sets` and `reps`/`hold_s` of a table; keys missing from it come from
    `base` (a template's level overrides) or are required (base None)."""
    amount = KIND_FIELDS[kind][0]
    other = "hold_s" if amount == "reps" else "reps"
    if f.has(other):
        raise f.fail(
            other,
            f"a {kind} exercise is dosed in {amount}, not {other}",
        )
    if base is None:
        for key in ("sets", amount):
            if not f.has(key):
                raise f.fail(key, "missing required key")
    sets = f.integer("sets", minimum=1, maximum=MAX_SETS) if f.has("sets") else None
    if amount == "reps":
        reps = f.integer("reps", minimum=1, maximum=MAX_REPS) if f.has("reps") else None
        dose = Dose(sets or 0, reps=reps)
    else:
        hold = _optional_number(
            f, "hold_s", minimum=0.0, maximum=MAX_HOLD_S, positive=True
        )
        dose = Dose(sets or 0, hold_s=hold)
    if base is None:
        return dose
    return Dose(
        sets=dose.sets or base.sets,
        reps=dose.reps if dose.reps is not None else base.reps,
        hold_s=dose.hold_s if dose.hold_s is not None else base.hold_s,
    )


def _progression(f: Fields, kind: str, dose: Dose) -> Progression:
    f.check_keys(_PROGRESSION_KEYS, ("field", "step"))
    name = f.choice("field", KIND_FIELDS[kind])
    step = f.number("step", positive=True)
    if name != "hold_s" and step != int(step):
        raise f.fail("step", f"{name} change by whole numbers, got {step!r}")
    maximum = _optional_number(f, "maximum", minimum=0.0, maximum=1e6)
    if maximum is not None and maximum < dose.get(name):
        raise f.fail(
            "maximum",
            f"expected at least the starting {name} ({dose.get(name):g}), "
            f"got {maximum:g}",
        )
    return Progression(
        field=name,
        step=step,
        min_mean_score=_optional_number(
            f, "min_mean_score", minimum=0.0, maximum=100.0
        ),
        maximum=maximum,
        on_missed=f.choice("on_missed", ON_MISSED_WEEK)
        if f.has("on_missed")
        else "hold",
    )


def _exercise(
    f: Fields, catalogue: Catalogue, extra_keys: tuple[str, ...]
) -> PrescribedExercise:
    f.check_keys(_EXERCISE_KEYS + extra_keys, ("exercise", "sets", "rest_s"))
    exercise_id = f.string("exercise")
    if exercise_id not in catalogue:
        valid = ", ".join(sorted(catalogue)) or "(none)"
        raise f.fail(
            "exercise", f"unknown exercise {exercise_id!r}; valid exercises: {valid}"
        )
    kind = catalogue[exercise_id]
    if kind not in KIND_FIELDS:
        raise f.fail(
            "exercise",
            f"exercise {exercise_id!r} has kind {kind!r}; "
            f"valid kinds: {', '.join(KIND_FIELDS)}",
        )
    dose = read_dose(f, kind)
    return PrescribedExercise(
        exercise_id=exercise_id,
        kind=kind,
        dose=dose,
        rest_s=f.number("rest_s", minimum=0.0, maximum=MAX_REST_S),
        pace_s=_optional_number(
            f, "pace_s", minimum=0.0, maximum=MAX_PACE_S, positive=True
        ),
        target_score=_optional_number(f, "target_score", minimum=0.0, maximum=100.0),
        load_kg=_optional_number(
            f, "load_kg", minimum=0.0, maximum=MAX_LOAD_KG, positive=True
        ),
        progression=(
            _progression(f.table("progression"), kind, dose)
            if f.has("progression")
            else None
        ),
        notes=f.text("notes", both=False) if f.has("notes") else {},
    )


def read_sessions(
    top: Fields,
    catalogue: Catalogue,
    *,
    both_languages: bool,
    exercise_keys: tuple[str, ...] = (),
) -> tuple[PlanSession, ...]:
    """Read and check `sessions` (shared by prescriptions and plan templates).

    Args:
        top: The document's top table.
        catalogue: What may be prescribed.
        both_languages: Names must be given in en and zh-CN (templates), else in at
            least one.
        exercise_keys: Extra keys an exercise table may have (read by the caller).
    """
    sessions: list[PlanSession] = []
    for s in top.tables("sessions", min_items=1):
        s.check_keys(
            ("id", "name", "days", "exercises"), ("id", "name", "days", "exercises")
        )
        session_id = s.ident("id")
        if any(x.id == session_id for x in sessions):
            raise s.fail("id", f"session id {session_id!r} is used twice")
        days = s.strings("days", min_items=1)
        for day in days:
            if day not in WEEKDAYS:
                raise s.fail(
                    "days", f"unknown day {day!r}; valid days: {', '.join(WEEKDAYS)}"
                )
        if len(set(days)) != len(days):
            raise s.fail("days", f"a day is named twice: {days}")
        exercises: list[PrescribedExercise] = []
        for e in s.tables("exercises", min_items=1):
            ex = _exercise(e, catalogue, exercise_keys)
            if any(x.exercise_id == ex.exercise_id for x in exercises):
                raise e.fail(
                    "exercise",
                    f"{ex.exercise_id!r} is already in this session (add sets instead)",
                )
            exercises.append(ex)
        sessions.append(
            PlanSession(
                id=session_id,
                name=s.text("name", both=both_languages),
                days=tuple(sorted(days, key=WEEKDAYS.index)),
                exercises=tuple(exercises),
            )
        )
    return tuple(sessions)


def check_schema(top: Fields) -> None:
    """`schema` must be the version this code reads."""
    schema = top.raw("schema")
    if isinstance(schema, bool) or schema != SCHEMA_VERSION:
        raise top.fail("schema", f"expected {SCHEMA_VERSION}, got {schema!r}")


def prescription_from_dict(
    data: Mapping[str, Any], catalogue: Catalogue, source: str = "<memory>"
) -> Prescription:
    """Validate a plan document into a `Prescription`.

    Args:
        data: The document (`json.loads` / `tomllib.loads` of the layout in
            docs/prescriptions.md; dates as TOML dates or ISO strings).
        catalogue: Exercise id -> kind of everything that may be prescribed.
        source: Name used in error messages.

    Raises:
        PrescriptionError: anything malformed, naming the key path and valid choices.
    """
    top = Fields.root(data, source, PrescriptionError)
    top.check_keys(_TOP_KEYS, (*_TOP_REQUIRED, "sessions"))
    check_schema(top)
    start, end = top.date("start_date"), top.date("end_date")
    if end < start:
        raise top.fail(
            "end_date", f"expected on or after start_date {start}, got {end}"
        )
    who = top.table("prescribed_by")
    who.check_keys(("name", "role"), ("name", "role"))
    return Prescription(
        title=top.text("title", both=False),
        start_date=start,
        end_date=end,
        prescribed_by=Prescriber(
            who.string("name"), who.choice("role", PRESCRIBER_ROLES)
        ),
        sessions=read_sessions(top, catalogue, both_languages=False),
        contraindications=(
            top.texts("contraindications", both=False)
            if top.has("contraindications")
            else ()
        ),
        notes=top.text("notes", both=False) if top.has("notes") else {},
        elder_mode=top.boolean("elder_mode") if top.has("elder_mode") else False,
        template_id=top.ident("template_id") if top.has("template_id") else None,
        prescribed_on=top.date("prescribed_on") if top.has("prescribed_on") else None,
    )


# --- writing ---------------------------------------------------------------------


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {}}


def dose_to_dict(dose: Dose) -> dict[str, Any]:
    """`sets` and `reps` or `hold_s`, as in the document."""
    return _drop_none({"sets": dose.sets, "reps": dose.reps, "hold_s": dose.hold_s})


def exercise_to_dict(ex: PrescribedExercise) -> dict[str, Any]:
    """One exercise as in the document."""
    p = ex.progression
    progression = (
        None
        if p is None
        else _drop_none(
            {
                "field": p.field,
                "step": int(p.step) if p.field != "hold_s" else p.step,
                "min_mean_score": p.min_mean_score,
                "maximum": p.maximum,
                "on_missed": p.on_missed,
            }
        )
    )
    return _drop_none(
        {
            "exercise": ex.exercise_id,
            **dose_to_dict(ex.dose),
            "rest_s": ex.rest_s,
            "pace_s": ex.pace_s,
            "target_score": ex.target_score,
            "load_kg": ex.load_kg,
            "progression": progression,
            "notes": dict(ex.notes),
        }
    )


def session_to_dict(s: PlanSession) -> dict[str, Any]:
    """One session as in the document."""
    return {
        "id": s.id,
        "name": dict(s.name),
        "days": list(s.days),
        "exercises": [exercise_to_dict(e) for e in s.exercises],
    }


def prescription_to_dict(plan: Prescription) -> dict[str, Any]:
    """The document of a plan (JSON-ready: dates as ISO strings);
    `prescription_from_dict` of it gives the plan back."""
    return _drop_none(
        {
            "schema": SCHEMA_VERSION,
            "title": dict(plan.title),
            "start_date": plan.start_date.isoformat(),
            "end_date": plan.end_date.isoformat(),
            "prescribed_by": {
                "name": plan.prescribed_by.name,
                "role": plan.prescribed_by.role,
            },
            "prescribed_on": (
                plan.prescribed_on.isoformat() if plan.prescribed_on else None
            ),
            "template_id": plan.template_id,
            "elder_mode": plan.elder_mode,
            "contraindications": [dict(c) for c in plan.contraindications] or None,
            "notes": dict(plan.notes),
            "sessions": [session_to_dict(s) for s in plan.sessions],
        }
    )
