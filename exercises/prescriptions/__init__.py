"""Exercise prescriptions (运动处方): plans as data, their progression, today's plan,
adherence, and plan templates with a starting level suggested by the latest fitness
assessment. Sans-I/O: plans, catalogues and histories are passed in.

    from exercises.prescriptions import prescription_from_dict, plan_for_date, adherence
    plan = prescription_from_dict(document, catalogue)   # PrescriptionError if bad
    today = plan_for_date(plan, date, performed_sets)     # at this week's doses
    report = adherence(plan, performed_sets, as_of=date)  # per week and totals

See docs/prescriptions.md.
"""

from __future__ import annotations

from exercises.prescriptions.adherence import (
    Adherence,
    AdherenceTotals,
    CentreWeek,
    WeekAdherence,
    adherence,
    centre_weeks,
    least_squares_slope,
)
from exercises.prescriptions.library import (
    ASSESSMENT_NAMES,
    PLANS_DIR,
    AssessedBand,
    ExerciseLevels,
    Level,
    LevelSuggestion,
    PlanTemplate,
    assessed_bands,
    builtin_plan_templates,
    plan_template_from_dict,
    plan_template_from_toml,
    prescription_from_template,
    suggest_levels,
)
from exercises.prescriptions.model import (
    WEEKDAYS,
    Catalogue,
    Dose,
    PlanSession,
    PrescribedExercise,
    Prescriber,
    Prescription,
    PrescriptionError,
    Progression,
    catalogue_of,
    prescription_from_dict,
    prescription_to_dict,
)
from exercises.prescriptions.progression import (
    Change,
    EntryKey,
    History,
    LevelChange,
    PerformedSet,
    doses_for_week,
    explain_change,
    plan_weeks,
    progression_trace,
    week_start,
)
from exercises.prescriptions.schedule import (
    ExerciseForToday,
    PlanStatus,
    SessionForToday,
    TodayPlan,
    plan_for_date,
)

__all__ = [
    "ASSESSMENT_NAMES",
    "PLANS_DIR",
    "WEEKDAYS",
    "Adherence",
    "AdherenceTotals",
    "AssessedBand",
    "Catalogue",
    "CentreWeek",
    "Change",
    "Dose",
    "EntryKey",
    "ExerciseForToday",
    "ExerciseLevels",
    "History",
    "Level",
    "LevelChange",
    "LevelSuggestion",
    "PerformedSet",
    "PlanSession",
    "PlanStatus",
    "PlanTemplate",
    "PrescribedExercise",
    "Prescriber",
    "Prescription",
    "PrescriptionError",
    "Progression",
    "SessionForToday",
    "TodayPlan",
    "WeekAdherence",
    "adherence",
    "assessed_bands",
    "builtin_plan_templates",
    "catalogue_of",
    "centre_weeks",
    "doses_for_week",
    "explain_change",
    "least_squares_slope",
    "plan_for_date",
    "plan_template_from_dict",
    "plan_template_from_toml",
    "plan_weeks",
    "prescription_from_dict",
    "prescription_from_template",
    "prescription_to_dict",
    "progression_trace",
    "suggest_levels",
    "week_start",
]
