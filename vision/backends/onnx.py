"""ONNX Runtime BlazePose backend (edge): MediaPipe's pose pipeline on our own code.

The same two networks as `models/pose_landmarker_full.task` (from the mediapipe 0.10.21
wheel, converted by `models/build.py`), with MediaPipe's pre- and post-processing
re-implemented after its graphs (`pose_detection_cpu`, `pose_detection_to_roi`,
`pose_landmark_by_roi_cpu`, `tensors_to_pose_landmarks_and_segmentation`,
`pose_landmarks_to_roi`):

1. detector, 224x224 letterbox, [-1, 1]: 2254 SSD anchors (`generate_anchors`), box and
   4 keypoints per anchor (`decode_detections`), weighted NMS (`weighted_nms`);
2. ROI: centre = keypoint 0 (hips), size = 2 |kp1 - kp0| x 1.25, rotation so that
   kp0 -> kp1 points up (`rois_from_alignment_points`);
3. landmark model, 256x256 rotated crop (cv2 affine warp), [0, 1]: 39 landmarks (33
   BlazePose + 2 ROI alignment points + 4 unused), heatmap refinement, projection back
   to normalized image coordinates (`postprocess_landmarks`);
4. VIDEO-mode tracking: the next frame's ROI comes from this frame's alignment landmarks
   while the pose presence stays above `min_presence_confidence`; the detector runs
   only while fewer than `num_poses` people are tracked, and its ROIs replace the
   tracked ones they overlap (`associate_rois`, MediaPipe's rect association). Unlike
   MediaPipe, tracks that converge on one person are merged (`dedupe_rois`), and
   landmarks are not smoothed (MediaPipe 1.2.2 One-Euro-filters single-pose VIDEO
   output; use `vision.geometry.OneEuroSmoother`).

Everything but `infer` is pure numpy (+ cv2 for the warps) and testable without a model.
`onnxruntime` and `cv2` are imported on first use.

Coordinates: "px" is image pixels (x right, y down); crop and tensor coordinates follow
MediaPipe/OpenCV warps (a pixel index is its coordinate, no half-pixel offset).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from vision.backends.base import BackendError
from vision.types import PoseFrame, Poses, Skeleton, aspect_from_wh

__all__ = [
    "DETECTOR_INPUT_SIZE",
    "LANDMARK_INPUT_SIZE",
    "NUM_LANDMARKS",
    "POSE_ANCHORS",
    "AnchorOptions",
    "Detections",
    "LandmarkResult",
    "OnnxBackend",
    "OnnxOptions",
    "apply_transform",
    "associate_rois",
    "box_iou",
    "decode_detections",
    "dedupe_rois",
    "generate_anchors",
    "infer",
    "keypoint_similarity",
    "landmarks_to_frames",
    "letterbox_transform",
    "merge_region_detections",
    "part_of_another",
    "pose_plausibility",
    "postprocess_detector",
    "postprocess_detector_batch",
    "postprocess_landmarks",
    "preprocess_detector",
    "preprocess_detector_regions",
    "preprocess_landmarks",
    "refine_from_heatmap",
    "region_letterbox_transform",
    "roi_boxes",
    "roi_crop_transform",
    "rois_from_alignment_points",
    "rois_from_landmarks",
    "same_person",
    "select_distinct_poses",
    "sigmoid",
    "skeleton_overlap",
    "tile_grid",
    "torso_containment",
    "torso_lengths",
    "weighted_nms",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DETECTOR_INPUT_SIZE: Final[int] = 224
LANDMARK_INPUT_SIZE: Final[int] = 256
NUM_LANDMARKS: Final[int] = 39  # 33 BlazePose + 2 ROI alignment points + 4 unused
NUM_POSE_JOINTS: Final[int] = 33
_ALIGN_CENTER, _ALIGN_SCALE = 33, 34  # hips centre and full-body scale point
NUM_DETECTOR_KEYPOINTS: Final[int] = 4
ROI_SCALE: Final[float] = 1.25  # RectTransformationCalculator scale_x/scale_y
ROI_TARGET_ANGLE_RAD: Final[float] = math.pi / 2  # kp0 -> kp1 points up in the crop
NMS_IOU_THRESHOLD: Final[float] = 0.3  # NonMaxSuppressionCalculator, WEIGHTED
SCORE_CLIP: Final[float] = 100.0  # TensorsToDetections score_clipping_thresh
HEATMAP_KERNEL: Final[int] = 7  # RefineLandmarksFromHeatmap kernel_size
HEATMAP_MIN_CONFIDENCE: Final[float] = 0.5  # ... min_confidence_to_refine
TRACK_IOU_THRESHOLD: Final[float] = 0.5  # a detection this close to a tracked ROI is it
# Multi-person (see `tile_grid`, `select_distinct_poses`):
DETECTOR_RELIABLE_FRACTION: Final[float] = 0.4
"""A person whose height is at least this fraction of the detector input's side is
found reliably. Alone on a plain canvas (60 frames of 8 shared clips pasted at known
sizes, score >= 0.5) the detector finds 17 % at 0.15, 58 % at 0.20, 93 % at 0.25 and
all from 0.30; among neighbours (benchmarks/group_data scenes) people ~0.27 of the
frame high were still missed in 3-10 of 10 sampled frames with tiles sized for 0.3,
and in none with tiles sized for 0.4 (except a person whose head is out of view: the
detector keys on the face)."""
TILE_OVERLAP: Final[float] = DETECTOR_RELIABLE_FRACTION
"""Share of a tile's side its neighbour also covers. Tiles are sized so that the
smallest wanted person is `DETECTOR_RELIABLE_FRACTION` of a side; this overlap makes
every such person lie wholly inside some tile, wherever they stand."""
MAX_HIPS_OUTSIDE_REGION: Final[float] = 0.5
"""A detection whose hips lie farther outside its region than this many region sides
was extrapolated from a scrap at the region's edge (an arm, a face-like texture in a
small tile): measured on the real two-person clip, such detections put the hips 0.85-
1.5 tile sides away, while a person the tile cuts through has the hips within half a
side (they are in the tile, or the face is at its edge)."""
KEYPOINT_SIGMA: Final[float] = 0.1  # joint-distance tolerance, in body sizes (OKS)
DUPLICATE_SIMILARITY: Final[float] = 0.5  # two landmark sets this similar: one person
TORSO_CONTAINMENT: Final[float] = 0.5
"""Two poses whose trunks (shoulder-hip boxes, padded by `TORSO_PAD`) overlap by more
than this share of the smaller one are one person: a landmark fit collapsed onto part
of a body (a crop at the wrong scale) has different joints from the true fit but lies
on the same trunk, while people side by side, shoulders touching, overlap ~0.2-0.35."""
TORSO_PAD: Final[float] = 0.15  # of the torso length, around the shoulder-hip box
SKELETON_OVERLAP: Final[float] = 0.6
SKELETON_TOLERANCE: Final[float] = 0.2
"""A pose whose visible joints lie on another pose's bones (within 0.2 of that pose's
torso length, about half a limb's thickness) for 60 % or more of them is a fit on that
person's body (an arm, the hips): seen on pasted scenes and on the real clip."""
PART_INSIDE: Final[float] = 0.8
PART_PENALTY: Final[float] = 0.5
"""A fit lying on another's body (`part_of_another`; trunk at least 0.8 inside the
other's) ranks with half its score: on the pasted scenes an arm fit (presence 0.98)
outscored the waist-up person it lay on (0.66)."""
HEAD_TORSO_RATIO: Final[float] = 0.34
"""Nose to shoulder midpoint over shoulder midpoint to hip midpoint in a sound BlazePose
fit (0.32-0.36 measured on the real two-person clip, front and 3/4 views); collapsed
fits measured 0.15-1.9. `pose_plausibility` scores the deviation."""
HEAD_TORSO_LOG_SIGMA: Final[float] = 0.4

