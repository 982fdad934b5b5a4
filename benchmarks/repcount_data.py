"""Loader for the repcount-dev data (RepCount-A poses, see ../shared/data/README.md).

Each `poses/<name>.npy` is float32 (frames, 104): 33 BlazePose landmarks as x, y, z
(min-max normalised per frame and per axis over the body), then 5 normalised angle
columns. All-zero rows mean nobody was detected. `annotation.csv` gives per video the
action, the true count and the start/end frame of every repetition.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision.types import PoseWindow, Skeleton

__all__ = [
    "ACTION_ALIASES",
    "FPS",
    "RepSequence",
    "canonical_action",
    "load_annotations",
    "load_window",
    "window_from_rows",
]

# The annotation spells some actions two ways (RepCount's two sources).
ACTION_ALIASES = {
    "benchpressing": "bench_pressing",
    "frontraise": "front_raise",
    "jumpjacks": "jump_jack",
    "pullups": "pull_up",
    "pushups": "push_up",
}

# The pose files carry no timing; RepCount videos are mostly 25-30 fps.
FPS = 30.0

_NUM_JOINTS = 33


def canonical_action(action: str) -> str:
    """The one spelling of an action (`pushups` -> `push_up`)."""
    return ACTION_ALIASES.get(action, action)


@dataclass(frozen=True, slots=True)
class RepSequence:
    """One annotated video.

    Attributes:
        action: Canonical action name (see `canonical_action`).
        name: Video file name as in the annotation, e.g. `stu10_5.mp4`.
        count: True number of repetitions.
        rep_bounds: (start_frame, end_frame) of each repetition.
        path: The pose file.
    """

    action: str
    name: str
    count: int
    rep_bounds: tuple[tuple[int, int], ...]
    path: Path


def load_annotations(root: Path) -> list[RepSequence]:
    """Every sequence of `root/annotation.csv` whose pose file exists, in file order."""
    out = []
    with (root / "annotation.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            marks = [int(float(v)) for k, v in row.items() if k.startswith("L") and v]
            bounds = tuple(zip(marks[::2], marks[1::2], strict=False))
            path = root / "poses" / (Path(row["name"]).stem + ".npy")
            if not path.exists():
                continue
            out.append(
                RepSequence(
                    canonical_action(row["type"]),
                    row["name"],
                    int(float(row["count"])),
                    bounds,
                    path,
                )
            )
    return out


def window_from_rows(rows: np.ndarray, fps: float = FPS) -> PoseWindow:
    """(T, >=99) pose rows -> PoseWindow; all-zero rows become missing frames.

    Present frames get visibility 1 for every joint, missing ones NaN with visibility 0
    (as `PoseFrame.missing`). Timestamps are frame index / fps.
    """
    rows = np.asarray(rows, np.float32)
    if rows.ndim != 2 or rows.shape[1] < 3 * _NUM_JOINTS:
        raise ValueError(f"rows must be (T, >= 99), got {rows.shape}")
    xyz = np.ascontiguousarray(rows[:, : 3 * _NUM_JOINTS].reshape(-1, _NUM_JOINTS, 3))
    missing = ~rows.any(axis=1)
    xyz[missing] = np.nan
    visibility = np.where(missing[:, None], 0.0, 1.0).astype(np.float32)
    visibility = np.ascontiguousarray(np.broadcast_to(visibility, xyz.shape[:2]))
    timestamps = np.round(np.arange(len(rows)) * 1000.0 / fps).astype(np.int64)
    return PoseWindow(xyz, visibility, timestamps, Skeleton.BLAZEPOSE_33)


def load_window(path: Path, fps: float = FPS) -> PoseWindow:
    """The pose file at `path` as a PoseWindow (see `window_from_rows`)."""
    return window_from_rows(np.load(path), fps)
