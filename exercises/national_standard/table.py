# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Scoring tables after the national standard, installed by a centre, and the
scoring of a battery from one.

A scoring table is a TOML file (layout in docs/prescriptions.md):

- `[items.<item id>.<sex>]` with one entry per five-year age group (`"60-64"`): rows
  `[[lowest value, points], ...]`, lowest values strictly increasing, points on the
  100-point scale. A value scores the points of the last row whose lowest value it
  reaches (a step function, so "higher is better", "lower is better" (reaction time)
  and "a middle range is best" (BMI) are all rows). A value below the first row is
  outside the table: an error, not zero points.
- `[[batteries]]`: who is tested with what: an age range made of whole five-year
  groups, the item weights per sex (adding up to 1), and the grade cut-offs on the
  weighted total: 优秀 (excellent) from `excellent`, 良好 (good) from `good`, 合格
  (pass) from `pass`, 不合格 (fail) below.
- `test_table = true` marks a table of made-up numbers (the one shipped with MoveCoach
  for tests and demonstrations); results scored with it say so. Every table names its
  `source`: never numbers without one.

Every weighted item must have rows for every age group of the battery for that sex;
a table missing one is refused with an error naming the item, the sex and the group.

Core module: stdlib only; `scoring_table_from_toml` parses text, and only
`builtin_test_table` reads a file (the test table shipped in the package).
"""

from __future__ import annotations

import bisect
import enum
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exercises.assessments.norms import Band, Sex
from exercises.checks import parse_toml
from exercises.events import LocalizedText
from exercises.fields import Fields
from exercises.national_standard.items import ITEMS, check_value

__all__ = [
    "AGE_GROUP_YEARS",
    "GRADE_LABELS",
    "TABLES_DIR",
    "Battery",
    "BatteryScore",
    "Grade",
    "ItemScore",
    "ScoringError",
    "ScoringTable",
    "ScoringTableError",
    "builtin_test_table",
    "score_battery",
    "scoring_table_from_dict",
    "scoring_table_from_toml",
]

SCHEMA_VERSION: Final[int] = 1
AGE_GROUP_YEARS: Final[int] = 5
TABLES_DIR: Final[Path] = Path(__file__).resolve().parent / "tables"
_GROUP_RE: Final = re.compile(r"^(\d{1,3})-(\d{1,3})$")
_WEIGHT_SUM_TOLERANCE: Final[float] = 1e-9


class ScoringTableError(ValueError):
    """A malformed scoring table; the message names the key path and what is wrong."""


class ScoringError(ValueError):
    """A battery that cannot be scored with this table (age, item or value)."""


class Grade(enum.StrEnum):
    """The four grades of the standard."""

    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


GRADE_LABELS: Final[dict[Grade, LocalizedText]] = {
    Grade.EXCELLENT: {"en": "Excellent", "zh-CN": "优秀"},
    Grade.GOOD: {"en": "Good", "zh-CN": "良好"},
    Grade.PASS: {"en": "Pass", "zh-CN": "合格"},
    Grade.FAIL: {"en": "Fail", "zh-CN": "不合格"},
}

AgeGroup = tuple[int, int]
"""Inclusive years, e.g. (60, 64)."""


@dataclass(frozen=True, slots=True)
class Battery:
    """Who is tested with what.

    Attributes:
        id: Battery id ("elder").
        name: For people.
        ages: Inclusive (lowest, highest) age, whole five-year groups.
        weights: Per sex, item id -> weight (adding up to 1).
        cutoffs: Lowest total of excellent, good and pass.
    """

    id: str
    name: LocalizedText
    ages: AgeGroup
    weights: dict[Sex, dict[str, float]]
    cutoffs: dict[Grade, float]

    def grade(self, total: float) -> Grade:
        """The grade of a weighted total."""
        for grade in (Grade.EXCELLENT, Grade.GOOD, Grade.PASS):
            if total >= self.cutoffs[grade]:
                return grade
        return Grade.FAIL

    def band(self, points: float) -> Band:
        """An item's points as a band for the prescription suggestion: below the pass
        cut-off is "below", from pass to under excellent "normal" (合格 and 良好),
        excellent and above "above"."""
        if points >= self.cutoffs[Grade.EXCELLENT]:
            return Band.ABOVE
        if points >= self.cutoffs[Grade.PASS]:
            return Band.NORMAL
        return Band.BELOW


Rows = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class ScoringTable:
    """An installed scoring table.

    Attributes:
        id: The table's id.
        name: For people.
        standard: The standard it implements.
        source: Where the numbers come from.
        test_table: Made-up numbers (for tests and demonstrations only).
        batteries: By id.
        rows: (item id, sex, age group) -> rows of (lowest value, points).
    """

    id: str
    name: LocalizedText
    standard: str
    source: str
    test_table: bool
    batteries: dict[str, Battery]
    rows: dict[tuple[str, Sex, AgeGroup], Rows]

    def battery_for(self, age_years: int) -> Battery:
        """The battery covering the age; `ScoringError` listing the ranges if none."""
        for b in self.batteries.values():
            if b.ages[0] <= age_years <= b.ages[1]:
                return b
        ranges = ", ".join(f"{b.ages[0]}-{b.ages[1]}" for b in self.batteries.values())
        raise ScoringError(
            f"no battery of table {self.id!r} covers age {age_years}; "
            f"it covers {ranges}"
        )


# --- reading ---------------------------------------------------------------------


def _age_group(f: Fields, key: str) -> AgeGroup:
    m = _GROUP_RE.match(key)
    if m is None:
        raise f.fail(key, 'expected an age group like "60-64"')
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo % AGE_GROUP_YEARS or hi != lo + AGE_GROUP_YEARS - 1:
        raise f.fail(
            key,
            f"expected a five-year age group starting at a multiple of 5 "
            f'(e.g. "{lo - lo % 5}-{lo - lo % 5 + 4}"), got "{key}"',
        )
    return lo, hi


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _rows(f: Fields, key: str) -> Rows:
    out: list[tuple[float, float]] = []
    for i, row in enumerate(f.array(key, min_items=1)):
        if not (
            isinstance(row, list | tuple)
            and len(row) == 2
            and all(map(_is_number, row))
        ):
            raise f.fail(
                key,
                f"row {i}: expected [lowest value, points] (two numbers), got {row!r}",
            )
        value, points = float(row[0]), float(row[1])
        if not 0.0 <= points <= 100.0:
            raise f.fail(key, f"row {i}: expected points from 0 to 100, got {points:g}")
        if out and value <= out[-1][0]:
            raise f.fail(
                key,
                f"row {i}: lowest values must increase, got {value:g} after "
                f"{out[-1][0]:g}",
            )
        out.append((value, points))
    return tuple(out)


def _items(top: Fields) -> dict[tuple[str, Sex, AgeGroup], Rows]:
    items = top.table("items")
    rows: dict[tuple[str, Sex, AgeGroup], Rows] = {}
    for item_id in items.data:
        if item_id not in ITEMS:
            raise items.fail(item_id, f"unknown item; valid items: {', '.join(ITEMS)}")
        by_sex = items.table(item_id)
        by_sex.check_keys(tuple(Sex))
        for sex in by_sex.data:
            groups = by_sex.table(sex)
            for key in groups.data:
                rows[(item_id, Sex(sex), _age_group(groups, key))] = _rows(groups, key)
    return rows


def _battery(b: Fields) -> Battery:
    b.check_keys(
        ("id", "name", "ages", "weights", "grades"),
        ("id", "name", "ages", "weights", "grades"),
    )
    ages = b.array("ages")
    if (
        len(ages) != 2
        or not all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
        or ages[0] % AGE_GROUP_YEARS
        or (ages[1] + 1) % AGE_GROUP_YEARS
        or ages[1] <= ages[0]
    ):
        raise b.fail(
            "ages",
            f"expected [lowest, highest] covering whole five-year groups "
            f"(e.g. [60, 79]), got {ages!r}",
        )
    weights_table = b.table("weights")
    weights_table.check_keys(tuple(Sex))
    if not weights_table.data:
        raise b.fail("weights", "expected the item weights of at least one sex")
    weights: dict[Sex, dict[str, float]] = {}
    for sex in weights_table.data:
        w = weights_table.table(sex)
        for item_id in w.data:
            if item_id not in ITEMS:
                raise w.fail(item_id, f"unknown item; valid items: {', '.join(ITEMS)}")
        weights[Sex(sex)] = {k: w.number(k, positive=True, maximum=1.0) for k in w.data}
        total = sum(weights[Sex(sex)].values())
        if abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
            raise weights_table.fail(sex, f"weights add up to {total:g}, expected 1")
    g = b.table("grades")
    names = ("excellent", "good", "pass")
    g.check_keys(names, names)
    cutoffs = {Grade(n): g.number(n, minimum=0.0, maximum=100.0) for n in names}
    if not cutoffs[Grade.EXCELLENT] > cutoffs[Grade.GOOD] > cutoffs[Grade.PASS]:
        raise b.fail(
            "grades",
            "expected excellent > good > pass, got "
            + ", ".join(f"{k} {v:g}" for k, v in cutoffs.items()),
        )
    return Battery(
        id=b.ident("id"),
        name=b.text("name"),
        ages=(ages[0], ages[1]),
        weights=weights,
        cutoffs=cutoffs,
    )


def _check_coverage(
    top: Fields, battery: Battery, rows: Mapping[tuple[str, Sex, AgeGroup], Rows]
) -> None:
    groups = [
        (lo, lo + AGE_GROUP_YEARS - 1)
        for lo in range(battery.ages[0], battery.ages[1] + 1, AGE_GROUP_YEARS)
    ]
    for sex, weights in battery.weights.items():
        for item_id in weights:
            for group in groups:
                if (item_id, sex, group) not in rows:
                    raise top.error(
                        f"{top.source}: items.{item_id}.{sex}: missing age group "
                        f"{group[0]}-{group[1]} (battery {battery.id!r} weighs "
                        f"{item_id} for {sex} aged {battery.ages[0]}-{battery.ages[1]})"
                    )


def scoring_table_from_dict(
    data: Mapping[str, Any], source: str = "<memory>"
) -> ScoringTable:
    """Validate a scoring table document.

    Raises:
        ScoringTableError: anything malformed or missing, naming the key path.
    """
    top = Fields.root(data, source, ScoringTableError)
    keys = (
        "schema",
        "id",
        "name",
        "standard",
        "source",
        "test_table",
        "batteries",
        "items",
    )
    top.check_keys(keys, keys)
    schema = top.raw("schema")
    if isinstance(schema, bool) or schema != SCHEMA_VERSION:
        raise top.fail("schema", f"expected {SCHEMA_VERSION}, got {schema!r}")
    rows = _items(top)
    batteries: dict[str, Battery] = {}
    for b in top.tables("batteries", min_items=1):
        battery = _battery(b)
        if battery.id in batteries:
            raise b.fail("id", f"battery id {battery.id!r} is used twice")
        for other in batteries.values():
            if battery.ages[0] <= other.ages[1] and other.ages[0] <= battery.ages[1]:
                raise b.fail(
                    "ages",
                    f"ages {battery.ages[0]}-{battery.ages[1]} overlap battery "
                    f"{other.id!r} ({other.ages[0]}-{other.ages[1]})",
                )
        _check_coverage(top, battery, rows)
        batteries[battery.id] = battery
    return ScoringTable(
        id=top.string("id"),
        name=top.text("name"),
        standard=top.string("standard"),
        source=top.string("source"),
        test_table=top.boolean("test_table"),
        batteries=batteries,
        rows=rows,
    )


def scoring_table_from_toml(text: str, source: str = "<memory>") -> ScoringTable:
    """Parse and validate a scoring table file's text (what a centre uploads)."""
    data = parse_toml(text, source, ScoringTableError)
    return scoring_table_from_dict(data, source)


