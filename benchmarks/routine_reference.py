"""Build `exercises/routines/baduanjin.poses.toml` from the standard performances in
../shared/data/baduanjin/reference (see its README).

    python -m benchmarks.routine_reference --data ../shared/data/baduanjin [--check]

The reference keypoints are COCO-17, each axis min-max scaled over its clip, so the
aspect is lost. `key_poses.json` gives eight joint angles the source computed on the
original pixels at a few key frames; the x scale that reproduces them (to a fraction of
a degree) restores each clip's aspect, after which joints and features are isotropic.
The clips are at 15 frames per second (`standard_00` has 525 rows for a 35 s video; the
source's scorer indexes frames as 15 x seconds).

Per section, the rounds below (start, turning point, end, side; seconds in the
standard clip, picked from its feature curves) are cut, put on a common clock with the
turning point at t = 0.5 (each half resampled on its own), mirrored to the left side
where the round was done to the right, and averaged: the reference round (every
feature, `SAMPLES` rows) and the key poses (joints at t = 0, 0.25, 0.5, 0.75, 1).

The preparation (预备势) and the closing (收势) have no standard clip here
(`standard_13` shows two overhead raises, which is not the closing of the 2003 national
standard), so their key poses are authored from a standing pose of the standard
performer after the standard's text, and their reference is computed from those poses.

`--check` compares with the committed file and exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.routine import ROUTINES_DIR
from exercises.routine_features import (
    FEATURE_NAMES,
    SCALE_PERCENTILE,
    FeatureTracker,
    mirror_features,
    mirror_joints,
    torso_lengths,
)
from vision.types import COCO_JOINT_NAMES, PoseFrame, Skeleton

__all__ = ["FPS", "ROUNDS", "build_poses", "fit_aspect", "reference_frames"]

FPS: Final[float] = 15.0
SAMPLES: Final[int] = 21
KEY_TIMES: Final[tuple[tuple[str, float], ...]] = (
    ("rest", 0.0),
    ("rising", 0.25),
    ("turn", 0.5),
    ("returning", 0.75),
    ("end", 1.0),
)

# section id -> (standard clip, rounds as (start_s, turning_s, end_s, side))
ROUNDS: Final[dict[str, tuple[int, tuple[tuple[float, float, float, str], ...]]]] = {
    "hold_up_heavens": (0, ((3.0, 10.2, 18.0, "L"), (18.0, 25.2, 33.0, "L"))),
    "draw_the_bow": (1, ((5.0, 11.2, 17.5, "L"), (17.5, 24.5, 31.5, "R"))),
    "raise_single_arm": (2, ((4.0, 9.8, 15.0, "L"), (15.0, 21.0, 27.0, "R"))),
    "look_back": (3, ((4.0, 9.0, 14.5, "L"), (15.0, 21.0, 26.5, "R"))),
    "sway_head_and_tail": (4, ((13.0, 16.5, 23.0, "R"), (27.0, 33.5, 37.5, "R"))),
    "touch_the_feet": (5, ((11.5, 22.0, 28.5, "L"),)),
    "punch_with_glare": (6, ((7.5, 11.0, 14.5, "L"), (14.5, 19.0, 22.5, "R"))),
    "heel_raises": (
        7,
        ((10.0, 13.5, 16.5, "L"), (17.5, 20.5, 23.5, "L"), (24.5, 27.5, 30.5, "L")),
    ),
}
_STANDING: Final[tuple[int, float]] = (7, 10.0)
"""Clip and time of a quiet standing pose (hands at the sides) for the authored
sections."""

_ANGLE_TRIPLES: Final[tuple[tuple[int, int, int], ...]] = (
    (8, 6, 12),
    (10, 8, 6),
    (11, 5, 7),
    (5, 7, 9),
    (6, 12, 14),
    (5, 11, 13),
    (12, 14, 16),
    (11, 13, 15),
)
"""The joint triples (COCO rows) of key_poses.json's eight angles, in its order."""

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _angles_deg(xy: F64) -> F64:
    out = []
    for a, b, c in _ANGLE_TRIPLES:
        u, v = xy[:, a] - xy[:, b], xy[:, c] - xy[:, b]
        cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, 1)


def fit_aspect(xy: F64, key_s: list[float], angles_deg: list[list[float]]) -> float:
    """The x scale (width / height) that makes the key frames' angles match.

    Args:
        xy: (T, 17, 2) min-max scaled keypoints.
        key_s: Key frame times, seconds (frame = round(FPS * s)).
        angles_deg: The eight angles at each key frame.
    """
    rows = [min(round(FPS * s), len(xy) - 1) for s in key_s]
    target = np.array(angles_deg)
    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 2001))
    errors = []
    for s in grid:
        p = xy[rows].copy()
        p[..., 0] *= s
        errors.append(np.median(np.abs(_angles_deg(p) - target)))
    return float(grid[int(np.argmin(errors))])


