"""Routines: ordered sections (moves or whole exercises) as TOML data ->
frozen `RoutineSpec`.

A routine file (`exercises/routines/<id>.toml`, hand-written) holds what a person reads
and hears and how the routine runs: the sections in order, each with its bilingual
name, spoken transition and instructions, the standard repetitions (`rounds`; each side
is one round where a section alternates), the standard tempo (`pace_s` per round), the
rest after it, the features it is followed on (`channels`, from the closed registry
`exercises.routine_features.FEATURES`) and the cues that name the one thing to improve.
Its companion (`poses = "<id>.poses.toml"`, generated from standard performances, see
`benchmarks/routine_reference.py`) holds each section's key poses (COCO-17 joints in
torso lengths) and its reference round (every feature over normalised round time,
rest -> turning point -> rest, the left side where a section alternates).

Every problem is a `RoutineError` naming the file, the key path and the valid choices.
Core module: stdlib (tomllib) and numpy. Files are read only in `load_routine` and
`builtin_routines`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from exercises import routine_validation as check
from exercises.checks import parse_toml
from exercises.events import LocalizedText
from exercises.routine_features import FEATURES, mirror_features
from exercises.routine_validation import RoutineError
from exercises.spec import Reference
from vision.types import COCO_JOINT_NAMES

__all__ = [
    "MESSAGES",
    "ROUTINES_DIR",
    "SCHEMA_VERSION",
    "SIDES",
    "WANTS",
    "KeyPose",
    "RoutineError",
    "RoutineSpec",
    "Section",
    "SectionCue",
    "builtin_routines",
    "get_routine",
    "load_routine",
    "routine_from_dict",
]

SCHEMA_VERSION: Final[int] = 1
SIDES: Final[tuple[str, ...]] = ("none", "alternate", "any")
"""none: symmetric; alternate: left then right, each side a round (the reference is the
left side); any: done to one side or the other, reported but not expected."""
WANTS: Final[tuple[str, ...]] = ("more", "less")
"""A cue fires when the turning point falls short of the reference ("more": the
feature should be larger) or overshoots it ("less")."""
MESSAGES: Final[tuple[str, ...]] = (
    "other_side",
    "tempo_ahead",
    "tempo_behind",
    "tempo_on",
    "rest",
    "well_done",
)
ROUTINES_DIR: Final[Path] = Path(__file__).resolve().parent / "routines"

_F32 = npt.NDArray[np.float32]

_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "": (
        "schema",
        "id",
        "name",
        "description",
        "standard",
        "poses",
        "rest_s",
        "recognition",
        "tolerance",
        "elder",
        "messages",
        "sections",
    ),
    "elder": ("pace_factor", "rest_s"),
    "section": (
        "id",
        "number",
        "name",
        "say",
        "instructions",
        "turning",
        "rounds",
        "sides",
        "pace_s",
        "rest_s",
        "channels",
        "turning_channels",
        "tolerance",
        "cues",
    ),
    "cue": ("id", "channel", "want", "min_deficit", "say"),
    "poses": ("schema", "routine", "joints", "samples", "source", "sections"),
    "section_poses": ("source", "turn_t", "key_poses", "reference"),
    "key_pose": ("name", "t", "xy"),
}
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "": (
        "schema",
        "id",
        "name",
        "description",
        "poses",
        "recognition",
        "tolerance",
        "messages",
        "sections",
    ),
    "section": (
        "id",
        "name",
        "say",
        "instructions",
        "turning",
        "rounds",
        "sides",
        "pace_s",
        "channels",
    ),
    "cue": ("id", "channel", "want", "say"),
    "poses": ("schema", "routine", "joints", "sections"),
    "section_poses": ("turn_t", "key_poses", "reference"),
    "key_pose": ("name", "t", "xy"),
}


# --- the dataclasses -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPose:
    """A pose of the standard at normalised round time `t`.

    `xy` holds the 17 COCO joints (`vision.types.COCO_JOINT_NAMES` order) in torso
    lengths, isotropic, y pointing down (image-like), origin at the ankles' midpoint
    at the start of the round (the floor under the feet: a heel raise lifts the
    whole body off it)."""

    name: str
    t: float
    xy: tuple[tuple[float, float], ...]

    def array(self) -> _F32:
        """(17, 2) float32."""
        return np.array(self.xy, np.float32)


@dataclass(frozen=True, slots=True)
class SectionCue:
    """The one thing to improve: `channel` at the turning point against the
    reference's, in tolerances; fires when short by at least `min_deficit`."""

    id: str
    channel: str
    want: str
    say: LocalizedText
    min_deficit: float = 1.0


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a routine (see the module docstring for the keys).

    Attributes:
        reference: The reference round (left side where `sides` is "alternate") over
            every feature of the poses file, with the tolerance of each.
        turn_t: Normalised time of the turning point in `reference`.
        key_poses: Poses of the standard, by normalised round time.
    """

    id: str
    name: LocalizedText
    say: LocalizedText
    instructions: LocalizedText
    turning: LocalizedText
    rounds: int
    sides: str
    pace_s: float
    channels: tuple[str, ...]
    reference: Reference
    turn_t: float
    key_poses: tuple[KeyPose, ...]
    cues: tuple[SectionCue, ...] = ()
    number: int | None = None
    rest_s: float | None = None
    turning_channels: tuple[str, ...] = ()

    def turning_features(self) -> tuple[str, ...]:
        """The channels whose extreme is the turning point (default: all)."""
        return self.turning_channels or self.channels

    def values(self, channels: tuple[str, ...], *, mirrored: bool = False) -> _F32:
        """(R, K) float32 reference rows over `channels` (the other side if
        `mirrored`)."""
        full = self.reference.array()
        if mirrored:
            full = mirror_features(full, self.reference.channels)
        idx = [self.reference.channels.index(c) for c in channels]
        return np.ascontiguousarray(full[:, idx])

    def tolerance(self, channels: tuple[str, ...]) -> _F32:
        """(K,) float32 tolerances of `channels`."""
        tol = self.reference.tolerance
        return np.array(
            [tol[self.reference.channels.index(c)] for c in channels], np.float32
        )


@dataclass(frozen=True, slots=True)
class RoutineSpec:
    """A routine. Build with `load_routine` or `routine_from_dict`."""

    id: str
    name: LocalizedText
    description: LocalizedText
    sections: tuple[Section, ...]
    recognition: tuple[str, ...]
    messages: dict[str, LocalizedText]
    standard: str = ""
    rest_s: float = 5.0
    elder_pace_factor: float = 1.3
    elder_rest_s: float | None = None
    schema: int = SCHEMA_VERSION
    source: str = field(default="<memory>", compare=False)

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        valid = ", ".join(s.id for s in self.sections)
        raise KeyError(f"unknown section {section_id!r}; valid sections: {valid}")

    def pace_s(self, section: Section, elder: bool) -> float:
        """Standard seconds per round at the session's pace."""
        return section.pace_s * (self.elder_pace_factor if elder else 1.0)

    def rest_after_s(self, section: Section, elder: bool) -> float:
        base = self.rest_s if section.rest_s is None else section.rest_s
        if elder and self.elder_rest_s is not None:
            return max(base, self.elder_rest_s)
        return base


