"""A small plan and a resident's history whose adherence and progression are worked
out by hand in the tests (docs/prescriptions.md walks through the same numbers)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from exercises.prescriptions import (
    PerformedSet,
    Prescription,
    prescription_from_dict,
)

CATALOGUE = {
    "squat": "reps",
    "plank": "hold",
    "sit_to_stand": "reps",
    "tai_chi": "sequence",
}

D = dt.date


def plan_doc() -> dict[str, Any]:
    """Wednesday 5 to Sunday 30 March 2025: session a on Mon/Thu (squat 2x8 +2 reps a
    week while the mean score >= 80, max 12, hold after a missed week; plank 2x20 s
    +5 s every week done, max 30, a step back after a missed week), session b on Sat
    (sit-to-stand 1x10, no progression)."""
    return {
        "schema": 1,
        "title": {"en": "Knee strength", "zh-CN": "膝关节力量"},
        "start_date": "2025-03-05",
        "end_date": "2025-03-30",
        "prescribed_by": {"name": "Mei Chen", "role": "coach"},
        "prescribed_on": "2025-03-01",
        "elder_mode": True,
        "contraindications": [
            {"en": "Stop on sharp knee pain.", "zh-CN": "膝盖锐痛时停止。"}
        ],
        "notes": {"zh-CN": "慢一点。"},
        "sessions": [
            {
                "id": "a",
                "name": {"en": "Strength"},
                "days": ["thu", "mon"],
                "exercises": [
                    {
                        "exercise": "squat",
                        "sets": 2,
                        "reps": 8,
                        "rest_s": 60,
                        "pace_s": 4.0,
                        "target_score": 75,
                        "progression": {
                            "field": "reps",
                            "step": 2,
                            "min_mean_score": 80,
                            "maximum": 12,
                            "on_missed": "hold",
                        },
                    },
                    {
                        "exercise": "plank",
                        "sets": 2,
                        "hold_s": 20,
                        "rest_s": 45,
                        "progression": {
                            "field": "hold_s",
                            "step": 5,
                            "maximum": 30,
                            "on_missed": "step_back",
                        },
                    },
                ],
            },
            {
                "id": "b",
                "name": {"en": "Chair", "zh-CN": "椅子"},
                "days": ["sat"],
                "exercises": [
                    {"exercise": "sit_to_stand", "sets": 1, "reps": 10, "rest_s": 0}
                ],
            },
        ],
    }


def make_plan(mutate: Callable[[dict[str, Any]], None] | None = None) -> Prescription:
    doc = copy.deepcopy(plan_doc())
    if mutate is not None:
        mutate(doc)
    return prescription_from_dict(doc, CATALOGUE, "<test>")


def squat(day: dt.date, reps: int, score: float | None) -> PerformedSet:
    return PerformedSet(day, "a", "squat", reps=reps, score=score)


def plank(day: dt.date, hold_s: float, score: float | None = None) -> PerformedSet:
    return PerformedSet(day, "a", "plank", hold_s=hold_s, score=score)


def history() -> list[PerformedSet]:
    """Week 1 (3 Mar): Thu a + Sat b, squat mean 83 (progresses), planks done.
    Week 2 (10 Mar): Mon a only, squat mean 77 (holds), planks done (progresses).
    Week 3 (17 Mar): nothing (missed). Week 4 (24 Mar): Mon a, squat mean 91."""
    return [
        squat(D(2025, 3, 6), 8, 85),
        squat(D(2025, 3, 6), 8, 81),
        plank(D(2025, 3, 6), 20),
        plank(D(2025, 3, 6), 15),
        PerformedSet(D(2025, 3, 8), "b", "sit_to_stand", reps=10, score=70),
        squat(D(2025, 3, 10), 10, 78),
        squat(D(2025, 3, 10), 9, 76),
        plank(D(2025, 3, 10), 25),
        plank(D(2025, 3, 10), 25),
        squat(D(2025, 3, 24), 10, 90),
        squat(D(2025, 3, 24), 10, 92),
        plank(D(2025, 3, 24), 25),
        plank(D(2025, 3, 24), 20),
    ]
