"""exercises.prescriptions.model: validation (exact messages) and the round trip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextlib import nullcontext as does_not_raise
from typing import Any

import pytest

from exercises.prescriptions import (
    Dose,
    PrescriptionError,
    Progression,
    catalogue_of,
    prescription_from_dict,
    prescription_to_dict,
)
from exercises.spec import builtin_specs
from tests.documents import delete_at as _del
from tests.documents import set_at as _set
from tests.exercises.prescriptions.factories import CATALOGUE, make_plan

STS = {"exercise": "sit_to_stand", "sets": 1, "reps": 10, "rest_s": 0}
CASES = [
    pytest.param(lambda d: None, does_not_raise(), id="valid"),
    pytest.param(
        _set("colour", "red"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: colour: unknown key; valid keys: schema, title, "
            r"start_date,",
        ),
        id="unknown-top-key",
    ),
    pytest.param(
        _set("schema", 2),
        pytest.raises(PrescriptionError, match=r"^<test>: schema: expected 1, got 2$"),
        id="schema-version",
    ),
    pytest.param(
        _del("prescribed_by"),
        pytest.raises(
            PrescriptionError, match=r"^<test>: prescribed_by: missing required key$"
        ),
        id="no-prescriber",
    ),
    pytest.param(
        _set("prescribed_by.role", "trainer"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: prescribed_by\.role: expected one of coach, doctor, "
            r"physiotherapist, nurse, got a string \('trainer'\)$",
        ),
        id="unknown-role",
    ),
    pytest.param(
        _set("end_date", "2025-03-04"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: end_date: expected on or after start_date 2025-03-05, "
            r"got 2025-03-04$",
        ),
        id="end-before-start",
    ),
    pytest.param(
        _set("start_date", "5 March"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: start_date: expected a date \(YYYY-MM-DD\), got a string",
        ),
        id="bad-date",
    ),
    pytest.param(
        _set("start_date", dt.datetime(2025, 3, 5, 9, 0)),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: start_date: expected a date without a time",
        ),
        id="datetime-not-date",
    ),
    pytest.param(
        _set("title", {"fr": "Genoux"}),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: title\.fr: unknown key; valid keys: en, zh-CN$",
        ),
        id="unknown-language",
    ),
    pytest.param(
        _set("title", {}),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: title: expected text in en, zh-CN, got none$",
        ),
        id="empty-title",
    ),
    pytest.param(
        _set("sessions", []),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions: expected at least 1 entries, got 0$",
        ),
        id="no-sessions",
    ),
    pytest.param(
        _set("sessions.1.id", "a"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[1\]\.id: session id 'a' is used twice$",
        ),
        id="duplicate-session",
    ),
    pytest.param(
        _set("sessions.0.days", ["mon", "thursday"]),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[0\]\.days: unknown day 'thursday'; valid days: "
            r"mon, tue, wed, thu, fri, sat, sun$",
        ),
        id="unknown-day",
    ),
    pytest.param(
        _set("sessions.0.days", ["mon", "mon"]),
        pytest.raises(PrescriptionError, match=r"a day is named twice"),
        id="day-twice",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.exercise", "burpee"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[0\]\.exercises\[0\]\.exercise: unknown exercise "
            r"'burpee'; valid exercises: plank, sit_to_stand, squat, tai_chi$",
        ),
        id="unknown-exercise",
    ),
    pytest.param(
        _set("sessions.1.exercises", [STS, STS]),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[1\]\.exercises\[1\]\.exercise: 'sit_to_stand' "
            r"is already in this session \(add sets instead\)$",
        ),
        id="exercise-twice",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.hold_s", 30),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[0\]\.exercises\[0\]\.hold_s: a reps exercise is "
            r"dosed in reps, not hold_s$",
        ),
        id="hold-on-reps-exercise",
    ),
    pytest.param(
        _del("sessions.0.exercises.1.hold_s"),
        pytest.raises(
            PrescriptionError,
            match=r"^<test>: sessions\[0\]\.exercises\[1\]\.hold_s: missing required "
            r"key$",
        ),
        id="hold-exercise-without-hold",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.sets", 0),
        pytest.raises(
            PrescriptionError,
            match=r"exercises\[0\]\.sets: expected an integer from 1 to 20, got 0$",
        ),
        id="zero-sets",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.reps", 8.5),
        pytest.raises(
            PrescriptionError,
            match=r"exercises\[0\]\.reps: expected an integer, got float \(8\.5\)$",
        ),
        id="fractional-reps",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.target_score", 120),
        pytest.raises(
            PrescriptionError,
            match=r"target_score: expected a number from 0\.0 to 100\.0, got 120\.0$",
        ),
        id="target-over-100",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.pace_s", 0),
        pytest.raises(
            PrescriptionError, match=r"pace_s: expected a number > 0, got 0$"
        ),
        id="zero-pace",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.progression.field", "hold_s"),
        pytest.raises(
            PrescriptionError,
            match=r"progression\.field: expected one of reps, sets, got a string "
            r"\('hold_s'\)$",
        ),
        id="progression-field-for-kind",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.progression.step", 1.5),
        pytest.raises(
            PrescriptionError,
            match=r"progression\.step: reps change by whole numbers, got 1\.5$",
        ),
        id="fractional-rep-step",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.progression.maximum", 6),
        pytest.raises(
            PrescriptionError,
            match=r"progression\.maximum: expected at least the starting reps \(8\), "
            r"got 6$",
        ),
        id="maximum-below-start",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.progression.on_missed", "skip"),
        pytest.raises(
            PrescriptionError,
            match=r"progression\.on_missed: expected one of hold, step_back, got",
        ),
        id="unknown-on-missed",
    ),
    pytest.param(
        _set("sessions.0.exercises.0.progression.when", "always"),
        pytest.raises(
            PrescriptionError,
            match=r"progression\.when: unknown key; valid keys: field, step, "
            r"min_mean_score, maximum, on_missed$",
        ),
        id="unknown-progression-key",
    ),
]


@pytest.mark.parametrize(("mutate", "expectation"), CASES)
def test_validation(
    mutate: Callable[[dict[str, Any]], None], expectation: AbstractContextManager[Any]
) -> None:
    with expectation:
        make_plan(mutate)


def test_top_must_be_a_table() -> None:
    with pytest.raises(
        PrescriptionError, match=r"^<x>: expected a table at the top, got an array$"
    ):
        prescription_from_dict([], CATALOGUE, "<x>")  # type: ignore[arg-type]


def test_plan_fields() -> None:
    plan = make_plan()
    assert plan.start_date == dt.date(2025, 3, 5)
    assert plan.sessions_per_week == 3
    a = plan.session("a")
    assert a.days == ("mon", "thu")  # week order, whatever the document's order
    squat, plank = a.exercises
    assert squat.dose == Dose(2, reps=8)
    assert squat.progression == Progression("reps", 2.0, 80.0, 12.0, "hold")
    assert plank.kind == "hold"
    assert plank.dose == Dose(2, hold_s=20.0)
    assert plank.progression == Progression("hold_s", 5.0, None, 30.0, "step_back")
    assert plan.notes == {"zh-CN": "慢一点。"}
    with pytest.raises(KeyError, match="no session 'c' in the plan; valid: a, b"):
        plan.session("c")


def test_round_trip() -> None:
    plan = make_plan()
    doc = prescription_to_dict(plan)
    assert doc["start_date"] == "2025-03-05"
    assert doc["sessions"][0]["days"] == ["mon", "thu"]
    assert doc["sessions"][0]["exercises"][1]["hold_s"] == 20.0
    assert "reps" not in doc["sessions"][0]["exercises"][1]
    assert prescription_from_dict(doc, CATALOGUE) == plan


def test_catalogue_of_builtin_specs() -> None:
    catalogue = catalogue_of(builtin_specs().values())
    assert catalogue["squat"] == "reps"
    assert catalogue["plank"] == "hold"
    assert catalogue["baduanjin_1"] == "sequence"


def test_dose_values() -> None:
    dose = Dose(2, reps=8)
    assert dose.get("reps") == 8.0
    assert dose.with_value("reps", 10.0) == Dose(2, reps=10)
    assert Dose(3, hold_s=20.0).with_value("hold_s", 22.46) == Dose(3, hold_s=22.5)
    with pytest.raises(ValueError, match="this dose has no hold_s"):
        dose.get("hold_s")
