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
from vision.backends.blazepose.detector import sigmoid
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

    Args:
        xy: (N, J, 2) float, landmarks normalized to the crop ([0, 1]).
        heatmap_logits: (N, J, Hh, Wh) float logits (NCHW, one channel per landmark).
        kernel_size: Odd window side in heatmap cells.
        min_confidence: Refine only where the window's best sigmoid confidence is at
            least this.

    Returns:
        (N, J, 2) float32, refined where confident, else unchanged.
    """
    p = np.asarray(xy, np.float32)
    hm = np.asarray(heatmap_logits, np.float32)
    n, j, hh, wh = hm.shape
    off = (kernel_size - 1) // 2
    # C++ float -> int truncates toward zero. MediaPipe checks the row against the
    # heatmap *width* only from below (`center_col >= hm_height` typo): rows just
    # below the map still get a clipped window; replicate for agreement.
    col = np.trunc(p[..., 0] * wh).astype(np.int64)
    row = np.trunc(p[..., 1] * hh).astype(np.int64)
    ok = (col >= 0) & (col < wh) & (row >= 0) & (row < hh + off)
    col = np.where(ok, col, 0)
    row = np.where(ok, row, 0)
    # The window's cells (N, J, k) on the map; cells off the map have confidence 0
    # (gathered with clipped indices: padding the whole map cost more than the rest).
    d = np.arange(-off, off + 1)
    rows = row[..., None] + d
    cols = col[..., None] + d
    row_on = (rows >= 0) & (rows < hh)
    col_on = (cols >= 0) & (cols < wh)
    ni = np.arange(n)[:, None, None, None]
    ji = np.arange(j)[None, :, None, None]
    win = hm[  # (N, J, k, k) logits
        ni,
        ji,
        np.clip(rows, 0, hh - 1)[..., :, None],
        np.clip(cols, 0, wh - 1)[..., None, :],
    ]
    conf = sigmoid(win) * (row_on[..., :, None] & col_on[..., None, :])
    total = conf.sum(axis=(2, 3))
    best = conf.max(axis=(2, 3))
    grid_r = rows.astype(np.float32)
    grid_c = cols.astype(np.float32)
    mean_c = (conf * grid_c[..., None, :]).sum(axis=(2, 3))
    mean_r = (conf * grid_r[..., :, None]).sum(axis=(2, 3))
    refine = ok & (best >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    out = p.copy()
    out[..., 0] = np.where(refine, mean_c / wh / safe, p[..., 0])
    out[..., 1] = np.where(refine, mean_r / hh / safe, p[..., 1])
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
    raw = raw.reshape(n, NUM_LANDMARKS, 5)
    presence = np.asarray(outputs[1], np.float32).reshape(n)
    xy: F32 = raw[..., 0:2] / np.float32(size)
    if refine:
        xy = refine_from_heatmap(xy, outputs[2])
    xy_px = np.einsum("nij,nkj->nki", transforms[:, :, :2], xy * size)
    xy_px += transforms[:, None, :, 2]
    w, h = image_wh
    side_px = np.hypot(transforms[:, 0, 0], transforms[:, 1, 0]) * size
    xyz = np.empty((n, NUM_LANDMARKS, 3), np.float32)
    xyz[..., 0] = xy_px[..., 0] / w
    xyz[..., 1] = xy_px[..., 1] / h
    # TensorsToLandmarks divides z by the input width, LandmarkProjection multiplies
    # by the ROI width (normalized by the image width).
    xyz[..., 2] = raw[..., 2] / size * (side_px / w)[:, None]
    return LandmarkResult(xyz, sigmoid(raw[..., 3]), presence)


def rois_from_landmarks(result: LandmarkResult, image_wh: tuple[int, int]) -> F64:
    """Next frame's ROIs (N, 4) from the alignment landmarks 33 (centre), 34 (scale)."""
    scale = np.asarray(image_wh, np.float64)
    xy = result.xyz[:, :, :2].astype(np.float64) * scale
    return rois_from_alignment_points(xy[:, _ALIGN_CENTER], xy[:, _ALIGN_SCALE])


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