def _table(
    ctx: check.Context, path: str, value: Any, kind: str | None = None
) -> dict[str, Any]:
    """A table; with `kind`, checked against that kind's keys in `_KEYS`."""
    if kind is None:
        return check.table(ctx, path, value)
    return check.table(ctx, path, value, _KEYS[kind], _REQUIRED.get(kind, ()))


# --- the poses file ----------------------------------------------------------------


def _key_poses(ctx: check.Context, path: str, value: Any) -> tuple[KeyPose, ...]:
    out = []
    for i, item in enumerate(check.array(ctx, path, value)):
        ipath = check.join(path, i)
        data = _table(ctx, ipath, item, "key_pose")
        xy = check.array(ctx, check.join(ipath, "xy"), data["xy"])
        if len(xy) != len(COCO_JOINT_NAMES):
            raise ctx.fail(
                check.join(ipath, "xy"),
                f"expected {len(COCO_JOINT_NAMES)} joints "
                f"({', '.join(COCO_JOINT_NAMES)}), got {len(xy)}",
            )
        pts = []
        for j, p in enumerate(xy):
            jpath = check.join(check.join(ipath, "xy"), j)
            if not isinstance(p, list) or len(p) != 2:
                raise ctx.fail(jpath, f"expected [x, y], got {check.describe(p)}")
            pts.append((check.number(ctx, jpath, p[0]), check.number(ctx, jpath, p[1])))
        t = check.number(ctx, check.join(ipath, "t"), data["t"], minimum=0.0)
        if t > 1.0:
            raise ctx.fail(check.join(ipath, "t"), f"expected 0 <= t <= 1, got {t}")
        out.append(
            KeyPose(
                check.ident(ctx, check.join(ipath, "name"), data["name"]), t, tuple(pts)
            )
        )
    names = [k.name for k in out]
    for need in ("rest", "turn"):
        if need not in names:
            raise ctx.fail(path, f"expected a key pose named {need!r}, got {names}")
    return tuple(sorted(out, key=lambda k: k.t))


