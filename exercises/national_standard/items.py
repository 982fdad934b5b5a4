"""The items of a 体测 after the national standard (《国民体质测定标准》, 2023
revision) that MoveCoach knows: a closed registry, as `exercises.metrics.METRICS` is
for templates. A scoring table (table.py) may only name these ids.

Two kinds of item:

- **camera** items, measured at the kiosk: 30秒坐站, 2分钟原地高抬腿 and 闭眼单脚站立
  for ages 60-79; 1分钟仰卧起坐 and 俯卧撑 (men) / 跪卧撑 (women) for adults. Their
  protocols are data (`CAMERA_PROTOCOLS`, read from `items.toml` with `ITEMS`):
  duration, instructions, what is counted, which existing session in
  `exercises.assessments` can measure it and what is missing before it can.
- **staff** items, measured with the centre's instruments and typed in: grip strength,
  sit-and-reach, vital capacity, choice reaction time, body composition.

What is not from the standard: the item list and age groups follow issue 19, and the
protocol details marked in `verify` must be checked against the published standard
before a centre relies on them. `plausible` ranges are ours: they catch typing errors
(a grip of 350 kg), they are not norms.

Core module: stdlib only (the registry is package data, `items.toml`, read at import).
"""

from __future__ import annotations

import enum
import functools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exercises.events import LocalizedText

__all__ = [
    "CAMERA_PROTOCOLS",
    "ITEMS",
    "ITEMS_FILE",
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


ITEMS_FILE: Final[Path] = Path(__file__).resolve().parent / "items.toml"
"""The registry as data: `[items.<id>]` (name, unit, unit_label, source, plausible) and
`[camera.<id>]` (the fields of `CameraProtocol`, `duration_s` absent when untimed)."""


@functools.cache
def _data() -> dict[str, Any]:
    with ITEMS_FILE.open("rb") as f:
        return tomllib.load(f)


def _plausible(v: Any) -> tuple[float, float]:
    low, high = v
    return float(low), float(high)


ITEMS: Final[dict[str, Item]] = {
    item_id: Item(
        item_id,
        dict(t["name"]),
        str(t["unit"]),
        dict(t["unit_label"]),
        ItemSource(t["source"]),
        _plausible(t["plausible"]),
    )
    for item_id, t in _data()["items"].items()
}
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


CAMERA_PROTOCOLS: Final[dict[str, CameraProtocol]] = {
    item_id: CameraProtocol(
        item_id=item_id,
        ages=(int(t["ages"][0]), int(t["ages"][1])),
        duration_s=None if "duration_s" not in t else float(t["duration_s"]),
        camera_view=str(t["camera_view"]),
        instructions=dict(t["instructions"]),
        counted=dict(t["counted"]),
        uses=tuple(t["uses"]),
        measured_by=str(t["measured_by"]),
        gaps=str(t["gaps"]),
        verify=str(t["verify"]),
    )
    for item_id, t in _data()["camera"].items()
}
"""The kiosk protocols of the camera items (a specification: no session runs them
yet)."""
