"""vision/backends/blazepose/detector.py: decoding, weighted NMS, the letterbox."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

from vision.backends import blazepose as ob


def _raw_detector_output(num_anchors: int, hits: dict[int, tuple[float, list[float]]]):
    """Regressors (A, 12) and logits (A,) that are zero / -20 except at `hits`:
    anchor index -> (logit, [dx, dy, w, h, kp0x, kp0y, ...] in 224-px units)."""
    boxes = np.zeros((num_anchors, 12), np.float32)
    logits = np.full(num_anchors, -20.0, np.float32)
    for index, (logit, values) in hits.items():
        logits[index] = logit
        boxes[index, : len(values)] = values
    return boxes, logits


def _dets(boxes, scores, kps=None) -> ob.Detections:
    boxes = np.asarray(boxes, np.float32)
    if kps is None:
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        kps = np.repeat(centres[:, None, :], 4, axis=1)
    return ob.Detections(
        boxes, np.asarray(kps, np.float32), np.asarray(scores, np.float32)
    )


def test_decode_hand_built_output() -> None:
    anchors = ob.generate_anchors()
    k = 1568 + 2 * (14 * 5 + 3)  # stride-16 cell (x=3, y=5), first anchor
    ax, ay = anchors[k, :2]
    assert (ax, ay) == pytest.approx(((3 + 0.5) / 14, (5 + 0.5) / 14))
    values = [22.4, -11.2, 44.8, 89.6, 0.0, 0.0, 0.0, -44.8, 11.2, 11.2, 0, 0]
    boxes, logits = _raw_detector_output(anchors.shape[0], {k: (2.0, values)})
    dets = ob.decode_detections(boxes, logits, anchors, min_score=0.5)
    assert len(dets) == 1, f"expected 1 candidate above 0.5, got {len(dets)}"
    cx, cy = ax + 0.1, ay - 0.05
    npt.assert_allclose(
        dets.boxes_xyxy[0], [cx - 0.1, cy - 0.2, cx + 0.1, cy + 0.2], atol=1e-6
    )
    npt.assert_allclose(
        dets.keypoints_xy[0],
        [[ax, ay], [ax, ay - 0.2], [ax + 0.05, ay + 0.05], [ax, ay]],
        atol=1e-6,
    )
    assert dets.scores[0] == pytest.approx(1 / (1 + math.exp(-2.0)), rel=1e-6)


@pytest.mark.parametrize(
    ("logit", "min_score", "expected"),
    [
        pytest.param(0.0, 0.5, 1, id="exactly-threshold-kept"),
        pytest.param(-0.01, 0.5, 0, id="just-below-dropped"),
        pytest.param(1e4, 0.99, 1, id="huge-logit-clipped-no-overflow"),
        pytest.param(-1e4, 0.0, 2254, id="zero-threshold-keeps-all"),
    ],
)
def test_decode_threshold(logit: float, min_score: float, expected: int) -> None:
    anchors = ob.generate_anchors()
    boxes, logits = _raw_detector_output(anchors.shape[0], {7: (logit, [0, 0, 10, 10])})
    dets = ob.decode_detections(boxes, logits, anchors, min_score=min_score)
    assert len(dets) == expected


def test_decode_rejects_wrong_shapes() -> None:
    anchors = ob.generate_anchors()
    with pytest.raises(
        ValueError, match=r"expected raw_boxes \(2254, 12\).*got \(10, 12\)"
    ):
        ob.decode_detections(np.zeros((10, 12)), np.zeros(10), anchors, min_score=0.5)


def test_weighted_nms_merges_clusters() -> None:
    boxes = [
        [0.10, 0.10, 0.50, 0.50],  # best of cluster A
        [0.12, 0.10, 0.52, 0.50],  # overlaps A
        [0.60, 0.60, 0.90, 0.90],  # cluster B alone
        [0.08, 0.12, 0.48, 0.52],  # overlaps A
    ]
    scores = [0.9, 0.6, 0.7, 0.3]
    out = ob.weighted_nms(_dets(boxes, scores), iou_threshold=0.3)
    assert len(out) == 2, f"expected 2 clusters, got {len(out)}"
    w = np.array([0.9, 0.6, 0.3])
    expected_a = (np.array(boxes)[[0, 1, 3]] * w[:, None]).sum(0) / w.sum()
    npt.assert_allclose(out.boxes_xyxy[0], expected_a, atol=1e-6)
    npt.assert_allclose(out.boxes_xyxy[1], boxes[2], atol=1e-6)
    npt.assert_allclose(out.scores, [0.9, 0.7])  # the best member's score
    centre_a = (expected_a[:2] + expected_a[2:]) / 2
    npt.assert_allclose(out.keypoints_xy[0, 0], centre_a, atol=1e-6)


@pytest.mark.parametrize(
    ("max_detections", "iou_threshold", "expected"),
    [
        pytest.param(None, 0.3, 3, id="all"),
        pytest.param(1, 0.3, 1, id="max-1"),
        pytest.param(None, 0.99, 3, id="nothing-merges"),
        pytest.param(None, 0.0, 3, id="disjoint-never-merge"),
    ],
)
def test_weighted_nms_limits(
    max_detections: int | None, iou_threshold: float, expected: int
) -> None:
    boxes = [[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]]
    out = ob.weighted_nms(
        _dets(boxes, [0.5, 0.9, 0.7]),
        iou_threshold=iou_threshold,
        max_detections=max_detections,
    )
    assert len(out) == expected
    npt.assert_allclose(out.scores, [0.9, 0.7, 0.5][:expected])


def test_weighted_nms_empty() -> None:
    out = ob.weighted_nms(ob.Detections.empty())
    assert len(out) == 0 and out.keypoints_xy.shape == (0, 4, 2)


def test_detections_validate_shapes() -> None:
    with pytest.raises(ValueError, match=r"boxes \(N, 4\).*got \(2, 3\)"):
        ob.Detections(np.zeros((2, 3), np.float32), np.zeros((2, 4, 2)), np.zeros(2))


def test_preprocess_detector_letterbox_and_colour() -> None:
    image = np.zeros((240, 640, 3), np.uint8)
    image[..., 0] = 255  # BGR blue
    tensor, transform = ob.preprocess_detector(image)
    assert tensor.shape == (1, 3, 224, 224) and tensor.dtype == np.float32
    middle = tensor[0, :, 112, 112]
    npt.assert_allclose(middle, [-1.0, -1.0, 1.0])  # RGB order, [-1, 1]
    npt.assert_allclose(tensor[0, :, 5, 112], [-1.0, -1.0, -1.0])  # zero padding
    npt.assert_allclose(ob.apply_transform(transform, [0, 112]), [0, 120])


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((10, 10), np.uint8), id="2d"),
        pytest.param(np.zeros((10, 10, 3), np.float32), id="float"),
        pytest.param(np.zeros((10, 10, 4), np.uint8), id="bgra"),
        pytest.param([[0]], id="list"),
    ],
)
def test_preprocess_rejects_bad_images(image: Any) -> None:
    with pytest.raises(ValueError, match=r"image_bgr must be \(H, W, 3\) uint8, got"):
        ob.preprocess_detector(image)


def test_preprocess_detector_into_a_reused_buffer() -> None:
    image = np.random.default_rng(6).integers(0, 256, (100, 180, 3), dtype=np.uint8)
    fresh, transform = ob.preprocess_detector(image)
    buffer = np.zeros((1, 3, 224, 224), np.float32)
    filled, same = ob.preprocess_detector(image, out=buffer)
    assert filled is buffer
    npt.assert_array_equal(filled, fresh)
    npt.assert_array_equal(same, transform)
    with pytest.raises(ValueError, match=r"out must be \(1, 3, 224, 224\) float32"):
        ob.preprocess_detector(image, out=np.zeros((1, 3, 224, 224), np.float64))
