# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Senior Fitness Test norms: a result -> percentile, band and a plain explanation.

Source (see docs/assessments.md for the full citation and caveats):
    Rikli RE, Jones CJ. *Senior Fitness Test Manual*, 2nd ed. Champaign, IL: Human
    Kinetics, 2013; the "normal range of scores" tables for women and men (the middle
    50 % of scores, i.e. the 25th to 75th percentile, by 5-year age group 60-64 ...
    90-94). The same ranges were first published in Rikli RE, Jones CJ. Functional
    fitness normative scores for community-residing older adults, ages 60-94.
    J Aging Phys Act 1999;7:162-181, and are unchanged in the 1st edition (2001).

The values below were transcribed from widely reproduced copies of those tables, not
from the printed manual, so they must be checked against the manual before clinical use.
Cells we are least sure of are listed in `NormTable.uncertain` and reported as
`NormComparison.uncertain` (shown to staff, never to the elder).

Percentiles: only the 25th and 75th percentiles are known per age group and sex. We
model each group's scores as normally distributed with the 50th percentile at the
middle of the range and SD = (P75 - P25) / 1.349 (the interquartile range of a normal
distribution is 1.349 SD). The percentile of a score is then 100 * Phi((x - mid) / SD),
which passes exactly through 25 at P25, 50 at the midpoint and 75 at P75; between them
it is a smooth interpolation, beyond them an extrapolation along the normal tails. It is
rounded to a whole number and kept within [1, 99]: the tables carry no information
about the extreme tails.

Bands: "below" under P25, "normal" from P25 to P75 inclusive (the manual's ranges are
inclusive, e.g. "12-17 stands"), "above" over P75.

Ages: the tables cover 60 to 94. Other ages raise `AgeOutOfRangeError` unless
`clamp_age=True`, which compares with the nearest group and adds a note.

Core module: stdlib only (the tables are package data, `norms.toml`, read at import).
"""

from __future__ import annotations

import enum
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from exercises.events import LocalizedText

__all__ = [
    "AGE_BANDS",
    "NORMS",
    "NORMS_FILE",
    "SINGLE_LEG_STANCE_REFERENCE_S",
    "AgeOutOfRangeError",
    "Band",
    "NormComparison",
    "NormTable",
    "Sex",
    "age_band",
    "classify",
    "compare_to_norms",
    "percentile_of",
]


class Sex(enum.StrEnum):
    """The sexes the published norms are split by."""

    FEMALE = "female"
    MALE = "male"


class Band(enum.StrEnum):
    """Where a score lies against the normal range (25th-75th percentile)."""

    BELOW = "below"
    NORMAL = "normal"
    ABOVE = "above"


AGE_BANDS: Final[tuple[tuple[int, int], ...]] = (
    (60, 64),
    (65, 69),
    (70, 74),
    (75, 79),
    (80, 84),
    (85, 89),
    (90, 94),
)
"""The tables' age groups, inclusive."""

MIN_AGE: Final[int] = AGE_BANDS[0][0]
MAX_AGE: Final[int] = AGE_BANDS[-1][1]
# Plausible human ages; anything else is a data-entry error, never clamped.
_VALID_AGES: Final[tuple[int, int]] = (0, 130)

# SD of a normal distribution in units of its interquartile range: IQR = 2 * 0.6745 SD.
_IQR_PER_SD: Final[float] = 2.0 * 0.6744897501960817
# The tables say nothing about the extreme tails: report at most "1 in 100".
_PERCENTILE_LIMITS: Final[tuple[float, float]] = (1.0, 99.0)


