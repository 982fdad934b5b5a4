"""Exercise templates: TOML files in `exercises/templates/` -> frozen `ExerciseSpec`.

A template is data: named joint angles (angle at the middle joint, side-aware), phases
as min/max conditions on angles or registered metrics, the rep cycle through them,
a reference trajectory per scored channel over normalised rep time with a tolerance
band, form rules naming metrics from the closed registry (`exercises.metrics.METRICS`),
hold targets for isometric exercises and ordered moves for sequences. No expressions.

Every problem is a `SpecError` naming the file, the key path and the valid choices. The
format (schema 1), with the keys each table accepts, is `_KEYS` below; see
`templates/squat.toml` for a complete example.

Side-aware angles:
    angles.knee = ["left_hip", "left_knee", "left_ankle"]          # fixed joints
    angles.knee = { joints = ["hip", "knee", "ankle"], side = "best" }
where a sideless name X means left_X / right_X, "other_X" the opposite side's X, and
`side` is one of `SIDES`: "left"/"right" (that side), "best" (the more visible side,
switched only between reps), "both" (mean of the two), "min"/"max" (the smaller/larger
of the two: the working leg of an alternating exercise).

Core module: stdlib (tomllib) and numpy. Files are read only in `load_spec` and
`builtin_specs`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from exercises.events import LocalizedText, Severity
from exercises.metrics import METRICS, VIEWS
from vision.types import BLAZEPOSE_JOINT_NAMES

__all__ = [
    "AUDIENCES",
    "KINDS",
    "LANGUAGES",
    "POSTURES",
    "SCHEMA_VERSION",
    "SIDES",
    "TEMPLATES_DIR",
    "AngleDef",
    "Condition",
    "ElderOverrides",
    "ExerciseSpec",
    "FormRule",
    "HoldSpec",
    "Move",
    "PartialSpec",
    "Phase",
    "Reference",
    "SpecError",
    "UnknownExerciseError",
    "builtin_specs",
    "dump_spec",
    "get_spec",
    "load_spec",
    "spec_from_dict",
    "spec_to_dict",
]

SCHEMA_VERSION: Final[int] = 1
KINDS: Final[tuple[str, ...]] = ("reps", "hold", "sequence")
POSTURES: Final[tuple[str, ...]] = ("standing", "seated", "supine", "prone", "kneeling")
AUDIENCES: Final[tuple[str, ...]] = ("resident", "elder", "rehab", "gym", "group")
SIDES: Final[tuple[str, ...]] = ("left", "right", "best", "both", "min", "max")
LANGUAGES: Final[tuple[str, ...]] = ("en", "zh-CN")
SEVERITIES: Final[dict[str, Severity]] = {s.name.lower(): s for s in Severity}
TIMINGS: Final[tuple[str, ...]] = ("live", "after_rep")
PSEUDO_PHASES: Final[tuple[str, ...]] = ("rep", "in_position")
"""`during` values besides phase names: while a rep (or move) is under way; while a hold
is in position."""

TEMPLATES_DIR: Final[Path] = Path(__file__).resolve().parent / "templates"

_ID_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_MIN_SAMPLES, _MAX_SAMPLES = 5, 101
# Adjacent phases of a cycle must be this far apart on some channel (hysteresis): deg
# for angles, the same number of hundredths for ratio metrics.
_MIN_PHASE_GAP_DEG = 5.0
_MIN_PHASE_GAP_RATIO = 0.05
_SIDED: Final[frozenset[str]] = frozenset(
    n[len("left_") :] for n in BLAZEPOSE_JOINT_NAMES if n.startswith("left_")
)
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


class SpecError(ValueError):
    """A malformed template; the message names the file, the key and valid choices."""


class UnknownExerciseError(KeyError):
    """No built-in template has this id; the message lists the valid ids."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# --- the dataclasses -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AngleDef:
    """A joint angle, degrees at the middle joint, in the image plane.

    Attributes:
        name: Template name ("knee").
        joints: Three joint names as written (sideless when `side` is set).
        side: None for fixed joints, else one of `SIDES`.
        view: Camera view the angle is meaningful in (for scoring), one of `VIEWS`.
    """

    name: str
    joints: tuple[str, str, str]
    side: str | None = None
    view: str = "any"

    def resolve(self, side: str | None) -> tuple[str, str, str]:
        """Joint names for `side` ("left"/"right"); fixed angles ignore it."""
        if self.side is None or side is None:
            return self.joints
        other = "right" if side == "left" else "left"

        def one(name: str) -> str:
            if name.startswith("other_"):
                return f"{other}_{name[len('other_') :]}"
            return f"{side}_{name}" if name in _SIDED else name

        a, b, c = (one(n) for n in self.joints)
        return a, b, c


