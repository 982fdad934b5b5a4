# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The items of a 体测 after the national standard (《国民体质测定标准》, 2023
revision) that MoveCoach knows: a closed registry, as `exercises.metrics.METRICS` is
for templates. A scoring table (table.py) may only name these ids.

Two kinds of item:

- **camera** items, measured at the kiosk: 30秒坐站, 2分钟原地高抬腿 and 闭眼单脚站立
  for ages 60-79; 1分钟仰卧起坐 and 俯卧撑 (men) / 跪卧撑 (women) for adults. Their
  protocols are data below (`CAMERA_PROTOCOLS`): duration, instructions, what is
  counted, which existing session in `exercises.assessments` can measure it and what
  is missing before it can.
- **staff** items, measured with the centre's instruments and typed in: grip strength,
  sit-and-reach, vital capacity, choice reaction time, body composition.

What is not from the standard: the item list and age groups follow issue 19, and the
protocol details marked in `verify` must be checked against the published standard
before a centre relies on them. `plausible` ranges are ours: they catch typing errors
(a grip of 350 kg), they are not norms.

Core module: stdlib only.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Final

from exercises.events import LocalizedText

__all__ = [
    "CAMERA_PROTOCOLS",
    "ITEMS",
    "CameraProtocol",
    "Item",
    "ItemSource",
    "check_value",
]


