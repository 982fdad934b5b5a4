"""Norms: band edges, percentiles, sexes, age groups, out-of-range ages, texts."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from exercises.assessments.norms import (
    AGE_BANDS,
    NORMS,
    AgeOutOfRangeError,
    Band,
    Sex,
    age_band,
    classify,
    compare_to_norms,
    percentile_of,
)

F, M = Sex.FEMALE, Sex.MALE


@pytest.mark.parametrize(
    ("test_id", "age", "sex", "value", "band", "percentile"),
    [
        # Women 70-74, chair stand normal range 10-15.
        pytest.param("chair_stand_30s", 72, F, 9, Band.BELOW, None, id="below-p25"),
        pytest.param("chair_stand_30s", 72, F, 10, Band.NORMAL, 25, id="at-p25"),
        pytest.param("chair_stand_30s", 72, F, 12.5, Band.NORMAL, 50, id="mid"),
        pytest.param("chair_stand_30s", 72, F, 15, Band.NORMAL, 75, id="at-p75"),
        pytest.param("chair_stand_30s", 72, F, 16, Band.ABOVE, None, id="above-p75"),
        # The same score is in a different place for men 70-74 (12-17).
        pytest.param("chair_stand_30s", 72, M, 11, Band.BELOW, None, id="men-below"),
        pytest.param("chair_stand_30s", 72, M, 12, Band.NORMAL, 25, id="men-at-p25"),
        # Age-group edges: 64 is in 60-64 (women 12-17), 65 in 65-69 (11-16).
        pytest.param("chair_stand_30s", 64, F, 11, Band.BELOW, None, id="age-64"),
        pytest.param("chair_stand_30s", 65, F, 11, Band.NORMAL, 25, id="age-65"),
        pytest.param("chair_stand_30s", 94, M, 7, Band.NORMAL, 25, id="age-94"),
        pytest.param("arm_curl_30s", 80, M, 19, Band.NORMAL, 75, id="curl-men-80"),
        pytest.param("arm_curl_30s", 80, F, 17, Band.ABOVE, None, id="curl-women-80"),
        pytest.param("step_test_2min", 67, F, 90, Band.NORMAL, 50, id="step-mid"),
        pytest.param("step_test_2min", 67, M, 85, Band.BELOW, None, id="step-men"),
        pytest.param(
            "chair_sit_and_reach", 61, F, -0.5, Band.NORMAL, 25, id="reach-inches"
        ),
        pytest.param("back_scratch", 76, M, -9.5, Band.BELOW, None, id="scratch"),
    ],
)
def test_bands_and_percentiles(
    test_id: str,
    age: int,
    sex: Sex,
    value: float,
    band: Band,
    percentile: float | None,
) -> None:
    c = compare_to_norms(test_id, value, age, sex)
    assert c.band is band
    if percentile is not None:
        assert c.percentile == percentile
    elif band is Band.BELOW:
        assert 1 <= c.percentile < 25
    else:
        assert 75 < c.percentile <= 99
    assert c.note is None


@pytest.mark.parametrize(
    ("age", "clamp", "expectation", "band_ages", "noted"),
    [
        pytest.param(
            59,
            False,
            pytest.raises(AgeOutOfRangeError, match="60-94"),
            None,
            False,
            id="59-raises",
        ),
        pytest.param(59, True, nullcontext(), (60, 64), True, id="59-nearest"),
        pytest.param(
            95, False, pytest.raises(AgeOutOfRangeError), None, False, id="95-raises"
        ),
        pytest.param(101, True, nullcontext(), (90, 94), True, id="101-nearest"),
        pytest.param(60, False, nullcontext(), (60, 64), False, id="60"),
        pytest.param(94.9, False, nullcontext(), (90, 94), False, id="94.9-floored"),
        pytest.param(
            -1,
            True,
            pytest.raises(ValueError, match="between"),
            None,
            False,
            id="negative-never-clamped",
        ),
        pytest.param(
            200,
            True,
            pytest.raises(ValueError, match="between"),
            None,
            False,
            id="implausible",
        ),
        pytest.param(
            float("nan"), True, pytest.raises(ValueError), None, False, id="nan"
        ),
    ],
)
def test_ages(
    age: float,
    clamp: bool,
    expectation: AbstractContextManager[Any],
    band_ages: tuple[int, int] | None,
    noted: bool,
) -> None:
    with expectation:
        c = compare_to_norms("arm_curl_30s", 15, age, "female", clamp_age=clamp)  # type: ignore[arg-type]
        assert c.age_band == band_ages
        assert (c.note is not None) is noted
        if noted:
            assert c.note is not None and set(c.note) == {"en", "zh-CN"}
            assert f"{band_ages[0]}" in c.note["en"]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(
            lambda: compare_to_norms("six_minute_walk", 500, 70, F),
            KeyError,
            "valid tests: chair_stand_30s",
            id="unknown-test-lists-valid",
        ),
        pytest.param(
            lambda: compare_to_norms("chair_stand_30s", 12, 70, "other"),
            ValueError,
            "female, male",
            id="unknown-sex",
        ),
        pytest.param(
            lambda: compare_to_norms("chair_stand_30s", float("nan"), 70, F),
            ValueError,
            "finite",
            id="nan-score",
        ),
        pytest.param(
            lambda: percentile_of(10, 15, 10), ValueError, "p25 < p75", id="bad-range"
        ),
    ],
)
def test_errors(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_percentile_is_monotonic_and_bounded() -> None:
    values = [percentile_of(x / 2, 10, 15) for x in range(-20, 80)]
    assert values == sorted(values)
    assert min(values) == 1 and max(values) == 99


@pytest.mark.parametrize(
    ("value", "band"),
    [(9.99, Band.BELOW), (10, Band.NORMAL), (15, Band.NORMAL), (15.01, Band.ABOVE)],
)
def test_classify_edges_are_inclusive(value: float, band: Band) -> None:
    assert classify(value, 10, 15) is band


def test_tables_are_complete_and_ordered() -> None:
    for table in NORMS.values():
        assert set(table.ranges) == {F, M}
        for rows in table.ranges.values():
            assert len(rows) == len(AGE_BANDS)
            assert all(lo < hi for lo, hi in rows)
        for sex, first_age in table.uncertain:
            assert sex in (F, M) and first_age in [b[0] for b in AGE_BANDS]
        assert "Rikli" in table.source
        assert set(table.name) == set(table.unit_label) == {"en", "zh-CN"}


def test_counts_decline_with_age_as_published() -> None:
    """A transcription check: in every count test the 25th percentile and the middle
    of the range never rise with age. (The 75th percentile may: men's step test is
    87-115 at 60-64 and 86-116 at 65-69 in the published table.)"""
    for test_id in ("chair_stand_30s", "arm_curl_30s", "step_test_2min"):
        for rows in NORMS[test_id].ranges.values():
            p25 = [r[0] for r in rows]
            mid = [(r[0] + r[1]) / 2 for r in rows]
            assert p25 == sorted(p25, reverse=True)
            assert mid == sorted(mid, reverse=True)


def test_explanations_in_both_languages_with_the_numbers() -> None:
    c = compare_to_norms("chair_stand_30s", 12, 72, F)
    assert set(c.explanation) == {"en", "zh-CN"}
    en, zh = c.explanation["en"], c.explanation["zh-CN"]
    assert "12 stands" in en and "70 to 74" in en and "10 to 15" in en
    assert "within the normal range" in en and "45th percentile" in en
    assert "12次" in zh and "70至74岁女性" in zh and "第45百分位" in zh
    below = compare_to_norms("chair_stand_30s", 5, 72, M).explanation
    assert (
        "below" in below["en"] and "低于" in below["zh-CN"] and "男性" in below["zh-CN"]
    )
    reach = compare_to_norms("back_scratch", -2.0, 72, F).explanation
    assert "-2.0 in (-5.1 cm)" in reach["en"] and "厘米" in reach["zh-CN"]


def test_uncertain_cells_are_reported() -> None:
    assert compare_to_norms("chair_stand_30s", 8, 91, F).uncertain
    assert not compare_to_norms("chair_stand_30s", 8, 91, M).uncertain


def test_age_band_lookup() -> None:
    assert age_band(77) == ((75, 79), False)
    assert age_band(30, clamp=True) == ((60, 64), True)
