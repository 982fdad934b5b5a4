"""Checks of the template format: the keys each table accepts (`_KEYS`), and typed
reads that raise a `SpecError` naming the file, the key path and the valid choices.
Internal to `exercises.spec`.

Core module: stdlib.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from exercises.events import LocalizedText
from exercises.spec_model import LANGUAGES, SIDED, SIDES, SpecError
from vision.types import BLAZEPOSE_JOINT_NAMES

_ID_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSIDED: Final[frozenset[str]] = frozenset(
    n for n in BLAZEPOSE_JOINT_NAMES if not n.startswith(("left_", "right_"))
)

_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "": (
        "schema",
        "id",
        "kind",
        "name",
        "description",
        "instructions",
        "view",
        "posture",
        "audience",
        "pace_s",
        "min_rep_s",
        "target_reps",
        "required_joints",
        "angles",
        "phases",
        "cycle",
        "position",
        "reference",
        "rules",
        "hold",
        "moves",
        "elder",
        "partial",
    ),
    "angle": ("joints", "side", "view"),
    "condition_angle": ("min_deg", "max_deg"),
    "condition_metric": ("min", "max"),
    "reference": ("t", "tolerance"),  # plus one key per channel
    "rule": (
        "id",
        "metric",
        "angle",
        "above",
        "below",
        "during",
        "severity",
        "text",
        "firm",
        "gentle",
        "min_duration_ms",
        "timing",
    ),
    "hold": ("target_s", "in_position", "target", "tolerance"),
    "move": ("id", "name", "from", "to", "hold_s", "pace_s", "reference"),
    "elder": ("pace_s", "hold_target_s", "phases"),
    "partial": ("cue", "phases"),
}
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "": (
        "schema",
        "id",
        "kind",
        "name",
        "description",
        "instructions",
        "view",
        "posture",
        "required_joints",
    ),
    "rule": ("id", "severity", "text"),
    "hold": ("target_s", "in_position"),
    "move": ("id", "name", "from", "to", "reference"),
    "partial": ("cue", "phases"),
}


# --- validation helpers --------------------------------------------------------


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> SpecError:
        where = f"{self.source}: {path}" if path else self.source
        return SpecError(f"{where}: {message}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _choices(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _names(values: Any) -> str:
    """Sorted names, or "(none)"."""
    return _choices(sorted(values)) or "(none)"


def _table(ctx: _Ctx, path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a table, got {_type(value)}")
    return value


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"


def _check_keys(
    ctx: _Ctx, path: str, data: dict[str, Any], kind: str, extra: tuple[str, ...] = ()
) -> None:
    valid = _KEYS[kind] + extra
    for key in data:
        if key not in valid:
            raise ctx.fail(
                _join(path, key), f"unknown key; valid keys: {_choices(valid)}"
            )
    for key in _REQUIRED.get(kind, ()):
        if key not in data:
            raise ctx.fail(_join(path, key), "missing required key")


def _str(ctx: _Ctx, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, f"expected a non-empty string, got {_type(value)}")
    return value


def _choice(ctx: _Ctx, path: str, value: Any, valid: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ctx.fail(path, f"expected one of {_choices(valid)}, got {_type(value)}")
    return value


def _ident(ctx: _Ctx, path: str, value: Any) -> str:
    text = _str(ctx, path, value)
    if not _ID_RE.match(text):
        raise ctx.fail(
            path, f"expected an id of lowercase letters, digits and _, got {text!r}"
        )
    return text


def _number(
    ctx: _Ctx, path: str, value: Any, *, positive: bool = False, nonneg: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(path, f"expected a number, got {_type(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise ctx.fail(path, f"expected a finite number, got {value!r}")
    if positive and x <= 0:
        raise ctx.fail(path, f"expected a number > 0, got {value!r}")
    if nonneg and x < 0:
        raise ctx.fail(path, f"expected a number >= 0, got {value!r}")
    return x


def _int(ctx: _Ctx, path: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ctx.fail(path, f"expected an integer >= {minimum}, got {_type(value)}")
    return int(value)


def _text(ctx: _Ctx, path: str, value: Any) -> LocalizedText:
    table = _table(ctx, path, value)
    for key in table:
        if key not in LANGUAGES:
            raise ctx.fail(
                _join(path, key),
                f"unknown language; valid languages: {_choices(LANGUAGES)}",
            )
    for lang in LANGUAGES:
        if lang not in table:
            raise ctx.fail(
                path, f"missing {lang!r} text (every text needs en and zh-CN)"
            )
        _str(ctx, f'{path}."{lang}"' if "-" in lang else _join(path, lang), table[lang])
    return {lang: table[lang] for lang in LANGUAGES}


def _str_list(ctx: _Ctx, path: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ctx.fail(path, f"expected an array of strings, got {_type(value)}")
    return [_str(ctx, _join(path, i), v) for i, v in enumerate(value)]


def _joint_name(ctx: _Ctx, path: str, name: str, *, sided: bool) -> None:
    if name in BLAZEPOSE_JOINT_NAMES:
        if sided and name.startswith(("left_", "right_")):
            raise ctx.fail(
                path,
                f"a side-aware angle names joints without their side, got {name!r}; "
                f"write {name.split('_', 1)[1]!r} (or 'other_…' for the opposite side)",
            )
        return
    base = name[len("other_") :] if name.startswith("other_") else name
    if sided and base in SIDED:
        return
    if not sided and name in SIDED:
        raise ctx.fail(
            path,
            f"{name!r} has no side: add side = one of {_choices(SIDES)} to the angle, "
            f"or write left_{name} / right_{name}",
        )
    valid = sorted(SIDED) if sided else list(BLAZEPOSE_JOINT_NAMES)
    what = (
        "sideless joint (or other_<joint>, or an unsided joint)" if sided else "joint"
    )
    raise ctx.fail(
        path,
        f"unknown {what} {name!r}; valid: {_choices(valid)}"
        + (f"; unsided: {_choices(sorted(_UNSIDED))}" if sided else ""),
    )
