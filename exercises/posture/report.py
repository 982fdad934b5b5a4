# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Plain-language reading of a posture result against stated thresholds, and the
comparison of two visits. A screen, never a diagnosis: above a threshold it refers the
person to a clinician; below it, it says what a camera cannot see.

Each figure gets one of four levels, with k = `COVERAGE` (about 95 %):

- WITHIN: |value| + k u <= threshold (below it even at the far end of the uncertainty);
- ABOVE: |value| - k u > threshold (above it even at the near end);
- BORDERLINE: in between: the capture cannot tell; repeat the screen;
- UNCLEAR: k u >= threshold: the capture was too unsteady to say anything.

The thresholds are data (`Threshold`), each with where it comes from. The defaults are
PLACEHOLDERS (`placeholder=True`): no published study gives a referral cut-off for
these camera figures; each default is derived, with the arithmetic in its `source`,
from a clinical convention for a related measure, to be confirmed or replaced by the
centre's clinician (docs/posture.md).

Core module: stdlib only.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from exercises.events import LocalizedText
from exercises.posture.measures import Figure
from exercises.posture.result import PostureResult

__all__ = [
    "CAMERA_LIMITS",
    "COVERAGE",
    "DEFAULT_THRESHOLDS",
    "Change",
    "Finding",
    "Level",
    "PostureAssessment",
    "Threshold",
    "assess",
    "compare_results",
]

COVERAGE: Final[float] = 2.0
"""Coverage factor: value +- 2 standard uncertainties (about 95 %) is what the screen
and the visit comparison treat as "could be"."""


