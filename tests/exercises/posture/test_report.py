# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Reading a posture result against thresholds, and comparing two visits."""

from __future__ import annotations

import pytest

from exercises.posture.measures import FIGURES, Figure, View, ViewMeasurement
from exercises.posture.report import (
    CAMERA_LIMITS,
    COVERAGE,
    DEFAULT_THRESHOLDS,
    Level,
    Threshold,
    assess,
    compare_results,
)
from exercises.posture.result import PostureResult, combine_views

UNITS = {n: ("%H" if n.endswith("_pct") else "deg") for n in FIGURES}


def _result(
    values: dict[str, tuple[float, float]] | None = None,
    stature_cm: float | None = None,
) -> PostureResult:
    values = values or {}
    figures = {
        n: Figure(*values.get(n, (0.0, 0.2)), UNITS[n])  # type: ignore[misc]
        for n in FIGURES
    }
    return PostureResult(views=(), combined=figures, stature_cm=stature_cm)


@pytest.mark.parametrize(
    ("value", "u", "level"),
    [
        pytest.param(1.0, 0.3, Level.WITHIN, id="well-below"),
        pytest.param(2.4, 0.3, Level.WITHIN, id="below-by-2u"),
        pytest.param(2.5, 0.3, Level.BORDERLINE, id="within-2u-below"),
        pytest.param(3.5, 0.3, Level.BORDERLINE, id="within-2u-above"),
        pytest.param(3.7, 0.3, Level.ABOVE, id="above-by-more-than-2u"),
        pytest.param(-4.0, 0.3, Level.ABOVE, id="negative-side"),
        pytest.param(0.0, 1.5, Level.UNCLEAR, id="too-unsteady"),
    ],
)
def test_levels_against_a_3_degree_threshold(
    value: float, u: float, level: Level
) -> None:
    a = assess(_result({"shoulder_tilt_deg": (value, u)}))
    finding = next(f for f in a.findings if f.figure == "shoulder_tilt_deg")
    assert finding.level is level
    assert finding.threshold.refer_above == 3.0


@pytest.mark.parametrize(
    ("levels", "overall"),
    [
        pytest.param({}, Level.WITHIN, id="all-within"),
        pytest.param({"head_tilt_deg": (5.0, 0.3)}, Level.BORDERLINE, id="one-close"),
        pytest.param(
            {"head_tilt_deg": (5.0, 0.3), "pelvic_tilt_deg": (8.0, 0.3)},
            Level.ABOVE,
            id="above-wins",
        ),
        pytest.param({"trunk_shift_pct": (0.0, 2.0)}, Level.UNCLEAR, id="unclear"),
    ],
)
def test_overall_advice(levels: dict[str, tuple[float, float]], overall: Level) -> None:
    a = assess(_result(levels))
    assert a.level is overall
    assert set(a.advice) == {"en", "zh-CN"}
    assert a.limits == CAMERA_LIMITS
    if overall is Level.ABOVE:
        assert "not a diagnosis" in a.advice["en"]
        assert "不是诊断" in a.advice["zh-CN"]


def test_camera_limits_name_the_rib_hump_and_cobb_angle() -> None:
    assert "rib hump" in CAMERA_LIMITS["en"]
    assert "Cobb" in CAMERA_LIMITS["en"]
    assert "Cobb" in CAMERA_LIMITS["zh-CN"]
    assert "剃刀背" in CAMERA_LIMITS["zh-CN"]


def test_messages_name_the_side_and_the_amount() -> None:
    a = assess(
        _result(
            {"shoulder_tilt_deg": (-4.2, 0.3), "trunk_shift_pct": (1.25, 0.1)},
            stature_cm=160.0,
        )
    )
    by = {f.figure: f.message for f in a.findings}
    assert by["shoulder_tilt_deg"] == {
        "en": "Shoulders: right shoulder higher by 4.2° ± 0.6°, above the screening "
        "threshold.",
        "zh-CN": "双肩：右肩较高，4.2° ± 0.6°，超过筛查阈值。",
    }
    assert by["trunk_shift_pct"]["en"] == (
        "Trunk: shifted to the left by 2.0 ± 0.3 cm, close to the screening threshold."
    )
    assert (
        by["trunk_shift_pct"]["zh-CN"] == "躯干：向左偏移，2.0±0.3厘米，接近筛查阈值。"
    )
    no_stature = assess(_result({"trunk_shift_pct": (1.25, 0.1)}))
    msg = next(f.message for f in no_stature.findings if f.figure == "trunk_shift_pct")
    assert "1.2 ± 0.2 % of body height" in msg["en"]


