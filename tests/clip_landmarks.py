"""Landmark tracks of the shared video clips, computed once and cached.

`clip_landmarks(cache_dir, path)` runs the single-person pipeline (ONNX BlazePose,
VIDEO mode) over a clip at about `TARGET_FPS` and keeps the result under pytest's cache
directory (`request.config.cache.mkdir(...)`), keyed by the file's size and mtime, so
only the first run pays for the inference. Tests that use it are marked `model` and
`slow` and skip without the shared data.

`until_s` stops early (a clip's first seconds only). `crop_bottom` cuts that fraction
of the picture's height off its bottom before the model sees it (legs out of frame;
the landmarks are then normalised to the cropped picture); `cover_bottom` paints it
over in a flat colour instead (legs hidden behind a table, the picture keeps its size).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["TARGET_FPS", "ClipTrack", "clip_landmarks", "save_npz"]

TARGET_FPS = 12.0  # every frame up to ~17 fps, every 2nd of 24-30 fps, ... (a camera
# feed for fall watching and instructor following needs no more)
_VERSION = "v2"
_COVER_BGR = (90, 110, 140)  # a flat, table-brown-grey board

ClipTrack = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64], float
]


def clip_landmarks(
    cache_dir: Path,
    path: Path,
    *,
    until_s: float | None = None,
    crop_bottom: float = 0.0,
    cover_bottom: float = 0.0,
) -> ClipTrack:
    """xyz (T, 33, 3) (NaN rows where nobody), visibility (T, 33), timestamps (T,) ms,
    and the clip's aspect ratio (width / height, of the cropped picture if cropped)."""
    import cv2

    from vision.backends.onnx import OnnxBackend, OnnxOptions

    stat = path.stat()
    edits = ""
    if until_s is not None:
        edits += f"-until{until_s:g}"
    if crop_bottom:
        edits += f"-crop{crop_bottom:g}"
    if cover_bottom:
        edits += f"-cover{cover_bottom:g}"
    key = (
        Path(cache_dir)
        / f"{path.stem}-{stat.st_size}-{int(stat.st_mtime)}{edits}-{_VERSION}.npz"
    )
    if key.exists():
        data = np.load(key)
        return data["xyz"], data["vis"], data["ts"], float(data["aspect"])
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    step = max(1, round(fps / TARGET_FPS))
    xyz, vis, stamps = [], [], []
    aspect = 1.0
    with OnnxBackend(OnnxOptions(num_poses=1)) as backend:
        index = 0
        while True:
            if index % step:
                if not capture.grab():
                    break
                index += 1
                continue
            ts = round(index * 1000 / fps) + 1
            if until_s is not None and ts > until_s * 1000:
                break
            ok, image = capture.read()
            if not ok:
                break
            height = image.shape[0]
            if crop_bottom:
                image = np.ascontiguousarray(
                    image[: round(height * (1.0 - crop_bottom))]
                )
            if cover_bottom:
                image = image.copy()
                image[round(height * (1.0 - cover_bottom)) :] = _COVER_BGR
            aspect = image.shape[1] / image.shape[0]
            poses = backend.detect(image, ts)
            if len(poses):
                xyz.append(poses.xyz[0])
                vis.append(poses.visibility[0])
            else:
                xyz.append(np.full((33, 3), np.nan, np.float32))
                vis.append(np.zeros(33, np.float32))
            stamps.append(ts)
            index += 1
    capture.release()
    track = (
        np.asarray(xyz, np.float32).reshape(-1, 33, 3),
        np.asarray(vis, np.float32).reshape(-1, 33),
        np.asarray(stamps, np.int64),
        aspect,
    )
    save_npz(key, xyz=track[0], vis=track[1], ts=track[2], aspect=aspect)
    return track


def save_npz(path: Path, **arrays: object) -> None:
    """`np.savez` to a file beside `path`, then renamed onto it: test workers running
    at once (pytest-xdist) never read a cache file another one is still writing."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    with open(part, "wb") as out:
        np.savez(out, **arrays)  # type: ignore[arg-type]
    os.replace(part, path)
