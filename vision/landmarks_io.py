"""Landmark files (edge): one subject's pose track as a NumPy `.npz`.

Layout (format 1), every array stored without pickling:

    format        () int64      1
    xyz           (T, J, 3) float32, normalized image coordinates; NaN = not detected
    visibility    (T, J) float32 in [0, 1]
    timestamp_ms  (T,) int64, non-decreasing
    detected      (T,) bool, a pose was found in frame t
    skeleton      () str, a `Skeleton` value ("blazepose_33")
    source        () str, what the frames came from (path or "camera 0")
    backend       () str, the pose backend's name ("mediapipe")
    meta_json     () str, any other metadata as a JSON object
    aspect_wh     () float64, the images' width / height (`PoseWindow.aspect_wh`);
                  optional: files without it take it from the metadata's
                  "resolution_wh", "image_wh" or "width" and "height", else 1.0
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.types import PoseWindow, Skeleton

__all__ = ["FORMAT_VERSION", "LandmarksFileError", "load_landmarks", "save_landmarks"]

FORMAT_VERSION: Final[int] = 1
_RESERVED: Final[frozenset[str]] = frozenset({"source", "backend", "detected"})


class LandmarksFileError(ValueError):
    """A landmarks file is missing, not an `.npz`, or lacks or misshapes a field."""


def save_landmarks(
    path: str | os.PathLike[str],
    window: PoseWindow,
    *,
    detected: npt.NDArray[np.bool_],
    meta: dict[str, Any],
) -> Path:
    """Write a pose track to `path` (an `.npz`; the suffix is added if missing).

    Args:
        path: Destination file.
        window: The track, T frames (T may be 0).
        detected: (T,) bool, whether a pose was found in each frame.
        meta: JSON-serializable metadata. "source" and "backend" (strings) are stored
            as their own fields; the rest goes to `meta_json`.

    Returns:
        The path written.

    Raises:
        ValueError: `detected` is not (T,) bool, or `meta` is not JSON-serializable.
    """
    if not isinstance(window, PoseWindow):
        raise TypeError(f"window must be a PoseWindow, got {type(window).__name__}")
    detected = np.asarray(detected)
    t = len(window)
    if detected.shape != (t,) or detected.dtype != np.bool_:
        raise ValueError(
            f"detected must be ({t},) bool, got {detected.shape} {detected.dtype.name}"
        )
    if "detected" in meta:
        raise ValueError("meta must not contain 'detected'; pass it as detected=")
    rest = {k: v for k, v in meta.items() if k not in _RESERVED}
    try:
        meta_json = json.dumps(rest, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"meta must be JSON-serializable, got {exc}") from exc
    out = Path(path)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    with out.open("wb") as f:
        np.savez_compressed(
            f,
            format=np.int64(FORMAT_VERSION),
            xyz=window.xyz,
            visibility=window.visibility,
            timestamp_ms=window.timestamp_ms,
            detected=detected,
            skeleton=np.str_(window.skeleton.value),
            source=np.str_(str(meta.get("source", ""))),
            backend=np.str_(str(meta.get("backend", ""))),
            meta_json=np.str_(meta_json),
            aspect_wh=np.float64(window.aspect_wh),
        )
    return out


def _meta_aspect(meta: dict[str, Any]) -> float:
    """Width / height from older files' metadata, 1.0 when it does not say."""
    wh = meta.get("resolution_wh") or meta.get("image_wh")
    if wh is None and "width" in meta and "height" in meta:
        wh = (meta["width"], meta["height"])
    try:
        w, h = (float(v) for v in wh)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return 1.0
    return w / h if w > 0 and h > 0 and math.isfinite(w / h) else 1.0


