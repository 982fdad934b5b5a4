# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""exercises.national_standard.table: a small table whose answers are worked out by
hand, its validation (a missing age group, malformed files) and the shipped TEST
table."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from exercises.assessments import Band
from exercises.national_standard import (
    ITEMS,
    Grade,
    ItemScore,
    ScoringError,
    ScoringTableError,
    Sex,
    builtin_test_table,
    score_battery,
    scoring_table_from_dict,
    scoring_table_from_toml,
)
from tests.documents import delete_at, set_at

SMALL = """
schema = 1
id = "small"
name = { en = "Small", zh-CN = "小表" }
standard = "test"
source = "made up for this test"
test_table = false

[[batteries]]
id = "elder"
ages = [60, 69]
name = { en = "60-69", zh-CN = "60-69岁" }
grades = { excellent = 90, good = 75, pass = 60 }
weights.female = { cn_sit_stand_30s = 0.5, cn_grip_strength = 0.5 }
weights.male = { cn_sit_stand_30s = 0.6, cn_grip_strength = 0.4 }

[items.cn_sit_stand_30s.female]
"60-64" = [[0, 0], [10, 60], [15, 80], [20, 100]]
"65-69" = [[0, 0], [8, 60], [13, 80], [18, 100]]

[items.cn_sit_stand_30s.male]
"60-64" = [[1, 0], [12, 60], [17, 80], [22, 100]]
"65-69" = [[0, 0], [10, 60], [15, 80], [20, 100]]

[items.cn_grip_strength.female]
"60-64" = [[0, 0], [18, 60], [24, 80], [30, 100]]
"65-69" = [[0, 0], [16, 60], [22, 80], [28, 100]]

[items.cn_grip_strength.male]
"60-64" = [[0, 0], [28, 60], [36, 80], [44, 100]]
"65-69" = [[0, 0], [26, 60], [34, 80], [42, 100]]
"""

F, M = Sex.FEMALE, Sex.MALE


def small() -> Any:
    return scoring_table_from_toml(SMALL, "small.toml")


@pytest.mark.parametrize(
    ("sex", "age", "stands", "grip", "points", "total", "grade"),
    [
        pytest.param(F, 62, 15, 20.0, (80, 60), 70.0, Grade.PASS, id="f62-pass"),
        pytest.param(F, 67, 18, 28.0, (100, 100), 100.0, Grade.EXCELLENT, id="f67-top"),
        pytest.param(M, 65, 14, 34.0, (60, 80), 68.0, Grade.PASS, id="m65-weighted"),
        pytest.param(M, 64, 17, 36.0, (80, 80), 80.0, Grade.GOOD, id="m64-good"),
        pytest.param(F, 60, 9, 17.9, (0, 0), 0.0, Grade.FAIL, id="f60-zero"),
        pytest.param(F, 64, 13, 18.0, (60, 60), 60.0, Grade.PASS, id="f64-group-60"),
        pytest.param(F, 65, 13, 18.0, (80, 60), 70.0, Grade.PASS, id="f65-group-65"),
        pytest.param(
            M, 69, 20, 42.0, (100, 100), 100.0, Grade.EXCELLENT, id="m69-last"
        ),
        pytest.param(F, 61, 10, 30.0, (60, 100), 80.0, Grade.GOOD, id="row-inclusive"),
    ],
)
def test_known_answers(
    sex: Sex,
    age: int,
    stands: int,
    grip: float,
    points: tuple[float, float],
    total: float,
    grade: Grade,
) -> None:
    score = score_battery(
        small(),
        sex=sex,
        age_years=age,
        results={"cn_grip_strength": grip, "cn_sit_stand_30s": stands},
    )
    assert [(s.item_id, s.points) for s in score.items] == [
        ("cn_sit_stand_30s", points[0]),
        ("cn_grip_strength", points[1]),
    ]
    assert score.total == pytest.approx(total, abs=1e-12)
    assert score.grade is grade
    assert score.missing == ()
    assert score.age_group == (age - age % 5, age - age % 5 + 4)
    assert not score.test_table


def test_cutoffs_are_inclusive() -> None:
    table = small()
    battery = table.batteries["elder"]
    assert [battery.grade(x) for x in (90.0, 89.99, 75.0, 74.99, 60.0, 59.99)] == [
        Grade.EXCELLENT,
        Grade.GOOD,
        Grade.GOOD,
        Grade.PASS,
        Grade.PASS,
        Grade.FAIL,
    ]