def _reference(
    ctx: check.Context, path: str, value: Any, tolerance: dict[str, float]
) -> Reference:
    table = _table(ctx, path, value)
    missing = [n for n in FEATURES if n not in table]
    if missing:
        raise ctx.fail(path, f"missing reference for features: {', '.join(missing)}")
    rows: list[tuple[float, ...]] = []
    length = None
    for name in FEATURES:
        fpath = check.join(path, name)
        check.feature(ctx, fpath, name)
        vals = tuple(
            check.number(ctx, check.join(fpath, i), x)
            for i, x in enumerate(check.array(ctx, fpath, table[name]))
        )
        if length is None:
            length = len(vals)
            if length < 5:
                raise ctx.fail(fpath, f"expected at least 5 samples, got {length}")
        elif len(vals) != length:
            raise ctx.fail(fpath, f"expected {length} samples like the others")
        rows.append(vals)
    for key in table:
        if key not in FEATURES:
            raise ctx.fail(
                check.join(path, key),
                f"unknown feature {key!r}; valid features: {', '.join(FEATURES)}",
            )
    assert length is not None
    t = tuple(float(v) for v in np.linspace(0.0, 1.0, length))
    return Reference(
        t, tuple(FEATURES), tuple(rows), tuple(tolerance[n] for n in FEATURES)
    )


# --- the routine ---------------------------------------------------------------------


def _cues(
    ctx: check.Context, path: str, value: Any, channels: tuple[str, ...]
) -> tuple[SectionCue, ...]:
    out = []
    for i, item in enumerate(check.array(ctx, path, value, nonempty=False)):
        ipath = check.join(path, i)
        data = _table(ctx, ipath, item, "cue")
        channel = check.feature(ctx, check.join(ipath, "channel"), data["channel"])
        if channel not in channels:
            raise ctx.fail(
                check.join(ipath, "channel"),
                f"expected one of the section's channels ({', '.join(channels)}), "
                f"got {channel!r}",
            )
        out.append(
            SectionCue(
                id=check.ident(ctx, check.join(ipath, "id"), data["id"]),
                channel=channel,
                want=check.choice(ctx, check.join(ipath, "want"), data["want"], WANTS),
                say=check.text(ctx, check.join(ipath, "say"), data["say"]),
                min_deficit=check.number(
                    ctx,
                    check.join(ipath, "min_deficit"),
                    data.get("min_deficit", 1.0),
                    positive=True,
                ),
            )
        )
    return tuple(out)