@dataclass(frozen=True, slots=True)
class NormTable:
    """Normal ranges of one test.

    Attributes:
        test_id: The assessment's id (as in `AssessmentResult.test_id`).
        name: The test's name for people.
        unit: Unit of the scores ("stands", "curls", "steps", "in").
        unit_label: The unit as read by people.
        ranges: Per sex, one (P25, P75) per age group of `AGE_BANDS`, in `unit`.
        uncertain: (sex, first age of the group) cells we are not sure we transcribed
            correctly.
        source: Which published table the numbers come from.
    """

    test_id: str
    name: LocalizedText
    unit: str
    unit_label: LocalizedText
    ranges: dict[Sex, tuple[tuple[float, float], ...]]
    uncertain: frozenset[tuple[Sex, int]]
    source: str

    def __post_init__(self) -> None:
        for sex, rows in self.ranges.items():
            if len(rows) != len(AGE_BANDS):
                raise ValueError(
                    f"{self.test_id} {sex}: expected {len(AGE_BANDS)} age groups, "
                    f"got {len(rows)}"
                )
            for lo, hi in rows:
                if not lo < hi:
                    raise ValueError(
                        f"{self.test_id} {sex}: expected P25 < P75, got {lo}, {hi}"
                    )


NORMS_FILE: Final[Path] = Path(__file__).resolve().parent / "norms.toml"
"""The normal ranges as data: `source`, then one table per test id with `name`,
`unit`, `unit_label`, `female` and `male` (one [P25, P75] per age group of
`AGE_BANDS`) and `uncertain` ([sex, first age of the group] cells)."""


def _load_norms(path: Path) -> dict[str, NormTable]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    source = str(data.pop("source"))
    return {
        test_id: NormTable(
            test_id=test_id,
            name=dict(table["name"]),
            unit=str(table["unit"]),
            unit_label=dict(table["unit_label"]),
            # As written: whole numbers stay int, as the explanations print them.
            ranges={sex: tuple((lo, hi) for lo, hi in table[sex.value]) for sex in Sex},
            uncertain=frozenset(
                (Sex(sex), int(age)) for sex, age in table["uncertain"]
            ),
            source=source,
        )
        for test_id, table in data.items()
    }


NORMS: Final[dict[str, NormTable]] = _load_norms(NORMS_FILE)
"""Every test with published Senior Fitness Test norms, by test id."""

SINGLE_LEG_STANCE_REFERENCE_S: Final[dict[tuple[int, int], dict[Sex, float]]] = {
    (60, 69): {Sex.FEMALE: 25.1, Sex.MALE: 28.7},
    (70, 79): {Sex.FEMALE: 11.3, Sex.MALE: 18.3},
    (80, 99): {Sex.FEMALE: 7.4, Sex.MALE: 5.6},
}
"""Mean eyes-open single-leg stance time (s, best of 3 trials, 45 s ceiling) after
Springer BA et al., J Geriatr Phys Ther 2007;30(1):8-15. NOT part of the Senior Fitness
Test and recalled, not transcribed: unverified. It is documentation for staff only; the
single-leg stance result reports no percentile or band."""


class AgeOutOfRangeError(ValueError):
    """An age the norm tables do not cover (and `clamp_age` was not asked for)."""


@dataclass(frozen=True, slots=True)
class NormComparison:
    """A score against its age group's normal range.

    Attributes:
        test_id: Which test.
        value: The score, in `unit`.
        unit: Unit of the score and of `p25`/`p75`.
        sex: Which table.
        age_years: The person's age.
        age_band: (first, last) age of the group compared with.
        p25: The group's 25th percentile (lower end of the normal range).
        p75: The group's 75th percentile (upper end of the normal range).
        percentile: Estimated percentile of the score, 1-99 (see the module docstring).
        band: Below, within or above the normal range.
        explanation: One or two plain sentences for the person, en and zh-CN.
        note: Why another age group was used (age outside 60-94), or None.
        uncertain: The table cell is one we are not sure of (staff only).
        source: The published table.
    """

    test_id: str
    value: float
    unit: str
    sex: Sex
    age_years: int
    age_band: tuple[int, int]
    p25: float
    p75: float
    percentile: float
    band: Band
    explanation: LocalizedText
    note: LocalizedText | None
    uncertain: bool
    source: str


