# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""体测 after the national standard through the API, on SQLite and PostgreSQL: a centre
installs a small scoring table whose answers are worked out by hand, a resident's
battery (camera counts and staff-entered items) is scored with it and stored one row
per item; a table with a missing age group, a malformed file, results the table cannot
score: each a clear error, and nothing stored."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import pytest

from server.store import repository
from server.store.models import Assessment
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import World, _expect, world  # noqa: F401

# Made up for this test: two items, 60-69, women only.
SMALL_TABLE = """\
schema = 1
id = "small"
name = { en = "Small test table", zh-CN = "小测试表" }
standard = "test"
source = "made up for tests/server/test_api_fitness.py"
test_table = true

[[batteries]]
id = "sixties"
ages = [60, 69]
name = { en = "60-69", zh-CN = "60-69岁" }
grades = { excellent = 90, good = 75, pass = 60 }
weights.female = { cn_sit_stand_30s = 0.6, cn_grip_strength = 0.4 }

[items.cn_sit_stand_30s.female]
"60-64" = [[0, 0], [8, 50], [12, 70], [16, 90], [20, 100]]
"65-69" = [[0, 0], [6, 50], [10, 70], [14, 90], [18, 100]]

[items.cn_grip_strength.female]
"60-64" = [[0, 0], [15, 60], [20, 80], [25, 100]]
"65-69" = [[0, 0], [12, 60], [18, 80], [23, 100]]
"""


def _install(world: World, text: str, who: str = "admin_a") -> object:
    return world.call(
        who,
        "POST",
        "/api/fitness-tables",
        content=text.encode("utf-8"),
        headers={"Content-Type": "application/toml"},
    )


def _rows(world: World) -> tuple[int, int]:
    with world.store.session() as db:
        tables = len(repository.list_fitness_tables(db, world.a["centre_id"]))
        assessments = db.query(Assessment).count()
    return tables, assessments


def _score(world: World, **body: object) -> object:
    return world.call(
        "coach_a",
        "POST",
        f"/api/residents/{world.a['resident_id']}/national-battery",
        json=body,
    )


def test_a_battery_is_scored_with_the_installed_table(world: World) -> None:
    installed = _install(world, SMALL_TABLE)
    assert installed.status_code == 201, installed.text  # type: ignore[attr-defined]
    listed = world.call("coach_a", "GET", "/api/fitness-tables").json()
    (table,) = listed["tables"]
    assert table["table_id"] == "small" and table["test_table"] is True
    assert table["batteries"] == [
        {"id": "sixties", "name": {"en": "60-69", "zh-CN": "60-69岁"}, "ages": [60, 69]}
    ]
    assert {i["id"] for i in listed["items"]} >= {
        "cn_sit_stand_30s",
        "cn_grip_strength",
    }
    # Age 66 (65-69): 15 stands -> 90 points, grip 19.5 kg (entered by staff) -> 80;
    # total 0.6 * 90 + 0.4 * 80 = 86: good (75 <= 86 < 90).
    response = _score(
        world,
        age_years=66,
        results={"cn_sit_stand_30s": 15, "cn_grip_strength": 19.5},
        taken_at="2026-03-02T09:00:00+08:00",
    )
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert [(i["item_id"], i["points"]) for i in body["items"]] == [
        ("cn_sit_stand_30s", 90.0),
        ("cn_grip_strength", 80.0),
    ]
    assert body["total"] == pytest.approx(86.0) and body["grade"] == "good"
    assert body["grade_label"] == {"en": "Good", "zh-CN": "良好"}
    assert body["age_group"] == [65, 69] and body["test_table"] is True
    assert body["summary"]["en"].startswith("Total 86.0 points: Good.")
    with world.store.session() as db:
        rows = repository.list_assessments(db, world.a["resident_id"])
    assert [(r.protocol_id, r.value, r.unit, r.band) for r in rows] == [
        ("cn_sit_stand_30s", 15.0, "count", "above"),  # 90 points: excellent cut-off
        ("cn_grip_strength", 19.5, "kg", "normal"),
    ]
    assert rows[0].details["total"] == pytest.approx(86.0)
    assert rows[0].details["grade"] == "good"
    # The age from the birth year (1948) when none is given: 2026 - 1948 = 78, which
    # no battery of this table covers.
    no_battery = _score(
        world, results={"cn_sit_stand_30s": 15}, taken_at="2026-03-02T09:00:00+00:00"
    )
    _expect(no_battery, 422, "scoring_failed")
    assert "covers 60-69" in no_battery.json()["detail"]["message"]  # type: ignore[attr-defined]