@functools.cache
def builtin_test_table() -> ScoringTable:
    """The TEST table shipped with MoveCoach: made-up numbers, for tests and demos."""
    path = TABLES_DIR / "test_table.toml"
    return scoring_table_from_toml(
        path.read_text(encoding="utf-8"), "tables/test_table.toml"
    )


# --- scoring ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemScore:
    """One item's result.

    Attributes:
        item_id: The item.
        value: As measured or entered, in the item's unit.
        points: On the 100-point scale.
        weight: Its weight in the battery.
    """

    item_id: str
    value: float
    points: float
    weight: float


@dataclass(frozen=True, slots=True)
class BatteryScore:
    """A battery scored with a table.

    Attributes:
        table_id: The table used.
        test_table: The table has made-up numbers: not a real grade.
        battery_id: The battery for the age.
        sex: The sex scored.
        age_group: The five-year group used.
        items: The scored items, in the battery's order.
        missing: Items of the battery with no result (no total or grade then).
        total: Weighted sum of the points, None while items are missing.
        grade: From the total, None while items are missing.
        summary: One line for people, en and zh-CN.
    """

    table_id: str
    test_table: bool
    battery_id: str
    sex: Sex
    age_group: AgeGroup
    items: tuple[ItemScore, ...]
    missing: tuple[str, ...]
    total: float | None
    grade: Grade | None
    summary: LocalizedText