def _section(
    ctx: check.Context,
    path: str,
    data: dict[str, Any],
    poses: dict[str, Any],
    tolerance: dict[str, float],
    poses_ctx: check.Context,
) -> Section:
    _table(ctx, path, data, "section")
    sid = check.ident(ctx, check.join(path, "id"), data["id"])
    channels = check.features(ctx, check.join(path, "channels"), data["channels"])
    tol = dict(tolerance)
    tol.update(
        check.tolerances(ctx, check.join(path, "tolerance"), data.get("tolerance", {}))
    )
    if sid not in poses:
        raise poses_ctx.fail(
            "sections",
            f"missing poses for section {sid!r}; sections there: "
            f"{', '.join(poses) or '(none)'}",
        )
    ppath = check.join("sections", sid)
    pdata = _table(poses_ctx, ppath, poses[sid], "section_poses")
    turn_t = check.number(
        poses_ctx, check.join(ppath, "turn_t"), pdata["turn_t"], positive=True
    )
    if turn_t >= 1.0:
        raise poses_ctx.fail(
            check.join(ppath, "turn_t"), f"expected 0 < t < 1, got {turn_t}"
        )
    number = data.get("number")
    turning_channels: tuple[str, ...] = ()
    if "turning_channels" in data:
        tpath = check.join(path, "turning_channels")
        turning_channels = check.features(ctx, tpath, data["turning_channels"])
        for i, name in enumerate(turning_channels):
            if name not in channels:
                raise ctx.fail(
                    check.join(tpath, i),
                    f"expected one of the section's channels ({', '.join(channels)}), "
                    f"got {name!r}",
                )
    return Section(
        id=sid,
        name=check.text(ctx, check.join(path, "name"), data["name"]),
        say=check.text(ctx, check.join(path, "say"), data["say"]),
        instructions=check.text(
            ctx, check.join(path, "instructions"), data["instructions"]
        ),
        turning=check.text(ctx, check.join(path, "turning"), data["turning"]),
        rounds=check.integer(
            ctx, check.join(path, "rounds"), data["rounds"], minimum=1
        ),
        sides=check.choice(ctx, check.join(path, "sides"), data["sides"], SIDES),
        pace_s=check.number(
            ctx, check.join(path, "pace_s"), data["pace_s"], positive=True
        ),
        channels=channels,
        reference=_reference(
            poses_ctx, check.join(ppath, "reference"), pdata["reference"], tol
        ),
        turn_t=turn_t,
        key_poses=_key_poses(
            poses_ctx, check.join(ppath, "key_poses"), pdata["key_poses"]
        ),
        cues=_cues(ctx, check.join(path, "cues"), data.get("cues", []), channels),
        number=None
        if number is None
        else check.integer(ctx, check.join(path, "number"), number, minimum=0),
        rest_s=None
        if "rest_s" not in data
        else check.number(ctx, check.join(path, "rest_s"), data["rest_s"], minimum=0.0),
        turning_channels=turning_channels,
    )


