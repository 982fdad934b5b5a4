"""Checks of the template format: the keys each table accepts (`_KEYS`), and typed
reads that raise a `SpecError` naming the file, the key path and the valid choices.
Internal to `exercises.spec`.

Core module: stdlib.
"""

from __future__ import annotations

from typing import Any, Final

from exercises.checks import (
    ID_PATTERN,
    Context,
    choice,
    describe,
    ident,
    integer,
    join,
    number,
    string,
    table,
    text,
)
from exercises.spec_model import SIDED, SIDES, SpecError
from vision.types import BLAZEPOSE_JOINT_NAMES

_ID_RE: Final = ID_PATTERN
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


class _Ctx(Context):
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        super().__init__(source, SpecError)


_join = join
_type = describe
_str = string
_ident = ident
_int = integer
_text = text
_table = table
_choice = choice


def _choices(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _names(values: Any) -> str:
    """Sorted names, or "(none)"."""
    return _choices(sorted(values)) or "(none)"


def _check_keys(
    ctx: _Ctx, path: str, data: dict[str, Any], kind: str, extra: tuple[str, ...] = ()
) -> None:
    table(ctx, path, data, _KEYS[kind] + extra, _REQUIRED.get(kind, ()))


def _number(
    ctx: _Ctx, path: str, value: Any, *, positive: bool = False, nonneg: bool = False
) -> float:
    return number(ctx, path, value, positive=positive, minimum=0.0 if nonneg else None)


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
