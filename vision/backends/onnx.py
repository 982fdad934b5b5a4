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
from vision.types import PoseFrame, Poses, Skeleton

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
    "landmarks_to_frames",
    "letterbox_transform",
    "postprocess_detector",
    "postprocess_landmarks",
    "preprocess_detector",
    "preprocess_landmarks",
    "refine_from_heatmap",
    "roi_boxes",
    "roi_crop_transform",
    "rois_from_alignment_points",
    "rois_from_landmarks",
    "sigmoid",
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
            frames, ts, scores=[float(p) for p in kept.presence], skeleton=self.skeleton
        )

    def reset(self) -> None:
        """Forget the tracked people and the last timestamp (a new video)."""
        self._state = _TrackState()

    def close(self) -> None:
        """Release both sessions. Safe to call twice."""
        self._detector = None
        self._landmarker = None
