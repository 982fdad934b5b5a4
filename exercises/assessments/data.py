# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""What each assessment protocol is, as data: `protocols.toml` (name, unit, duration,
camera view and every spoken text per protocol) read once into `ProtocolInfo`.

A protocol's code keeps only what is code: what a frame shows and how it counts. Its
texts and facts come from the file, so a wording fix or a translation is a data change.

File layout, one table per test id:

    [arm_curl_30s]
    name = { en = "30-second arm curl", zh-CN = "30秒手臂弯举" }
    unit = "curls"
    unit_label = { en = "curls", zh-CN = "次" }
    duration_s = 30               # absent: the trial ends by its own rule
    camera_view = "side"          # "side" | "front"
    [arm_curl_30s.texts]          # instructions, start_position, countdown, go + own
    instructions.en = "..."
    instructions.zh-CN = "..."

Core module: stdlib only (the file is package data, read on first use).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exercises.assessments.events import AssessmentPhase
from exercises.events import LocalizedText

__all__ = [
    "LANGUAGES",
    "NO_NORMS",
    "PROTOCOLS_FILE",
    "ProtocolInfo",
    "parse_protocols",
    "protocol_info",
    "protocol_texts",
    "tick_text",
]

PROTOCOLS_FILE: Final[Path] = Path(__file__).resolve().parent / "protocols.toml"
LANGUAGES: Final[frozenset[str]] = frozenset({"en", "zh-CN"})
CAMERA_VIEWS: Final[frozenset[str]] = frozenset({"side", "front"})

# The texts every protocol speaks, by phase; a protocol adds its own (cues, rejections).
_PHASE_TEXTS: Final[dict[AssessmentPhase, str]] = {
    AssessmentPhase.INSTRUCTIONS: "instructions",
    AssessmentPhase.COUNTDOWN: "countdown",
    AssessmentPhase.RUNNING: "go",
}
_REQUIRED_TEXTS: Final[tuple[str, ...]] = (*_PHASE_TEXTS.values(), "start_position")
_KEYS: Final[frozenset[str]] = frozenset(
    {"name", "unit", "unit_label", "duration_s", "camera_view", "texts"}
)


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """What a protocol is, for the kiosk and the records.

    Attributes:
        test_id: Stable id ("chair_stand_30s"); the key of its norms, if any.
        name: For people.
        unit: Unit of the score ("stands", "curls", "steps", "s").
        unit_label: The unit as read by people.
        duration_ms: Fixed test time, or None for a trial that ends by its own rule.
        camera_view: Where the camera should see the person from ("side", "front").
        say: Spoken text per phase (instructions, countdown, running = "Go!").
        start_position: How to get into the start position (the reminder).
    """

    test_id: str
    name: LocalizedText
    unit: str
    unit_label: LocalizedText
    duration_ms: int | None
    camera_view: str
    say: Mapping[AssessmentPhase, LocalizedText]
    start_position: LocalizedText


_TICK: Final[dict[int, LocalizedText]] = {
    1: {"en": "One", "zh-CN": "一"},
    2: {"en": "Two", "zh-CN": "二"},
    3: {"en": "Three", "zh-CN": "三"},
    4: {"en": "Four", "zh-CN": "四"},
    5: {"en": "Five", "zh-CN": "五"},
}

NO_NORMS: Final[LocalizedText] = {
    "en": "Enter age and sex to compare with people of the same age.",
    "zh-CN": "输入年龄和性别后，可以与同龄人比较。",
}
"""The explanation when the subject's age or sex is unknown."""


def tick_text(seconds_left: int) -> LocalizedText:
    """The spoken countdown number."""
    return dict(
        _TICK.get(seconds_left, {"en": str(seconds_left), "zh-CN": str(seconds_left)})
    )


def _text(value: Any, where: str) -> LocalizedText:
    if not isinstance(value, dict) or set(value) != LANGUAGES:
        raise ValueError(
            f"{where}: expected a text in {sorted(LANGUAGES)}, got {value!r}"
        )
    if not all(isinstance(v, str) and v for v in value.values()):
        raise ValueError(f"{where}: expected non-empty strings, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


def parse_protocols(
    data: Mapping[str, Any], source: str = PROTOCOLS_FILE.name
) -> dict[str, tuple[ProtocolInfo, dict[str, LocalizedText]]]:
    """The protocols of a parsed `protocols.toml`: per test id, its `ProtocolInfo` and
    every text by key.

    Raises:
        ValueError: the layout of the module docstring is broken (the message names
            the table and what was expected).
    """
    out = {}
    for test_id, table in data.items():
        where = f"{source} [{test_id}]"
        unknown = set(table) - _KEYS
        if unknown:
            raise ValueError(
                f"{where}: unknown keys {sorted(unknown)}; valid: {sorted(_KEYS)}"
            )
        texts = {
            key: _text(value, f"{where} texts.{key}")
            for key, value in table.get("texts", {}).items()
        }
        missing = [k for k in _REQUIRED_TEXTS if k not in texts]
        if missing:
            raise ValueError(f"{where}: missing texts {missing}")
        if table.get("camera_view") not in CAMERA_VIEWS:
            raise ValueError(
                f"{where}: camera_view must be one of {sorted(CAMERA_VIEWS)}, "
                f"got {table.get('camera_view')!r}"
            )
        duration_s = table.get("duration_s")
        whole = isinstance(duration_s, int) and not isinstance(duration_s, bool)
        if duration_s is not None and not (whole and duration_s > 0):
            raise ValueError(
                f"{where}: duration_s must be a whole number of seconds > 0, "
                f"got {duration_s!r}"
            )
        info = ProtocolInfo(
            test_id=test_id,
            name=_text(table.get("name"), f"{where} name"),
            unit=str(table["unit"]),
            unit_label=_text(table.get("unit_label"), f"{where} unit_label"),
            duration_ms=None if duration_s is None else int(duration_s) * 1000,
            camera_view=str(table["camera_view"]),
            say={phase: texts[key] for phase, key in _PHASE_TEXTS.items()},
            start_position=texts["start_position"],
        )
        out[test_id] = (info, texts)
    return out


@functools.cache
def _protocols() -> dict[str, tuple[ProtocolInfo, dict[str, LocalizedText]]]:
    with PROTOCOLS_FILE.open("rb") as f:
        return parse_protocols(tomllib.load(f))


def _entry(test_id: str) -> tuple[ProtocolInfo, dict[str, LocalizedText]]:
    try:
        return _protocols()[test_id]
    except KeyError:
        raise KeyError(
            f"no protocol {test_id!r} in {PROTOCOLS_FILE.name}; "
            f"valid: {', '.join(_protocols())}"
        ) from None


def protocol_info(test_id: str) -> ProtocolInfo:
    """The protocol `test_id` as described in `protocols.toml`.

    Raises:
        KeyError: unknown id (the message lists the valid ones).
        ValueError: the file breaks the layout of the module docstring.
    """
    return _entry(test_id)[0]


def protocol_texts(test_id: str) -> dict[str, LocalizedText]:
    """Every text of protocol `test_id` by key (en and zh-CN each)."""
    return _entry(test_id)[1]
