"""Loader for the posetrainer-dev data (Pose Trainer, see ../shared/data/README.md).

`<exercise>/<exercise>[_]good|bad[_]<n>.npy`: float64 (frames, 18, 3) OpenPose COCO-18
keypoints, x and y in pixels, then the detection confidence (0 = not detected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision.types import PoseWindow, Skeleton

__all__ = ["FPS", "FormSequence", "load_form_sequences", "load_form_window"]

# The files carry no timing; Pose Trainer's clips are phone videos at about 30 fps.
FPS = 30.0
# Keypoints detected with less confidence than this are missing.
_MIN_CONFIDENCE = 0.1
_LABEL = re.compile(r"(good|bad)_?\d+$")


@dataclass(frozen=True, slots=True)
class FormSequence:
    """One labelled clip: its exercise folder, name, label and file."""

    exercise: str
    name: str
    bad: bool
    path: Path


def load_form_sequences(root: Path) -> list[FormSequence]:
    """Every `<exercise>/*.npy` under root whose name says good or bad, sorted."""
    out = []
    for path in sorted(root.glob("*/*.npy")):
        m = _LABEL.search(path.stem)
        if m is None:
            continue
        out.append(FormSequence(path.parent.name, path.stem, m.group(1) == "bad", path))
    return out


def load_form_window(path: Path, fps: float = FPS) -> PoseWindow:
    """OpenPose-18 pixels -> a window in image-normalised units with one scale for both
    axes (the image size is unknown; one scale keeps angles and ratios true)."""
    raw = np.load(path)
    detected = raw[..., 2] > _MIN_CONFIDENCE
    xy = raw[..., :2].astype(np.float64)
    scale = 1.05 * max(xy[..., 0][detected].max(), xy[..., 1][detected].max())
    xyz = np.zeros(raw.shape, np.float32)
    xyz[..., :2] = xy / scale
    xyz[~detected] = np.nan
    vis = detected.astype(np.float32)
    ts = np.round(np.arange(len(raw)) * 1000.0 / fps).astype(np.int64)
    return PoseWindow(np.ascontiguousarray(xyz), vis, ts, Skeleton.OPENPOSE_18)
