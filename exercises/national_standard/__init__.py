"""体测 after the national standard (《国民体质测定标准》, 2023 revision): the items
MoveCoach knows (camera and staff), the kiosk protocols of the camera items as data,
and the scoring of a battery from a table that a centre installs.

    from exercises.national_standard import scoring_table_from_toml, score_battery, Sex
    table = scoring_table_from_toml(uploaded_text, "centre.toml")  # ScoringTableError
    score = score_battery(table, sex=Sex.FEMALE, age_years=72, results={...})
    score.total, score.grade, score.test_table

MoveCoach ships no real table: `builtin_test_table()` has made-up numbers for tests
and demonstrations and says so. See docs/prescriptions.md.
"""

from __future__ import annotations

from exercises.assessments.norms import Sex
from exercises.national_standard.items import (
    CAMERA_PROTOCOLS,
    ITEMS,
    CameraProtocol,
    Item,
    ItemSource,
    check_value,
)
from exercises.national_standard.table import (
    GRADE_LABELS,
    TABLES_DIR,
    Battery,
    BatteryScore,
    Grade,
    ItemScore,
    ScoringError,
    ScoringTable,
    ScoringTableError,
    builtin_test_table,
    score_battery,
    scoring_table_from_dict,
    scoring_table_from_toml,
)

__all__ = [
    "CAMERA_PROTOCOLS",
    "GRADE_LABELS",
    "ITEMS",
    "TABLES_DIR",
    "Battery",
    "BatteryScore",
    "CameraProtocol",
    "Grade",
    "Item",
    "ItemScore",
    "ItemSource",
    "ScoringError",
    "ScoringTable",
    "ScoringTableError",
    "Sex",
    "builtin_test_table",
    "check_value",
    "score_battery",
    "scoring_table_from_dict",
    "scoring_table_from_toml",
]
