"""Regions of interest: the rotated square crops the landmark model sees, the affine
maps between tensor and image pixels, and MediaPipe's rect association.

Coordinates: "px" is image pixels (x right, y down); crop and tensor coordinates follow
MediaPipe/OpenCV warps (a pixel index is its coordinate, no half-pixel offset). An ROI
is [cx_px, cy_px, side_px, rotation_rad].
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import F32, F64, LANDMARK_INPUT_SIZE

__all__ = [
    "ROI_SCALE",
    "ROI_TARGET_ANGLE_RAD",
    "TRACK_IOU_THRESHOLD",
    "apply_transform",
    "associate_rois",
    "box_iou",
    "dedupe_rois",
    "letterbox_transform",
    "region_letterbox_transform",
    "roi_boxes",
    "roi_crop_transform",
    "rois_from_alignment_points",
]

ROI_SCALE: Final[float] = 1.25  # RectTransformationCalculator scale_x/scale_y
ROI_TARGET_ANGLE_RAD: Final[float] = math.pi / 2  # kp0 -> kp1 points up in the crop
TRACK_IOU_THRESHOLD: Final[float] = 0.5  # a detection this close to a tracked ROI is it


def box_iou(boxes_a: npt.ArrayLike, boxes_b: npt.ArrayLike) -> F32:
    """Intersection over union of every pair of axis-aligned boxes.

    Args:
        boxes_a: (N, 4) [x_min, y_min, x_max, y_max].
        boxes_b: (M, 4), same layout and units.

    Returns:
        (N, M) float32 in [0, 1]; 0 where the union is empty.
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)
    return iou.astype(np.float32)


def letterbox_transform(image_wh: tuple[int, int], size: int) -> F64:
    """Affine (2, 3) from tensor px to image px for a centred keep-aspect letterbox.

    The image's long side spans the whole `size`-square tensor; the short side is
    centred with zero padding (MediaPipe `ImageToTensor`, keep_aspect_ratio).
    """
    w, h = image_wh
    side = float(max(w, h))
    s = side / size
    return np.array(
        [[s, 0.0, (w - side) / 2.0], [0.0, s, (h - side) / 2.0]], np.float64
    )


def apply_transform(transform: npt.ArrayLike, xy: npt.ArrayLike) -> F64:
    """Apply a (2, 3) affine to points (..., 2)."""
    t = np.asarray(transform, np.float64)
    p = np.asarray(xy, np.float64)
    return p @ t[:, :2].T + t[:, 2]


def region_letterbox_transform(region_xyxy: npt.ArrayLike, size: int) -> F64:
    """Affine (2, 3) from tensor px to image px for a region of the image letterboxed
    into a `size` square (as `letterbox_transform`, offset to the region)."""
    x0, y0, x1, y1 = np.asarray(region_xyxy, np.float64).reshape(4)
    t = letterbox_transform((max(round(x1 - x0), 1), max(round(y1 - y0), 1)), size)
    t[:, 2] += (x0, y0)
    return t


def rois_from_alignment_points(
    center_xy: npt.ArrayLike,
    scale_xy: npt.ArrayLike,
    *,
    scale: float = ROI_SCALE,
    target_angle_rad: float = ROI_TARGET_ANGLE_RAD,
) -> F64:
    """Rotated square ROIs from two alignment points, as MediaPipe's
    `AlignmentPointsRectsCalculator` + `RectTransformationCalculator(square_long)`.

    Args:
        center_xy: (N, 2) px, the ROI centre (BlazePose: hips centre).
        scale_xy: (N, 2) px; |scale - centre| is half the box side before `scale`.
        scale: Margin factor on the side.
        target_angle_rad: Direction centre -> scale point ends up at in the crop.

    Returns:
        (N, 4) float64 [cx_px, cy_px, side_px, rotation_rad], rotation in [-pi, pi).
    """
    c = np.asarray(center_xy, np.float64).reshape(-1, 2)
    p = np.asarray(scale_xy, np.float64).reshape(-1, 2)
    d = p - c
    side = 2.0 * np.hypot(d[:, 0], d[:, 1]) * scale
    rotation = target_angle_rad - np.arctan2(-d[:, 1], d[:, 0])
    rotation = rotation - 2.0 * np.pi * np.floor((rotation + np.pi) / (2.0 * np.pi))
    return np.stack([c[:, 0], c[:, 1], side, rotation], axis=1)


