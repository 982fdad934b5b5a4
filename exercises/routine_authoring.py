# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Routine authoring: a coach's demonstration of a flowing form (24-form tai chi) in,
a routine and its poses file out.

    draft = propose_routine(frames, routine_id="taichi_24form",
                            name={"en": "24-form tai chi", "zh-CN": "二十四式太极拳"})
    draft.spec                  # the RoutineSpec (routine_from_dict accepted it)
    draft.routine, draft.poses  # the two files' layouts; dump_routine writes them

Steps (`propose_routine`):
1. Features: every frame through the routine feature tracker
   (`exercises.routine_features.FeatureTracker`, the frames' own `aspect_wh`), the
   same features the live engine and the Baduanjin's references use.
2. Moves: a flowing form has no rest between moves, so the demonstration is cut where
   the body moves least: the speed of the features (each in its tolerance, summed over
   those seen) smoothed over `smooth_s`; cuts at its lowest local minima, at least
   `min_move_s` apart and from the ends, lowest first, while it stays under
   `cut_quantile` of the speeds. A coach who knows where the moves change passes
   `cuts_s` instead.
3. Each move is a section done once (`rounds = 1`, `sides = "none"`), its standard
   time the demonstration's (`pace_s`), no rest after it. Its channels are the
   features seen in at least `MIN_SEEN` of its frames (a far arm hidden behind the body
   is left out); its turning channels those moving at least one tolerance; its turning
   point the frame furthest from where the move began (in tolerances).
4. Reference: every feature over the move's normalised time (`SAMPLES` rows), gaps
   bridged; a feature never seen in the move holds the demonstration's median (it is
   not among the move's channels). Key poses: the COCO-17 joints at the start, the
   turning point and the end, in torso lengths from the ankles' midpoint at the start.
5. The routine: recognition on the features seen in `MIN_SEEN` of all frames (not
   `body_rise`, whose baseline needs seconds); tolerances and messages the
   routine-wide defaults below (the Baduanjin's). Names are "Move n" / "第n式" for
   the coach to rename.

Core module: stdlib and numpy; no I/O (`dump_routine` returns text).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from exercises.events import LocalizedText
from exercises.routine import SCHEMA_VERSION, RoutineSpec, routine_from_dict
from exercises.routine_features import FEATURE_NAMES, FeatureTracker, torso_lengths
from exercises.signal import bridge_gaps, gaussian_smooth
from vision.types import COCO_JOINT_NAMES, PoseFrame

__all__ = [
    "DEFAULT_MESSAGES",
    "DEFAULT_TOLERANCE",
    "MIN_SEEN",
    "SAMPLES",
    "AuthoringError",
    "RoutineDraft",
    "RoutineDraftOptions",
    "cut_moves",
    "dump_routine",
    "form_features",
    "propose_routine",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

SAMPLES: Final[int] = 21
MIN_SEEN: Final[float] = 0.8
DEFAULT_TOLERANCE: Final[dict[str, float]] = {
    "wrist_height_left": 0.2,
    "wrist_height_right": 0.2,
    "wrist_out_left": 0.2,
    "wrist_out_right": 0.2,
    "elbow_height_left": 0.2,
    "elbow_height_right": 0.2,
    "elbow_out_left": 0.2,
    "elbow_out_right": 0.2,
    "elbow_angle_left": 25.0,
    "elbow_angle_right": 25.0,
    "head_turn": 0.05,
    "head_height": 0.2,
    "head_side": 0.2,
    "trunk_side": 0.15,
    "trunk_height": 0.15,
    "hip_height": 0.15,
    "stance_width": 0.3,
    "body_rise": 0.03,
}
"""The Baduanjin's tolerances (torso lengths; degrees for angles)."""
DEFAULT_MESSAGES: Final[dict[str, LocalizedText]] = {
    "other_side": {"en": "Now the other side.", "zh-CN": "换另一侧。"},
    "tempo_ahead": {
        "en": "A little slower. Follow the teacher.",
        "zh-CN": "慢一点，跟着老师做。",
    },
    "tempo_behind": {
        "en": "Take your time. Join in when you are ready.",
        "zh-CN": "不着急，准备好再跟上。",
    },
    "tempo_on": {"en": "Good, steady pace.", "zh-CN": "很好，节奏平稳。"},
    "rest": {
        "en": "Rest a moment and breathe easily.",
        "zh-CN": "稍事休息，自然呼吸。",
    },
    "well_done": {"en": "Well done.", "zh-CN": "做得很好。"},
}
_NOT_RECOGNISED: Final[tuple[str, ...]] = ("body_rise",)
_J: Final[dict[str, int]] = {n: i for i, n in enumerate(COCO_JOINT_NAMES)}


class AuthoringError(ValueError):
    """The demonstration cannot make a routine (too short, nobody seen)."""


@dataclass(frozen=True, slots=True)
class RoutineDraftOptions:
    """How the demonstration is cut into moves (see the module docstring)."""

    min_move_s: float = 2.5
    smooth_s: float = 0.4
    cut_quantile: float = 0.35
    cuts_s: tuple[float, ...] | None = None
    source: str = "a demonstration"


@dataclass(frozen=True, slots=True)
class RoutineDraft:
    """An authored routine: the spec, the two files' layouts, and where the moves
    were cut (seconds from the first frame)."""

    spec: RoutineSpec
    routine: dict[str, Any]
    poses: dict[str, Any]
    cuts_s: tuple[float, ...]


def form_features(frames: Sequence[PoseFrame]) -> tuple[npt.NDArray[np.int64], F32]:
    """Timestamps (T,) int64 ms and features (T, F) float32 (`FEATURE_NAMES` order) of
    a performance, each frame made isotropic by its own `aspect_wh`.

    Raises:
        AuthoringError: no frames.
    """
    if not frames:
        raise AuthoringError("expected at least one frame, got none")
    tracker = FeatureTracker(frames[0].aspect_wh)
    feats = np.stack([tracker.update(f) for f in frames]).astype(np.float32)
    ts = np.array([f.timestamp_ms for f in frames], np.int64)
    return ts, feats


def _speed(ts: npt.NDArray[np.int64], feats: F32, smooth_s: float) -> F64:
    """(T,) body speed, tolerances per second, smoothed; NaN-free."""
    tol = np.array([DEFAULT_TOLERANCE[n] for n in FEATURE_NAMES])
    x = bridge_gaps(feats.astype(np.float64) / tol)
    dt = np.maximum(np.diff(ts).astype(np.float64) / 1000.0, 1e-3)
    step = np.abs(np.diff(x, axis=0)) / dt[:, None]
    with np.errstate(invalid="ignore"):
        raw = np.nansum(step, axis=1)
    speed = np.concatenate([raw[:1], raw]) if raw.size else np.zeros(len(ts))
    fps = 1000.0 / float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0
    return gaussian_smooth(speed, smooth_s * fps)


def cut_moves(
    timestamps_ms: npt.NDArray[np.int64],
    features: F32,
    options: RoutineDraftOptions | None = None,
) -> tuple[float, ...]:
    """Where a flowing demonstration changes move: seconds from its first frame, in
    order (see the module docstring, step 2).

    Args:
        timestamps_ms: (T,) int64, increasing.
        features: (T, F) float32 in `FEATURE_NAMES` order, NaN = not seen.
        options: Cutting settings; `cuts_s` given is returned checked.

    Raises:
        AuthoringError: a given cut outside the demonstration or too close to another.
    """
    opts = options or RoutineDraftOptions()
    t_s = (timestamps_ms - timestamps_ms[0]).astype(np.float64) / 1000.0
    end = float(t_s[-1])
    if opts.cuts_s is not None:
        cuts = tuple(sorted(float(c) for c in opts.cuts_s))
        edges = (0.0, *cuts, end)
        if any(b - a < 1.0 for a, b in itertools.pairwise(edges)):
            raise AuthoringError(
                f"expected cuts inside 0-{end:.1f} s at least 1 s apart, got {cuts}"
            )
        return cuts
    speed = _speed(timestamps_ms, features, opts.smooth_s)
    inner = np.arange(1, len(speed) - 1)
    minima = inner[
        (speed[inner] <= speed[inner - 1]) & (speed[inner] < speed[inner + 1])
    ]
    limit = float(np.quantile(speed, opts.cut_quantile))
    chosen: list[float] = []
    for i in sorted(minima, key=lambda k: speed[k]):
        at = float(t_s[i])
        if speed[i] > limit:
            break
        if at < opts.min_move_s or end - at < opts.min_move_s:
            continue
        if all(abs(at - c) >= opts.min_move_s for c in chosen):
            chosen.append(at)
    return tuple(sorted(chosen))


def _coco_body(frames: Sequence[PoseFrame]) -> F64:
    """(T, 17, 2) isotropic COCO joints in torso lengths (the demonstration's 90th
    percentile torso), gaps bridged over time."""
    rows = []
    for f in frames:
        sk = f.skeleton
        xy = np.array([f.xyz[sk.index(n), :2] for n in COCO_JOINT_NAMES], np.float64)
        vis = np.array([f.visibility[sk.index(n)] for n in COCO_JOINT_NAMES])
        xy[vis < 0.5] = np.nan
        xy[:, 0] *= f.aspect_wh
        rows.append(xy)
    xy = np.stack(rows)
    torso = torso_lengths(xy)
    scale = float(np.nanpercentile(torso, 90)) if np.isfinite(torso).any() else 1.0
    out: F64 = bridge_gaps((xy / scale).reshape(len(xy), -1)).reshape(xy.shape)
    return out


def _key_pose(name: str, t: float, body: F64, floor: F64) -> dict[str, Any]:
    xy = np.nan_to_num(body - floor)
    return {
        "name": name,
        "t": round(t, 3),
        "xy": [[round(float(x), 3), round(float(y), 3)] for x, y in xy],
    }


def _number_text(n: int) -> dict[str, LocalizedText]:
    return {
        "name": {"en": f"Move {n}", "zh-CN": f"第{n}式"},
        "say": {
            "en": f"Move {n}. Follow the teacher.",
            "zh-CN": f"第{n}式，跟着老师做。",
        },
        "instructions": {
            "en": "Move slowly and evenly, as the teacher does; breathe calmly.",
            "zh-CN": "像老师一样缓慢、均匀地做动作，呼吸自然。",
        },
        "turning": {"en": "the fullest point of the move", "zh-CN": "动作最舒展处"},
    }


def _section(
    n: int,
    t_s: F64,
    feats: F64,
    body: F64,
    fallback: F64,
    span: tuple[float, float],
    source: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = span
    idx = np.flatnonzero((t_s >= a) & (t_s <= b))
    seg, seg_t = feats[idx], t_s[idx]
    tol = np.array([DEFAULT_TOLERANCE[name] for name in FEATURE_NAMES])
    seen = np.isfinite(seg).mean(axis=0) >= MIN_SEEN
    grid = np.linspace(a, b, SAMPLES)
    ref = np.empty((SAMPLES, len(FEATURE_NAMES)))
    for k in range(len(FEATURE_NAMES)):
        ok = np.isfinite(seg[:, k])
        ref[:, k] = np.interp(grid, seg_t[ok], seg[ok, k]) if ok.any() else fallback[k]
    moving = seen & (np.nanmax(ref, 0) - np.nanmin(ref, 0) >= tol)
    channels = [name for k, name in enumerate(FEATURE_NAMES) if seen[k]]
    if not channels:
        raise AuthoringError(f"nobody seen in {a:.1f}-{b:.1f} s of the demonstration")
    d = (ref - ref[0]) / tol
    dist = np.sqrt(np.sum(np.where(seen, d, 0.0) ** 2, axis=1))
    turn_row = int(np.clip(np.argmax(dist), 1, SAMPLES - 2))
    turn_t = round(turn_row / (SAMPLES - 1), 3)
    rows = np.clip(np.searchsorted(t_s, [a, a + turn_t * (b - a), b]), 0, len(t_s) - 1)
    floor = (body[rows[0], _J["left_ankle"]] + body[rows[0], _J["right_ankle"]]) / 2
    sid = f"move_{n:02d}"
    section: dict[str, Any] = {
        "id": sid,
        "number": n,
        **_number_text(n),
        "rounds": 1,
        "sides": "none",
        "pace_s": round(b - a, 2),
        "rest_s": 0.0,
        "channels": channels,
    }
    turning = [name for k, name in enumerate(FEATURE_NAMES) if moving[k]]
    if turning:
        section["turning_channels"] = turning
    poses = {
        "source": f"{source}, {a:.1f}-{b:.1f} s",
        "turn_t": turn_t,
        "key_poses": [
            _key_pose(name, t, body[r], floor)
            for name, t, r in zip(
                ("rest", "turn", "end"), (0.0, turn_t, 1.0), rows, strict=True
            )
        ],
        "reference": {
            name: [round(float(v), 4) for v in ref[:, k]]
            for k, name in enumerate(FEATURE_NAMES)
        },
    }
    return section, poses


def propose_routine(
    frames: Sequence[PoseFrame],
    *,
    routine_id: str,
    name: LocalizedText,
    description: LocalizedText | None = None,
    options: RoutineDraftOptions | None = None,
) -> RoutineDraft:
    """A routine from a demonstration of a flowing form (module docstring).

    Args:
        frames: The demonstration, one person, timestamps increasing; any skeleton
            with the COCO-17 joints; each frame's `aspect_wh` set.
        routine_id: The routine's id (lowercase letters, digits, _).
        name: Its name in every language.
        description: Its description (default: the name and the source).
        options: Cutting settings.

    Returns:
        `RoutineDraft`.

    Raises:
        AuthoringError: fewer than two seconds of demonstration, or a move in which
            nobody is seen.
        RoutineError: the draft does not validate (a bad id or name).
    """
    opts = options or RoutineDraftOptions()
    ts, feats32 = form_features(frames)
    if len(ts) < 2 or ts[-1] - ts[0] < 2000:
        raise AuthoringError(
            "expected a demonstration of at least 2 s, "
            f"got {(ts[-1] - ts[0]) / 1000:g} s"
        )
    feats = feats32.astype(np.float64)
    t_s = (ts - ts[0]).astype(np.float64) / 1000.0
    cuts = cut_moves(ts, feats32, opts)
    edges = (0.0, *cuts, float(t_s[-1]))
    body = _coco_body(frames)
    with np.errstate(all="ignore"):
        fallback = np.nan_to_num(np.nanmedian(feats, axis=0))
    sections, section_poses = [], {}
    for n, span in enumerate(itertools.pairwise(edges), start=1):
        section, poses = _section(n, t_s, feats, body, fallback, span, opts.source)
        sections.append(section)
        section_poses[section["id"]] = poses
    seen = np.isfinite(feats).mean(axis=0) >= MIN_SEEN
    recognition = [
        n for k, n in enumerate(FEATURE_NAMES) if seen[k] and n not in _NOT_RECOGNISED
    ]
    routine: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "id": routine_id,
        "name": dict(name),
        "description": dict(description)
        if description
        else {lang: f"{text} ({opts.source})" for lang, text in name.items()},
        "poses": f"{routine_id}.poses.toml",
        "rest_s": 0.0,
        "recognition": recognition,
        "tolerance": dict(DEFAULT_TOLERANCE),
        "messages": {k: dict(v) for k, v in DEFAULT_MESSAGES.items()},
        "sections": sections,
    }
    poses_doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "routine": routine_id,
        "joints": list(COCO_JOINT_NAMES),
        "samples": SAMPLES,
        "source": opts.source,
        "sections": section_poses,
    }
    spec = routine_from_dict(routine, poses_doc, source=f"<{routine_id} draft>")
    return RoutineDraft(spec, routine, poses_doc, cuts)


# --- writing the files ---------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} as TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items())
        return "{ " + inner + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _key(k: str) -> str:
    return (
        k
        if k.replace("_", "").replace("-", "").isalnum() and k.isascii()
        else json.dumps(k)
    )


def _table(lines: list[str], header: str, data: Mapping[str, Any]) -> None:
    """`data`'s plain keys under `header`; nested tables and arrays of tables after."""
    if header:
        lines += ["", header]
    later: list[tuple[str, Any]] = []
    for k, v in data.items():
        if isinstance(v, Mapping) and any(
            isinstance(x, Mapping | list) and not _is_text(x) for x in v.values()
        ):
            later.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            later.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    prefix = header.strip("[]")
    for k, v in later:
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, list):
            for item in v:
                _table(lines, f"[[{name}]]", item)
        else:
            _table(lines, f"[{name}]", v)


def _is_text(x: Any) -> bool:
    return isinstance(x, Mapping) and all(isinstance(v, str) for v in x.values())


def dump_routine(draft: RoutineDraft) -> tuple[str, str]:
    """The routine file's and the poses file's TOML text (`load_routine` reads them
    back to an equal spec)."""
    name = draft.spec.name
    head = f"# {name['en']} / {name['zh-CN']}: authored from {draft.poses['source']}"
    routine_lines = [
        head,
        f"# moves cut at {', '.join(f'{c:.1f}' for c in draft.cuts_s)} s",
    ]
    _table(routine_lines, "", draft.routine)
    poses_lines = [head, "# generated; key poses in torso lengths, y down"]
    _table(poses_lines, "", draft.poses)
    return "\n".join(routine_lines) + "\n", "\n".join(poses_lines) + "\n"