class Level(enum.StrEnum):
    WITHIN = "within"
    BORDERLINE = "borderline"
    ABOVE = "above"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A referral threshold on the absolute value of one figure.

    Attributes:
        figure: Name of the figure (`FIGURES`).
        refer_above: |value| above which a clinician should look, in `unit`.
        unit: "deg" or "%H".
        source: Where the number comes from (shown in the docs and the coach view).
        placeholder: True when no published study set it for this camera figure.
    """

    figure: str
    refer_above: float
    unit: str
    source: str
    placeholder: bool


DEFAULT_THRESHOLDS: Final[tuple[Threshold, ...]] = (
    Threshold(
        "shoulder_tilt_deg",
        3.0,
        "deg",
        "PLACEHOLDER. A 2 cm height difference across a shoulder width of about "
        "38 cm is 3 deg. Uneven shoulders are one of the signs the school screening "
        "protocols inspect (GB/T 16133-2014 general inspection; SRS/POSNA/AAOS/AAP "
        "position statement, Hresko et al. 2016), but none gives a cut-off in degrees.",
        True,
    ),
    Threshold(
        "pelvic_tilt_deg",
        3.0,
        "deg",
        "PLACEHOLDER. About 1 cm of height difference between hip joint centres "
        "about 18 cm apart. Leg-length differences are common; about 2 cm is usually "
        "taken as clinically significant (Knutson 2005, Chiropr Osteopat 13:11), "
        "which would be about 6 deg here: the default is set lower for a screen.",
        True,
    ),
    Threshold(
        "trunk_shift_pct",
        1.25,
        "%H",
        "PLACEHOLDER. 2 cm for a person 160 cm tall, after the radiographic "
        "coronal-balance convention (C7 plumb line within 2 cm of the central "
        "sacral vertical line); the camera's shoulder-to-hip midpoint shift is a "
        "different, coarser measure.",
        True,
    ),
    Threshold(
        "head_tilt_deg",
        5.0,
        "deg",
        "PLACEHOLDER. No published cut-off; head tilt is reported to go with the "
        "other figures, not as a sign of scoliosis by itself.",
        True,
    ),
)

CAMERA_LIMITS: Final[LocalizedText] = {
    "en": "What a camera cannot see: the rib hump of the forward-bend test (Adams "
    "test, measured with a scoliometer) and the Cobb angle, which only an X-ray "
    "measures. Scoliosis is diagnosed from the Cobb angle. A result within the "
    "thresholds does not rule it out.",
    "zh-CN": "摄像头看不到的：前屈试验（Adams试验，用脊柱侧弯测量尺测量）中的"
    "剃刀背（肋骨隆起），以及只有X光片才能测量的Cobb角。脊柱侧弯要根据Cobb角诊断。"
    "各项数值在阈值以内并不能排除脊柱侧弯。",
}

_NAMES: Final[dict[str, LocalizedText]] = {
    "shoulder_tilt_deg": {"en": "Shoulders", "zh-CN": "双肩"},
    "pelvic_tilt_deg": {"en": "Pelvis", "zh-CN": "骨盆"},
    "trunk_shift_pct": {"en": "Trunk", "zh-CN": "躯干"},
    "head_tilt_deg": {"en": "Head", "zh-CN": "头部"},
}

# What the sign means, per figure: (positive, negative).
_SIDES: Final[dict[str, tuple[LocalizedText, LocalizedText]]] = {
    "shoulder_tilt_deg": (
        {"en": "left shoulder higher", "zh-CN": "左肩较高"},
        {"en": "right shoulder higher", "zh-CN": "右肩较高"},
    ),
    "pelvic_tilt_deg": (
        {"en": "left hip higher", "zh-CN": "左侧髋部较高"},
        {"en": "right hip higher", "zh-CN": "右侧髋部较高"},
    ),
    "trunk_shift_pct": (
        {"en": "shifted to the left", "zh-CN": "向左偏移"},
        {"en": "shifted to the right", "zh-CN": "向右偏移"},
    ),
    "head_tilt_deg": (
        {"en": "tilted to the right", "zh-CN": "向右歪"},
        {"en": "tilted to the left", "zh-CN": "向左歪"},
    ),
}

_LEVEL_WORDS: Final[dict[Level, LocalizedText]] = {
    Level.WITHIN: {"en": "within the screening threshold", "zh-CN": "在筛查阈值以内"},
    Level.BORDERLINE: {
        "en": "close to the screening threshold",
        "zh-CN": "接近筛查阈值",
    },
    Level.ABOVE: {"en": "above the screening threshold", "zh-CN": "超过筛查阈值"},
    Level.UNCLEAR: {
        "en": "not measured steadily enough to tell",
        "zh-CN": "测量不够稳定，无法判断",
    },
}

_OVERALL: Final[dict[Level, LocalizedText]] = {
    Level.ABOVE: {
        "en": "Some measurements are above the screening thresholds. This is not a "
        "diagnosis. Please show this result to a doctor or physiotherapist, who can "
        "examine your back.",
        "zh-CN": "部分测量值超过了筛查阈值。这不是诊断。"
        "请把这份结果给医生或康复治疗师看，由他们为您检查脊柱。",
    },
    Level.BORDERLINE: {
        "en": "Some measurements are close to the screening thresholds. Please do the "
        "screen again, standing relaxed and still. If it stays close, show the result "
        "to a doctor or physiotherapist.",
        "zh-CN": "部分测量值接近筛查阈值。请放松站稳后再测一次。"
        "如果仍然接近阈值，请把结果给医生或康复治疗师看。",
    },
    Level.UNCLEAR: {
        "en": "The camera could not measure steadily enough. Please stand still and "
        "do the screen again.",
        "zh-CN": "摄像头没能稳定地测量。请站稳不动，再测一次。",
    },
    Level.WITHIN: {
        "en": "All measurements are within the screening thresholds. If you or your "
        "family notice uneven shoulders, hips or a hump on the back, see a doctor.",
        "zh-CN": "各项测量值都在筛查阈值以内。"
        "如果您或家人发现双肩、髋部不平或背部隆起，请去看医生。",
    },
}
_SEVERITY: Final[tuple[Level, ...]] = (
    Level.ABOVE,
    Level.BORDERLINE,
    Level.UNCLEAR,
    Level.WITHIN,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One figure read against its threshold.

    Attributes:
        figure: Its name.
        value: The combined figure.
        threshold: The threshold it was read against.
        level: Where it stands.
        message: One plain sentence, both languages.
    """

    figure: str
    value: Figure
    threshold: Threshold
    level: Level
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class PostureAssessment:
    """The findings, the overall advice and what the camera cannot see."""

    findings: tuple[Finding, ...]
    level: Level
    advice: LocalizedText
    limits: LocalizedText