def roi_crop_transform(rois: npt.ArrayLike, size: int = LANDMARK_INPUT_SIZE) -> F64:
    """Affines (N, 2, 3) from crop px (0..size) to image px for rotated square ROIs.

    A crop point (u, v) maps to centre + R(rotation) @ ((u, v) * side/size - side/2);
    so the crop's corners are the ROI's corners (MediaPipe's sub-rect warp).
    """
    r = np.asarray(rois, np.float64).reshape(-1, 4)
    cos, sin = np.cos(r[:, 3]), np.sin(r[:, 3])
    k = r[:, 2] / size
    half = r[:, 2] / 2.0
    t = np.empty((r.shape[0], 2, 3), np.float64)
    t[:, 0, 0], t[:, 0, 1] = k * cos, -k * sin
    t[:, 1, 0], t[:, 1, 1] = k * sin, k * cos
    t[:, 0, 2] = r[:, 0] - half * (cos - sin)
    t[:, 1, 2] = r[:, 1] - half * (sin + cos)
    return t


def roi_boxes(rois: npt.ArrayLike) -> F64:
    """Axis-aligned (N, 4) [x_min, y_min, x_max, y_max] px of the unrotated squares
    (what MediaPipe's rect association compares)."""
    r = np.asarray(rois, np.float64).reshape(-1, 4)
    half = r[:, 2:3] / 2.0
    return np.concatenate([r[:, 0:2] - half, r[:, 0:2] + half], axis=1)


def dedupe_rois(
    rois: npt.ArrayLike,
    scores: npt.ArrayLike,
    iou_threshold: float = TRACK_IOU_THRESHOLD,
) -> npt.NDArray[np.int64]:
    """Indices (ascending) of ROIs to keep: going from the best score down, drop any
    ROI that overlaps a kept one by more than `iou_threshold` (two tracks that
    converged on one person). Not in MediaPipe, which keeps such duplicates."""
    r = np.asarray(rois, np.float64).reshape(-1, 4)
    if r.shape[0] < 2:  # the usual single person: nothing to compare
        return np.arange(r.shape[0], dtype=np.int64)
    s = np.asarray(scores, np.float64).reshape(-1)
    iou = box_iou(roi_boxes(r), roi_boxes(r))
    keep: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if all(iou[i, j] <= iou_threshold for j in keep):
            keep.append(int(i))
    return np.sort(np.asarray(keep, np.int64))


def associate_rois(
    tracked: npt.ArrayLike,
    detected: npt.ArrayLike,
    iou_threshold: float = TRACK_IOU_THRESHOLD,
) -> F64:
    """Merge tracked and freshly detected ROIs like MediaPipe's
    `AssociationNormRectCalculator`: add the ROIs one by one, tracked first; each new
    ROI removes the ones already in the list that it overlaps by more than
    `iou_threshold` (axis-aligned IoU, rotation ignored), then joins at the end.

    Args:
        tracked: (T, 4) ROIs carried over from the previous frame.
        detected: (D, 4) ROIs from this frame's detections, best first.
        iou_threshold: Overlap above which two ROIs are the same person.

    Returns:
        (M, 4) float64, the surviving tracked ROIs then the detections.
    """
    merged: list[F64] = []
    for roi in np.concatenate(
        [
            np.asarray(tracked, np.float64).reshape(-1, 4),
            np.asarray(detected, np.float64).reshape(-1, 4),
        ]
    ):
        if merged:
            iou = box_iou(roi_boxes(roi), roi_boxes(np.stack(merged)))[0]
            merged = [m for m, o in zip(merged, iou, strict=True) if o <= iou_threshold]
        merged.append(roi)
    return np.stack(merged) if merged else np.zeros((0, 4), np.float64)