_DETECTOR_OUTPUTS = ("Identity", "Identity_1")  # regressors (N, 2254, 12), logits
_LANDMARK_OUTPUTS = ("Identity", "Identity_1", "Identity_3")  # lms, presence, heatmap
_PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


# ---------------------------------------------------------------- anchors


@dataclass(frozen=True, slots=True)
class AnchorOptions:
    """MediaPipe `SsdAnchorsCalculatorOptions` (defaults: BlazePose's detector)."""

    input_size_wh: tuple[int, int] = (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE)
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset_xy: tuple[float, float] = (0.5, 0.5)
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True
    reduce_boxes_in_lowest_layer: bool = False


POSE_ANCHORS: Final[AnchorOptions] = AnchorOptions()


def _anchor_scale(options: AnchorOptions, index: int) -> float:
    n = len(options.strides)
    if n == 1:
        return (options.min_scale + options.max_scale) * 0.5
    return options.min_scale + (options.max_scale - options.min_scale) * index / (n - 1)


def generate_anchors(options: AnchorOptions = POSE_ANCHORS) -> F32:
    """SSD anchors exactly as MediaPipe's `SsdAnchorsCalculator` lays them out.

    Consecutive layers with the same stride share one feature map; each cell holds the
    anchors of all those layers, cells run row by row, layers from fine to coarse.

    Args:
        options: Anchor parameters.

    Returns:
        (A, 4) float32 [x_center, y_center, w, h], normalized to the detector input
        (A = 2254 for BlazePose: 28x28x2 + 14x14x2 + 7x7x6).
    """
    strides = options.strides
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    while layer < len(strides):
        heights: list[float] = []
        widths: list[float] = []
        ratios: list[float] = []
        scales: list[float] = []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _anchor_scale(options, last)
            if last == 0 and options.reduce_boxes_in_lowest_layer:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                for ratio in options.aspect_ratios:
                    ratios.append(ratio)
                    scales.append(scale)
                if options.interpolated_scale_aspect_ratio > 0.0:
                    nxt = (
                        1.0
                        if last == len(strides) - 1
                        else _anchor_scale(options, last + 1)
                    )
                    scales.append(math.sqrt(scale * nxt))
                    ratios.append(options.interpolated_scale_aspect_ratio)
            last += 1
        for ratio, scale in zip(ratios, scales, strict=True):
            heights.append(scale / math.sqrt(ratio))
            widths.append(scale * math.sqrt(ratio))
        stride = strides[layer]
        fm_h = math.ceil(options.input_size_wh[1] / stride)
        fm_w = math.ceil(options.input_size_wh[0] / stride)
        for y in range(fm_h):
            for x in range(fm_w):
                cx = (x + options.anchor_offset_xy[0]) / fm_w
                cy = (y + options.anchor_offset_xy[1]) / fm_h
                for w, h in zip(widths, heights, strict=True):
                    if options.fixed_anchor_size:
                        rows.append((cx, cy, 1.0, 1.0))
                    else:
                        rows.append((cx, cy, w, h))
        layer = last
    return np.asarray(rows, np.float32).reshape(-1, 4)


# ---------------------------------------------------------------- detections


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """N detector candidates in one coordinate frame (tensor-normalized or px).

    Attributes:
        boxes_xyxy: (N, 4) float32 [x_min, y_min, x_max, y_max].
        keypoints_xy: (N, K, 2) float32; BlazePose: 0 hips centre, 1 full-body scale
            point, 2 shoulders centre, 3 upper-body scale point.
        scores: (N,) float32 in [0, 1].
    """

    boxes_xyxy: F32
    keypoints_xy: F32
    scores: F32

    def __post_init__(self) -> None:
        n = self.scores.shape[0] if isinstance(self.scores, np.ndarray) else -1
        ok = (
            n >= 0
            and self.scores.shape == (n,)
            and self.boxes_xyxy.shape == (n, 4)
            and self.keypoints_xy.ndim == 3
            and self.keypoints_xy.shape[0] == n
            and self.keypoints_xy.shape[2] == 2
        )
        if not ok:
            raise ValueError(
                "Detections expects boxes (N, 4), keypoints (N, K, 2), scores (N,); "
                "got "
                f"{getattr(self.boxes_xyxy, 'shape', None)}, "
                f"{getattr(self.keypoints_xy, 'shape', None)}, "
                f"{getattr(self.scores, 'shape', None)}"
            )

    @classmethod
    def empty(cls, num_keypoints: int = NUM_DETECTOR_KEYPOINTS) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros((0, num_keypoints, 2), np.float32),
            np.zeros(0, np.float32),
        )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, index: npt.NDArray[Any]) -> Detections:
        """The candidates at `index` (int array or boolean mask), in that order."""
        return Detections(
            self.boxes_xyxy[index], self.keypoints_xy[index], self.scores[index]
        )


def sigmoid(x: npt.NDArray[np.floating[Any]]) -> F32:
    """Logistic function without overflow warnings, as float32."""
    out: F32 = (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float32)))).astype(
        np.float32
    )
    return out