def age_band(age_years: int, *, clamp: bool = False) -> tuple[tuple[int, int], bool]:
    """The age group of `age_years`.

    Args:
        age_years: Whole years (a float is floored).
        clamp: Use the nearest group for ages outside 60-94 instead of raising.

    Returns:
        ((first, last) age of the group, whether it was clamped).

    Raises:
        AgeOutOfRangeError: outside 60-94 and `clamp` is False.
        ValueError: not a plausible age (negative, over 130, NaN).
    """
    if isinstance(age_years, bool) or not isinstance(age_years, int | float):
        raise TypeError(f"age_years must be a number, got {age_years!r}")
    if not math.isfinite(age_years) or not (
        _VALID_AGES[0] <= age_years <= _VALID_AGES[1]
    ):
        raise ValueError(
            f"age_years must be between {_VALID_AGES[0]} and {_VALID_AGES[1]}, "
            f"got {age_years!r}"
        )
    age = math.floor(age_years)
    for band in AGE_BANDS:
        if band[0] <= age <= band[1]:
            return band, False
    if not clamp:
        raise AgeOutOfRangeError(
            f"Senior Fitness Test norms cover ages {MIN_AGE}-{MAX_AGE}, got {age}; "
            "pass clamp_age=True to compare with the nearest age group"
        )
    return (AGE_BANDS[0] if age < MIN_AGE else AGE_BANDS[-1]), True


def percentile_of(value: float, p25: float, p75: float) -> float:
    """Estimated percentile (1-99, whole) of `value` in a group whose 25th and 75th
    percentiles are `p25` and `p75` (normal model, see the module docstring).

    Raises:
        ValueError: `p25` is not below `p75`, or `value` is not finite.
    """
    if not p25 < p75:
        raise ValueError(f"expected p25 < p75, got {p25}, {p75}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite score, got {value!r}")
    mid = (p25 + p75) / 2.0
    sd = (p75 - p25) / _IQR_PER_SD
    z = (value - mid) / sd
    pct = 50.0 * (1.0 + math.erf(z / math.sqrt(2.0)))
    lo, hi = _PERCENTILE_LIMITS
    return float(min(hi, max(lo, round(pct))))


def classify(value: float, p25: float, p75: float) -> Band:
    """Below, within (edges included) or above the normal range [p25, p75]."""
    if value < p25:
        return Band.BELOW
    if value > p75:
        return Band.ABOVE
    return Band.NORMAL


def _number(value: float, unit: str) -> str:
    if unit == "in":
        return f"{value:+.1f}".replace("+0.0", "0.0").replace("-0.0", "0.0")
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _amount(value: float, table: NormTable, lang: str) -> str:
    num = _number(value, table.unit)
    label = table.unit_label[lang]
    if table.unit == "in":
        cm = _number(value * 2.54, table.unit)
        return (
            f"{num} {label} ({cm} cm)" if lang == "en" else f"{num}{label}（{cm}厘米）"
        )
    return f"{num} {label}" if lang == "en" else f"{num}{label}"