def routine_from_dict(
    data: dict[str, Any],
    poses: dict[str, Any],
    *,
    source: str = "<memory>",
    poses_source: str = "<memory>",
) -> RoutineSpec:
    """Validate a parsed routine file and its parsed poses file.

    Raises:
        RoutineError: anything malformed (the message names the file and key).
    """
    ctx, pctx = check.Context(source), check.Context(poses_source)
    _table(ctx, "", data, "")
    if data["schema"] != SCHEMA_VERSION:
        raise ctx.fail("schema", f"expected {SCHEMA_VERSION}, got {data['schema']!r}")
    rid = check.ident(ctx, "id", data["id"])
    _table(pctx, "", poses, "poses")
    if poses["routine"] != rid:
        raise pctx.fail("routine", f"expected {rid!r}, got {poses['routine']!r}")
    if list(poses["joints"]) != list(COCO_JOINT_NAMES):
        raise pctx.fail(
            "joints", f"expected the COCO-17 joints: {', '.join(COCO_JOINT_NAMES)}"
        )
    tolerance = check.tolerances(ctx, "tolerance", data["tolerance"])
    missing = [n for n in FEATURES if n not in tolerance]
    if missing:
        raise ctx.fail("tolerance", f"missing tolerance for: {', '.join(missing)}")
    messages_table = _table(ctx, "messages", data["messages"])
    for key in messages_table:
        if key not in MESSAGES:
            raise ctx.fail(
                check.join("messages", key),
                f"unknown message; valid: {', '.join(MESSAGES)}",
            )
    messages = {}
    for key in MESSAGES:
        if key not in messages_table:
            raise ctx.fail(check.join("messages", key), "missing required message")
        messages[key] = check.text(
            ctx, check.join("messages", key), messages_table[key]
        )
    section_poses = _table(pctx, "sections", poses["sections"])
    sections = tuple(
        _section(
            ctx,
            check.join("sections", i),
            _table(ctx, check.join("sections", i), item),
            section_poses,
            tolerance,
            pctx,
        )
        for i, item in enumerate(check.array(ctx, "sections", data["sections"]))
    )
    ids = [s.id for s in sections]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ctx.fail("sections", f"expected unique section ids, got {dupes} twice")
    extra = sorted(set(section_poses) - set(ids))
    if extra:
        raise pctx.fail(
            "sections",
            f"poses for unknown sections {extra}; routine sections: {', '.join(ids)}",
        )
    elder = _table(ctx, "elder", data.get("elder", {}), "elder")
    return RoutineSpec(
        id=rid,
        name=check.text(ctx, "name", data["name"]),
        description=check.text(ctx, "description", data["description"]),
        sections=sections,
        recognition=check.features(ctx, "recognition", data["recognition"]),
        messages=messages,
        standard=check.string(ctx, "standard", data["standard"])
        if "standard" in data
        else "",
        rest_s=check.number(ctx, "rest_s", data.get("rest_s", 5.0), minimum=0.0),
        elder_pace_factor=check.number(
            ctx, "elder.pace_factor", elder.get("pace_factor", 1.3), positive=True
        ),
        elder_rest_s=None
        if "rest_s" not in elder
        else check.number(ctx, "elder.rest_s", elder["rest_s"], minimum=0.0),
        source=source,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutineError(f"{path}: cannot read the routine: {exc}") from exc
    return parse_toml(text, str(path), RoutineError)


def load_routine(path: str | Path) -> RoutineSpec:
    """Read and validate a routine file and the poses file it names (a path relative
    to the routine's folder).

    Raises:
        RoutineError: unreadable file, invalid TOML or a malformed routine; the id must
            match the file name (`baduanjin.toml` holds id "baduanjin").
    """
    p = Path(path)
    data = _read_toml(p)
    poses_name = data.get("poses")
    if not isinstance(poses_name, str) or not poses_name.strip():
        got = check.describe(poses_name)
        raise RoutineError(
            f"{p}: poses: expected the name of the poses file, got {got}"
        )
    poses_path = p.parent / poses_name
    spec = routine_from_dict(
        data, _read_toml(poses_path), source=str(p), poses_source=str(poses_path)
    )
    if spec.id != p.stem:
        raise RoutineError(
            f"{p}: id: expected the file name {p.stem!r}, got {spec.id!r}"
        )
    return spec


@functools.cache
def _builtin() -> dict[str, RoutineSpec]:
    return {
        p.stem: load_routine(p)
        for p in sorted(ROUTINES_DIR.glob("*.toml"))
        if not p.name.endswith(".poses.toml")
    }


def builtin_routines() -> dict[str, RoutineSpec]:
    """Every routine shipped in `exercises/routines/`, by id (loaded once)."""
    return dict(_builtin())


def get_routine(routine_id: str) -> RoutineSpec:
    """A built-in routine by id.

    Raises:
        KeyError: no such id (the message lists the valid ids).
    """
    routines = _builtin()
    if routine_id not in routines:
        raise KeyError(
            f"unknown routine {routine_id!r}; valid routines: "
            f"{', '.join(sorted(routines)) or '(none)'}"
        )
    return routines[routine_id]