def decode_detections(
    raw_boxes: npt.NDArray[np.floating[Any]],
    raw_scores: npt.NDArray[np.floating[Any]],
    anchors: F32,
    *,
    min_score: float,
    input_size_wh: tuple[int, int] = (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE),
    num_keypoints: int = NUM_DETECTOR_KEYPOINTS,
) -> Detections:
    """Decode one image's SSD regressors like MediaPipe's `TensorsToDetections`.

    Per anchor the regressor holds (x, y, w, h, kp0x, kp0y, ...) in input pixels
    relative to the anchor centre (`reverse_output_order`, no exponential sizes).

    Args:
        raw_boxes: (A, 4 + 2K) float, the detector's first output for one image.
        raw_scores: (A,) or (A, 1) float logits, clipped to +-100, then sigmoid.
        anchors: (A, 4) float32 from `generate_anchors`.
        min_score: Keep candidates whose score is at least this.
        input_size_wh: Detector input size (the x/y/w/h scales).
        num_keypoints: K.

    Returns:
        Candidates above `min_score`, normalized to the detector input, in anchor order.

    Raises:
        ValueError: the shapes do not agree.
    """
    raw_boxes = np.asarray(raw_boxes, np.float32)
    raw_scores = np.asarray(raw_scores, np.float32).reshape(-1)
    a = anchors.shape[0]
    if raw_boxes.shape != (a, 4 + 2 * num_keypoints) or raw_scores.shape != (a,):
        raise ValueError(
            f"expected raw_boxes ({a}, {4 + 2 * num_keypoints}) and raw_scores ({a},) "
            f"for {a} anchors, got {raw_boxes.shape} and {raw_scores.shape}"
        )
    scores = sigmoid(np.clip(raw_scores, -SCORE_CLIP, SCORE_CLIP))
    keep = np.flatnonzero(scores >= min_score)
    raw = raw_boxes[keep]
    anc = anchors[keep]
    scale = np.asarray(input_size_wh, np.float32)
    wh_anchor = anc[:, 2:4]
    centre = raw[:, 0:2] / scale * wh_anchor + anc[:, 0:2]
    size = raw[:, 2:4] / scale * wh_anchor
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    kps = raw[:, 4:].reshape(-1, num_keypoints, 2) / scale * wh_anchor[:, None, :]
    kps = kps + anc[:, None, 0:2]
    return Detections(
        boxes.astype(np.float32),
        kps.astype(np.float32),
        scores[keep].astype(np.float32),
    )


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