def reference_frames(xy: F64) -> list[PoseFrame]:
    """A standard clip as COCO-17 frames (z 0, visibility 1) at `FPS`."""
    frames = []
    for t, row in enumerate(xy):
        xyz = np.zeros((17, 3), np.float32)
        xyz[:, :2] = row
        frames.append(
            PoseFrame(
                xyz, np.ones(17, np.float32), round(t * 1000 / FPS), Skeleton.COCO_17
            )
        )
    return frames


def _track(frames: list[PoseFrame], aspect: float) -> F32:
    tracker = FeatureTracker(aspect)
    return np.stack([tracker.update(f) for f in frames])


def _body_xy(xy: F64, aspect: float) -> F64:
    """(T, 17, 2) isotropic joints in torso lengths (origin still the picture's)."""
    iso = xy.copy()
    iso[..., 0] *= aspect
    scale = float(np.nanpercentile(torso_lengths(iso), SCALE_PERCENTILE))
    out: F64 = iso / scale
    return out


def _on_floor(xy: F64) -> F64:
    """Joints relative to the ankles' midpoint of the first row (the floor under the
    feet at the start of the round), so a rise of the whole body stays visible."""
    floor = (xy[0, 15] + xy[0, 16]) / 2
    out: F64 = xy - floor
    return out


def _cut(values: F64, start_s: float, turn_s: float, end_s: float) -> F64:
    """(SAMPLES, ...) with the turning point at the middle row."""
    t = np.arange(len(values)) / FPS
    half = SAMPLES // 2
    grid = np.concatenate(
        [
            np.linspace(start_s, turn_s, half + 1)[:-1],
            np.linspace(turn_s, end_s, SAMPLES - half),
        ]
    )
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(grid, t, flat[:, k]) for k in range(flat.shape[1])], 1)
    return out.reshape((SAMPLES, *values.shape[1:]))


def _authored(standing: F64) -> dict[str, list[tuple[str, float, F64]]]:
    """Key poses of the preparation and the closing, from a standing pose (torso
    units, the ankles' midpoint at the origin, y down) after the 2003 standard's
    text."""
    j = {n: i for i, n in enumerate(COCO_JOINT_NAMES)}
    shoulder_y = (
        standing[j["left_shoulder"], 1] + standing[j["right_shoulder"], 1]
    ) / 2

    def arms(
        elbow: tuple[float, float], wrist: tuple[float, float], sink: float
    ) -> F64:
        """Elbows and wrists at (out, below-shoulder) torso lengths, both sides; the
        whole body lowered by `sink` (knees bent) except the ankles."""
        pose = standing.copy()
        for side, sign in (("left", 1.0), ("right", -1.0)):
            pose[j[f"{side}_elbow"]] = (sign * elbow[0], shoulder_y + elbow[1])
            pose[j[f"{side}_wrist"]] = (sign * wrist[0], shoulder_y + wrist[1])
        pose[:, 1] += sink
        for side in ("left", "right"):
            pose[j[f"{side}_ankle"]] = standing[j[f"{side}_ankle"]]
            pose[j[f"{side}_knee"], 1] = standing[j[f"{side}_knee"], 1] + sink / 2
        return pose

    down = standing.copy()
    # arms swung out sideways to about hip height, palms back (内旋, 侧起约与髋同高)
    out_low = arms((0.45, 0.45), (0.75, 0.9), 0.0)
    # holding a ball in front of the belly, knees a little bent (两臂屈肘抱球于腹前)
    ball = arms((0.55, 0.6), (0.22, 0.75), 0.05)
    # hands folded over the lower belly (两掌相叠置于腹部)
    folded = arms((0.4, 0.55), (0.04, 0.9), 0.0)
    return {
        "preparation": [
            ("rest", 0.0, down),
            ("rising", 0.25, out_low),
            ("turn", 0.5, ball),
            ("returning", 0.75, ball),
            ("end", 1.0, ball),
        ],
        "closing": [
            ("rest", 0.0, down),
            ("rising", 0.25, out_low),
            ("turn", 0.5, folded),
            ("returning", 0.75, folded),
            ("end", 1.0, down),
        ],
    }


def _features_of_poses(poses: list[tuple[str, float, F64]]) -> F32:
    """The reference round of authored key poses: frames interpolated linearly
    between them over 10 s, through the feature tracker, resampled to SAMPLES."""
    times = np.array([t for _, t, _ in poses])
    stack = np.stack([p for _, _, p in poses])
    n = round(10 * FPS)
    grid = np.linspace(0.0, 1.0, n)
    xy = np.stack(
        [
            np.stack([np.interp(grid, times, stack[:, k, d]) for d in range(2)], axis=1)
            for k in range(17)
        ],
        axis=1,
    )
    # place the body in a 1:1 picture: feet at (0.5, 0.9), torso 0.25 of the height
    frames = reference_frames(np.array([0.5, 0.9]) + xy * 0.25)
    feats = _track(frames, 1.0)
    rows = np.linspace(0, n - 1, SAMPLES)
    out = np.stack(
        [np.interp(rows, np.arange(n), feats[:, k]) for k in range(feats.shape[1])], 1
    )
    return out.astype(np.float32)