def _ordinal(n: int) -> str:
    suffix = (
        "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    )
    return f"{n}{suffix}"


_WHO: Final[dict[Sex, LocalizedText]] = {
    Sex.FEMALE: {"en": "women", "zh-CN": "女性"},
    Sex.MALE: {"en": "men", "zh-CN": "男性"},
}


def _explain(
    table: NormTable,
    value: float,
    sex: Sex,
    band_ages: tuple[int, int],
    p25: float,
    p75: float,
    percentile: float,
    band: Band,
) -> LocalizedText:
    lo, hi = band_ages
    pct = int(percentile)
    who_en, who_zh = _WHO[sex]["en"], _WHO[sex]["zh-CN"]
    rng_en = f"{_number(p25, table.unit)} to {_number(p75, table.unit)}"
    rng_zh = f"{_number(p25, table.unit)}至{_number(p75, table.unit)}"
    where_en = {
        Band.BELOW: "below the normal range",
        Band.NORMAL: "within the normal range",
        Band.ABOVE: "above the normal range",
    }[band]
    where_zh = {
        Band.BELOW: "低于",
        Band.NORMAL: "处于",
        Band.ABOVE: "高于",
    }[band]
    en = (
        f"{_amount(value, table, 'en')} is {where_en} for {who_en} aged {lo} to {hi} "
        f"({rng_en} {table.unit_label['en']}). That is about the {_ordinal(pct)} "
        f"percentile: out of 100 {who_en} your age, about {pct} score lower."
    )
    zh = (
        f"{_amount(value, table, 'zh-CN')}，{where_zh}{lo}至{hi}岁{who_zh}的正常范围"
        f"（{rng_zh}{table.unit_label['zh-CN']}）。约为第{pct}百分位："
        f"每100位同龄{who_zh}中，约有{pct}位的成绩比您低。"
    )
    if band is Band.BELOW:
        en += " Regular practice can improve this; your coach can suggest exercises."
        zh += "坚持锻炼可以改善，教练可以为您推荐合适的练习。"
    elif band is Band.ABOVE:
        en += " Well done!"
        zh += "非常棒！"
    return {"en": en, "zh-CN": zh}


def _age_note(age: int, band_ages: tuple[int, int]) -> LocalizedText:
    lo, hi = band_ages
    if age < MIN_AGE:
        return {
            "en": f"The norms start at age {MIN_AGE}; compared with the {lo} to {hi} "
            "age group.",
            "zh-CN": f"常模从{MIN_AGE}岁开始，本次与{lo}至{hi}岁组比较。",
        }
    return {
        "en": f"The norms go up to age {MAX_AGE}; compared with the {lo} to {hi} age "
        "group.",
        "zh-CN": f"常模只到{MAX_AGE}岁，本次与{lo}至{hi}岁组比较。",
    }


def compare_to_norms(
    test_id: str,
    value: float,
    age_years: int,
    sex: Sex | str,
    *,
    clamp_age: bool = False,
) -> NormComparison:
    """Compare a score with the normal range of the person's age group and sex.

    Args:
        test_id: A key of `NORMS` ("chair_stand_30s", "arm_curl_30s", "step_test_2min",
            "chair_sit_and_reach", "back_scratch").
        value: The score in the table's unit (reach tests in inches, + = past the toes
            or overlapping fingers).
        age_years: Age in whole years.
        sex: `Sex` or "female"/"male".
        clamp_age: Ages outside 60-94 use the nearest group, with a note.

    Returns:
        The comparison, with an explanation in en and zh-CN.

    Raises:
        KeyError: unknown test (the message lists the valid ids).
        ValueError: unknown sex, implausible age or non-finite value.
        AgeOutOfRangeError: age outside 60-94 and `clamp_age` is False.
    """
    try:
        table = NORMS[test_id]
    except KeyError:
        raise KeyError(
            f"no norms for test {test_id!r}; valid tests: {', '.join(NORMS)}"
        ) from None
    try:
        sex = Sex(sex)
    except ValueError:
        valid = ", ".join(s.value for s in Sex)
        raise ValueError(f"sex must be one of {valid}, got {sex!r}") from None
    band_ages, clamped = age_band(age_years, clamp=clamp_age)
    p25, p75 = table.ranges[sex][AGE_BANDS.index(band_ages)]
    percentile = percentile_of(value, p25, p75)
    band = classify(value, p25, p75)
    age = math.floor(age_years)
    return NormComparison(
        test_id=test_id,
        value=float(value),
        unit=table.unit,
        sex=sex,
        age_years=age,
        age_band=band_ages,
        p25=float(p25),
        p75=float(p75),
        percentile=percentile,
        band=band,
        explanation=_explain(table, value, sex, band_ages, p25, p75, percentile, band),
        note=_age_note(age, band_ages) if clamped else None,
        uncertain=(sex, band_ages[0]) in table.uncertain,
        source=table.source,
    )
