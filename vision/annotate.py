"""Drawing poses on images (edge, cv2): bones of `Skeleton.bones`, joints as dots.

`draw_poses` draws in place on a BGR image; `AnnotatedVideoWriter` writes the frames
of `movecoach pose --annotate out.mp4`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vision._closeable import Closeable
from vision.types import PoseFrame, Poses

__all__ = ["AnnotateError", "AnnotatedVideoWriter", "draw_poses"]

# BGR colours, one per person (cycled).
_PALETTE: Final[tuple[tuple[int, int, int], ...]] = (
    (0, 220, 0),
    (0, 165, 255),
    (255, 128, 0),
    (200, 0, 200),
    (0, 220, 220),
)
_JOINT_COLOR: Final[tuple[int, int, int]] = (255, 255, 255)
_FOURCC_BY_SUFFIX: Final[dict[str, str]] = {
    ".mp4": "mp4v",
    ".m4v": "mp4v",
    ".mov": "mp4v",
    ".avi": "MJPG",
    ".mkv": "MJPG",
}


class AnnotateError(RuntimeError):
    """An annotated video cannot be written (unsupported suffix, unwritable path)."""


# Landmarks further out than this (normalized units) are not drawn: MediaPipe places
# out-of-frame joints a little outside [0, 1], never this far unless something broke.
_MAX_OFF_IMAGE: Final[float] = 1.0


def _pixels(
    xyz: npt.NDArray[np.float32], width: int, height: int
) -> npt.NDArray[np.int32]:
    xy = np.nan_to_num(xyz[:, :2]) * np.array([width, height], np.float32)
    return xy.round().astype(np.int32)


def draw_poses(
    image_bgr: npt.NDArray[np.uint8],
    poses: Poses | PoseFrame,
    *,
    min_visibility: float = 0.5,
    thickness: int | None = None,
) -> npt.NDArray[np.uint8]:
    """Draw each pose's bones and joints onto `image_bgr` (modified in place).

    Joints that are NaN, below `min_visibility` or more than one image size outside
    the image are left out, with their bones.

    Args:
        image_bgr: (H, W, 3) uint8, C-contiguous; the poses' normalized coordinates
            refer to it.
        poses: Everyone found (`Poses`) or one subject (`PoseFrame`).
        min_visibility: Joints below it are not drawn.
        thickness: Line width in pixels (default scales with the image size).

    Returns:
        `image_bgr`, for chaining.

    Raises:
        ValueError: the image is not (H, W, 3) uint8 C-contiguous.
    """
    if (
        not isinstance(image_bgr, np.ndarray)
        or image_bgr.ndim != 3
        or image_bgr.shape[2] != 3
        or image_bgr.dtype != np.uint8
        or not image_bgr.flags.c_contiguous
    ):
        raise ValueError(
            "image_bgr must be (H, W, 3) uint8 C-contiguous, got "
            f"{getattr(image_bgr, 'shape', None)} {getattr(image_bgr, 'dtype', None)}"
        )
    if isinstance(poses, PoseFrame):
        xyz_all = poses.xyz[None]
        vis_all = poses.visibility[None]
    elif isinstance(poses, Poses):
        xyz_all, vis_all = poses.xyz, poses.visibility
    else:
        raise TypeError(f"expected Poses or a PoseFrame, got {type(poses).__name__}")
    height, width = image_bgr.shape[:2]
    line = (
        thickness if thickness is not None else max(1, round(max(width, height) / 300))
    )
    radius = line + 1
    bones = poses.skeleton.bones
    for n in range(xyz_all.shape[0]):
        xyz, vis = xyz_all[n], vis_all[n]
        xy = xyz[:, :2]
        with np.errstate(invalid="ignore"):
            near = (xy >= -_MAX_OFF_IMAGE).all(axis=1) & (
                xy <= 1.0 + _MAX_OFF_IMAGE
            ).all(axis=1)
        shown = near & (vis >= min_visibility)  # NaN compares False: not near
        points = _pixels(xyz, width, height)
        color = _PALETTE[n % len(_PALETTE)]
        for a, b in bones:
            if shown[a] and shown[b]:
                cv2.line(
                    image_bgr,
                    (int(points[a, 0]), int(points[a, 1])),
                    (int(points[b, 0]), int(points[b, 1])),
                    color,
                    line,
                    cv2.LINE_AA,
                )
        for j in np.flatnonzero(shown):
            cv2.circle(
                image_bgr,
                (int(points[j, 0]), int(points[j, 1])),
                radius,
                _JOINT_COLOR,
                -1,
                cv2.LINE_AA,
            )
    return image_bgr


class AnnotatedVideoWriter(Closeable):
    """Writes BGR frames to a video; the size is fixed by the first frame.

    Args:
        path: `.mp4`/`.m4v`/`.mov` (MPEG-4 Part 2) or `.avi`/`.mkv` (Motion JPEG).
        fps: Frame rate of the output.

    Raises:
        AnnotateError: unsupported suffix, missing folder, or fps <= 0.
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FOURCC_BY_SUFFIX:
            raise AnnotateError(
                f"expected a video path ending in {', '.join(_FOURCC_BY_SUFFIX)}, "
                f"got {self.path.name!r}"
            )
        if not self.path.parent.is_dir():
            raise AnnotateError(
                f"expected an existing folder for {self.path.name}, "
                f"got no folder {self.path.parent}"
            )
        if not fps > 0:
            raise AnnotateError(f"expected fps > 0 for {self.path}, got {fps}")
        self.fps = float(fps)
        self._fourcc = cv2.VideoWriter.fourcc(*_FOURCC_BY_SUFFIX[suffix])
        self._writer: cv2.VideoWriter | None = None
        self._size_wh: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, image_bgr: npt.NDArray[np.uint8]) -> None:
        """Append one (H, W, 3) uint8 frame; frames of another size are resized.

        Raises:
            AnnotateError: the video cannot be opened for writing.
        """
        height, width = image_bgr.shape[:2]
        if self._writer is None:
            self._writer = cv2.VideoWriter(
                str(self.path), self._fourcc, self.fps, (width, height)
            )
            if not self._writer.isOpened():
                self._writer = None
                raise AnnotateError(
                    f"expected to open {self.path} for writing, got a refusal from "
                    "OpenCV's video writer (unwritable path or codec unavailable)"
                )
            self._size_wh = (width, height)
        if (width, height) != self._size_wh:
            assert self._size_wh is not None
            image_bgr = np.asarray(cv2.resize(image_bgr, self._size_wh), np.uint8)
        self._writer.write(image_bgr)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file. Safe to call twice."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
