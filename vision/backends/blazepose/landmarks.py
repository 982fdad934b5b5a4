"""Landmark stage: rotated square crops of the ROIs into the 256x256 landmark tensor,
and its outputs (39 landmarks, presence, heatmaps) back to normalized image
coordinates (MediaPipe's `tensors_to_pose_landmarks_and_segmentation` and
`RefineLandmarksFromHeatmap`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import (
    F32,
    F64,
    LANDMARK_INPUT_SIZE,
    NUM_LANDMARKS,
    NUM_POSE_JOINTS,
    check_image,
    tensor_batch,
    warp_into,
)
from vision.backends.blazepose.kernels import _decode_landmarks, _refine_from_heatmap
from vision.backends.blazepose.roi import roi_crop_transform, rois_from_alignment_points
from vision.types import PoseFrame, Poses, Skeleton

__all__ = [
    "HEATMAP_KERNEL",
    "HEATMAP_MIN_CONFIDENCE",
    "LandmarkResult",
    "landmarks_to_frames",
    "landmarks_to_poses",
    "postprocess_landmarks",
    "preprocess_landmarks",
    "refine_from_heatmap",
    "rois_from_landmarks",
]

HEATMAP_KERNEL: Final[int] = 7  # RefineLandmarksFromHeatmap kernel_size
HEATMAP_MIN_CONFIDENCE: Final[float] = 0.5  # ... min_confidence_to_refine
_ALIGN_CENTER, _ALIGN_SCALE = 33, 34  # hips centre and full-body scale point
_NO_HEATMAP: Final = np.zeros((0, NUM_LANDMARKS, 1, 1), np.float32)


def preprocess_landmarks(
    image_bgr: npt.NDArray[np.uint8],
    rois: npt.ArrayLike,
    size: int = LANDMARK_INPUT_SIZE,
    *,
    out: F32 | None = None,
) -> tuple[F32, F64]:
    """Warp each ROI of a frame to a square crop; stack them into one batch.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        rois: (N, 4) [cx_px, cy_px, side_px, rotation_rad].
        size: Landmark-model input side.
        out: (N, 3, size, size) float32 buffer to fill (e.g. a reused model input);
            None allocates one.

    Returns:
        tensor: (N, 3, size, size) float32 RGB in [0, 1] (borders replicated);
            `out` when given.
        transforms: (N, 2, 3) float64, crop px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8, or `out` does not fit.
    """
    check_image(image_bgr)
    transforms = roi_crop_transform(rois, size)
    tensor = tensor_batch(out, transforms.shape[0], size)
    for i, t in enumerate(transforms):
        warp_into(tensor[i], image_bgr, t, scale=1 / 255, offset=0, replicate=True)
    return tensor, transforms


def refine_from_heatmap(
    xy: npt.ArrayLike,
    heatmap_logits: npt.ArrayLike,
    *,
    kernel_size: int = HEATMAP_KERNEL,
    min_confidence: float = HEATMAP_MIN_CONFIDENCE,
) -> F32:
    """MediaPipe's `RefineLandmarksFromHeatmap`: move each landmark to the
    confidence-weighted mean cell of a kernel window around it in its heatmap.

    MediaPipe's bounds are replicated: a landmark refines only when its cell's column
    is on the map and its row is at least 0 and below the map's height plus half the
    window (the C++ checks the row against the width only from below, a typo), and
    C++ float -> int truncates toward zero. Cells of the window off the map count as
    confidence 0.

    Args:
        xy: (N, J, 2) float, landmarks normalized to the crop ([0, 1]).
        heatmap_logits: (N, J, Hh, Wh) float logits (NCHW, one channel per landmark).
        kernel_size: Odd window side in heatmap cells.
        min_confidence: Refine only where the window's best sigmoid confidence is at
            least this.

    Returns:
        (N, J, 2) float32, refined where confident, else unchanged.

    Raises:
        ValueError: the shapes do not match.
    """
    p = np.ascontiguousarray(xy, np.float32)
    hm = np.ascontiguousarray(heatmap_logits, np.float32)
    if p.ndim != 3 or p.shape[2] != 2 or hm.ndim != 4 or hm.shape[:2] != p.shape[:2]:
        raise ValueError(
            "expected xy (N, J, 2) and heatmap_logits (N, J, Hh, Wh), got "
            f"{p.shape} and {hm.shape}"
        )
    out = np.empty_like(p)
    _refine_from_heatmap(p, hm, int(kernel_size), float(min_confidence), out)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class LandmarkResult:
    """Landmark-model output for N crops, in normalized image coordinates.

    Attributes:
        xyz: (N, 39, 3) float32; x, y in [0, 1] of the image, z in units of image
            width relative to the hips (MediaPipe's scale). Rows 33 and 34 are the ROI
            alignment points.
        visibility: (N, 39) float32 in [0, 1].
        presence: (N,) float32 in [0, 1], the pose presence flag.
    """

    xyz: F32
    visibility: F32
    presence: F32

    @classmethod
    def empty(cls) -> LandmarkResult:
        return cls(
            np.zeros((0, NUM_LANDMARKS, 3), np.float32),
            np.zeros((0, NUM_LANDMARKS), np.float32),
            np.zeros(0, np.float32),
        )

    def __len__(self) -> int:
        return int(self.presence.shape[0])

    def take(self, index: npt.NDArray[Any]) -> LandmarkResult:
        return LandmarkResult(
            self.xyz[index], self.visibility[index], self.presence[index]
        )


def postprocess_landmarks(
    outputs: Sequence[npt.NDArray[np.floating[Any]]],
    transforms: F64,
    image_wh: tuple[int, int],
    *,
    size: int = LANDMARK_INPUT_SIZE,
    refine: bool = True,
) -> LandmarkResult:
    """Decode a batch of landmark-model outputs and project them to the image.

    Args:
        outputs: (landmarks (N, 195), presence (N, 1), heatmap (N, 39, 64, 64)).
        transforms: (N, 2, 3) crop px -> image px from `preprocess_landmarks`.
        image_wh: Image size in px.
        size: Landmark-model input side.
        refine: Apply heatmap refinement (MediaPipe does).

    Returns:
        The N poses, all 39 landmarks.

    Raises:
        ValueError: the outputs do not have N rows of 39 landmarks.
    """
    raw = np.asarray(outputs[0], np.float32)
    n = transforms.shape[0]
    if raw.shape != (n, NUM_LANDMARKS * 5):
        raise ValueError(
            f"expected landmarks ({n}, {NUM_LANDMARKS * 5}), got {raw.shape}"
        )
    raw = np.ascontiguousarray(raw.reshape(n, NUM_LANDMARKS, 5))
    presence = np.asarray(outputs[1], np.float32).reshape(n)
    heatmap = np.ascontiguousarray(outputs[2] if refine else _NO_HEATMAP, np.float32)
    if refine and heatmap.shape[:2] != (n, NUM_LANDMARKS):
        raise ValueError(
            f"expected heatmaps ({n}, {NUM_LANDMARKS}, Hh, Wh), got {heatmap.shape}"
        )
    xyz = np.empty((n, NUM_LANDMARKS, 3), np.float32)
    visibility = np.empty((n, NUM_LANDMARKS), np.float32)
    w, h = image_wh
    # One pass per landmark (refine, project, z, visibility): the numpy version of
    # these steps cost 0.4 ms per frame, ~2 % of the model (benchmarks.pose).
    _decode_landmarks(
        raw,
        heatmap,
        np.ascontiguousarray(transforms, np.float64),
        float(w),
        float(h),
        int(size),
        bool(refine),
        HEATMAP_KERNEL,
        HEATMAP_MIN_CONFIDENCE,
        xyz,
        visibility,
    )
    return LandmarkResult(xyz, visibility, presence)


def rois_from_landmarks(result: LandmarkResult, image_wh: tuple[int, int]) -> F64:
    """Next frame's ROIs (N, 4) from the alignment landmarks 33 (centre), 34 (scale)."""
    scale = np.asarray(image_wh, np.float64)
    # The two alignment points only (rows 33, 34), not all 39 landmarks.
    xy = result.xyz[:, _ALIGN_CENTER : _ALIGN_SCALE + 1, :2].astype(np.float64) * scale
    return rois_from_alignment_points(xy[:, 0], xy[:, 1])


def landmarks_to_frames(result: LandmarkResult, timestamp_ms: int) -> list[PoseFrame]:
    """One `PoseFrame` (33 BlazePose joints) per pose."""
    return landmarks_to_poses(result, timestamp_ms).frames()


def landmarks_to_poses(
    result: LandmarkResult, timestamp_ms: int, aspect_wh: float = 1.0
) -> Poses:
    """`Poses` of the N poses (33 joints, track IDs -1, scores = pose presence) in an
    image of width / height `aspect_wh`."""
    n = len(result)
    return Poses(
        np.ascontiguousarray(result.xyz[:, :NUM_POSE_JOINTS], np.float32),
        np.ascontiguousarray(result.visibility[:, :NUM_POSE_JOINTS], np.float32),
        np.full(n, -1, np.int64),
        np.ascontiguousarray(result.presence, np.float32),
        int(timestamp_ms),
        Skeleton.BLAZEPOSE_33,
        aspect_wh,
    )
