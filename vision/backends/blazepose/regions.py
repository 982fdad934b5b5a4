"""Multi-person detection: square tiles that bring small people up to the detector's
reliable size (`tile_grid`), and the merge of one frame's regions into one detection
per person (`postprocess_detector_batch`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import DETECTOR_INPUT_SIZE, F32, F64
from vision.backends.blazepose.detector import (
    NMS_IOU_THRESHOLD,
    Detections,
    detection_rois,
    postprocess_detector,
)
from vision.backends.blazepose.roi import TRACK_IOU_THRESHOLD, box_iou, roi_boxes

__all__ = [
    "DETECTOR_RELIABLE_FRACTION",
    "MAX_HIPS_OUTSIDE_REGION",
    "TILE_OVERLAP",
    "merge_region_detections",
    "postprocess_detector_batch",
    "tile_grid",
]

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
    rois = detection_rois(detections)
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
    rois = detection_rois(merged)
    inside = _inside_fraction(roi_boxes(rois), np.concatenate(region_of), image_wh)
    return merged.take(merge_region_detections(merged, inside))