class ItemSource(enum.StrEnum):
    """Who measures an item."""

    CAMERA = "camera"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the battery.

    Attributes:
        id: Stable id (prefix `cn_`, apart from the Senior Fitness Test's ids).
        name: zh-CN as the standard names it, and en.
        unit: Unit of the value ("count", "s", "kg", "cm", "mL", "%", "kg/m2").
        unit_label: The unit for people.
        source: Camera or staff.
        plausible: (low, high) values accepted at entry; outside is a typing error.
    """

    id: str
    name: LocalizedText
    unit: str
    unit_label: LocalizedText
    source: ItemSource
    plausible: tuple[float, float]


_COUNT: Final[LocalizedText] = {"en": "times", "zh-CN": "次"}
_SECONDS: Final[LocalizedText] = {"en": "s", "zh-CN": "秒"}


def _items(*items: Item) -> dict[str, Item]:
    return {i.id: i for i in items}


ITEMS: Final[dict[str, Item]] = _items(
    Item(
        "cn_sit_stand_30s",
        {"en": "30-second sit-to-stand", "zh-CN": "30秒坐站"},
        "count",
        _COUNT,
        ItemSource.CAMERA,
        (0.0, 60.0),
    ),
    Item(
        "cn_high_knee_2min",
        {"en": "2-minute high-knee march in place", "zh-CN": "2分钟原地高抬腿"},
        "count",
        _COUNT,
        ItemSource.CAMERA,
        (0.0, 300.0),
    ),
    Item(
        "cn_one_leg_stand_eyes_closed",
        {"en": "One-leg stand, eyes closed", "zh-CN": "闭眼单脚站立"},
        "s",
        _SECONDS,
        ItemSource.CAMERA,
        (0.0, 600.0),
    ),
    Item(
        "cn_sit_up_1min",
        {"en": "1-minute sit-ups", "zh-CN": "1分钟仰卧起坐"},
        "count",
        _COUNT,
        ItemSource.CAMERA,
        (0.0, 120.0),
    ),
    Item(
        "cn_push_up",
        {"en": "Push-ups", "zh-CN": "俯卧撑"},
        "count",
        _COUNT,
        ItemSource.CAMERA,
        (0.0, 200.0),
    ),
    Item(
        "cn_knee_push_up",
        {"en": "Knee push-ups", "zh-CN": "跪卧撑"},
        "count",
        _COUNT,
        ItemSource.CAMERA,
        (0.0, 200.0),
    ),
    Item(
        "cn_grip_strength",
        {"en": "Grip strength", "zh-CN": "握力"},
        "kg",
        {"en": "kg", "zh-CN": "千克"},
        ItemSource.STAFF,
        (0.0, 120.0),
    ),
    Item(
        "cn_sit_and_reach",
        {"en": "Sit-and-reach", "zh-CN": "坐位体前屈"},
        "cm",
        {"en": "cm", "zh-CN": "厘米"},
        ItemSource.STAFF,
        (-40.0, 50.0),
    ),
    Item(
        "cn_vital_capacity",
        {"en": "Vital capacity", "zh-CN": "肺活量"},
        "mL",
        {"en": "mL", "zh-CN": "毫升"},
        ItemSource.STAFF,
        (0.0, 10_000.0),
    ),
    Item(
        "cn_choice_reaction_time",
        {"en": "Choice reaction time", "zh-CN": "选择反应时"},
        "s",
        _SECONDS,
        ItemSource.STAFF,
        (0.0, 10.0),
    ),
    Item(
        "cn_body_fat_percent",
        {"en": "Body fat", "zh-CN": "体脂率"},
        "%",
        {"en": "%", "zh-CN": "%"},
        ItemSource.STAFF,
        (1.0, 75.0),
    ),
    Item(
        "cn_bmi",
        {"en": "Body mass index", "zh-CN": "BMI"},
        "kg/m2",
        {"en": "kg/m²", "zh-CN": "千克/米²"},
        ItemSource.STAFF,
        (8.0, 80.0),
    ),
)
"""Every item a scoring table may name."""


def check_value(item_id: str, value: float) -> float:
    """A staff-entered (or measured) value, checked for the item.

    Raises:
        KeyError: unknown item (the message lists the valid ids).
        ValueError: not a finite number within the item's plausible range.
    """
    item = ITEMS.get(item_id)
    if item is None:
        raise KeyError(f"unknown item {item_id!r}; valid items: {', '.join(ITEMS)}")
    x = float(value)
    low, high = item.plausible
    if not (math.isfinite(x) and low <= x <= high):
        raise ValueError(
            f"{item_id}: expected a value from {low:g} to {high:g} {item.unit}, "
            f"got {value!r}"
        )
    return x


@dataclass(frozen=True, slots=True)
class CameraProtocol:
    """How a camera item runs at the kiosk (not built yet: this is its specification).

    Attributes:
        item_id: The item.
        ages: The age groups it is tested in, inclusive (lowest, highest).
        duration_s: The timed length, None when the test is not timed by a clock or
            the standard's rule is not known to us (see `verify`).
        camera_view: "side" or "front".
        instructions: Spoken before the test, en and zh-CN.
        counted: What the score is, en and zh-CN.
        uses: The existing code it builds on: dotted names of objects in
            `exercises`, or "template:<id>" for an exercise template (a test resolves
            every one).
        measured_by: How that code counts or times it.
        gaps: What is missing before the kiosk can run it (for developers).
        verify: Protocol details to check against the published standard.
    """

    item_id: str
    ages: tuple[int, int]
    duration_s: float | None
    camera_view: str
    instructions: LocalizedText
    counted: LocalizedText
    uses: tuple[str, ...]
    measured_by: str
    gaps: str
    verify: str


_ELDERS: Final[tuple[int, int]] = (60, 79)
_ADULTS: Final[tuple[int, int]] = (20, 59)

CAMERA_PROTOCOLS: Final[dict[str, CameraProtocol]] = {
    p.item_id: p
    for p in (
        CameraProtocol(
            item_id="cn_sit_stand_30s",
            ages=_ELDERS,
            duration_s=30.0,
            camera_view="side",
            instructions={
                "en": "Thirty-second sit-to-stand. Sit in the middle of the chair, "
                "feet flat, arms crossed over your chest. When I say go, stand up "
                "fully and sit back down as many times as you can in thirty seconds.",
                "zh-CN": "30秒坐站。请坐在椅子中间，双脚平放，双臂交叉抱于胸前。听到"
                "“开始”后，完全站起再坐下，30秒内尽可能多做。",
            },
            counted={
                "en": "Full stands (legs straight) in 30 seconds.",
                "zh-CN": "30秒内完全站起（双腿伸直）的次数。",
            },
            uses=("exercises.assessments.chair_stand.ChairStandSession",),
            measured_by="exercises.assessments.chair_stand: ChairStandSession "
            "(ChairStandCounter counts full stands, arms crossed, in 30 s)",
            gaps="A session id of its own scored against the installed table instead "
            "of the Senior Fitness Test norms (the counting can be reused as is if the "
            "rules match).",
            verify="Chair height; whether a stand more than halfway up at 30 s counts "
            "(our counter counts it, as the Senior Fitness Test does); whether hands "
            "on the knees void a stand.",
        ),
        CameraProtocol(
            item_id="cn_high_knee_2min",
            ages=_ELDERS,
            duration_s=120.0,
            camera_view="front",
            instructions={
                "en": "Two-minute high-knee march. Stand facing the screen. When I "
                "say go, march on the spot, lifting each knee up to the mark, as many "
                "times as you can in two minutes.",
                "zh-CN": "2分钟原地高抬腿。请面向屏幕站立。听到“开始”后，原地交替"
                "抬腿，膝盖抬到标记高度，2分钟内尽可能多做。",
            },
            counted={
                "en": "Knee lifts that reach the height mark in 2 minutes.",
                "zh-CN": "2分钟内膝盖达到标记高度的抬腿次数。",
            },
            uses=(
                "exercises.assessments.step_test.StepTestSession",
                "exercises.assessments.step_test.TARGET_FRACTION",
            ),
            measured_by="exercises.assessments.step_test: StepTestSession "
            "(KneeLiftCounter counts each knee's lifts to a calibrated target height)",
            gaps="The target: StepTestSession puts it midway between kneecap and iliac "
            "crest (TARGET_FRACTION of the knee-to-hip height); the national protocol "
            "uses a knee-height mark whose definition must be encoded (a target "
            "fraction option on the session). Scoring against the installed table.",
            verify="Where the mark is set; whether one knee's lifts or both knees' are "
            "counted (StepTestSession counts both and scores the right knee).",
        ),
        CameraProtocol(
            item_id="cn_one_leg_stand_eyes_closed",
            ages=_ELDERS,
            duration_s=None,
            camera_view="front",
            instructions={
                "en": "One-leg stand with eyes closed. Stand with your hands on your "
                "hips. When I say go, close your eyes and lift one foot. Stand as long "
                "as you can; the time stops when the foot touches the floor.",
                "zh-CN": "闭眼单脚站立。请双手叉腰站好。听到“开始”后，闭上眼睛，抬起"
                "一只脚，尽量保持平衡；脚落地时计时结束。",
            },
            counted={
                "en": "Seconds from lifting the foot until it touches down, the "
                "stance foot moves or the eyes open.",
                "zh-CN": "从抬脚到脚落地、支撑脚移动或睁眼的秒数。",
            },
            uses=("exercises.assessments.single_leg_stance.SingleLegStanceSession",),
            measured_by="exercises.assessments.single_leg_stance: "
            "SingleLegStanceSession (times lift-off to touch-down, hands on hips)",
            gaps="The camera cannot see closed eyes (BlazePose gives eye positions, "
            "not lids): staff must watch the eyes and stop the test with stop(); "
            "the stance foot moving (a hop) is not detected; the 60 s cap "
            "(max_s) must follow the standard.",
            verify="The maximum time; whether moving the stance foot or the hands "
            "leaving the hips ends the trial; trials per person (best of two?).",
        ),
        CameraProtocol(
            item_id="cn_sit_up_1min",
            ages=_ADULTS,
            duration_s=60.0,
            camera_view="side",
            instructions={
                "en": "One-minute sit-ups. Lie on your back, knees bent, feet flat. "
                "When I say go, sit up and lie back down as many times as you can in "
                "one minute.",
                "zh-CN": "1分钟仰卧起坐。请仰卧，屈膝，双脚平放。听到“开始”后，坐起"
                "再躺下，1分钟内尽可能多做。",
            },
            counted={
                "en": "Complete sit-ups in 60 seconds.",
                "zh-CN": "60秒内完成的仰卧起坐次数。",
            },
            uses=(
                "template:sit_up",
                "exercises.session.Session",
                "exercises.assessments.protocol.AssessmentSession",
            ),
            measured_by="exercises/templates/sit_up.toml with exercises.session "
            "(template rep counting); no timed assessment session",
            gaps="A 60 s AssessmentSession (instructions, countdown, timer) counting "
            "with the sit-up template's phases; the standard's criteria for a "
            "complete sit-up (elbows to knees, shoulders back to the mat).",
            verify="Hand position and what makes a sit-up count.",
        ),
        CameraProtocol(
            item_id="cn_push_up",
            ages=_ADULTS,
            duration_s=None,
            camera_view="side",
            instructions={
                "en": "Push-ups. Hands under your shoulders, body straight from head "
                "to heels. Lower your chest and push back up, as many as you can.",
                "zh-CN": "俯卧撑。双手位于肩膀下方，身体从头到脚保持一条直线。屈臂"
                "下降，再撑起，尽可能多做。",
            },
            counted={
                "en": "Complete push-ups with the body straight.",
                "zh-CN": "身体保持平直的完整俯卧撑次数。",
            },
            uses=("template:push_up", "exercises.session.Session"),
            measured_by="exercises/templates/push_up.toml with exercises.session "
            "(template rep counting); no assessment session",
            gaps="An assessment session with the standard's rule for ending (time "
            "limit or until failure) and for a complete push-up.",
            verify="Whether the test is timed, and for how long; the depth rule. "
            "Men's item per issue 19.",
        ),
        CameraProtocol(
            item_id="cn_knee_push_up",
            ages=_ADULTS,
            duration_s=None,
            camera_view="side",
            instructions={
                "en": "Knee push-ups. Knees on the mat, hands under your shoulders, "
                "body straight from head to knees. Lower your chest and push back up, "
                "as many as you can.",
                "zh-CN": "跪卧撑。双膝着垫，双手位于肩膀下方，身体从头到膝保持一条"
                "直线。屈臂下降，再撑起，尽可能多做。",
            },
            counted={
                "en": "Complete knee push-ups with the body straight.",
                "zh-CN": "身体保持平直的完整跪卧撑次数。",
            },
            uses=("template:push_up", "template:wall_push_up"),
            measured_by="none: no knee push-up template yet (push_up.toml expects "
            "straight legs; wall_push_up.toml is standing)",
            gaps="A knee push-up template (TOML plus a golden clip) and the same "
            "assessment session as push-ups.",
            verify="As for push-ups. Women's item per issue 19.",
        ),
    )
}
"""The kiosk protocols of the camera items (a specification: no session runs them
yet)."""