def weighted_nms(
    detections: Detections,
    *,
    iou_threshold: float = NMS_IOU_THRESHOLD,
    max_detections: int | None = None,
) -> Detections:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Take the best remaining candidate; every remaining candidate whose IoU with it is
    above `iou_threshold` (itself included) joins its cluster; the output is the
    score-weighted mean box and keypoints of the cluster with the best candidate's
    score. Repeat on the rest.

    Args:
        detections: Candidates in any one coordinate frame.
        iou_threshold: Overlap above which candidates merge.
        max_detections: Stop after this many outputs (None: all).

    Returns:
        Merged detections, best first.
    """
    order = np.argsort(-detections.scores, kind="stable")
    boxes: list[F64] = []
    kps: list[F64] = []
    scores: list[float] = []
    iou_all = box_iou(detections.boxes_xyxy, detections.boxes_xyxy)
    while order.size and (max_detections is None or len(scores) < max_detections):
        best = order[0]
        similar = iou_all[best, order] > iou_threshold
        similar[0] = True  # the best box is in its own cluster even if degenerate
        cluster = order[similar]
        w = detections.scores[cluster].astype(np.float64)
        total = w.sum()
        boxes.append((detections.boxes_xyxy[cluster] * w[:, None]).sum(0) / total)
        kps.append((detections.keypoints_xy[cluster] * w[:, None, None]).sum(0) / total)
        scores.append(detections.scores[best])
        order = order[~similar]
    if not scores:
        return Detections.empty(detections.keypoints_xy.shape[1])
    return Detections(
        np.asarray(boxes, np.float32),
        np.asarray(kps, np.float32),
        np.asarray(scores, np.float32),
    )


# ---------------------------------------------------------------- transforms & ROIs


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - cv2 is a core dependency
        raise BackendError(
            "the onnx backend needs OpenCV (opencv-contrib-python, a movecoach "
            f"dependency: pip install -e .): {exc}"
        ) from exc
    return cv2


def _check_image(image_bgr: object) -> tuple[int, int]:
    if (
        not isinstance(image_bgr, np.ndarray)
        or image_bgr.ndim != 3
        or image_bgr.shape[2] != 3
        or image_bgr.dtype != np.uint8
        or image_bgr.shape[0] < 1
        or image_bgr.shape[1] < 1
    ):
        raise ValueError(
            "image_bgr must be (H, W, 3) uint8, got "
            f"{getattr(image_bgr, 'shape', None)} "
            f"{getattr(image_bgr, 'dtype', type(image_bgr).__name__)}"
        )
    return int(image_bgr.shape[1]), int(image_bgr.shape[0])


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


# ---------------------------------------------------------------- detector stage


def preprocess_detector(
    image_bgr: npt.NDArray[np.uint8], size: int = DETECTOR_INPUT_SIZE
) -> tuple[F32, F64]:
    """Letterbox a BGR frame into the detector tensor.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        size: Detector input side.

    Returns:
        tensor: (1, 3, size, size) float32 RGB in [-1, 1] (padding -1).
        transform: (2, 3) float64 affine, tensor px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8.
    """
    cv2 = _cv2()
    wh = _check_image(image_bgr)
    transform = letterbox_transform(wh, size)
    inv = cv2.invertAffineTransform(transform)
    warped = cv2.warpAffine(
        image_bgr,
        inv,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    tensor = warped[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)
    tensor *= 1.0 / 127.5
    tensor -= 1.0
    return tensor[None], transform


def postprocess_detector(
    outputs: Sequence[npt.NDArray[np.floating[Any]]],
    transform: F64,
    anchors: F32,
    *,
    min_score: float,
    max_detections: int | None,
    iou_threshold: float = NMS_IOU_THRESHOLD,
    size: int = DETECTOR_INPUT_SIZE,
) -> Detections:
    """Decode, suppress and map one image's detector outputs to image px.

    Args:
        outputs: (raw_boxes (1, A, 12), raw_scores (1, A, 1)) of one image.
        transform: (2, 3) tensor px -> image px from `preprocess_detector`.
        anchors: (A, 4) from `generate_anchors`.
        min_score: Detection threshold.
        max_detections: Most detections to return (None: all).
        iou_threshold: Weighted-NMS merge threshold.
        size: Detector input side.

    Returns:
        Detections in image px, best first.
    """
    raw_boxes, raw_scores = outputs[0], outputs[1]
    dets = decode_detections(
        raw_boxes.reshape(anchors.shape[0], -1),
        raw_scores.reshape(-1),
        anchors,
        min_score=min_score,
        input_size_wh=(size, size),
    )
    dets = weighted_nms(
        dets, iou_threshold=iou_threshold, max_detections=max_detections
    )
    corners = apply_transform(transform, dets.boxes_xyxy.reshape(-1, 2, 2) * size)
    kps = apply_transform(transform, dets.keypoints_xy * size)
    return Detections(
        corners.reshape(-1, 4).astype(np.float32), kps.astype(np.float32), dets.scores
    )


# ---------------------------------------------------------------- multi-person


def tile_grid(
    image_wh: tuple[int, int],
    min_person_height: float,
    *,
    reliable_fraction: float = DETECTOR_RELIABLE_FRACTION,
    overlap: float = TILE_OVERLAP,
) -> npt.NDArray[np.int64]:
    """Square detector tiles that find people down to `min_person_height`.

    The whole frame, letterboxed, shows a person of height h (image px) at
    h / max(W, H) of the detector input; below `reliable_fraction` the detector starts
    to miss people. Tiles of side s = min_person_height * H / reliable_fraction bring
    the smallest wanted person up to that fraction; neighbours share `overlap` * s so a
    person cut by one tile's edge is whole (or at least head and trunk) in the next.

    Args:
        image_wh: Image size in px.
        min_person_height: Smallest person to find, as a fraction of the image height.
        reliable_fraction: `DETECTOR_RELIABLE_FRACTION`.
        overlap: Fraction of a tile's side shared with its neighbour, in [0, 1).

    Returns:
        (T, 4) int64 [x_min, y_min, x_max, y_max] px, row by row; (0, 4) when the whole
        frame already shows such a person large enough.

    Raises:
        ValueError: a non-positive size or an out-of-range fraction.
    """
    w, h = int(image_wh[0]), int(image_wh[1])
    if w < 1 or h < 1:
        raise ValueError(f"image_wh must be positive, got {image_wh}")
    if not 0.0 < min_person_height <= 1.0 or not 0.0 < reliable_fraction <= 1.0:
        raise ValueError(
            "min_person_height and reliable_fraction must be in (0, 1], got "
            f"{min_person_height} and {reliable_fraction}"
        )
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    person_px = min_person_height * h
    if person_px >= reliable_fraction * max(w, h):
        return np.zeros((0, 4), np.int64)
    side = min(float(min(w, h)), person_px / reliable_fraction)
    side = max(side, 1.0)
    stride = side * (1.0 - overlap)

    def starts(length: int) -> list[float]:
        if length <= side:
            return [0.0]
        n = math.ceil((length - side) / stride) + 1
        return [i * (length - side) / (n - 1) for i in range(n)]

    tiles = [
        [round(x), round(y), round(x + side), round(y + side)]
        for y in starts(h)
        for x in starts(w)
    ]
    out = np.asarray(tiles, np.int64).reshape(-1, 4)
    out[:, 2] = np.minimum(out[:, 2], w)
    out[:, 3] = np.minimum(out[:, 3], h)
    return out


def region_letterbox_transform(region_xyxy: npt.ArrayLike, size: int) -> F64:
    """Affine (2, 3) from tensor px to image px for a region of the image letterboxed
    into a `size` square (as `letterbox_transform`, offset to the region)."""
    x0, y0, x1, y1 = np.asarray(region_xyxy, np.float64).reshape(4)
    t = letterbox_transform((max(round(x1 - x0), 1), max(round(y1 - y0), 1)), size)
    t[:, 2] += (x0, y0)
    return t


def preprocess_detector_regions(
    image_bgr: npt.NDArray[np.uint8],
    regions_xyxy: npt.ArrayLike,
    size: int = DETECTOR_INPUT_SIZE,
) -> tuple[F32, F64]:
    """Letterbox several regions of one frame into one detector batch.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        regions_xyxy: (R, 4) px [x_min, y_min, x_max, y_max]; the whole frame is
            [0, 0, W, H] (that row gives exactly `preprocess_detector`'s tensor).
        size: Detector input side.

    Returns:
        tensor: (R, 3, size, size) float32 RGB in [-1, 1] (outside the image -1).
        transforms: (R, 2, 3) float64, tensor px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8.
    """
    cv2 = _cv2()
    _check_image(image_bgr)
    regions = np.asarray(regions_xyxy, np.float64).reshape(-1, 4)
    tensor = np.empty((regions.shape[0], 3, size, size), np.float32)
    transforms = np.empty((regions.shape[0], 2, 3), np.float64)
    for i, region in enumerate(regions):
        transforms[i] = region_letterbox_transform(region, size)
        warped = cv2.warpAffine(
            image_bgr,
            cv2.invertAffineTransform(transforms[i]),
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        np.multiply(warped[:, :, ::-1].transpose(2, 0, 1), 1.0 / 127.5, out=tensor[i])
        tensor[i] -= 1.0
    return tensor, transforms


def _inside_fraction(boxes: F64, regions: F64, image_wh: tuple[int, int]) -> F64:
    """Share of each box (N, 4) that its region (N, 4) shows; box area outside the
    image counts as shown (no region could show more of it)."""
    w, h = image_wh
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 1e-9, None), axis=1)
    lo = np.maximum(boxes[:, :2], regions[:, :2])
    hi = np.minimum(boxes[:, 2:], regions[:, 2:])
    shown = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    lo = np.maximum(boxes[:, :2], 0.0)
    hi = np.minimum(boxes[:, 2:], (w, h))
    in_image = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    out: F64 = np.clip((shown + area - in_image) / area, 0.0, 1.0)
    return out


def merge_region_detections(
    detections: Detections,
    inside: npt.ArrayLike,
    *,
    box_iou_threshold: float = NMS_IOU_THRESHOLD,
    roi_iou_threshold: float = TRACK_IOU_THRESHOLD,
) -> npt.NDArray[np.int64]:
    """Indices of the detections to keep when regions overlap (one per person).

    Greedy: candidates whose body ROI the region showed whole come first (a person cut
    by a tile's edge gives skewed alignment points), then by score; a candidate is
    dropped when its detector box overlaps a kept one by more than `box_iou_threshold`
    or its body ROI by more than `roi_iou_threshold`.

    Args:
        detections: Candidates from every region, in image px.
        inside: (N,) float, the share of each candidate's body ROI its region showed.
        box_iou_threshold: Detector-box (face-sized) overlap meaning the same person.
        roi_iou_threshold: Body-ROI overlap meaning the same person.

    Returns:
        (K,) int64 indices, best first.
    """
    n = len(detections)
    if n == 0:
        return np.zeros(0, np.int64)
    whole = np.asarray(inside, np.float64).reshape(n) >= 0.95
    order = np.lexsort((-detections.scores.astype(np.float64), ~whole))
    rois = rois_from_alignment_points(
        detections.keypoints_xy[:, 0], detections.keypoints_xy[:, 1]
    )
    box = box_iou(detections.boxes_xyxy, detections.boxes_xyxy)
    roi = box_iou(roi_boxes(rois), roi_boxes(rois))
    keep: list[int] = []
    for i in order:
        if all(
            box[i, j] <= box_iou_threshold and roi[i, j] <= roi_iou_threshold
            for j in keep
        ):
            keep.append(int(i))
    return np.asarray(keep, np.int64)


def postprocess_detector_batch(
    outputs: Sequence[npt.NDArray[np.floating[Any]]],
    transforms: F64,
    regions_xyxy: npt.ArrayLike,
    anchors: F32,
    image_wh: tuple[int, int],
    *,
    min_score: float,
    iou_threshold: float = NMS_IOU_THRESHOLD,
    size: int = DETECTOR_INPUT_SIZE,
    max_hips_outside: float = MAX_HIPS_OUTSIDE_REGION,
) -> Detections:
    """Decode a detector batch of regions of one frame into one set of people.

    Each region is decoded and suppressed as `postprocess_detector` does, mapped to
    image px; detections whose hips (keypoint 0) lie farther outside their region than
    `max_hips_outside` of its side are dropped (`MAX_HIPS_OUTSIDE_REGION`); then the
    regions' detections are merged (`merge_region_detections`).

    Args:
        outputs: (raw_boxes (R, A, 12), raw_scores (R, A, 1)).
        transforms: (R, 2, 3) from `preprocess_detector_regions`.
        regions_xyxy: (R, 4) the regions, image px.
        anchors: (A, 4) from `generate_anchors`.
        image_wh: Image size in px.
        min_score: Detection threshold.
        iou_threshold: Weighted-NMS merge threshold within a region.
        size: Detector input side.
        max_hips_outside: See above, in region sides.

    Returns:
        Detections in image px, one per person, best first.
    """
    regions = np.asarray(regions_xyxy, np.float64).reshape(-1, 4)
    raw_boxes = np.asarray(outputs[0]).reshape(regions.shape[0], anchors.shape[0], -1)
    raw_scores = np.asarray(outputs[1]).reshape(regions.shape[0], anchors.shape[0])
    parts: list[Detections] = []
    region_of: list[F64] = []
    for r in range(regions.shape[0]):
        dets = postprocess_detector(
            (raw_boxes[r], raw_scores[r]),
            transforms[r],
            anchors,
            min_score=min_score,
            max_detections=None,
            iou_threshold=iou_threshold,
            size=size,
        )
        side = float(np.max(regions[r, 2:] - regions[r, :2]))
        margin = max_hips_outside * side
        hips = dets.keypoints_xy[:, 0]
        near = (
            (hips[:, 0] >= regions[r, 0] - margin)
            & (hips[:, 0] <= regions[r, 2] + margin)
            & (hips[:, 1] >= regions[r, 1] - margin)
            & (hips[:, 1] <= regions[r, 3] + margin)
        )
        dets = dets.take(np.flatnonzero(near))
        parts.append(dets)
        region_of.append(np.repeat(regions[r : r + 1], len(dets), axis=0))
    if not parts or sum(len(p) for p in parts) == 0:
        return Detections.empty()
    merged = Detections(
        np.concatenate([p.boxes_xyxy for p in parts]),
        np.concatenate([p.keypoints_xy for p in parts]),
        np.concatenate([p.scores for p in parts]),
    )
    rois = rois_from_alignment_points(
        merged.keypoints_xy[:, 0], merged.keypoints_xy[:, 1]
    )
    inside = _inside_fraction(roi_boxes(rois), np.concatenate(region_of), image_wh)
    return merged.take(merge_region_detections(merged, inside))


def keypoint_similarity(
    xy_a: npt.ArrayLike,
    visibility_a: npt.ArrayLike,
    xy_b: npt.ArrayLike,
    visibility_b: npt.ArrayLike,
    *,
    sigma: float = KEYPOINT_SIGMA,
    min_visibility: float = 0.5,
) -> F64:
    """Object-keypoint similarity of every pair of poses (COCO's OKS, one sigma).

    Per joint exp(-d^2 / (2 (sigma * size)^2)), with d the distance and size the larger
    bounding-box diagonal of the two poses' visible joints, averaged over the joints
    visible in both (all joints, weighted by visibility, when fewer than 4 are).

    Args:
        xy_a: (N, J, 2) isotropic units (e.g. px). NaN = missing.
        visibility_a: (N, J) in [0, 1].
        xy_b: (M, J, 2), same units.
        visibility_b: (M, J).
        sigma: Joint tolerance in body sizes.
        min_visibility: A joint below this is not visible.

    Returns:
        (N, M) float64 in [0, 1]; 1 = the same landmarks.
    """
    a = np.asarray(xy_a, np.float64)
    b = np.asarray(xy_b, np.float64)
    va = np.nan_to_num(np.asarray(visibility_a, np.float64))
    vb = np.nan_to_num(np.asarray(visibility_b, np.float64))
    va = np.where(np.isnan(a).any(-1), 0.0, va)
    vb = np.where(np.isnan(b).any(-1), 0.0, vb)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), np.float64)

    def size(xy: F64, vis: F64) -> F64:
        seen = vis >= min_visibility
        if not seen.any(axis=1).all():
            seen = np.where(seen.any(axis=1, keepdims=True), seen, vis > 0)
        lo = np.where(seen[..., None], xy, np.inf).min(axis=1)
        hi = np.where(seen[..., None], xy, -np.inf).max(axis=1)
        diag = np.hypot(*(hi - lo).T)
        return np.where(np.isfinite(diag), diag, 0.0)

    scale = np.maximum(size(a, va)[:, None], size(b, vb)[None, :])
    scale = np.maximum(scale, 1e-9) * sigma
    d2 = np.sum((np.nan_to_num(a)[:, None] - np.nan_to_num(b)[None]) ** 2, axis=-1)
    sim = np.exp(-d2 / (2.0 * scale[..., None] ** 2))
    both = (va[:, None] >= min_visibility) & (vb[None] >= min_visibility)
    enough = both.sum(-1) >= 4
    weight = np.where(enough[..., None], both, va[:, None] * vb[None])
    total = weight.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(
            total > 0, (sim * weight).sum(-1) / np.where(total > 0, total, 1), 0.0
        )
    return np.asarray(out, np.float64)


_NOSE, _SHOULDERS, _HIPS = 0, (11, 12), (23, 24)


def _torso_geometry(xy: F64) -> tuple[F64, F64, F64]:
    """Shoulder midpoints (N, 2), hip midpoints (N, 2), torso lengths (N,)."""
    shoulders = xy[:, _SHOULDERS].mean(axis=1)
    hips = xy[:, _HIPS].mean(axis=1)
    return shoulders, hips, np.hypot(*(shoulders - hips).T)


def torso_lengths(xy: npt.ArrayLike) -> F64:
    """Shoulder-midpoint to hip-midpoint distance of N BlazePose-33 poses (N, J, 2)."""
    p = np.asarray(xy, np.float64)
    if p.shape[0] == 0:
        return np.zeros(0, np.float64)
    return np.nan_to_num(_torso_geometry(p)[2])


def pose_plausibility(xy: npt.ArrayLike) -> F64:
    """How much each BlazePose-33 fit looks like a body, in (0, 1] (1 = typical).

    Scores the head-to-trunk proportion (`HEAD_TORSO_RATIO`), which stays near 0.34
    from the front, side and 3/4 while a fit collapsed onto part of a body (a crop at
    the wrong scale; its presence is still ~1) gets it badly wrong. Used to rank
    near-duplicates, never to drop a lone pose.

    Args:
        xy: (N, 33, 2) isotropic units (px).

    Returns:
        (N,) float64; 1.0 where the joints are missing.
    """
    p = np.asarray(xy, np.float64)
    if p.shape[0] == 0:
        return np.zeros(0, np.float64)
    shoulders, _, torso = _torso_geometry(p)
    head = np.hypot(*(p[:, _NOSE] - shoulders).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log(head / torso / HEAD_TORSO_RATIO) / HEAD_TORSO_LOG_SIGMA
    out = np.exp(-(z**2))
    return np.where(np.isfinite(out), out, 1.0)


def torso_containment(
    xy: npt.ArrayLike, *, pad: float = TORSO_PAD, of_first: bool = False
) -> F64:
    """Overlap of every pair of poses' trunks over the smaller trunk, (N, N) in [0, 1]
    (with `of_first`: over trunk i's own area, how much of i lies in j).

    A trunk is the box of the shoulders and hips padded by `pad` torso lengths.

    Args:
        xy: (N, 33, 2) isotropic units.
        pad: Padding in torso lengths.
        of_first: Divide by the row pose's trunk area instead of the smaller one.
    """
    p = np.asarray(xy, np.float64)
    rows = [*_SHOULDERS, *_HIPS]
    corners = p[:, rows]
    _, _, torso = _torso_geometry(p)
    margin = np.nan_to_num(torso) * pad
    lo = corners.min(axis=1) - margin[:, None]
    hi = corners.max(axis=1) + margin[:, None]
    boxes = np.concatenate([lo, hi], axis=1)
    inter_lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    inter_hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(inter_hi - inter_lo, 0.0, None), axis=2)
    area = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    smaller = (
        np.broadcast_to(area[:, None], inter.shape)
        if of_first
        else np.minimum(area[:, None], area[None, :])
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(smaller > 0, inter / np.where(smaller > 0, smaller, 1.0), 0.0)
    return np.nan_to_num(np.asarray(out, np.float64))


def part_of_another(
    xy: npt.ArrayLike, visibility: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """(N,) bool: the pose lies on another pose's body without that one lying on it:
    its joints on the other's bones (`skeleton_overlap`), or its trunk inside the
    other's trunk but not the reverse. Such a fit is a part (an arm, an upper body
    seen at the wrong scale), and the whole person's fit is preferred to it."""
    p = np.asarray(xy, np.float64)
    n = p.shape[0]
    if n < 2:
        return np.zeros(n, np.bool_)
    on = skeleton_overlap(p, visibility)
    inside = torso_containment(p, of_first=True)
    part = ((on >= SKELETON_OVERLAP) & (on.T < SKELETON_OVERLAP)) | (
        (inside >= PART_INSIDE) & (inside.T < TORSO_CONTAINMENT)
    )
    np.fill_diagonal(part, False)
    return np.asarray(part.any(axis=1), np.bool_)


def same_person(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    *,
    similarity_threshold: float = DUPLICATE_SIMILARITY,
    containment_threshold: float = TORSO_CONTAINMENT,
    sigma: float = KEYPOINT_SIGMA,
) -> npt.NDArray[np.bool_]:
    """(N, N) bool: which pairs of N poses are one person (see
    `select_distinct_poses`); the diagonal is True.

    Args:
        xy: (N, 33, 2) isotropic units (px).
        visibility: (N, 33).
        similarity_threshold: OKS above which two poses are one person.
        containment_threshold: Trunk containment above which two poses are one person.
        sigma: Joint tolerance in body sizes.
    """
    p = np.asarray(xy, np.float64)
    sim = keypoint_similarity(p, visibility, p, visibility, sigma=sigma)
    on = skeleton_overlap(p, visibility)
    same = (
        (sim > similarity_threshold)
        | (torso_containment(p) > containment_threshold)
        | (on >= SKELETON_OVERLAP)
        | (on.T >= SKELETON_OVERLAP)
    )
    np.fill_diagonal(same, True)
    return np.asarray(same, np.bool_)


def skeleton_overlap(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    *,
    tolerance: float = SKELETON_TOLERANCE,
    min_visibility: float = 0.5,
) -> F64:
    """(N, N): share of pose i's visible joints lying on pose j's skeleton (within
    `tolerance` torso lengths of j of one of j's bones). A fit on someone's arm or one
    collapsed onto their hips lies entirely on that person; a neighbour, at most the
    hand they touch with.

    Args:
        xy: (N, 33, 2) isotropic units.
        visibility: (N, 33).
        tolerance: Distance, in torso lengths of the other pose, counted as on a bone.
        min_visibility: Joints below it are not used (of either pose).
    """
    p = np.asarray(xy, np.float64)
    v = (np.nan_to_num(np.asarray(visibility, np.float64)) >= min_visibility) & (
        np.isfinite(p).all(-1)
    )
    n = p.shape[0]
    if n == 0:
        return np.zeros((0, 0), np.float64)
    bones = np.asarray(Skeleton.BLAZEPOSE_33.bones, np.int64)
    a, b = p[:, bones[:, 0]], p[:, bones[:, 1]]  # (N, B, 2)
    bone_ok = v[:, bones[:, 0]] & v[:, bones[:, 1]]
    seg = b - a
    length2 = np.maximum((seg**2).sum(-1), 1e-12)  # (N, B)
    # Point i,k against segment j,s.
    rel = np.nan_to_num(p)[:, None, :, None, :] - np.nan_to_num(a)[None, :, None, :, :]
    t = np.clip(
        (rel * np.nan_to_num(seg)[None, :, None]).sum(-1) / length2[None, :, None], 0, 1
    )
    closest = (
        np.nan_to_num(a)[None, :, None]
        + t[..., None] * np.nan_to_num(seg)[None, :, None]
    )
    dist = np.hypot(
        *(np.nan_to_num(p)[:, None, :, None, :] - closest).transpose(4, 0, 1, 2, 3)
    )
    dist = np.where(bone_ok[None, :, None, :], dist, np.inf).min(axis=-1)  # (N, N, J)
    torso = np.nan_to_num(_torso_geometry(p)[2])
    on = (dist <= tolerance * torso[None, :, None]) & v[:, None, :]
    count = v.sum(-1)[:, None]
    out = np.where(count > 0, on.sum(-1) / np.maximum(count, 1), 0.0)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out, np.float64)


def select_distinct_poses(
    xy: npt.ArrayLike,
    visibility: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    similarity_threshold: float = DUPLICATE_SIMILARITY,
    containment_threshold: float = TORSO_CONTAINMENT,
    max_poses: int | None = None,
    sigma: float = KEYPOINT_SIGMA,
) -> npt.NDArray[np.int64]:
    """Indices (best first) of poses that are not near-duplicates of a better one.

    Two landmark sets on one person (two ROIs that converged, a detection next to a
    track, a person found in two tiles, a fit collapsed onto part of the body) are
    either far more alike than two people, even two standing shoulder to shoulder
    (keypoint similarity above `similarity_threshold`), or share the trunk (trunk
    containment above `containment_threshold`). ROI overlap alone would also merge
    neighbours. Of each such group the best score is kept; a fit lying on another's
    body (`part_of_another`) ranks with `PART_PENALTY` of its score.

    Args:
        xy: (N, 33, 2) isotropic units (px).
        visibility: (N, 33).
        scores: (N,) higher is better (e.g. presence x `pose_plausibility`).
        similarity_threshold: OKS above which two poses are one person.
        containment_threshold: Trunk containment above which two poses are one person.
        max_poses: Keep at most this many (None: all distinct ones).
        sigma: Joint tolerance in body sizes.

    Returns:
        (K,) int64 indices into the N poses, by descending score.
    """
    s = np.asarray(scores, np.float64).reshape(-1)
    s = np.where(part_of_another(xy, visibility), s * PART_PENALTY, s)
    same = same_person(
        xy,
        visibility,
        similarity_threshold=similarity_threshold,
        containment_threshold=containment_threshold,
        sigma=sigma,
    )
    keep: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if max_poses is not None and len(keep) >= max_poses:
            break
        if not any(same[i, j] for j in keep):
            keep.append(int(i))
    return np.asarray(keep, np.int64)


# ---------------------------------------------------------------- landmark stage


def preprocess_landmarks(
    image_bgr: npt.NDArray[np.uint8],
    rois: npt.ArrayLike,
    size: int = LANDMARK_INPUT_SIZE,
) -> tuple[F32, F64]:
    """Warp each ROI of a frame to a square crop; stack them into one batch.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        rois: (N, 4) [cx_px, cy_px, side_px, rotation_rad].
        size: Landmark-model input side.

    Returns:
        tensor: (N, 3, size, size) float32 RGB in [0, 1] (borders replicated).
        transforms: (N, 2, 3) float64, crop px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8.
    """
    cv2 = _cv2()
    _check_image(image_bgr)
    transforms = roi_crop_transform(rois, size)
    tensor = np.empty((transforms.shape[0], 3, size, size), np.float32)
    for i, t in enumerate(transforms):
        crop = cv2.warpAffine(
            image_bgr,
            t,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        np.multiply(crop[:, :, ::-1].transpose(2, 0, 1), 1.0 / 255.0, out=tensor[i])
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
    # Windows of logits from a padded map; padding reads as confidence 0.
    padded = np.pad(
        hm, ((0, 0), (0, 0), (off, 2 * off), (off, off)), constant_values=-np.inf
    )
    d = np.arange(kernel_size)
    rows = row[..., None] + d  # padded index of window row r - off + d
    cols = col[..., None] + d
    ni = np.arange(n)[:, None, None, None]
    ji = np.arange(j)[None, :, None, None]
    win = padded[ni, ji, rows[..., :, None], cols[..., None, :]]  # (N, J, k, k)
    conf = sigmoid(win)
    total = conf.sum(axis=(2, 3))
    best = conf.max(axis=(2, 3))
    grid_r = (rows - off).astype(np.float32)
    grid_c = (cols - off).astype(np.float32)
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
    return [
        PoseFrame(
            np.ascontiguousarray(result.xyz[i, :NUM_POSE_JOINTS]),
            np.ascontiguousarray(result.visibility[i, :NUM_POSE_JOINTS]),
            int(timestamp_ms),
            Skeleton.BLAZEPOSE_33,
        )
        for i in range(len(result))
    ]


# ---------------------------------------------------------------- runtime


@dataclass(frozen=True, slots=True)
class OnnxOptions:
    """Options of `OnnxBackend` (names follow mediapipe's `PoseLandmarkerOptions`).

    Attributes:
        provider: "cpu" or "cuda" (CUDA execution provider; needs onnxruntime-gpu and a
            GPU, else `BackendError`, no silent fallback to CPU).
        num_poses: Most people to return per frame (>= 1).
        min_detection_confidence: Detector score to accept a person, in [0, 1].
        min_presence_confidence: Landmark-model presence to keep (and keep tracking) a
            pose, in [0, 1].
        intra_op_threads: ONNX Runtime intra-op threads (0: its default).
        tracking: VIDEO-mode tracking (ROI from the previous landmarks); off runs the
            detector on every frame.
        detector_model: Manifest name of the detector ONNX file.
        landmark_model: Manifest name of the landmark ONNX file.
    """

    provider: Literal["cpu", "cuda"] = "cpu"
    num_poses: int = 1
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    intra_op_threads: int = 0
    tracking: bool = True
    detector_model: str = "pose_detector"
    landmark_model: str = "pose_landmark_full"

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise ValueError(
                f"provider must be one of {sorted(_PROVIDERS)}, got {self.provider!r}"
            )
        for name in ("num_poses", "intra_op_threads"):
            value = getattr(self, name)
            low = 1 if name == "num_poses" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        for name in ("min_detection_confidence", "min_presence_confidence"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0.0 <= value <= 1.0
            ):
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.tracking, bool):
            raise ValueError(f"tracking must be a bool, got {self.tracking!r}")


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendError(
            "the onnx backend needs onnxruntime (a movecoach dependency: "
            "pip install -e . ; for provider='cuda' install onnxruntime-gpu instead): "
            f"{exc}"
        ) from exc
    return onnxruntime


def _session(path: str, options: OnnxOptions) -> Any:
    ort = _ort()
    provider = _PROVIDERS[options.provider]
    available = ort.get_available_providers()
    if provider not in available:
        raise BackendError(
            f"provider {options.provider!r} needs {provider}, but this onnxruntime "
            f"offers {available}; install onnxruntime-gpu (and CUDA) or use "
            "provider='cpu'"
        )
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Errors only: ORT's warnings (e.g. a CUDA library it cannot load) would go to the
    # terminal; a provider that did not start is reported as BackendError below.
    so.log_severity_level = 3
    # CUDA sessions keep the CPU provider for the few ops CUDA lacks (ORT's own split).
    providers = (
        [provider] if provider == _PROVIDERS["cpu"] else [provider, _PROVIDERS["cpu"]]
    )
    try:
        sess = ort.InferenceSession(path, sess_options=so, providers=providers)
    except Exception as exc:  # ORT raises its own exception types
        raise BackendError(f"expected onnxruntime to load {path}, got {exc}") from exc
    if provider not in sess.get_providers():
        raise BackendError(
            f"onnxruntime could not start {provider} for {path} (session runs on "
            f"{sess.get_providers()}); check the CUDA/cuDNN install or use "
            "provider='cpu'"
        )
    return sess


def infer(
    session: Any, tensor: F32, output_names: Sequence[str]
) -> list[npt.NDArray[np.float32]]:
    """Run one ONNX Runtime session on a batch (the only onnxruntime call).

    Args:
        session: An `onnxruntime.InferenceSession`.
        tensor: (N, 3, S, S) float32 input batch.
        output_names: Outputs to compute, in the order returned.

    Returns:
        The requested outputs, each with N rows.
    """
    name = session.get_inputs()[0].name
    outs = session.run(list(output_names), {name: np.ascontiguousarray(tensor)})
    return [np.asarray(o) for o in outs]


@dataclass(slots=True)
class _TrackState:
    rois: F64 = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    last_timestamp_ms: int | None = None


class OnnxBackend:
    """BlazePose-33 (full) through ONNX Runtime with MediaPipe's VIDEO-mode tracking.

    Args:
        options: Provider, thresholds, number of poses, tracking.

    Raises:
        models.ModelIntegrityError: a model file does not match its manifest hash.
        BackendError: onnxruntime is missing, the provider is unavailable, or a model
            cannot be loaded.
    """

    name: str = "onnx"
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33

    def __init__(self, options: OnnxOptions | None = None) -> None:
        self.options = OnnxOptions() if options is None else options
        if not isinstance(self.options, OnnxOptions):
            raise TypeError(
                f"options must be OnnxOptions, got {type(self.options).__name__}"
            )
        _ort()  # a missing onnxruntime is reported before anything else
        from models import model_path

        self.detector_path = model_path(self.options.detector_model)
        self.landmark_path = model_path(self.options.landmark_model)
        self._detector: Any = _session(str(self.detector_path), self.options)
        self._landmarker: Any = _session(str(self.landmark_path), self.options)
        self._anchors = generate_anchors(POSE_ANCHORS)
        self._state = _TrackState()
        self.timings_ms: dict[str, float] = {}  # last frame's stages, for benchmarks
        self.detector_runs = 0  # detector calls made by `detect` (tracking skips it)

    def __enter__(self) -> OnnxBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._detector is None:
            raise BackendError("the onnx backend is closed; create a new one")

    def _check_timestamp(self, timestamp_ms: int) -> int:
        if isinstance(timestamp_ms, bool) or not isinstance(
            timestamp_ms, int | np.integer
        ):
            raise TypeError(f"timestamp_ms must be an int, got {timestamp_ms!r}")
        ts = int(timestamp_ms)
        last = self._state.last_timestamp_ms
        if last is not None and ts <= last:
            raise ValueError(
                f"timestamps must increase (VIDEO mode): got {ts} ms after {last} ms"
            )
        return ts

    def detect_people(
        self, image_bgr: npt.NDArray[np.uint8], max_detections: int | None = None
    ) -> Detections:
        """Run the detector alone (stateless): people in image px, best first.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            max_detections: Most detections to return (None: every one above
                `options.min_detection_confidence` after weighted NMS).
        """
        self._check_open()
        tensor, transform = preprocess_detector(image_bgr)
        outputs = infer(self._detector, tensor, _DETECTOR_OUTPUTS)
        return postprocess_detector(
            outputs,
            transform,
            self._anchors,
            min_score=self.options.min_detection_confidence,
            max_detections=max_detections,
        )

    def detect_people_in_regions(
        self, image_bgr: npt.NDArray[np.uint8], regions_xyxy: npt.ArrayLike
    ) -> Detections:
        """Run the detector on several regions of a frame in one batch (stateless):
        one detection per person in image px, best first (`postprocess_detector_batch`).

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            regions_xyxy: (R, 4) px, e.g. the whole frame plus `tile_grid` tiles.
        """
        self._check_open()
        wh = _check_image(image_bgr)
        regions = np.asarray(regions_xyxy, np.float64).reshape(-1, 4)
        if regions.shape[0] == 0:
            return Detections.empty()
        tensor, transforms = preprocess_detector_regions(image_bgr, regions)
        outputs = infer(self._detector, tensor, _DETECTOR_OUTPUTS)
        return postprocess_detector_batch(
            outputs,
            transforms,
            regions,
            self._anchors,
            wh,
            min_score=self.options.min_detection_confidence,
        )

    def landmarks(
        self, image_bgr: npt.NDArray[np.uint8], rois: npt.ArrayLike
    ) -> LandmarkResult:
        """Run the landmark model on every ROI of a frame in one batch (stateless).

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            rois: (N, 4) [cx_px, cy_px, side_px, rotation_rad].
        """
        self._check_open()
        wh = _check_image(image_bgr)
        r = np.asarray(rois, np.float64).reshape(-1, 4)
        if r.shape[0] == 0:
            z = np.zeros
            return LandmarkResult(
                z((0, NUM_LANDMARKS, 3), np.float32),
                z((0, NUM_LANDMARKS), np.float32),
                z(0, np.float32),
            )
        tensor, transforms = preprocess_landmarks(image_bgr, r)
        outputs = infer(self._landmarker, tensor, _LANDMARK_OUTPUTS)
        return postprocess_landmarks(outputs, transforms, wh)

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        """Find up to `options.num_poses` people in one frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            timestamp_ms: Capture time; strictly greater than the previous call's.

        Returns:
            `Poses` (33 joints, normalized image coordinates, track IDs -1, scores =
            pose presence): people tracked from the last frame first, then new
            detections best first; empty when nobody is found.

        Raises:
            ValueError: a malformed image or a timestamp that does not increase.
            BackendError: the backend is closed.
        """
        self._check_open()
        ts = self._check_timestamp(timestamp_ms)
        wh = _check_image(image_bgr)
        opts = self.options
        timings = {"detector": 0.0, "landmarks": 0.0}
        rois = self._state.rois if opts.tracking else np.zeros((0, 4), np.float64)
        if rois.shape[0] < opts.num_poses:
            t0 = time.perf_counter()
            dets = self.detect_people(image_bgr)
            self.detector_runs += 1
            timings["detector"] = (time.perf_counter() - t0) * 1e3
            found = rois_from_alignment_points(
                dets.keypoints_xy[:, 0], dets.keypoints_xy[:, 1]
            )
            # As MediaPipe: a detection replaces the tracked ROI it overlaps.
            rois = associate_rois(rois, found)[: opts.num_poses]
        t0 = time.perf_counter()
        result = self.landmarks(image_bgr, rois)
        timings["landmarks"] = (time.perf_counter() - t0) * 1e3
        kept = result.take(
            np.flatnonzero(result.presence >= opts.min_presence_confidence)
        )
        next_rois = rois_from_landmarks(kept, wh)
        order = dedupe_rois(next_rois, kept.presence)
        kept = kept.take(order)
        self._state.rois = next_rois[order] if opts.tracking else next_rois[:0]
        self._state.last_timestamp_ms = ts
        self.timings_ms = timings
        frames = landmarks_to_frames(kept, ts)
        return Poses.from_frames(
            frames,
            ts,
            scores=[float(p) for p in kept.presence],
            skeleton=self.skeleton,
            aspect_wh=aspect_from_wh(wh),
        )

    def reset(self) -> None:
        """Forget the tracked people and the last timestamp (a new video)."""
        self._state = _TrackState()

    def close(self) -> None:
        """Release both sessions. Safe to call twice."""
        self._detector = None
        self._landmarker = None
