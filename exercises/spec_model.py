"""The template's frozen dataclasses and named choices (`exercises.spec` re-exports
them; build specs with `exercises.spec.load_spec` or `spec_from_dict`).

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.events import LocalizedText, Severity
from exercises.metrics import METRICS
from vision.types import BLAZEPOSE_JOINT_NAMES

__all__ = [
    "AUDIENCES",
    "KINDS",
    "LANGUAGES",
    "POSTURES",
    "PSEUDO_PHASES",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "SIDES",
    "TEMPLATES_DIR",
    "TIMINGS",
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

SIDED: Final[frozenset[str]] = frozenset(
    n[len("left_") :] for n in BLAZEPOSE_JOINT_NAMES if n.startswith("left_")
)
"""Joint names that exist on both sides ("knee": left_knee, right_knee)."""


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
            return f"{side}_{name}" if name in SIDED else name

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