def test_item_points_as_bands() -> None:
    battery = small().batteries["elder"]
    assert [battery.band(p) for p in (0.0, 59.9, 60.0, 89.9, 90.0, 100.0)] == [
        Band.BELOW,
        Band.BELOW,
        Band.NORMAL,
        Band.NORMAL,
        Band.ABOVE,
        Band.ABOVE,
    ]


def test_partial_battery_has_no_total() -> None:
    score = score_battery(
        small(), sex=F, age_years=62, results={"cn_sit_stand_30s": 15}
    )
    assert score.items == (ItemScore("cn_sit_stand_30s", 15.0, 80.0, 0.5),)
    assert score.missing == ("cn_grip_strength",)
    assert (score.total, score.grade) == (None, None)
    assert score.summary == {
        "en": "Not graded yet: missing Grip strength.",
        "zh-CN": "尚未评级：缺少握力。",
    }


def test_summary_of_a_grade() -> None:
    score = score_battery(
        small(),
        sex=M,
        age_years=65,
        results={"cn_sit_stand_30s": 14, "cn_grip_strength": 34},
    )
    assert score.summary == {
        "en": "Total 68.0 points: Pass.",
        "zh-CN": "总分68.0分：合格。",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"age_years": 59},
            r"^no battery of table 'small' covers age 59; it covers 60-69$",
            id="age-outside",
        ),
        pytest.param(
            {"age_years": 62.5},
            r"^age_years must be whole years, got 62\.5$",
            id="fractional-age",
        ),
        pytest.param(
            {"results": {"cn_vital_capacity": 2000}},
            r"^'cn_vital_capacity' is not in battery 'elder' for female; valid: "
            r"cn_sit_stand_30s, cn_grip_strength$",
            id="item-not-in-battery",
        ),
        pytest.param(
            {"results": {"cn_grip_strength": 350}},
            r"^cn_grip_strength: expected a value from 0 to 120 kg, got 350$",
            id="implausible-value",
        ),
        pytest.param(
            {"results": {"cn_grip_strength": float("nan")}},
            r"^cn_grip_strength: expected a value from 0 to 120 kg, got nan$",
            id="nan",
        ),
        pytest.param(
            {"sex": M, "results": {"cn_sit_stand_30s": 0}},
            r"^cn_sit_stand_30s: 0 is below the table's lowest value 1 for male aged "
            r"60-64$",
            id="below-the-table",
        ),
    ],
)
def test_scoring_errors(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"sex": F, "age_years": 62, "results": {}} | kwargs
    with pytest.raises(ScoringError, match=message):
        score_battery(small(), **args)


def test_battery_without_items_for_a_sex() -> None:
    doc = tomllib.loads(SMALL)
    del doc["batteries"][0]["weights"]["male"]
    table = scoring_table_from_dict(doc, "small.toml")
    with pytest.raises(
        ScoringError, match=r"^battery 'elder' of table 'small' has no items for male$"
    ):
        score_battery(table, sex=M, age_years=62, results={})