def test_every_default_threshold_is_marked_and_sourced() -> None:
    assert {t.figure for t in DEFAULT_THRESHOLDS} == {
        "shoulder_tilt_deg",
        "pelvic_tilt_deg",
        "trunk_shift_pct",
        "head_tilt_deg",
    }
    for t in DEFAULT_THRESHOLDS:
        assert t.placeholder
        assert t.source.startswith("PLACEHOLDER")
        assert t.unit == UNITS[t.figure]


def test_a_threshold_in_the_wrong_unit_is_refused() -> None:
    bad = (Threshold("shoulder_tilt_deg", 1.0, "%H", "test", True),)
    with pytest.raises(ValueError, match="shoulder_tilt_deg"):
        assess(_result(), bad)


@pytest.mark.parametrize(
    ("before", "after", "changed", "closer"),
    [
        pytest.param((4.0, 0.3), (1.0, 0.3), True, True, id="improved"),
        pytest.param((1.0, 0.3), (3.0, 0.3), True, False, id="worse"),
        pytest.param((2.0, 0.3), (2.8, 0.3), False, None, id="within-uncertainty"),
        pytest.param((-2.0, 0.3), (2.0, 0.3), True, False, id="other-side-same-size"),
    ],
)
def test_compare_visits(
    before: tuple[float, float],
    after: tuple[float, float],
    changed: bool,
    closer: bool | None,
) -> None:
    changes = compare_results(
        _result({"shoulder_tilt_deg": before}), _result({"shoulder_tilt_deg": after})
    )
    c = changes["shoulder_tilt_deg"]
    assert c.delta == pytest.approx(after[0] - before[0])
    assert c.uncertainty == pytest.approx((before[1] ** 2 + after[1] ** 2) ** 0.5)
    assert c.changed is changed
    assert c.closer_to_level is closer
    assert set(changes) == set(FIGURES)
    assert COVERAGE == 2.0


def test_compare_refuses_mixed_units() -> None:
    a = _result()
    b = PostureResult((), {"shoulder_tilt_deg": Figure(1.0, 0.1, "%H")})
    with pytest.raises(ValueError, match="unit"):
        compare_results(a, b)


def _view(view: View, value: float, u: float) -> ViewMeasurement:
    figures = {n: Figure(value, u, UNITS[n]) for n in FIGURES}
    return ViewMeasurement(view, figures, 12, 12.0, 0, 1000, 0.8, {})


def test_combining_two_views_widens_by_their_disagreement() -> None:
    r = combine_views((_view(View.FRONT, 2.0, 0.3), _view(View.BACK, 3.0, 0.4)))
    f = r.combined["shoulder_tilt_deg"]
    assert f.value == pytest.approx(2.5)
    assert f.uncertainty == pytest.approx(((0.09 + 0.16) / 4 + 0.25) ** 0.5)
    assert r.view(View.BACK) is r.views[1]
    one = combine_views((_view(View.BACK, 2.0, 0.3),))
    assert one.combined["shoulder_tilt_deg"] == Figure(2.0, 0.3, "deg")
    assert one.view(View.FRONT) is None
    assert one.figure_cm("shoulder_tilt_deg") is None


@pytest.mark.parametrize(
    "views",
    [
        pytest.param((), id="none"),
        pytest.param((View.FRONT, View.FRONT), id="same-twice"),
    ],
)
def test_combine_refuses_other_sets(views: tuple[View, ...]) -> None:
    with pytest.raises(ValueError, match="front and/or one back"):
        combine_views(tuple(_view(v, 0.0, 0.1) for v in views))
