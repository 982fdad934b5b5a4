"""Detector stage: letterbox a frame (or regions of it) into the 224x224 detector
tensor, decode the SSD outputs (`decode_detections`), MediaPipe's weighted NMS, and map
the people found back to image pixels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import (
    DETECTOR_INPUT_SIZE,
    F32,
    F64,
    NUM_DETECTOR_KEYPOINTS,
    check_image,
    tensor_batch,
    warp_into,
)
from vision.backends.blazepose.roi import (
    apply_transform,
    box_iou,
    region_letterbox_transform,
    rois_from_alignment_points,
)

__all__ = [
    "NMS_IOU_THRESHOLD",
    "SCORE_CLIP",
    "Detections",
    "decode_detections",
    "detection_rois",
    "postprocess_detector",
    "preprocess_detector",
    "preprocess_detector_regions",
    "sigmoid",
    "weighted_nms",
]

NMS_IOU_THRESHOLD: Final[float] = 0.3  # NonMaxSuppressionCalculator, WEIGHTED
SCORE_CLIP: Final[float] = 100.0  # TensorsToDetections score_clipping_thresh


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


def detection_rois(detections: Detections) -> F64:
    """Body ROIs (N, 4) of detections in image px, from keypoints 0 (hips centre) and
    1 (full-body scale point), as MediaPipe's `pose_detection_to_roi`."""
    return rois_from_alignment_points(
        detections.keypoints_xy[:, 0], detections.keypoints_xy[:, 1]
    )


def preprocess_detector(
    image_bgr: npt.NDArray[np.uint8],
    size: int = DETECTOR_INPUT_SIZE,
    *,
    out: F32 | None = None,
) -> tuple[F32, F64]:
    """Letterbox a BGR frame into the detector tensor.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        size: Detector input side.
        out: (1, 3, size, size) float32 buffer to fill; None allocates one.

    Returns:
        tensor: (1, 3, size, size) float32 RGB in [-1, 1] (padding -1).
        transform: (2, 3) float64 affine, tensor px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8, or `out` does not fit.
    """
    w, h = check_image(image_bgr)
    tensor, transforms = preprocess_detector_regions(
        image_bgr, [[0, 0, w, h]], size, out=out
    )
    return tensor, transforms[0]


def preprocess_detector_regions(
    image_bgr: npt.NDArray[np.uint8],
    regions_xyxy: npt.ArrayLike,
    size: int = DETECTOR_INPUT_SIZE,
    *,
    out: F32 | None = None,
) -> tuple[F32, F64]:
    """Letterbox several regions of one frame into one detector batch.

    Args:
        image_bgr: (H, W, 3) uint8 BGR.
        regions_xyxy: (R, 4) px [x_min, y_min, x_max, y_max]; the whole frame is
            [0, 0, W, H] (that row gives exactly `preprocess_detector`'s tensor).
        size: Detector input side.
        out: (R, 3, size, size) float32 buffer to fill (e.g. a reused model input);
            None allocates one.

    Returns:
        tensor: (R, 3, size, size) float32 RGB in [-1, 1] (outside the image -1);
            `out` when given.
        transforms: (R, 2, 3) float64, tensor px -> image px.

    Raises:
        ValueError: the image is not (H, W, 3) uint8, or `out` does not fit.
    """
    check_image(image_bgr)
    regions = np.asarray(regions_xyxy, np.float64).reshape(-1, 4)
    tensor = tensor_batch(out, regions.shape[0], size)
    transforms = np.empty((regions.shape[0], 2, 3), np.float64)
    for i, region in enumerate(regions):
        transforms[i] = region_letterbox_transform(region, size)
        warp_into(
            tensor[i],
            image_bgr,
            transforms[i],
            scale=1.0 / 127.5,
            offset=-1.0,
            replicate=False,
        )
    return tensor, transforms


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
