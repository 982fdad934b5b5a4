# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""exercises.prescriptions.library: the shipped plan templates, their validation, the
starting-level suggestion and a plan made from a template."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from typing import Any

import pytest

from exercises.assessments import Band
from exercises.national_standard import Sex, builtin_test_table, score_battery
from exercises.prescriptions import (
    PLANS_DIR,
    AssessedBand,
    Dose,
    Level,
    Prescriber,
    PrescriptionError,
    assessed_bands,
    builtin_plan_templates,
    catalogue_of,
    plan_template_from_dict,
    plan_template_from_toml,
    prescription_from_template,
    prescription_to_dict,
    suggest_levels,
)
from exercises.spec import builtin_specs

CATALOGUE = catalogue_of(builtin_specs().values())
D = dt.date
MEI = Prescriber("Mei Chen", "coach")


def _fall_doc() -> dict[str, Any]:
    return tomllib.loads(
        (PLANS_DIR / "fall_prevention.toml").read_text(encoding="utf-8")
    )


def test_shipped_templates_load() -> None:
    templates = builtin_plan_templates(CATALOGUE)
    assert sorted(templates) == [
        "after_lung_rehab",
        "fall_prevention",
        "knee_oa_beginner",
    ]
    for t in templates.values():
        # Clinical content says where it comes from, and that it is an example.
        assert t.status == "example"
        assert t.sources
        assert "example" in t.source_note["en"] and "示例" in t.source_note["zh-CN"]
        assert t.contraindications
        for session in t.sessions:
            assert set(session.name) == {"en", "zh-CN"}


def test_template_needs_both_languages() -> None:
    doc = _fall_doc()
    del doc["sessions"][0]["name"]["zh-CN"]
    with pytest.raises(
        PrescriptionError,
        match=r"^<t>: sessions\[0\]\.name\.\"zh-CN\": missing required key$",
    ):
        plan_template_from_dict(doc, CATALOGUE, "<t>")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"assessed_by": ["chair_stand"]},
            r"assessed_by: unknown assessment 'chair_stand'; valid: arm_curl_30s, "
            r"back_scratch, chair_sit_and_reach, chair_stand_30s,",
            id="unknown-assessment",
        ),
        pytest.param(
            {"assessed_by": None},
            r"assessed_by: easier/harder doses need the assessments that pick them$",
            id="levels-without-assessment",
        ),
        pytest.param(
            {"harder": {"reps": 20}},
            r"exercises\[0\]\.harder: reps 20 is above the progression maximum 15$",
            id="harder-above-maximum",
        ),
        pytest.param(
            {"easier": {"hold_s": 5}},
            r"exercises\[0\]\.easier\.hold_s: a reps exercise is dosed in reps, not "
            r"hold_s$",
            id="easier-wrong-amount",
        ),
        pytest.param(
            {"easier": {"load_kg": 1}},
            r"exercises\[0\]\.easier\.load_kg: unknown key; valid keys: sets, reps, "
            r"hold_s$",
            id="easier-unknown-key",
        ),
    ],
)
def test_template_levels_validation(change: dict[str, Any], message: str) -> None:
    doc = _fall_doc()
    ex = doc["sessions"][0]["exercises"][0]
    for key, value in change.items():
        if value is None:
            ex.pop(key)
        else:
            ex[key] = value
    with pytest.raises(PrescriptionError, match=message):
        plan_template_from_dict(doc, CATALOGUE, "<t>")


def test_template_status_and_toml_errors() -> None:
    doc = _fall_doc()
    doc["status"] = "approved"
    with pytest.raises(
        PrescriptionError,
        match=r"^<t>: status: expected one of example, reviewed, got a string",
    ):
        plan_template_from_dict(doc, CATALOGUE, "<t>")
    with pytest.raises(PrescriptionError, match=r"^<t>: invalid TOML: "):
        plan_template_from_toml("schema = ", CATALOGUE, "<t>")


def test_template_checked_against_the_catalogue() -> None:
    small = {k: v for k, v in CATALOGUE.items() if k != "heel_raise"}
    with pytest.raises(PrescriptionError, match=r"unknown exercise 'heel_raise'"):
        plan_template_from_dict(_fall_doc(), small, "<t>")


def _suggested(results: list[AssessedBand]) -> dict[str, Level]:
    template = builtin_plan_templates(CATALOGUE)["fall_prevention"]
    return {s.exercise_id: s.level for s in suggest_levels(template, results)}


def test_suggestion_without_results_is_standard() -> None:
    assert set(_suggested([]).values()) == {Level.STANDARD}


def test_suggestion_from_the_latest_band() -> None:
    results = [
        AssessedBand("chair_stand_30s", D(2025, 1, 10), Band.ABOVE),
        AssessedBand("chair_stand_30s", D(2025, 3, 1), Band.BELOW),  # latest
        AssessedBand("step_test_2min", D(2025, 3, 1), Band.ABOVE),
        AssessedBand("single_leg_stance", D(2025, 3, 1), None),  # no norms
    ]
    assert _suggested(results) == {
        "sit_to_stand": Level.EASIER,
        "single_leg_stance": Level.STANDARD,
        "heel_raise": Level.STANDARD,  # not assessed
        "standing_hip_abduction": Level.STANDARD,
        "standing_march": Level.HARDER,
    }


