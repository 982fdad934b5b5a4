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
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from exercises.events import LocalizedText
from exercises.routine_features import FEATURES, mirror_features
from exercises.spec import LANGUAGES, Reference
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

_ID_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
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


class RoutineError(ValueError):
    """A malformed routine; the message names the file, the key and valid choices."""


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


# --- validation ------------------------------------------------------------------


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> RoutineError:
        where = f"{self.source}: {path}" if path else self.source
        return RoutineError(f"{where}: {message}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"


def _table(ctx: _Ctx, path: str, value: Any, kind: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a table, got {_what(value)}")
    if kind is not None:
        valid = _KEYS[kind]
        for key in value:
            if key not in valid:
                raise ctx.fail(
                    _join(path, key), f"unknown key; valid keys: {', '.join(valid)}"
                )
        for key in _REQUIRED.get(kind, ()):
            if key not in value:
                raise ctx.fail(_join(path, key), "missing required key")
    return value


def _list(ctx: _Ctx, path: str, value: Any, *, nonempty: bool = True) -> list[Any]:
    if not isinstance(value, list) or (nonempty and not value):
        raise ctx.fail(path, f"expected a non-empty array, got {_what(value)}")
    return value


def _str(ctx: _Ctx, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, f"expected a non-empty string, got {_what(value)}")
    return value


def _ident(ctx: _Ctx, path: str, value: Any) -> str:
    text = _str(ctx, path, value)
    if not _ID_RE.match(text):
        raise ctx.fail(
            path, f"expected an id of lowercase letters, digits and _, got {text!r}"
        )
    return text


def _choice(ctx: _Ctx, path: str, value: Any, valid: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ctx.fail(path, f"expected one of {', '.join(valid)}, got {_what(value)}")
    return value


def _number(
    ctx: _Ctx, path: str, value: Any, *, positive: bool = False, lo: float = -math.inf
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(path, f"expected a number, got {_what(value)}")
    x = float(value)
    if not math.isfinite(x) or (positive and x <= 0) or x < lo:
        need = "> 0" if positive else f">= {lo:g}" if lo > -math.inf else "finite"
        raise ctx.fail(path, f"expected a number {need}, got {value!r}")
    return x


def _int(ctx: _Ctx, path: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ctx.fail(path, f"expected an integer >= {minimum}, got {_what(value)}")
    return value


def _text(ctx: _Ctx, path: str, value: Any) -> LocalizedText:
    table = _table(ctx, path, value)
    for key in table:
        if key not in LANGUAGES:
            raise ctx.fail(
                _join(path, key),
                f"unknown language; valid languages: {', '.join(LANGUAGES)}",
            )
    for lang in LANGUAGES:
        if lang not in table:
            raise ctx.fail(
                path, f"missing {lang!r} text (every text needs en and zh-CN)"
            )
        _str(ctx, _join(path, lang), table[lang])
    return {lang: table[lang] for lang in LANGUAGES}


def _feature(ctx: _Ctx, path: str, value: Any) -> str:
    name = _str(ctx, path, value)
    if name not in FEATURES:
        raise ctx.fail(
            path, f"unknown feature {name!r}; valid features: {', '.join(FEATURES)}"
        )
    return name


def _features(ctx: _Ctx, path: str, value: Any) -> tuple[str, ...]:
    names = tuple(
        _feature(ctx, _join(path, i), v) for i, v in enumerate(_list(ctx, path, value))
    )
    if len(set(names)) != len(names):
        raise ctx.fail(path, f"expected each feature once, got {list(names)}")
    return names


def _tolerances(ctx: _Ctx, path: str, value: Any) -> dict[str, float]:
    table = _table(ctx, path, value)
    return {
        _feature(ctx, _join(path, k), k): _number(ctx, _join(path, k), v, positive=True)
        for k, v in table.items()
    }


# --- the poses file ----------------------------------------------------------------


def _key_poses(ctx: _Ctx, path: str, value: Any) -> tuple[KeyPose, ...]:
    out = []
    for i, item in enumerate(_list(ctx, path, value)):
        ipath = _join(path, i)
        data = _table(ctx, ipath, item, "key_pose")
        xy = _list(ctx, _join(ipath, "xy"), data["xy"])
        if len(xy) != len(COCO_JOINT_NAMES):
            raise ctx.fail(
                _join(ipath, "xy"),
                f"expected {len(COCO_JOINT_NAMES)} joints "
                f"({', '.join(COCO_JOINT_NAMES)}), got {len(xy)}",
            )
        pts = []
        for j, p in enumerate(xy):
            jpath = _join(_join(ipath, "xy"), j)
            if not isinstance(p, list) or len(p) != 2:
                raise ctx.fail(jpath, f"expected [x, y], got {_what(p)}")
            pts.append((_number(ctx, jpath, p[0]), _number(ctx, jpath, p[1])))
        t = _number(ctx, _join(ipath, "t"), data["t"], lo=0.0)
        if t > 1.0:
            raise ctx.fail(_join(ipath, "t"), f"expected 0 <= t <= 1, got {t}")
        out.append(
            KeyPose(_ident(ctx, _join(ipath, "name"), data["name"]), t, tuple(pts))
        )
    names = [k.name for k in out]
    for need in ("rest", "turn"):
        if need not in names:
            raise ctx.fail(path, f"expected a key pose named {need!r}, got {names}")
    return tuple(sorted(out, key=lambda k: k.t))


def _reference(
    ctx: _Ctx, path: str, value: Any, tolerance: dict[str, float]
) -> Reference:
    table = _table(ctx, path, value)
    missing = [n for n in FEATURES if n not in table]
    if missing:
        raise ctx.fail(path, f"missing reference for features: {', '.join(missing)}")
    rows: list[tuple[float, ...]] = []
    length = None
    for name in FEATURES:
        fpath = _join(path, name)
        _feature(ctx, fpath, name)
        vals = tuple(
            _number(ctx, _join(fpath, i), v)
            for i, v in enumerate(_list(ctx, fpath, table[name]))
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
                _join(path, key),
                f"unknown feature {key!r}; valid features: {', '.join(FEATURES)}",
            )
    assert length is not None
    t = tuple(float(v) for v in np.linspace(0.0, 1.0, length))
    return Reference(
        t, tuple(FEATURES), tuple(rows), tuple(tolerance[n] for n in FEATURES)
    )


# --- the routine ---------------------------------------------------------------------


def _cues(
    ctx: _Ctx, path: str, value: Any, channels: tuple[str, ...]
) -> tuple[SectionCue, ...]:
    out = []
    for i, item in enumerate(_list(ctx, path, value, nonempty=False)):
        ipath = _join(path, i)
        data = _table(ctx, ipath, item, "cue")
        channel = _feature(ctx, _join(ipath, "channel"), data["channel"])
        if channel not in channels:
            raise ctx.fail(
                _join(ipath, "channel"),
                f"expected one of the section's channels ({', '.join(channels)}), "
                f"got {channel!r}",
            )
        out.append(
            SectionCue(
                id=_ident(ctx, _join(ipath, "id"), data["id"]),
                channel=channel,
                want=_choice(ctx, _join(ipath, "want"), data["want"], WANTS),
                say=_text(ctx, _join(ipath, "say"), data["say"]),
                min_deficit=_number(
                    ctx,
                    _join(ipath, "min_deficit"),
                    data.get("min_deficit", 1.0),
                    positive=True,
                ),
            )
        )
    return tuple(out)


def _section(
    ctx: _Ctx,
    path: str,
    data: dict[str, Any],
    poses: dict[str, Any],
    tolerance: dict[str, float],
    poses_ctx: _Ctx,
) -> Section:
    _table(ctx, path, data, "section")
    sid = _ident(ctx, _join(path, "id"), data["id"])
    channels = _features(ctx, _join(path, "channels"), data["channels"])
    tol = dict(tolerance)
    tol.update(_tolerances(ctx, _join(path, "tolerance"), data.get("tolerance", {})))
    if sid not in poses:
        raise poses_ctx.fail(
            "sections",
            f"missing poses for section {sid!r}; sections there: "
            f"{', '.join(poses) or '(none)'}",
        )
    ppath = _join("sections", sid)
    pdata = _table(poses_ctx, ppath, poses[sid], "section_poses")
    turn_t = _number(poses_ctx, _join(ppath, "turn_t"), pdata["turn_t"], positive=True)
    if turn_t >= 1.0:
        raise poses_ctx.fail(
            _join(ppath, "turn_t"), f"expected 0 < t < 1, got {turn_t}"
        )
    number = data.get("number")
    turning_channels: tuple[str, ...] = ()
    if "turning_channels" in data:
        tpath = _join(path, "turning_channels")
        turning_channels = _features(ctx, tpath, data["turning_channels"])
        for i, name in enumerate(turning_channels):
            if name not in channels:
                raise ctx.fail(
                    _join(tpath, i),
                    f"expected one of the section's channels ({', '.join(channels)}), "
                    f"got {name!r}",
                )
    return Section(
        id=sid,
        name=_text(ctx, _join(path, "name"), data["name"]),
        say=_text(ctx, _join(path, "say"), data["say"]),
        instructions=_text(ctx, _join(path, "instructions"), data["instructions"]),
        turning=_text(ctx, _join(path, "turning"), data["turning"]),
        rounds=_int(ctx, _join(path, "rounds"), data["rounds"], minimum=1),
        sides=_choice(ctx, _join(path, "sides"), data["sides"], SIDES),
        pace_s=_number(ctx, _join(path, "pace_s"), data["pace_s"], positive=True),
        channels=channels,
        reference=_reference(
            poses_ctx, _join(ppath, "reference"), pdata["reference"], tol
        ),
        turn_t=turn_t,
        key_poses=_key_poses(poses_ctx, _join(ppath, "key_poses"), pdata["key_poses"]),
        cues=_cues(ctx, _join(path, "cues"), data.get("cues", []), channels),
        number=None
        if number is None
        else _int(ctx, _join(path, "number"), number, minimum=0),
        rest_s=None
        if "rest_s" not in data
        else _number(ctx, _join(path, "rest_s"), data["rest_s"], lo=0.0),
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
    ctx, pctx = _Ctx(source), _Ctx(poses_source)
    _table(ctx, "", data, "")
    if data["schema"] != SCHEMA_VERSION:
        raise ctx.fail("schema", f"expected {SCHEMA_VERSION}, got {data['schema']!r}")
    rid = _ident(ctx, "id", data["id"])
    _table(pctx, "", poses, "poses")
    if poses["routine"] != rid:
        raise pctx.fail("routine", f"expected {rid!r}, got {poses['routine']!r}")
    if list(poses["joints"]) != list(COCO_JOINT_NAMES):
        raise pctx.fail(
            "joints", f"expected the COCO-17 joints: {', '.join(COCO_JOINT_NAMES)}"
        )
    tolerance = _tolerances(ctx, "tolerance", data["tolerance"])
    missing = [n for n in FEATURES if n not in tolerance]
    if missing:
        raise ctx.fail("tolerance", f"missing tolerance for: {', '.join(missing)}")
    messages_table = _table(ctx, "messages", data["messages"])
    for key in messages_table:
        if key not in MESSAGES:
            raise ctx.fail(
                _join("messages", key), f"unknown message; valid: {', '.join(MESSAGES)}"
            )
    messages = {}
    for key in MESSAGES:
        if key not in messages_table:
            raise ctx.fail(_join("messages", key), "missing required message")
        messages[key] = _text(ctx, _join("messages", key), messages_table[key])
    section_poses = _table(pctx, "sections", poses["sections"])
    sections = tuple(
        _section(
            ctx,
            _join("sections", i),
            _table(ctx, _join("sections", i), item),
            section_poses,
            tolerance,
            pctx,
        )
        for i, item in enumerate(_list(ctx, "sections", data["sections"]))
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
        name=_text(ctx, "name", data["name"]),
        description=_text(ctx, "description", data["description"]),
        sections=sections,
        recognition=_features(ctx, "recognition", data["recognition"]),
        messages=messages,
        standard=_str(ctx, "standard", data["standard"]) if "standard" in data else "",
        rest_s=_number(ctx, "rest_s", data.get("rest_s", 5.0), lo=0.0),
        elder_pace_factor=_number(
            ctx, "elder.pace_factor", elder.get("pace_factor", 1.3), positive=True
        ),
        elder_rest_s=None
        if "rest_s" not in elder
        else _number(ctx, "elder.rest_s", elder["rest_s"], lo=0.0),
        source=source,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutineError(f"{path}: cannot read the routine: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RoutineError(f"{path}: invalid TOML: {exc}") from exc


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
        raise RoutineError(
            f"{p}: poses: expected the name of the poses file, got {_what(poses_name)}"
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