def build_poses(data: Path) -> dict[str, dict[str, object]]:
    """Every section's turn_t, key poses and reference, by section id."""
    ref_dir = data / "reference"
    key_poses = json.loads((ref_dir / "key_poses.json").read_text())
    clips: dict[int, tuple[F64, float]] = {}

    def clip(i: int) -> tuple[F64, float]:
        if i not in clips:
            xy = np.load(ref_dir / f"standard_{i:02d}.npy").astype(np.float64)
            entry = key_poses[i]
            clips[i] = (xy, fit_aspect(xy, entry["allFrameSec"], entry["allPosesAng"]))
        return clips[i]

    out: dict[str, dict[str, object]] = {}
    for sid, (i, rounds) in ROUNDS.items():
        xy, aspect = clip(i)
        feats = _track(reference_frames(xy), aspect).astype(np.float64)
        body = _body_xy(xy, aspect)
        f_rounds, j_rounds = [], []
        for start, turn, end, side in rounds:
            f = _cut(feats, start, turn, end).astype(np.float32)
            b = _on_floor(_cut(body, start, turn, end))
            if side == "R":
                f = mirror_features(f, FEATURE_NAMES)
                b = mirror_joints(b)
            f_rounds.append(f)
            j_rounds.append(b)
        f_mean = np.nanmean(np.stack(f_rounds), 0)
        j_mean = np.mean(np.stack(j_rounds), 0)
        poses = [(name, t, j_mean[round(t * (SAMPLES - 1))]) for name, t in KEY_TIMES]
        out[sid] = {
            "source": f"standard_{i:02d} (aspect {aspect:.3f}), rounds at "
            + ", ".join(f"{s:g}-{tu:g}-{e:g} s {sd}" for s, tu, e, sd in rounds),
            "turn_t": 0.5,
            "poses": poses,
            "reference": f_mean,
        }
    xy, aspect = clip(_STANDING[0])
    standing = _on_floor(_body_xy(xy, aspect)[round(_STANDING[1] * FPS)][None])[0]
    for sid, poses in _authored(standing).items():
        out[sid] = {
            "source": "authored after the 2003 standard's text from a standing pose "
            f"of standard_{_STANDING[0]:02d} at {_STANDING[1]:g} s",
            "turn_t": 0.5,
            "poses": poses,
            "reference": _features_of_poses(poses),
        }
    order = ("preparation", *ROUNDS, "closing")
    return {sid: out[sid] for sid in order}


def _fmt(x: float) -> str:
    v = round(float(x), 3)
    return "0.0" if v == 0 else repr(v)


def render(poses: dict[str, dict[str, object]]) -> str:
    """The poses file's text (stable formatting, so regeneration diffs cleanly)."""
    lines = [
        "# Generated by `python -m benchmarks.routine_reference --data "
        "../shared/data/baduanjin`;",
        "# do not edit by hand. Key poses: COCO-17 joints in torso lengths, origin at",
        "# the ankles' midpoint at the start of the round, y down; reference: every",
        "# routine feature over the normalised round (rest -> turning point at turn_t",
        "# -> rest), left side.",
        "schema = 1",
        'routine = "baduanjin"',
        "joints = [" + ", ".join(f'"{n}"' for n in COCO_JOINT_NAMES) + "]",
        f"samples = {SAMPLES}",
        "",
    ]
    for sid, entry in poses.items():
        lines += [
            f"[sections.{sid}]",
            f'source = "{entry["source"]}"',
            f"turn_t = {entry['turn_t']}",
            "",
        ]
        for name, t, xy in entry["poses"]:  # type: ignore[attr-defined]
            pts = ", ".join(f"[{_fmt(x)}, {_fmt(y)}]" for x, y in xy)
            lines += [
                f"[[sections.{sid}.key_poses]]",
                f'name = "{name}"',
                f"t = {t}",
                f"xy = [{pts}]",
                "",
            ]
        lines.append(f"[sections.{sid}.reference]")
        ref = entry["reference"]
        for k, name in enumerate(FEATURE_NAMES):
            vals = ", ".join(_fmt(v) for v in ref[:, k])  # type: ignore[index]
            lines.append(f"{name} = [{vals}]")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/baduanjin"))
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render(build_poses(args.data))
    target = ROUTINES_DIR / "baduanjin.poses.toml"
    if args.check:
        same = target.exists() and target.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{target} differs from the data")
        return 0 if same else 1
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