def test_suggestion_reasons() -> None:
    template = builtin_plan_templates(CATALOGUE)["fall_prevention"]
    below = AssessedBand("chair_stand_30s", D(2025, 3, 1), Band.BELOW)
    unrated = AssessedBand("single_leg_stance", D(2025, 3, 1), None)
    by_id = {s.exercise_id: s for s in suggest_levels(template, [below, unrated])}
    assert by_id["sit_to_stand"].based_on == below
    assert by_id["sit_to_stand"].reason == {
        "en": "30-second chair stand on 2025-03-01 was below the normal range: "
        "start easier.",
        "zh-CN": "2025-03-01的30秒坐站测试低于正常范围：从较低强度开始。",
    }
    assert by_id["single_leg_stance"].reason["en"] == (
        "Single-leg stance (eyes open) on 2025-03-01 has no comparison with norms "
        "(none exist, or age or sex was missing): standard start."
    )
    assert by_id["heel_raise"].reason == {
        "en": "No assessment result: standard start.",
        "zh-CN": "没有体测结果：标准起点。",
    }


def test_same_day_results_prefer_the_first_listed_test() -> None:
    doc = _fall_doc()
    doc["sessions"][0]["exercises"][0]["assessed_by"] = [
        "step_test_2min",
        "chair_stand_30s",
    ]
    template = plan_template_from_dict(doc, CATALOGUE)
    results = [
        AssessedBand("chair_stand_30s", D(2025, 3, 1), Band.ABOVE),
        AssessedBand("step_test_2min", D(2025, 3, 1), Band.BELOW),
    ]
    first = suggest_levels(template, results)[0]
    assert (first.level, first.based_on) == (Level.EASIER, results[1])
    later = [*results, AssessedBand("chair_stand_30s", D(2025, 3, 2), Band.ABOVE)]
    assert suggest_levels(template, later)[0].level is Level.HARDER


def test_prescription_from_template() -> None:
    template = builtin_plan_templates(CATALOGUE)["fall_prevention"]
    levels = {
        ("balance_strength", "sit_to_stand"): Level.EASIER,
        ("balance_strength", "standing_march"): Level.HARDER,
    }
    plan = prescription_from_template(
        template, CATALOGUE, start_date=D(2025, 3, 3), prescribed_by=MEI, levels=levels
    )
    assert plan.end_date == D(2025, 5, 25)  # 12 weeks, Monday to Sunday
    assert plan.template_id == "fall_prevention"
    assert plan.elder_mode
    assert plan.title == template.name
    assert plan.contraindications == template.contraindications
    doses = {e.exercise_id: e.dose for e in plan.sessions[0].exercises}
    assert doses == {
        "sit_to_stand": Dose(1, reps=5),
        "single_leg_stance": Dose(3, hold_s=10.0),
        "heel_raise": Dose(2, reps=10),
        "standing_hip_abduction": Dose(2, reps=8),
        "standing_march": Dose(2, reps=30),
    }
    # The coach adapts the document and it validates again.
    doc = copy.deepcopy(prescription_to_dict(plan))
    assert doc["sessions"][0]["exercises"][0]["progression"]["maximum"] == 15


def test_prescription_from_template_unknown_level_key() -> None:
    template = builtin_plan_templates(CATALOGUE)["knee_oa_beginner"]
    with pytest.raises(KeyError, match=r"levels for exercises not in the template"):
        prescription_from_template(
            template,
            CATALOGUE,
            start_date=D(2025, 3, 3),
            prescribed_by=MEI,
            levels={("strength", "plank"): Level.EASIER},
        )


def test_suggestion_from_a_national_standard_battery() -> None:
    """Item points become bands with the battery's cut-offs (TEST table: pass 60,
    excellent 90) and pick the levels of the exercises they assess."""
    table = builtin_test_table()
    score = score_battery(
        table,
        sex=Sex.FEMALE,
        age_years=72,
        results={
            "cn_sit_stand_30s": 15,  # 60 points: normal
            "cn_one_leg_stand_eyes_closed": 10.0,  # 100 points: above
            "cn_high_knee_2min": 20,  # 20 points: below
        },
    )
    bands = assessed_bands(table, score, D(2025, 3, 1))
    assert [(b.test_id, b.band) for b in bands] == [
        ("cn_sit_stand_30s", Band.NORMAL),
        ("cn_high_knee_2min", Band.BELOW),
        ("cn_one_leg_stand_eyes_closed", Band.ABOVE),
    ]
    assert _suggested(list(bands)) == {
        "sit_to_stand": Level.STANDARD,
        "single_leg_stance": Level.HARDER,
        "heel_raise": Level.STANDARD,
        "standing_hip_abduction": Level.STANDARD,
        "standing_march": Level.EASIER,
    }