def test_missing_items_score_without_a_grade(world: World) -> None:
    _install(world, SMALL_TABLE)
    body = _score(world, age_years=61, results={"cn_sit_stand_30s": 12}).json()  # type: ignore[attr-defined]
    assert [(i["item_id"], i["points"]) for i in body["items"]] == [
        ("cn_sit_stand_30s", 70.0)
    ]
    assert body["missing"] == ["cn_grip_strength"]
    assert body["total"] is None and body["grade"] is None
    assert body["summary"]["zh-CN"].startswith("尚未评级：缺少握力")


BAD_TABLES = [
    pytest.param(
        SMALL_TABLE.replace('"65-69" = [[0, 0], [12, 60], [18, 80], [23, 100]]\n', ""),
        "items.cn_grip_strength.female: missing age group 65-69",
        id="missing-age-group",
    ),
    pytest.param(
        SMALL_TABLE.replace("[[0, 0], [8, 50]", "[[0, 0], [8]"),
        '"60-64": row 1: expected [lowest value, points] (two numbers), got [8]',
        id="short-row",
    ),
    pytest.param(SMALL_TABLE[:200], "invalid TOML", id="cut-off-file"),
    pytest.param(
        SMALL_TABLE.replace("0.6, cn_grip", "0.7, cn_grip"), "add up to 1", id="weights"
    ),
    pytest.param(
        SMALL_TABLE.replace('source = "made up', 'sauce = "made up'),
        "source",
        id="no-source",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_TABLES)
def test_a_bad_table_is_refused_and_nothing_is_stored(
    world: World, text: str, message: str
) -> None:
    response = _install(world, text)
    _expect(response, 422, "invalid_scoring_table")
    assert message in response.json()["detail"]["message"]  # type: ignore[attr-defined]
    assert _rows(world) == (0, 0)
    # Without a table nothing can be scored.
    _expect(
        _score(world, age_years=66, results={"cn_sit_stand_30s": 15}),
        404,
        "scoring_table_not_found",
    )


def test_results_the_table_cannot_score_store_nothing(world: World) -> None:
    _install(world, SMALL_TABLE)
    cases = [
        (
            {"cn_sit_stand_30s": 15, "cn_vital_capacity": 2000},
            "not in battery 'sixties'",
        ),
        ({"cn_grip_strength": 250}, "expected a value from 0 to 120 kg"),
        ({"cn_sit_stand_30s": -1}, "expected a value from"),
    ]
    for results, message in cases:
        response = _score(world, age_years=66, results=results)
        _expect(response, 422, "scoring_failed")
        assert message in response.json()["detail"]["message"], results  # type: ignore[attr-defined]
    assert _rows(world) == (1, 0)


def test_only_admins_install_tables_and_sex_and_age_are_needed(world: World) -> None:
    _expect(_install(world, SMALL_TABLE, who="coach_a"), 403, "forbidden_role")
    assert _install(world, SMALL_TABLE).status_code == 201  # type: ignore[attr-defined]
    _expect(_install(world, SMALL_TABLE), 409, "scoring_table_exists")
    with world.store.begin() as db:
        resident = repository.get_resident(db, world.a["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, sex="unknown")
    _expect(
        _score(world, age_years=66, results={"cn_sit_stand_30s": 15}),
        422,
        "age_and_sex_required",
    )
    other = world.call(
        "coach_b",
        "POST",
        f"/api/residents/{world.a['resident_id']}/national-battery",
        json={"results": {"cn_sit_stand_30s": 15}},
    )
    _expect(other, 404, "resident_not_found")  # as for an unknown resident
    assert _rows(world) == (1, 0)
