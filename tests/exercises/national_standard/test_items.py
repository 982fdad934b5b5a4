"""exercises.national_standard.items: the registry and the camera protocols as data."""

from __future__ import annotations

import importlib

import pytest

from exercises.national_standard import (
    CAMERA_PROTOCOLS,
    ITEMS,
    ItemSource,
    check_value,
)
from exercises.spec import builtin_specs

ISSUE_19_CAMERA_ITEMS = {
    # 60-79: 30秒坐站, 2分钟原地高抬腿, 闭眼单脚站立;
    # adults: 1分钟仰卧起坐, 俯卧撑/跪卧撑.
    "cn_sit_stand_30s": ((60, 79), 30.0),
    "cn_high_knee_2min": ((60, 79), 120.0),
    "cn_one_leg_stand_eyes_closed": ((60, 79), None),
    "cn_sit_up_1min": ((20, 59), 60.0),
    "cn_push_up": ((20, 59), None),
    "cn_knee_push_up": ((20, 59), None),
}
STAFF_ITEMS = {
    "cn_grip_strength",
    "cn_sit_and_reach",
    "cn_vital_capacity",
    "cn_choice_reaction_time",
    "cn_body_fat_percent",
    "cn_bmi",
}


def test_registry() -> None:
    camera = {i.id for i in ITEMS.values() if i.source is ItemSource.CAMERA}
    staff = {i.id for i in ITEMS.values() if i.source is ItemSource.STAFF}
    assert camera == set(ISSUE_19_CAMERA_ITEMS)
    assert staff == STAFF_ITEMS
    for item in ITEMS.values():
        assert set(item.name) == {"en", "zh-CN"}
        assert set(item.unit_label) == {"en", "zh-CN"}
        low, high = item.plausible
        assert low < high


def test_camera_protocols() -> None:
    assert set(CAMERA_PROTOCOLS) == set(ISSUE_19_CAMERA_ITEMS)
    for item_id, (ages, duration_s) in ISSUE_19_CAMERA_ITEMS.items():
        p = CAMERA_PROTOCOLS[item_id]
        assert (p.ages, p.duration_s) == (ages, duration_s)
        assert p.camera_view in ("side", "front")
        for text in (p.instructions, p.counted):
            assert set(text) == {"en", "zh-CN"} and all(text.values())
        assert p.uses and p.measured_by and p.gaps and p.verify


@pytest.mark.parametrize("item_id", sorted(CAMERA_PROTOCOLS))
def test_protocol_references_resolve(item_id: str) -> None:
    """What a protocol says it builds on exists in the tree."""
    specs = builtin_specs()
    for ref in CAMERA_PROTOCOLS[item_id].uses:
        if ref.startswith("template:"):
            assert ref.removeprefix("template:") in specs
            continue
        module, _, name = ref.rpartition(".")
        assert hasattr(importlib.import_module(module), name), ref


@pytest.mark.parametrize(
    ("item_id", "value", "expected"),
    [
        pytest.param("cn_grip_strength", 23, 23.0, id="int"),
        pytest.param("cn_sit_and_reach", -12.5, -12.5, id="negative-reach"),
        pytest.param(
            "cn_vital_capacity",
            12_000,
            r"^cn_vital_capacity: expected a value from 0 to 10000 mL, got 12000$",
            id="implausible",
        ),
        pytest.param(
            "cn_bmi",
            float("inf"),
            r"^cn_bmi: expected a value from 8 to 80 kg/m2, got inf$",
            id="infinite",
        ),
    ],
)
def test_check_value(item_id: str, value: float, expected: float | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            check_value(item_id, value)
    else:
        assert check_value(item_id, value) == expected


def test_check_value_unknown_item() -> None:
    with pytest.raises(
        KeyError, match=r"unknown item 'grip'; valid items: cn_sit_stand_30s"
    ):
        check_value("grip", 20)