def _points(rows: Rows, value: float) -> float | None:
    i = bisect.bisect_right([r[0] for r in rows], value) - 1
    return None if i < 0 else rows[i][1]


def _summary(
    total: float | None, grade: Grade | None, missing: tuple[str, ...], test: bool
) -> LocalizedText:
    if total is None or grade is None:
        names = [ITEMS[i].name for i in missing]
        out = {
            "en": "Not graded yet: missing " + ", ".join(n["en"] for n in names) + ".",
            "zh-CN": "尚未评级：缺少" + "、".join(n["zh-CN"] for n in names) + "。",
        }
    else:
        label = GRADE_LABELS[grade]
        out = {
            "en": f"Total {total:.1f} points: {label['en']}.",
            "zh-CN": f"总分{total:.1f}分：{label['zh-CN']}。",
        }
    if test:
        out = {
            "en": out["en"] + " (TEST table with made-up numbers: not a real grade.)",
            "zh-CN": out["zh-CN"] + "（测试用表，数值为虚构，并非真实评级。）",
        }
    return out


def score_battery(
    table: ScoringTable,
    *,
    sex: Sex,
    age_years: int,
    results: Mapping[str, float],
) -> BatteryScore:
    """Score a person's results with an installed table.

    Args:
        table: The centre's table.
        sex: The person's sex.
        age_years: Whole years at the test date.
        results: Item id -> value in the item's unit (camera items from the kiosk,
            the others entered by staff); any subset of the battery's items.

    Returns:
        Points per item; the weighted total and grade once every item has a result.

    Raises:
        ScoringError: no battery for the age, the battery does not weigh items for
            this sex, an item not in the battery, a value outside the item's plausible
            range or below the table's lowest row.
    """
    if isinstance(age_years, bool) or not isinstance(age_years, int):
        raise ScoringError(f"age_years must be whole years, got {age_years!r}")
    battery = table.battery_for(age_years)
    weights = battery.weights.get(sex)
    if weights is None:
        raise ScoringError(
            f"battery {battery.id!r} of table {table.id!r} has no items for {sex}"
        )
    lo = age_years - age_years % AGE_GROUP_YEARS
    group = (lo, lo + AGE_GROUP_YEARS - 1)
    scored: list[ItemScore] = []
    for item_id, value in results.items():
        if item_id not in weights:
            raise ScoringError(
                f"{item_id!r} is not in battery {battery.id!r} for {sex}; "
                f"valid: {', '.join(weights)}"
            )
        try:
            x = check_value(item_id, value)
        except ValueError as exc:
            raise ScoringError(str(exc)) from exc
        points = _points(table.rows[(item_id, sex, group)], x)
        if points is None:
            lowest = table.rows[(item_id, sex, group)][0][0]
            raise ScoringError(
                f"{item_id}: {x:g} is below the table's lowest value {lowest:g} for "
                f"{sex} aged {group[0]}-{group[1]}"
            )
        scored.append(ItemScore(item_id, x, points, weights[item_id]))
    order = list(weights)
    scored.sort(key=lambda s: order.index(s.item_id))
    missing = tuple(i for i in weights if i not in results)
    total = None if missing else sum(s.points * s.weight for s in scored)
    grade = None if total is None else battery.grade(total)
    return BatteryScore(
        table_id=table.id,
        test_table=table.test_table,
        battery_id=battery.id,
        sex=sex,
        age_group=group,
        items=tuple(scored),
        missing=missing,
        total=total,
        grade=grade,
        summary=_summary(total, grade, missing, table.test_table),
    )