BAD = [
    pytest.param(
        delete_at("items.cn_grip_strength.female.65-69"),
        r"^small\.toml: items\.cn_grip_strength\.female: missing age group 65-69 "
        r"\(battery 'elder' weighs cn_grip_strength for female aged 60-69\)$",
        id="missing-age-group",
    ),
    pytest.param(
        delete_at("items.cn_grip_strength.male"),
        r"^small\.toml: items\.cn_grip_strength\.male: missing age group 60-64 ",
        id="missing-sex",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.60-64", [[0, 0], [10]]),
        r'^small\.toml: items\.cn_grip_strength\.female\."60-64": row 1: expected '
        r"\[lowest value, points\] \(two numbers\), got \[10\]$",
        id="row-not-a-pair",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.60-64", [[0, 0], [10, "60"]]),
        r"row 1: expected \[lowest value, points\] \(two numbers\), got \[10, '60'\]$",
        id="points-as-text",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.60-64", [[0, 0], [10, 60], [10, 80]]),
        r"row 2: lowest values must increase, got 10 after 10$",
        id="rows-not-increasing",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.60-64", [[0, 0], [10, 120]]),
        r"row 1: expected points from 0 to 100, got 120$",
        id="points-over-100",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.60-64", []),
        r'female\."60-64": expected at least 1 entries, got 0$',
        id="no-rows",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.61-65", [[0, 0]]),
        r'female\."61-65": expected a five-year age group starting at a multiple of 5 '
        r'\(e\.g\. "60-64"\), got "61-65"$',
        id="misaligned-age-group",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.female.sixties", [[0, 0]]),
        r'female\.sixties: expected an age group like "60-64"$',
        id="not-an-age-group",
    ),
    pytest.param(
        set_at("items.cn_grip_strength.other", {}),
        r"^small\.toml: items\.cn_grip_strength\.other: unknown key; valid keys: "
        r"female, male$",
        id="unknown-sex",
    ),
    pytest.param(
        set_at("items.grip", {}),
        r"^small\.toml: items\.grip: unknown item; valid items: cn_sit_stand_30s, ",
        id="unknown-item",
    ),
    pytest.param(
        set_at("batteries.0.weights.female.cn_grip_strength", 0.4),
        r"^small\.toml: batteries\[0\]\.weights\.female: weights add up to 0\.9, "
        r"expected 1$",
        id="weights-sum",
    ),
    pytest.param(
        set_at("batteries.0.weights.female.cn_bmi", 0.0),
        r"weights\.female\.cn_bmi: expected a number > 0, got 0\.0$",
        id="zero-weight",
    ),
    pytest.param(
        set_at("batteries.0.grades", {"excellent": 90, "good": 60, "pass": 75}),
        r"batteries\[0\]\.grades: expected excellent > good > pass, got excellent 90, "
        r"good 60, pass 75$",
        id="grades-order",
    ),
    pytest.param(
        set_at("batteries.0.grades", {"excellent": 90, "good": 75}),
        r"batteries\[0\]\.grades\.pass: missing required key$",
        id="grade-missing",
    ),
    pytest.param(
        set_at("batteries.0.ages", [60, 68]),
        r"batteries\[0\]\.ages: expected \[lowest, highest\] covering whole "
        r"five-year groups \(e\.g\. \[60, 79\]\), got \[60, 68\]$",
        id="partial-age-group",
    ),
    pytest.param(
        lambda d: d["batteries"].append(
            {**copy.deepcopy(d["batteries"][0]), "id": "other", "ages": [65, 69]}
        ),
        r"batteries\[1\]\.ages: ages 65-69 overlap battery 'elder' \(60-69\)$",
        id="overlapping-batteries",
    ),
    pytest.param(
        lambda d: d["batteries"].append(copy.deepcopy(d["batteries"][0])),
        r"batteries\[1\]\.id: battery id 'elder' is used twice$",
        id="duplicate-battery",
    ),
    pytest.param(
        delete_at("source"),
        r"^small\.toml: source: missing required key$",
        id="no-source",
    ),
    pytest.param(
        delete_at("test_table"),
        r"^small\.toml: test_table: missing required key$",
        id="no-test-flag",
    ),
    pytest.param(
        set_at("schema", 2),
        r"^small\.toml: schema: expected 1, got 2$",
        id="schema",
    ),
    pytest.param(
        set_at("batteries", []),
        r"^small\.toml: batteries: expected at least 1 entries, got 0$",
        id="no-batteries",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), BAD)
def test_malformed_tables(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = tomllib.loads(SMALL)
    mutate(doc)
    with pytest.raises(ScoringTableError, match=message):
        scoring_table_from_dict(doc, "small.toml")


def test_malformed_toml() -> None:
    with pytest.raises(ScoringTableError, match=r"^centre\.toml: invalid TOML: "):
        scoring_table_from_toml('schema = 1\n[items\n"60-64" = [[0, 0]', "centre.toml")


def test_shipped_test_table_says_it_is_made_up() -> None:
    table = builtin_test_table()
    assert table.test_table
    assert "MADE-UP" in table.source
    assert "虚构" in table.name["zh-CN"]
    assert set(table.batteries) == {"elder", "adult_20s"}
    # Every camera item of issue 19 appears in a battery.
    weighed = {
        i for b in table.batteries.values() for w in b.weights.values() for i in w
    }
    camera = {i.id for i in ITEMS.values() if i.source == "camera"}
    assert camera <= weighed
    score = score_battery(
        table,
        sex=F,
        age_years=72,
        results={
            "cn_sit_stand_30s": 15,
            "cn_high_knee_2min": 80,
            "cn_one_leg_stand_eyes_closed": 6.5,
            "cn_grip_strength": 22.0,
            "cn_sit_and_reach": 5.0,
            "cn_vital_capacity": 1800,
            "cn_choice_reaction_time": 0.62,
            "cn_bmi": 23.9,
        },
    )
    # Points 60, 80, 60, 40, 60, 40, 80 (lower is better), 100; eight weights of 1/8.
    assert [s.points for s in score.items] == [60, 80, 60, 40, 60, 40, 80, 100]
    assert score.total == 65.0
    assert score.grade is Grade.PASS
    assert score.summary["en"].endswith(
        "(TEST table with made-up numbers: not a real grade.)"
    )
    assert score.summary["zh-CN"].endswith("（测试用表，数值为虚构，并非真实评级。）")