@dataclass(frozen=True, slots=True)
class Condition:
    """`min <= value <= max` on an angle (degrees) or a metric (its unit)."""

    key: str
    min: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        """False for NaN (unknown is never "in the phase")."""
        if math.isnan(value):
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    conditions: tuple[Condition, ...]

    def holds(self, values: Mapping[str, float]) -> bool:
        return all(c.holds(values.get(c.key, math.nan)) for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Reference:
    """A standard trajectory over normalised time, one row of values per channel.

    Attributes:
        t: (R,) sample times, strictly increasing from 0 to 1.
        channels: Names of the scored channels (angles or metrics), in order.
        values: One (R,) tuple per channel, same order.
        tolerance: Tolerance band per channel (degrees or the metric's unit).
    """

    t: tuple[float, ...]
    channels: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    tolerance: tuple[float, ...]

    def array(self) -> npt.NDArray[np.float32]:
        """(R, K) float32 values, K = len(channels)."""
        return np.ascontiguousarray(np.array(self.values, np.float32).T)

    def scale(self) -> npt.NDArray[np.float32]:
        """(K,) float32 tolerances."""
        return np.array(self.tolerance, np.float32)

    def at(self, channel: str, t: float) -> float:
        """Linear interpolation of one channel at normalised time t."""
        row = self.values[self.channels.index(channel)]
        return float(np.interp(t, self.t, row))


@dataclass(frozen=True, slots=True)
class FormRule:
    """A form check: `metric` (or the template's own `angle`) above/below a threshold.

    Attributes:
        during: Phase names (or "rep", "in_position") when it applies; () = always.
        min_duration_ms: How long the fault must persist before it counts.
        timing: "live" (cue mid-rep) or "after_rep" (cue when the rep completes).
        text: What to say the first time; `firm` on a repeat; `gentle` in elder mode.
    """

    id: str
    severity: Severity
    text: LocalizedText
    metric: str | None = None
    angle: str | None = None
    above: float | None = None
    below: float | None = None
    during: tuple[str, ...] = ()
    firm: LocalizedText | None = None
    gentle: LocalizedText | None = None
    min_duration_ms: int = 150
    timing: str = "live"

    @property
    def key(self) -> str:
        """The channel it reads (metric or angle name)."""
        return self.metric if self.metric is not None else str(self.angle)

    def violated(self, value: float) -> bool:
        """False for NaN."""
        if math.isnan(value):
            return False
        if self.above is not None and value > self.above:
            return True
        return self.below is not None and value < self.below


@dataclass(frozen=True, slots=True)
class HoldSpec:
    """Isometric hold: the in-position conditions, target time and target values."""

    target_s: float
    in_position: tuple[Condition, ...]
    target: tuple[tuple[str, float], ...] = ()
    tolerance: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Move:
    """One move of a sequence: from one phase to the next, then optionally a hold."""

    id: str
    name: LocalizedText
    start: str
    end: str
    reference: Reference
    hold_s: float = 0.0
    pace_s: float | None = None


@dataclass(frozen=True, slots=True)
class ElderOverrides:
    """Elder-mode changes: slower pace, shorter holds, easier phase thresholds."""

    pace_s: float | None = None
    hold_target_s: float | None = None
    phases: tuple[Phase, ...] = ()


@dataclass(frozen=True, slots=True)
class PartialSpec:
    """Shallower versions of the cycle's turning phases: a rep that reaches only these
    still counts, flagged partial, and gets `cue` ("a little lower next time")."""

    phases: tuple[Phase, ...]
    cue: LocalizedText


@dataclass(frozen=True, slots=True)
class ExerciseSpec:
    """One exercise template. Build with `load_spec` or `spec_from_dict`."""

    id: str
    kind: str
    name: LocalizedText
    description: LocalizedText
    instructions: LocalizedText
    view: str
    posture: str
    required_joints: tuple[str, ...]
    audience: tuple[str, ...] = ()
    pace_s: float = 3.0
    min_rep_s: float | None = None
    target_reps: int | None = None
    angles: tuple[AngleDef, ...] = ()
    phases: tuple[Phase, ...] = ()
    cycle: tuple[str, ...] = ()
    position: tuple[Condition, ...] = ()
    reference: Reference | None = None
    rules: tuple[FormRule, ...] = ()
    hold: HoldSpec | None = None
    moves: tuple[Move, ...] = ()
    elder: ElderOverrides = field(default_factory=ElderOverrides)
    partial: PartialSpec | None = None
    schema: int = SCHEMA_VERSION
    source: str = field(default="<memory>", compare=False)

    def angle(self, name: str) -> AngleDef:
        for a in self.angles:
            if a.name == name:
                return a
        raise KeyError(name)

    def phases_for(self, elder_mode: bool) -> dict[str, Phase]:
        """Phases by name, with the elder overrides applied when `elder_mode`."""
        phases = {p.name: p for p in self.phases}
        if elder_mode:
            phases.update({p.name: p for p in self.elder.phases})
        return phases

    @property
    def channels(self) -> tuple[str, ...]:
        """Every scored channel (reference keys, all moves), in first-seen order."""
        seen: dict[str, None] = {}
        refs = [self.reference] if self.reference is not None else []
        refs += [m.reference for m in self.moves]
        for r in refs:
            for c in r.channels:
                seen.setdefault(c, None)
        if self.hold is not None:
            for c, _ in self.hold.target:
                seen.setdefault(c, None)
        return tuple(seen)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every registered metric the template reads anywhere."""
        keys: dict[str, None] = {}
        partial = self.partial.phases if self.partial is not None else ()
        conds = [
            c
            for p in (*self.phases, *self.elder.phases, *partial)
            for c in p.conditions
        ]
        conds += list(self.position)
        if self.hold is not None:
            conds += list(self.hold.in_position)
        for c in conds:
            keys.setdefault(c.key, None)
        for ch in self.channels:
            keys.setdefault(ch, None)
        for r in self.rules:
            keys.setdefault(r.key, None)
        return tuple(k for k in keys if k in METRICS)


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
    if sided and base in _SIDED:
        return
    if not sided and name in _SIDED:
        raise ctx.fail(
            path,
            f"{name!r} has no side: add side = one of {_choices(SIDES)} to the angle, "
            f"or write left_{name} / right_{name}",
        )
    valid = sorted(_SIDED) if sided else list(BLAZEPOSE_JOINT_NAMES)
    what = (
        "sideless joint (or other_<joint>, or an unsided joint)" if sided else "joint"
    )
    raise ctx.fail(
        path,
        f"unknown {what} {name!r}; valid: {_choices(valid)}"
        + (f"; unsided: {_choices(sorted(_UNSIDED))}" if sided else ""),
    )


def _angles(ctx: _Ctx, data: Any) -> tuple[AngleDef, ...]:
    table = _table(ctx, "angles", data)
    out = []
    for name, value in table.items():
        path = _join("angles", name)
        if not _ID_RE.match(name):
            raise ctx.fail(
                path, "expected an angle name of lowercase letters, digits, _"
            )
        if name in METRICS:
            raise ctx.fail(
                path, f"{name!r} is a metric name; give the angle another name"
            )
        if isinstance(value, list):
            joints, side, view = value, None, "any"
            jpath = path
        else:
            spec = _table(ctx, path, value)
            _check_keys(ctx, path, spec, "angle")
            if "joints" not in spec:
                raise ctx.fail(_join(path, "joints"), "missing required key")
            joints = spec["joints"]
            side = (
                _choice(ctx, _join(path, "side"), spec["side"], SIDES)
                if "side" in spec
                else None
            )
            view = _choice(ctx, _join(path, "view"), spec.get("view", "any"), VIEWS)
            jpath = _join(path, "joints")
        names = _str_list(ctx, jpath, joints)
        if len(names) != 3:
            raise ctx.fail(
                jpath,
                f"expected 3 joint names (angle at the middle one), got {len(names)}",
            )
        for i, n in enumerate(names):
            _joint_name(ctx, _join(jpath, i), n, sided=side is not None)
        if side is not None and not any(
            n in _SIDED or n.startswith("other_") for n in names
        ):
            raise ctx.fail(_join(path, "side"), "side is set but no joint has a side")
        out.append(AngleDef(name, (names[0], names[1], names[2]), side, view))
    return tuple(out)


def _conditions(
    ctx: _Ctx, path: str, data: Any, angles: set[str]
) -> tuple[Condition, ...]:
    table = _table(ctx, path, data)
    if not table:
        raise ctx.fail(path, "expected at least one condition")
    out = []
    for key, value in table.items():
        cpath = _join(path, key)
        if key in angles:
            kind, lo, hi = "condition_angle", "min_deg", "max_deg"
        elif key in METRICS:
            kind, lo, hi = "condition_metric", "min", "max"
        else:
            raise ctx.fail(
                cpath,
                f"unknown angle or metric {key!r}; angles: {_names(angles)}; "
                f"metrics: {_choices(METRICS)}",
            )
        bounds = _table(ctx, cpath, value)
        _check_keys(ctx, cpath, bounds, kind)
        if lo not in bounds and hi not in bounds:
            raise ctx.fail(cpath, f"expected {lo} and/or {hi}")
        mn = _number(ctx, _join(cpath, lo), bounds[lo]) if lo in bounds else None
        mx = _number(ctx, _join(cpath, hi), bounds[hi]) if hi in bounds else None
        if mn is not None and mx is not None and mn >= mx:
            raise ctx.fail(cpath, f"expected {lo} < {hi}, got {mn} >= {mx}")
        out.append(Condition(key, mn, mx))
    return tuple(out)


def _phases(ctx: _Ctx, path: str, data: Any, angles: set[str]) -> tuple[Phase, ...]:
    table = _table(ctx, path, data)
    out = []
    for name, value in table.items():
        ppath = _join(path, name)
        if not _ID_RE.match(name) or name in PSEUDO_PHASES:
            raise ctx.fail(
                ppath,
                "expected a phase name of lowercase letters, digits and _ "
                f"(not {_choices(PSEUDO_PHASES)})",
            )
        out.append(Phase(name, _conditions(ctx, ppath, value, angles)))
    return tuple(out)


def _gap(a: Condition, b: Condition) -> float:
    """How far apart two conditions' ranges are (<= 0: they overlap)."""
    lo_a = -math.inf if a.min is None else a.min
    hi_a = math.inf if a.max is None else a.max
    lo_b = -math.inf if b.min is None else b.min
    hi_b = math.inf if b.max is None else b.max
    return max(lo_b - hi_a, lo_a - hi_b)


def _check_separated(ctx: _Ctx, path: str, a: Phase, b: Phase) -> None:
    for ca in a.conditions:
        for cb in b.conditions:
            if ca.key != cb.key:
                continue
            need = (
                _MIN_PHASE_GAP_RATIO
                if ca.key in METRICS and METRICS[ca.key].unit == "ratio"
                else _MIN_PHASE_GAP_DEG
            )
            if _gap(ca, cb) >= need:
                return
    raise ctx.fail(
        path,
        f"phases {a.name!r} and {b.name!r} follow each other but no angle or metric "
        f"separates them by at least {_MIN_PHASE_GAP_DEG:g} deg (or "
        f"{_MIN_PHASE_GAP_RATIO:g} for a ratio): counting needs that gap as hysteresis",
    )


def _cycle(
    ctx: _Ctx, path: str, data: Any, phases: dict[str, Phase]
) -> tuple[str, ...]:
    names = _str_list(ctx, path, data)
    if len(names) < 2:
        raise ctx.fail(path, f"expected at least 2 phases, got {len(names)}")
    for i, n in enumerate(names):
        if n not in phases:
            raise ctx.fail(
                _join(path, i),
                f"unknown phase {n!r}; valid phases: {_names(phases)}",
            )
        if i and names[i - 1] == n:
            raise ctx.fail(
                _join(path, i), f"phase {n!r} repeats; consecutive phases must differ"
            )
    for i in range(1, len(names)):
        _check_separated(ctx, path, phases[names[i - 1]], phases[names[i]])
    return tuple(names)


def _reference(ctx: _Ctx, path: str, data: Any, angles: set[str]) -> Reference:
    table = _table(ctx, path, data)
    channels = [k for k in table if k not in _KEYS["reference"]]
    for key in channels:
        if key not in angles and key not in METRICS:
            raise ctx.fail(
                _join(path, key),
                f"unknown angle or metric {key!r}; valid keys: "
                f"{_choices(_KEYS['reference'])}, angles: {_names(angles)}, "
                f"metrics: {_choices(METRICS)}",
            )
    if not channels:
        raise ctx.fail(path, "expected at least one angle or metric trajectory")
    first = table[channels[0]]
    n = len(first) if isinstance(first, list) else 0
    if "t" in table:
        tpath = _join(path, "t")
        if not isinstance(table["t"], list):
            raise ctx.fail(
                tpath, f"expected an array of numbers, got {_type(table['t'])}"
            )
        t = [_number(ctx, _join(tpath, i), v) for i, v in enumerate(table["t"])]
        if not (_MIN_SAMPLES <= len(t) <= _MAX_SAMPLES):
            raise ctx.fail(
                tpath, f"expected {_MIN_SAMPLES}..{_MAX_SAMPLES} samples, got {len(t)}"
            )
        if t[0] != 0.0 or t[-1] != 1.0:
            raise ctx.fail(
                tpath, f"expected to start at 0 and end at 1, got {t[0]:g}..{t[-1]:g}"
            )
        for i in range(1, len(t)):
            if not t[i] > t[i - 1]:
                raise ctx.fail(
                    _join(tpath, i),
                    "expected strictly increasing times, "
                    f"got {t[i]:g} after {t[i - 1]:g}",
                )
    else:
        if not (_MIN_SAMPLES <= n <= _MAX_SAMPLES):
            raise ctx.fail(
                _join(path, channels[0]),
                f"expected {_MIN_SAMPLES}..{_MAX_SAMPLES} samples, got {n}",
            )
        t = [i / (n - 1) for i in range(n)]
    values = []
    for key in channels:
        cpath = _join(path, key)
        row = table[key]
        if not isinstance(row, list):
            raise ctx.fail(cpath, f"expected an array of numbers, got {_type(row)}")
        vals = [_number(ctx, _join(cpath, i), v) for i, v in enumerate(row)]
        if len(vals) != len(t):
            raise ctx.fail(
                cpath, f"expected {len(t)} samples (one per t), got {len(vals)}"
            )
        if key in angles and any(not 0.0 <= v <= 180.0 for v in vals):
            raise ctx.fail(cpath, "expected angles in [0, 180] degrees")
        values.append(tuple(vals))
    tol_path = _join(path, "tolerance")
    if "tolerance" not in table:
        raise ctx.fail(
            tol_path,
            f"missing required key (a tolerance per channel: {_choices(channels)})",
        )
    tol_table = _table(ctx, tol_path, table["tolerance"])
    for key in tol_table:
        if key not in channels:
            raise ctx.fail(
                _join(tol_path, key),
                f"not a channel of this reference; valid: {_choices(channels)}",
            )
    tol = []
    for key in channels:
        if key not in tol_table:
            raise ctx.fail(_join(tol_path, key), "missing tolerance for this channel")
        tol.append(_number(ctx, _join(tol_path, key), tol_table[key], positive=True))
    return Reference(tuple(t), tuple(channels), tuple(values), tuple(tol))


def _check_reference_phases(
    ctx: _Ctx,
    path: str,
    ref: Reference,
    cycle: tuple[str, ...],
    phases: dict[str, Phase],
) -> None:
    """The reference must start in cycle[0], pass through each phase in order and end in
    cycle[-1], judged on the conditions whose channel the reference carries."""

    def holds(phase: Phase, i: int) -> bool | None:
        conds = [c for c in phase.conditions if c.key in ref.channels]
        if not conds:
            return None
        return all(c.holds(ref.values[ref.channels.index(c.key)][i]) for c in conds)

    r = len(ref.t)
    first, last = phases[cycle[0]], phases[cycle[-1]]
    if holds(first, 0) is False:
        raise ctx.fail(
            path, f"the reference must start in phase {first.name!r} (at t=0)"
        )
    if holds(last, r - 1) is False:
        raise ctx.fail(path, f"the reference must end in phase {last.name!r} (at t=1)")
    i = 0
    for name in cycle[1:-1]:
        phase = phases[name]
        while i < r and holds(phase, i) is False:
            i += 1
        if i == r:
            raise ctx.fail(
                path,
                f"the reference never reaches phase {name!r} "
                f"(in cycle order {_choices(cycle)})",
            )


def _rules(
    ctx: _Ctx, data: Any, angles: set[str], phase_names: set[str]
) -> tuple[FormRule, ...]:
    if not isinstance(data, list):
        raise ctx.fail(
            "rules", f"expected an array of tables ([[rules]]), got {_type(data)}"
        )
    out: list[FormRule] = []
    seen: set[str] = set()
    valid_during = sorted(phase_names) + list(PSEUDO_PHASES)
    for i, value in enumerate(data):
        path = _join("rules", i)
        rule = _table(ctx, path, value)
        _check_keys(ctx, path, rule, "rule")
        rid = _ident(ctx, _join(path, "id"), rule["id"])
        if rid in seen:
            raise ctx.fail(_join(path, "id"), f"duplicate rule id {rid!r}")
        seen.add(rid)
        metric = angle = None
        if ("metric" in rule) == ("angle" in rule):
            raise ctx.fail(
                path, "expected exactly one of 'metric' (from the registry) or 'angle'"
            )
        if "metric" in rule:
            metric = _str(ctx, _join(path, "metric"), rule["metric"])
            if metric not in METRICS:
                raise ctx.fail(
                    _join(path, "metric"),
                    f"unknown metric {metric!r}; valid metrics: {_choices(METRICS)}",
                )
        else:
            angle = _str(ctx, _join(path, "angle"), rule["angle"])
            if angle not in angles:
                raise ctx.fail(
                    _join(path, "angle"),
                    f"unknown angle {angle!r}; valid angles: {_names(angles)}",
                )
        if "above" not in rule and "below" not in rule:
            raise ctx.fail(path, "expected 'above' and/or 'below' (the threshold)")
        above = (
            _number(ctx, _join(path, "above"), rule["above"])
            if "above" in rule
            else None
        )
        below = (
            _number(ctx, _join(path, "below"), rule["below"])
            if "below" in rule
            else None
        )
        during: tuple[str, ...] = ()
        if "during" in rule:
            raw = rule["during"]
            names = (
                [raw]
                if isinstance(raw, str)
                else _str_list(ctx, _join(path, "during"), raw)
            )
            for j, n in enumerate(names):
                if n not in valid_during:
                    raise ctx.fail(
                        _join(_join(path, "during"), j)
                        if isinstance(raw, list)
                        else _join(path, "during"),
                        f"unknown phase {n!r}; valid: {_choices(valid_during)}",
                    )
            during = tuple(names)
        severity = SEVERITIES[
            _choice(ctx, _join(path, "severity"), rule["severity"], tuple(SEVERITIES))
        ]
        out.append(
            FormRule(
                id=rid,
                severity=severity,
                text=_text(ctx, _join(path, "text"), rule["text"]),
                metric=metric,
                angle=angle,
                above=above,
                below=below,
                during=during,
                firm=_text(ctx, _join(path, "firm"), rule["firm"])
                if "firm" in rule
                else None,
                gentle=_text(ctx, _join(path, "gentle"), rule["gentle"])
                if "gentle" in rule
                else None,
                min_duration_ms=_int(
                    ctx,
                    _join(path, "min_duration_ms"),
                    rule.get("min_duration_ms", 150),
                ),
                timing=_choice(
                    ctx, _join(path, "timing"), rule.get("timing", "live"), TIMINGS
                ),
            )
        )
    return tuple(out)


def _pairs(
    ctx: _Ctx, path: str, data: Any, valid: set[str], *, positive: bool
) -> tuple[tuple[str, float], ...]:
    table = _table(ctx, path, data)
    out = []
    for key, value in table.items():
        if key not in valid:
            raise ctx.fail(
                _join(path, key),
                f"unknown angle or metric {key!r}; valid: {_names(valid)}",
            )
        out.append((key, _number(ctx, _join(path, key), value, positive=positive)))
    return tuple(out)


def _hold(ctx: _Ctx, data: Any, angles: set[str]) -> HoldSpec:
    table = _table(ctx, "hold", data)
    _check_keys(ctx, "hold", table, "hold")
    channels = angles | set(METRICS)
    target = _pairs(
        ctx, "hold.target", table.get("target", {}), channels, positive=False
    )
    tolerance = _pairs(
        ctx,
        "hold.tolerance",
        table.get("tolerance", {}),
        {k for k, _ in target},
        positive=True,
    )
    missing = [k for k, _ in target if k not in dict(tolerance)]
    if missing:
        raise ctx.fail(
            _join("hold.tolerance", missing[0]), "missing tolerance for this target"
        )
    return HoldSpec(
        target_s=_number(ctx, "hold.target_s", table["target_s"], positive=True),
        in_position=_conditions(ctx, "hold.in_position", table["in_position"], angles),
        target=target,
        tolerance=tolerance,
    )


def _moves(
    ctx: _Ctx, data: Any, angles: set[str], phases: dict[str, Phase]
) -> tuple[Move, ...]:
    if not isinstance(data, list) or not data:
        raise ctx.fail(
            "moves",
            f"expected a non-empty array of tables ([[moves]]), got {_type(data)}",
        )
    out: list[Move] = []
    for i, value in enumerate(data):
        path = _join("moves", i)
        move = _table(ctx, path, value)
        _check_keys(ctx, path, move, "move")
        mid = _ident(ctx, _join(path, "id"), move["id"])
        if any(m.id == mid for m in out):
            raise ctx.fail(_join(path, "id"), f"duplicate move id {mid!r}")
        ends = []
        for key in ("from", "to"):
            name = _str(ctx, _join(path, key), move[key])
            if name not in phases:
                raise ctx.fail(
                    _join(path, key),
                    f"unknown phase {name!r}; valid phases: {_names(phases)}",
                )
            ends.append(name)
        if ends[0] == ends[1]:
            raise ctx.fail(
                _join(path, "to"),
                "a move must go to another phase (use hold_s to hold)",
            )
        if out and out[-1].end != ends[0]:
            raise ctx.fail(
                _join(path, "from"),
                f"expected the previous move's end phase {out[-1].end!r}, "
                f"got {ends[0]!r}",
            )
        _check_separated(ctx, path, phases[ends[0]], phases[ends[1]])
        ref = _reference(ctx, _join(path, "reference"), move["reference"], angles)
        _check_reference_phases(
            ctx, _join(path, "reference"), ref, (ends[0], ends[1]), phases
        )
        out.append(
            Move(
                id=mid,
                name=_text(ctx, _join(path, "name"), move["name"]),
                start=ends[0],
                end=ends[1],
                reference=ref,
                hold_s=_number(
                    ctx, _join(path, "hold_s"), move.get("hold_s", 0.0), nonneg=True
                ),
                pace_s=_number(
                    ctx, _join(path, "pace_s"), move["pace_s"], positive=True
                )
                if "pace_s" in move
                else None,
            )
        )
    return tuple(out)


def _elder(
    ctx: _Ctx, data: Any, angles: set[str], phases: dict[str, Phase]
) -> ElderOverrides:
    table = _table(ctx, "elder", data)
    _check_keys(ctx, "elder", table, "elder")
    over: tuple[Phase, ...] = ()
    if "phases" in table:
        over = _phases(ctx, "elder.phases", table["phases"], angles)
        for p in over:
            if p.name not in phases:
                raise ctx.fail(
                    _join("elder.phases", p.name),
                    f"unknown phase {p.name!r}; valid phases: {_names(phases)}",
                )
    return ElderOverrides(
        pace_s=_number(ctx, "elder.pace_s", table["pace_s"], positive=True)
        if "pace_s" in table
        else None,
        hold_target_s=_number(
            ctx, "elder.hold_target_s", table["hold_target_s"], positive=True
        )
        if "hold_target_s" in table
        else None,
        phases=over,
    )


def _partial(
    ctx: _Ctx,
    data: Any,
    angles: set[str],
    phases: dict[str, Phase],
    cycle: tuple[str, ...],
) -> PartialSpec:
    table = _table(ctx, "partial", data)
    _check_keys(ctx, "partial", table, "partial")
    if not cycle:
        raise ctx.fail(
            "partial", "only reps templates (with a cycle) have partial phases"
        )
    turning = cycle[1:-1]
    over = _phases(ctx, "partial.phases", table["phases"], angles)
    if not over:
        raise ctx.fail("partial.phases", "expected at least one phase")
    for p in over:
        if p.name not in turning:
            raise ctx.fail(
                _join("partial.phases", p.name),
                "only the cycle's turning phases can be partial; "
                f"valid: {_names(turning)}",
            )
    return PartialSpec(phases=over, cue=_text(ctx, "partial.cue", table["cue"]))


# --- public API ----------------------------------------------------------------


def spec_from_dict(data: Mapping[str, Any], source: str = "<memory>") -> ExerciseSpec:
    """Build and validate a spec from a parsed template (the TOML layout as a dict).

    Args:
        data: The template, e.g. `tomllib.loads(text)` or one built by authoring tools.
        source: Name used in error messages (a path or "<name>").

    Returns:
        The validated, frozen `ExerciseSpec`.

    Raises:
        SpecError: anything malformed; the message names `source`, the key path and the
            valid choices.
    """
    ctx = _Ctx(source)
    top = _table(ctx, "", dict(data))
    _check_keys(ctx, "", top, "")
    if isinstance(top["schema"], bool) or top["schema"] != SCHEMA_VERSION:
        raise ctx.fail(
            "schema", f"expected {SCHEMA_VERSION}, got {_type(top['schema'])}"
        )
    kind = _choice(ctx, "kind", top["kind"], KINDS)
    angles = _angles(ctx, top.get("angles", {}))
    angle_names = {a.name for a in angles}
    if kind != "hold" and not angles:
        raise ctx.fail("angles", f"a {kind} template needs at least one angle")

    required = _str_list(ctx, "required_joints", top["required_joints"])
    if not required:
        raise ctx.fail("required_joints", "expected at least one joint")
    for i, name in enumerate(required):
        if name not in BLAZEPOSE_JOINT_NAMES and name not in _SIDED:
            raise ctx.fail(
                _join("required_joints", i),
                f"unknown joint {name!r}; valid: a joint name "
                f"({_choices(BLAZEPOSE_JOINT_NAMES)}) "
                f"or a sideless one meaning either side ({_choices(sorted(_SIDED))})",
            )

    phases = _phases(ctx, "phases", top.get("phases", {}), angle_names)
    by_name = {p.name: p for p in phases}
    cycle: tuple[str, ...] = ()
    if kind == "reps":
        if "cycle" not in top:
            raise ctx.fail(
                "cycle", "missing required key (a reps template needs a cycle)"
            )
        cycle = _cycle(ctx, "cycle", top["cycle"], by_name)
    elif "cycle" in top:
        raise ctx.fail(
            "cycle", f"only reps templates have a cycle, this one is {kind!r}"
        )

    position = (
        _conditions(ctx, "position", top["position"], angle_names)
        if "position" in top
        else ()
    )

    reference = None
    if kind in ("reps", "hold") and "reference" in top and kind == "hold":
        raise ctx.fail(
            "reference", "a hold template scores against hold.target instead"
        )
    if kind == "reps":
        if "reference" not in top:
            raise ctx.fail(
                "reference", "missing required key (a reps template needs a reference)"
            )
        reference = _reference(ctx, "reference", top["reference"], angle_names)
        _check_reference_phases(ctx, "reference", reference, cycle, by_name)
    elif kind == "sequence" and "reference" in top:
        raise ctx.fail("reference", "a sequence template gives a reference per move")

    hold = None
    if kind == "hold":
        if "hold" not in top:
            raise ctx.fail(
                "hold", "missing required key (a hold template needs [hold])"
            )
        hold = _hold(ctx, top["hold"], angle_names)
    elif "hold" in top:
        raise ctx.fail("hold", f"only hold templates have [hold], this one is {kind!r}")

    moves: tuple[Move, ...] = ()
    if kind == "sequence":
        if "moves" not in top:
            raise ctx.fail("moves", "missing required key (a sequence needs [[moves]])")
        moves = _moves(ctx, top["moves"], angle_names, by_name)
    elif "moves" in top:
        raise ctx.fail(
            "moves", f"only sequence templates have moves, this one is {kind!r}"
        )

    elder = (
        _elder(ctx, top["elder"], angle_names, by_name)
        if "elder" in top
        else ElderOverrides()
    )
    if elder.phases:
        eff = {**by_name, **{p.name: p for p in elder.phases}}
        if kind == "reps":
            for i in range(1, len(cycle)):
                _check_separated(ctx, "elder.phases", eff[cycle[i - 1]], eff[cycle[i]])
        for m in moves:
            _check_separated(ctx, "elder.phases", eff[m.start], eff[m.end])
    if elder.hold_target_s is not None and kind != "hold":
        raise ctx.fail("elder.hold_target_s", "only hold templates have a hold target")

    partial = None
    if "partial" in top:
        partial = _partial(ctx, top["partial"], angle_names, by_name, cycle)
        full = {**by_name, **{p.name: p for p in elder.phases}}
        for p in partial.phases:
            i = cycle.index(p.name)
            for j in (i - 1, i + 1):
                _check_separated(
                    ctx, _join("partial.phases", p.name), full[cycle[j]], p
                )

    rule_phases = set(by_name)
    rules = _rules(ctx, top.get("rules", []), angle_names, rule_phases)

    audience = tuple(
        _choice(ctx, _join("audience", i), a, AUDIENCES)
        for i, a in enumerate(_str_list(ctx, "audience", top.get("audience", [])))
    )
    return ExerciseSpec(
        id=_ident(ctx, "id", top["id"]),
        kind=kind,
        name=_text(ctx, "name", top["name"]),
        description=_text(ctx, "description", top["description"]),
        instructions=_text(ctx, "instructions", top["instructions"]),
        view=_choice(ctx, "view", top["view"], VIEWS),
        posture=_choice(ctx, "posture", top["posture"], POSTURES),
        required_joints=tuple(required),
        audience=audience,
        pace_s=_number(ctx, "pace_s", top.get("pace_s", 3.0), positive=True),
        min_rep_s=_number(ctx, "min_rep_s", top["min_rep_s"], positive=True)
        if "min_rep_s" in top
        else None,
        target_reps=_int(ctx, "target_reps", top["target_reps"], minimum=1)
        if "target_reps" in top
        else None,
        angles=angles,
        phases=phases,
        cycle=cycle,
        position=position,
        reference=reference,
        rules=rules,
        hold=hold,
        moves=moves,
        elder=elder,
        partial=partial,
        schema=SCHEMA_VERSION,
        source=source,
    )


def load_spec(path: str | Path) -> ExerciseSpec:
    """Read and validate one template file.

    Raises:
        SpecError: unreadable file, invalid TOML, or a malformed template; the id must
            also match the file name (`squat.toml` holds id "squat").
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read the template: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: invalid TOML: {exc}") from exc
    spec = spec_from_dict(data, source=str(p))
    if spec.id != p.stem:
        raise SpecError(f"{p}: id: expected the file name {p.stem!r}, got {spec.id!r}")
    return spec


@functools.cache
def _builtin() -> dict[str, ExerciseSpec]:
    specs = {}
    for path in sorted(TEMPLATES_DIR.glob("*.toml")):
        spec = load_spec(path)
        specs[spec.id] = spec
    return specs


def builtin_specs() -> dict[str, ExerciseSpec]:
    """Every template shipped in `exercises/templates/`, by id (loaded once)."""
    return dict(_builtin())


def get_spec(exercise_id: str) -> ExerciseSpec:
    """A built-in template by id.

    Raises:
        UnknownExerciseError: no such id (KeyError; the message lists the valid ids).
    """
    specs = _builtin()
    if exercise_id not in specs:
        raise UnknownExerciseError(
            f"unknown exercise {exercise_id!r}; "
            f"valid exercises: {_choices(sorted(specs))}"
        )
    return specs[exercise_id]


# --- back to data --------------------------------------------------------------


def _conds_to_dict(conds: tuple[Condition, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in conds:
        lo, hi = ("min", "max") if c.key in METRICS else ("min_deg", "max_deg")
        d: dict[str, float] = {}
        if c.min is not None:
            d[lo] = c.min
        if c.max is not None:
            d[hi] = c.max
        out[c.key] = d
    return out


def _ref_to_dict(ref: Reference) -> dict[str, Any]:
    out: dict[str, Any] = {"t": list(ref.t)}
    for name, row in zip(ref.channels, ref.values, strict=True):
        out[name] = list(row)
    out["tolerance"] = dict(zip(ref.channels, ref.tolerance, strict=True))
    return out


def spec_to_dict(spec: ExerciseSpec) -> dict[str, Any]:
    """The template layout of a spec; `spec_from_dict(spec_to_dict(s)) == s`."""
    out: dict[str, Any] = {
        "schema": spec.schema,
        "id": spec.id,
        "kind": spec.kind,
        "view": spec.view,
        "posture": spec.posture,
        "audience": list(spec.audience),
        "pace_s": spec.pace_s,
    }
    if spec.min_rep_s is not None:
        out["min_rep_s"] = spec.min_rep_s
    if spec.target_reps is not None:
        out["target_reps"] = spec.target_reps
    out["required_joints"] = list(spec.required_joints)
    if spec.cycle:
        out["cycle"] = list(spec.cycle)
    out["name"] = dict(spec.name)
    out["description"] = dict(spec.description)
    out["instructions"] = dict(spec.instructions)
    if spec.angles:
        out["angles"] = {
            a.name: list(a.joints)
            if a.side is None and a.view == "any"
            else {
                "joints": list(a.joints),
                **({"side": a.side} if a.side else {}),
                "view": a.view,
            }
            for a in spec.angles
        }
    if spec.phases:
        out["phases"] = {p.name: _conds_to_dict(p.conditions) for p in spec.phases}
    if spec.position:
        out["position"] = _conds_to_dict(spec.position)
    if spec.reference is not None:
        out["reference"] = _ref_to_dict(spec.reference)
    if spec.hold is not None:
        h = spec.hold
        out["hold"] = {
            "target_s": h.target_s,
            "in_position": _conds_to_dict(h.in_position),
            "target": dict(h.target),
            "tolerance": dict(h.tolerance),
        }
    if spec.moves:
        out["moves"] = []
        for m in spec.moves:
            d: dict[str, Any] = {
                "id": m.id,
                "name": dict(m.name),
                "from": m.start,
                "to": m.end,
            }
            if m.hold_s:
                d["hold_s"] = m.hold_s
            if m.pace_s is not None:
                d["pace_s"] = m.pace_s
            d["reference"] = _ref_to_dict(m.reference)
            out["moves"].append(d)
    if spec.rules:
        out["rules"] = []
        for r in spec.rules:
            rd: dict[str, Any] = {"id": r.id}
            if r.metric is not None:
                rd["metric"] = r.metric
            else:
                rd["angle"] = r.angle
            if r.above is not None:
                rd["above"] = r.above
            if r.below is not None:
                rd["below"] = r.below
            if r.during:
                rd["during"] = list(r.during)
            rd["severity"] = r.severity.name.lower()
            rd["min_duration_ms"] = r.min_duration_ms
            rd["timing"] = r.timing
            rd["text"] = dict(r.text)
            if r.firm is not None:
                rd["firm"] = dict(r.firm)
            if r.gentle is not None:
                rd["gentle"] = dict(r.gentle)
            out["rules"].append(rd)
    if spec.partial is not None:
        out["partial"] = {
            "cue": dict(spec.partial.cue),
            "phases": {
                p.name: _conds_to_dict(p.conditions) for p in spec.partial.phases
            },
        }
    e = spec.elder
    if e != ElderOverrides():
        ed: dict[str, Any] = {}
        if e.pace_s is not None:
            ed["pace_s"] = e.pace_s
        if e.hold_target_s is not None:
            ed["hold_target_s"] = e.hold_target_s
        if e.phases:
            ed["phases"] = {p.name: _conds_to_dict(p.conditions) for p in e.phases}
        out["elder"] = ed
    return out


_BARE_KEY: Final = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _emit(
    lines: list[str], prefix: str, table: dict[str, Any], array: bool = False
) -> None:
    if prefix:
        lines.append("")
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
    subtables: list[tuple[str, Any, bool]] = []
    for key, value in table.items():
        if (
            isinstance(value, dict)
            and value
            and any(isinstance(v, dict) for v in value.values())
        ):
            subtables.append((key, value, False))
        elif isinstance(value, dict) and key in (
            "name",
            "description",
            "instructions",
            "reference",
            "hold",
            "elder",
            "partial",
            "tolerance",
            "target",
            "in_position",
        ):
            subtables.append((key, value, False))
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
        ):
            subtables.append((key, value, True))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value, is_array in subtables:
        name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
        if is_array:
            for item in value:
                _emit(lines, name, item, array=True)
        else:
            _emit(lines, name, value)


def dump_spec(spec: ExerciseSpec) -> str:
    """TOML text of a spec (for saving authored templates); `load_spec` reads it back
    to an equal spec."""
    lines = [f"# {spec.name['en']} / {spec.name['zh-CN']}"]
    _emit(lines, "", spec_to_dict(spec))
    return "\n".join(lines) + "\n"