def _field(
    data: Any, path: Path, name: str, ndim: int, kind: str, kind_name: str
) -> npt.NDArray[Any]:
    if name not in data.files:
        raise LandmarksFileError(
            f"{path}: expected a field {name!r}, got fields {sorted(data.files)}"
        )
    array: npt.NDArray[Any] = data[name]
    if array.ndim != ndim or array.dtype.kind not in kind:
        raise LandmarksFileError(
            f"{path}: expected {name} to be {ndim}-d {kind_name}, "
            f"got {array.shape} {array.dtype.name}"
        )
    return array


def load_landmarks(path: str | os.PathLike[str]) -> tuple[PoseWindow, dict[str, Any]]:
    """Read a file written by `save_landmarks`.

    Args:
        path: The `.npz` file.

    Returns:
        The track and its metadata: the stored `meta`, plus "source" and "backend"
        (str) and "detected", (T,) bool.

    Raises:
        LandmarksFileError: the file is missing, not a landmarks `.npz`, of another
            format version, or has fields of the wrong shape or type.
    """
    path = Path(path)
    if not path.is_file():
        raise LandmarksFileError(
            f"expected a landmarks .npz file, got no file at {path}"
        )
    # Open the file ourselves: np.load leaks its handle when the zip is damaged.
    with path.open("rb") as f:
        try:
            data = np.load(f, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise LandmarksFileError(
                f"expected a landmarks .npz file, got an unreadable file {path}: {exc}"
            ) from exc
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise LandmarksFileError(
                f"expected a landmarks .npz file, got a single .npy array in {path}"
            )
        try:
            with data:
                version = int(_field(data, path, "format", 0, "iu", "int"))
                if version != FORMAT_VERSION:
                    raise LandmarksFileError(
                        f"{path}: expected landmarks format {FORMAT_VERSION}, "
                        f"got {version}"
                    )
                xyz = _field(data, path, "xyz", 3, "f", "float")
                visibility = _field(data, path, "visibility", 2, "f", "float")
                timestamp_ms = _field(data, path, "timestamp_ms", 1, "iu", "int")
                detected = _field(data, path, "detected", 1, "b", "bool")
                skeleton_name = str(_field(data, path, "skeleton", 0, "U", "str"))
                source = str(_field(data, path, "source", 0, "U", "str"))
                backend = str(_field(data, path, "backend", 0, "U", "str"))
                meta_json = str(_field(data, path, "meta_json", 0, "U", "str"))
                aspect_wh = (
                    float(_field(data, path, "aspect_wh", 0, "f", "float"))
                    if "aspect_wh" in data.files
                    else None
                )
        except LandmarksFileError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise LandmarksFileError(
                f"{path}: a field could not be read: {exc}"
            ) from exc
    try:
        skeleton = Skeleton(skeleton_name)
    except ValueError:
        valid = ", ".join(s.value for s in Skeleton)
        raise LandmarksFileError(
            f"{path}: expected skeleton one of {valid}, got {skeleton_name!r}"
        ) from None
    try:
        meta = json.loads(meta_json)
    except json.JSONDecodeError as exc:
        raise LandmarksFileError(f"{path}: meta_json is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise LandmarksFileError(
            f"{path}: expected meta_json to be an object, got {type(meta).__name__}"
        )
    t = xyz.shape[0]
    if detected.shape != (t,):
        raise LandmarksFileError(
            f"{path}: expected detected to be ({t},) like xyz, got {detected.shape}"
        )
    if t and np.any(np.diff(timestamp_ms.astype(np.int64)) < 0):
        raise LandmarksFileError(f"{path}: expected non-decreasing timestamp_ms")
    try:
        window = PoseWindow(
            np.ascontiguousarray(xyz),
            np.ascontiguousarray(visibility),
            timestamp_ms.astype(np.int64, copy=False),
            skeleton,
            _meta_aspect(meta) if aspect_wh is None else aspect_wh,
        )
    except (TypeError, ValueError) as exc:
        raise LandmarksFileError(f"{path}: {exc}") from exc
    meta.update(source=source, backend=backend, detected=detected)
    return window, meta