def _level(figure: Figure, threshold: float) -> Level:
    spread = COVERAGE * figure.uncertainty
    size = abs(figure.value)
    if spread >= threshold:
        return Level.UNCLEAR
    if size - spread > threshold:
        return Level.ABOVE
    if size + spread <= threshold:
        return Level.WITHIN
    return Level.BORDERLINE


def _amount(name: str, figure: Figure, result: PostureResult) -> LocalizedText:
    u = COVERAGE * figure.uncertainty
    if figure.unit == "deg":
        text = f"{abs(figure.value):.1f}° ± {u:.1f}°"
        return {"en": text, "zh-CN": text}
    cm = result.figure_cm(name)
    if cm is not None:
        a, b = abs(cm.value), COVERAGE * cm.uncertainty
        return {"en": f"{a:.1f} ± {b:.1f} cm", "zh-CN": f"{a:.1f}±{b:.1f}厘米"}
    a = abs(figure.value)
    return {
        "en": f"{a:.1f} ± {u:.1f} % of body height",
        "zh-CN": f"身高的{a:.1f}%±{u:.1f}%",
    }


def _message(
    name: str, figure: Figure, level: Level, result: PostureResult
) -> LocalizedText:
    side = _SIDES[name][0 if figure.value >= 0 else 1]
    amount = _amount(name, figure, result)
    words = _LEVEL_WORDS[level]
    label = _NAMES[name]
    return {
        "en": f"{label['en']}: {side['en']} by {amount['en']}, {words['en']}.",
        "zh-CN": f"{label['zh-CN']}：{side['zh-CN']}，{amount['zh-CN']}，"
        f"{words['zh-CN']}。",
    }


def assess(
    result: PostureResult,
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS,
) -> PostureAssessment:
    """Read a result against thresholds (see the module docstring).

    Raises:
        ValueError: a threshold names a figure the result lacks or has another unit.
    """
    findings = []
    for t in thresholds:
        figure = result.combined.get(t.figure)
        if figure is None or figure.unit != t.unit:
            raise ValueError(
                f"threshold for {t.figure!r} in {t.unit}: the result has "
                f"{'no such figure' if figure is None else figure.unit}"
            )
        level = _level(figure, t.refer_above)
        findings.append(
            Finding(
                t.figure, figure, t, level, _message(t.figure, figure, level, result)
            )
        )
    present = {f.level for f in findings}
    overall = next((lv for lv in _SEVERITY if lv in present), Level.WITHIN)
    return PostureAssessment(
        tuple(findings), overall, dict(_OVERALL[overall]), dict(CAMERA_LIMITS)
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One figure from one visit to the next.

    Attributes:
        figure: Its name.
        before: The earlier visit's combined figure.
        after: The later one.
        delta: after - before, in the figure's unit.
        uncertainty: Standard uncertainty of the delta, sqrt(u_before^2 + u_after^2).
        changed: |delta| > COVERAGE * uncertainty.
        closer_to_level: When changed, whether |after| < |before| (more even).
    """

    figure: str
    before: Figure
    after: Figure
    delta: float
    uncertainty: float
    changed: bool
    closer_to_level: bool | None


def compare_results(
    before: PostureResult, after: PostureResult
) -> Mapping[str, Change]:
    """Per figure both results have: whether it changed beyond the two captures'
    combined uncertainty. The day-to-day variation of how a person stands is not in
    that uncertainty (docs/posture.md): a change is a measured one, not yet a trend.

    Raises:
        ValueError: a shared figure has different units in the two results.
    """
    out = {}
    for name, b in before.combined.items():
        a = after.combined.get(name)
        if a is None:
            continue
        if a.unit != b.unit:
            raise ValueError(f"{name}: unit {b.unit} before, {a.unit} after")
        delta = a.value - b.value
        u = math.hypot(a.uncertainty, b.uncertainty)
        changed = abs(delta) > COVERAGE * u
        out[name] = Change(
            name,
            b,
            a,
            delta,
            u,
            changed,
            abs(a.value) < abs(b.value) if changed else None,
        )
    return out
