"""vision/backends/onnx.py: pure pre/post-processing (no model), then real models."""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

import models
from tests.conftest import shared_data_path
from vision.backends import onnx as ob
from vision.backends.base import BackendError
from vision.types import Joint, Poses

# ---------------------------------------------------------------- helpers

IMAGE_WH = (640, 480)


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


# ---------------------------------------------------------------- anchors


def test_anchor_count_and_layout() -> None:
    anchors = ob.generate_anchors()
    # 28x28 cells x 2 (stride 8) + 14x14 x 2 (stride 16) + 7x7 x 6 (3 layers, stride 32)
    assert anchors.shape == (28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6, 4) == (2254, 4)
    assert anchors.dtype == np.float32
    npt.assert_array_equal(anchors[:, 2:], 1.0)  # fixed_anchor_size
    # Row-major cells, the anchors of one cell adjacent.
    npt.assert_allclose(anchors[0, :2], [0.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[1, :2], [0.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[2, :2], [1.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[2 * 28, :2], [0.5 / 28, 1.5 / 28])
    npt.assert_allclose(anchors[1568, :2], [0.5 / 14, 0.5 / 14])  # first stride-16
    npt.assert_allclose(anchors[1960:1966, :2], [[0.5 / 7, 0.5 / 7]] * 6)
    npt.assert_allclose(anchors[1966, :2], [1.5 / 7, 0.5 / 7])
    npt.assert_allclose(anchors[-1, :2], [6.5 / 7, 6.5 / 7])


def test_anchor_sizes_without_fixed_size() -> None:
    anchors = ob.generate_anchors(ob.AnchorOptions(fixed_anchor_size=False))
    s0 = 0.1484375
    s1 = 0.1484375 + (0.75 - 0.1484375) * 1 / 4  # scale of layer 1 (5 layers)
    npt.assert_allclose(anchors[0, 2:], [s0, s0], rtol=1e-6)
    npt.assert_allclose(anchors[1, 2:], [math.sqrt(s0 * s1)] * 2, rtol=1e-6)
    # The last layer interpolates towards scale 1.0.
    npt.assert_allclose(anchors[-1, 2:], [math.sqrt(0.75 * 1.0)] * 2, rtol=1e-6)


# ---------------------------------------------------------------- decoding


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


# ---------------------------------------------------------------- IoU and NMS


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        pytest.param([0, 0, 2, 2], [0, 0, 2, 2], 1.0, id="same"),
        pytest.param([0, 0, 2, 2], [1, 0, 3, 2], 1 / 3, id="half-overlap"),
        pytest.param([0, 0, 1, 1], [2, 2, 3, 3], 0.0, id="disjoint"),
        pytest.param([0, 0, 1, 1], [1, 0, 2, 1], 0.0, id="touching"),
        pytest.param([0, 0, 0, 0], [0, 0, 0, 0], 0.0, id="degenerate"),
    ],
)
def test_box_iou(a: list[float], b: list[float], iou: float) -> None:
    got = ob.box_iou([a], [b])
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(iou)


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


# ---------------------------------------------------------------- ROIs and transforms


@pytest.mark.parametrize(
    ("scale_point", "rotation"),
    [
        pytest.param((100, 60), 0.0, id="up-upright"),
        pytest.param((140, 100), math.pi / 2, id="right"),
        pytest.param((60, 100), -math.pi / 2, id="left"),
        pytest.param((100, 140), -math.pi, id="down-upside-down"),
        pytest.param((140, 60), math.pi / 4, id="up-right"),
    ],
)
def test_rois_from_alignment_points(
    scale_point: tuple[int, int], rotation: float
) -> None:
    roi = ob.rois_from_alignment_points([[100, 100]], [scale_point])
    assert roi.shape == (1, 4)
    dist = math.dist((100, 100), scale_point)
    npt.assert_allclose(roi[0], [100, 100, 2 * dist * 1.25, rotation], atol=1e-9)


@pytest.mark.parametrize("rotation", [0.0, 0.3, math.pi / 2, -2.5], ids=str)
def test_roi_crop_transform_maps_corners_and_centre(rotation: float) -> None:
    roi = np.array([[300.0, 200.0, 128.0, rotation]])
    t = ob.roi_crop_transform(roi, 256)[0]
    centre = ob.apply_transform(t, [128, 128])
    npt.assert_allclose(centre, [300, 200], atol=1e-9)
    # Crop "up" (towards v = 0) is the ROI direction at angle `rotation` from image up.
    top = ob.apply_transform(t, [128, 0])
    npt.assert_allclose(
        top, [300 + 64 * math.sin(rotation), 200 - 64 * math.cos(rotation)], atol=1e-9
    )
    corners = ob.apply_transform(t, [[0, 0], [256, 0], [256, 256], [0, 256]])
    sides = np.linalg.norm(np.diff(np.vstack([corners, corners[:1]]), axis=0), axis=1)
    npt.assert_allclose(sides, 128, atol=1e-9)


def test_landmark_crop_round_trip() -> None:
    """A bright dot cropped by a rotated ROI maps back to where it was."""
    image = np.zeros((IMAGE_WH[1], IMAGE_WH[0], 3), np.uint8)
    dot = (411, 157)
    image[dot[1] - 1 : dot[1] + 2, dot[0] - 1 : dot[0] + 2] = 255
    rois = np.array([[380.0, 180.0, 150.0, 0.7], [400.0, 150.0, 60.0, -2.0]])
    tensor, transforms = ob.preprocess_landmarks(image, rois)
    assert tensor.shape == (2, 3, 256, 256) and tensor.dtype == np.float32
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0
    for crop, t in zip(tensor, transforms, strict=True):
        v, u = np.unravel_index(np.argmax(crop[0]), crop[0].shape)
        back = ob.apply_transform(t, [u, v])
        assert np.hypot(*(back - dot)) < 1.5, f"dot at {dot}, came back at {back}"


def test_letterbox_transform() -> None:
    t = ob.letterbox_transform((640, 480), 224)
    npt.assert_allclose(ob.apply_transform(t, [0, 0]), [0, -80])
    npt.assert_allclose(ob.apply_transform(t, [224, 224]), [640, 560])
    t = ob.letterbox_transform((300, 600), 224)
    npt.assert_allclose(ob.apply_transform(t, [112, 112]), [150, 300])


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


def test_dedupe_rois() -> None:
    rois = [[100, 100, 80, 0], [105, 98, 82, 0.1], [300, 100, 80, 0]]
    keep = ob.dedupe_rois(rois, [0.6, 0.9, 0.7])
    npt.assert_array_equal(keep, [1, 2])


# ---------------------------------------------------------------- landmark decoding


def test_refine_from_heatmap_moves_to_peak() -> None:
    hm = np.full((1, 3, 64, 64), -10.0, np.float32)
    hm[0, 0, 20, 30] = 10.0  # confident single cell near landmark 0
    hm[0, 1, 40, 40] = -1.0  # landmark 1: best confidence 0.27 < 0.5
    xy = np.array(
        [[[31.5 / 64, 21.0 / 64], [40 / 64, 40 / 64], [1.2, 0.5]]], np.float32
    )
    hm[0, 2, 32, 63] = 10.0  # landmark 2 is outside the map: untouched anyway
    out = ob.refine_from_heatmap(xy, hm)
    # The window's sigmoid mass is almost all on cell (row 20, col 30).
    npt.assert_allclose(out[0, 0], [30 / 64, 20 / 64], atol=2e-3)
    npt.assert_array_equal(out[0, 1], xy[0, 1])
    npt.assert_array_equal(out[0, 2], xy[0, 2])


def _raw_landmarks(n: int, xyz_crop: np.ndarray, vis_logit: float = 3.0) -> np.ndarray:
    raw = np.zeros((n, ob.NUM_LANDMARKS, 5), np.float32)
    raw[..., :3] = xyz_crop
    raw[..., 3] = vis_logit
    return raw.reshape(n, -1)


@pytest.mark.parametrize(
    ("rotation", "crop_xy", "image_xy"),
    [
        pytest.param(0.0, (128, 128), (320, 240), id="centre"),
        pytest.param(0.0, (0, 0), (220, 140), id="top-left"),
        pytest.param(math.pi / 2, (128, 0), (420, 240), id="rotated-up-is-right"),
        pytest.param(-math.pi / 2, (128, 0), (220, 240), id="rotated-up-is-left"),
    ],
)
def test_postprocess_landmarks_projection(
    rotation: float, crop_xy: tuple[int, int], image_xy: tuple[int, int]
) -> None:
    roi = np.array([[320.0, 240.0, 200.0, rotation]])
    transforms = ob.roi_crop_transform(roi)
    raw = _raw_landmarks(1, np.array([*crop_xy, 64.0]))
    heat = np.full((1, ob.NUM_LANDMARKS, 64, 64), -20.0, np.float32)
    res = ob.postprocess_landmarks([raw, np.array([[0.9]]), heat], transforms, IMAGE_WH)
    assert res.xyz.shape == (1, ob.NUM_LANDMARKS, 3)
    npt.assert_allclose(
        res.xyz[0, 0, :2], [image_xy[0] / 640, image_xy[1] / 480], atol=1e-6
    )
    # z: 64 / 256 of the crop, times the ROI width in units of image width.
    assert res.xyz[0, 0, 2] == pytest.approx(64 / 256 * 200 / 640, rel=1e-6)
    assert res.visibility[0, 0] == pytest.approx(1 / (1 + math.exp(-3.0)), rel=1e-6)
    assert res.presence[0] == pytest.approx(0.9)


def test_postprocess_rejects_wrong_shape() -> None:
    transforms = ob.roi_crop_transform([[1, 1, 1, 0]] * 2)
    with pytest.raises(
        ValueError, match=r"expected landmarks \(2, 195\), got \(1, 195\)"
    ):
        ob.postprocess_landmarks(
            [np.zeros((1, 195)), np.zeros((1, 1)), np.zeros((1, 39, 64, 64))],
            transforms,
            IMAGE_WH,
        )


def test_rois_from_landmarks_uses_alignment_points() -> None:
    xyz = np.zeros((1, ob.NUM_LANDMARKS, 3), np.float32)
    xyz[0, 33, :2] = [0.5, 0.5]  # hips centre -> (320, 240) px
    xyz[0, 34, :2] = [0.5, 0.25]  # 120 px above
    res = ob.LandmarkResult(xyz, np.ones((1, 39), np.float32), np.ones(1, np.float32))
    npt.assert_allclose(
        ob.rois_from_landmarks(res, IMAGE_WH)[0], [320, 240, 2 * 120 * 1.25, 0.0]
    )
    frames = ob.landmarks_to_frames(res, 42)
    assert len(frames) == 1 and frames[0].xyz.shape == (33, 3)
    assert frames[0].timestamp_ms == 42


# ---------------------------------------------------------------- options and deps


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        pytest.param({}, does_not_raise(), id="defaults"),
        pytest.param(
            {"provider": "cuda", "num_poses": 4, "intra_op_threads": 2},
            does_not_raise(),
            id="cuda-multi",
        ),
        pytest.param(
            {"provider": "tpu"},
            pytest.raises(
                ValueError, match=r"provider must be one of \['cpu', 'cuda'\]"
            ),
            id="bad-provider",
        ),
        pytest.param(
            {"num_poses": 0},
            pytest.raises(ValueError, match="num_poses must be an int >= 1, got 0"),
            id="no-poses",
        ),
        pytest.param(
            {"num_poses": True},
            pytest.raises(ValueError, match="num_poses must be an int"),
            id="bool-poses",
        ),
        pytest.param(
            {"min_detection_confidence": 1.5},
            pytest.raises(ValueError, match=r"min_detection_confidence .*\[0, 1\]"),
            id="threshold-high",
        ),
        pytest.param(
            {"min_presence_confidence": -0.1},
            pytest.raises(ValueError, match=r"min_presence_confidence .*\[0, 1\]"),
            id="threshold-low",
        ),
        pytest.param(
            {"intra_op_threads": -1},
            pytest.raises(ValueError, match="intra_op_threads must be an int >= 0"),
            id="threads",
        ),
        pytest.param(
            {"tracking": "yes"},
            pytest.raises(ValueError, match="tracking must be a bool"),
            id="tracking",
        ),
    ],
)
def test_options(kwargs: dict[str, Any], expectation: Any) -> None:
    with expectation:
        ob.OnnxOptions(**kwargs)


def test_missing_onnxruntime_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendError, match=r"needs onnxruntime .*pip install"):
        ob.OnnxBackend()


def test_module_does_not_import_onnxruntime_at_import() -> None:
    import subprocess

    code = (
        "import sys, vision.backends.onnx as m; m.generate_anchors(); "
        "print('onnxruntime' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False", out.stdout + out.stderr


# ---------------------------------------------------------------- real models

needs_models = pytest.mark.skipif(
    not all(
        (models.MODELS_DIR / f).is_file()
        for f in ("pose_detector.onnx", "pose_landmark_full.onnx")
    ),
    reason="ONNX model files absent",
)
VIDEO = ("video", "bicep_curl_side.mp4")
MIN_VIDEO_DETECTION_RATE = 0.95


def _grace_hopper() -> np.ndarray:
    """matplotlib's sample photo (public domain portrait), read from the package."""
    import cv2
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip(f"matplotlib sample image absent: {path}")
    image = cv2.imread(str(path))
    assert image is not None, f"cv2 could not read {path}"
    return image


def _video_frames(step: int = 1) -> tuple[list[np.ndarray], float]:
    import cv2

    path = shared_data_path(*VIDEO)
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert frames, f"no frames decoded from {path}"
    return frames[::step], fps / step


@pytest.fixture(scope="module")
def backend():
    with ob.OnnxBackend(ob.OnnxOptions()) as b:
        yield b


def _y(poses: Poses, joint: Any) -> float:
    return float(poses.xyz[0, joint, 1])


@pytest.mark.model
@needs_models
def test_portrait_landmarks_land_on_the_person(backend: ob.OnnxBackend) -> None:
    backend.reset()
    poses = backend.detect(_grace_hopper(), 1)
    assert len(poses) == 1, f"expected one person, got {len(poses)}"
    assert poses.aspect_wh == pytest.approx(512 / 600)  # the portrait's width/height
    assert poses.scores[0] > 0.9, f"presence {poses.scores[0]}"
    nose = poses.xyz[0, Joint.NOSE, :2]
    # The face is in the upper middle of the 512x600 portrait.
    assert 0.4 < nose[0] < 0.65 and 0.25 < nose[1] < 0.5, f"nose at {nose}"
    ls, rs = poses.xyz[0, Joint.LEFT_SHOULDER], poses.xyz[0, Joint.RIGHT_SHOULDER]
    # She faces the camera: her left shoulder is on the image's right.
    assert ls[0] > nose[0] > rs[0], f"shoulders {ls[0]}, {rs[0]} around nose {nose[0]}"
    assert (
        _y(poses, Joint.NOSE)
        < _y(poses, Joint.LEFT_SHOULDER)
        < _y(poses, Joint.LEFT_HIP)
    )
    for eye in (Joint.LEFT_EYE, Joint.RIGHT_EYE):
        assert abs(poses.xyz[0, eye, 1] - nose[1]) < 0.08, "eyes far from the nose"
    assert poses.visibility[0, Joint.NOSE] > 0.9


@pytest.mark.model
@needs_models
@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((480, 640, 3), np.uint8), id="black"),
        pytest.param(np.full((300, 300, 3), 127, np.uint8), id="grey"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
            id="noise",
        ),
    ],
)
def test_no_person_gives_no_pose(backend: ob.OnnxBackend, image: np.ndarray) -> None:
    backend.reset()
    assert len(backend.detect_people(image)) == 0
    poses = backend.detect(image, 1)
    assert len(poses) == 0, f"expected no pose, got scores {poses.scores}"


@pytest.mark.model
@needs_models
def test_detector_alone_finds_the_portrait(backend: ob.OnnxBackend) -> None:
    image = _grace_hopper()
    dets = backend.detect_people(image)
    assert len(dets) == 1, f"expected 1 detection, got {len(dets)}"
    hips, _, shoulders, _ = dets.keypoints_xy[0]
    assert shoulders[1] < hips[1], f"shoulders {shoulders} not above hips {hips}"
    assert 0 < shoulders[0] < image.shape[1]


@pytest.mark.model
@needs_models
def test_batch_of_three_equals_three_single_calls(backend: ob.OnnxBackend) -> None:
    image = _grace_hopper()
    dets = backend.detect_people(image)
    base = ob.rois_from_alignment_points(
        dets.keypoints_xy[:, 0], dets.keypoints_xy[:, 1]
    )
    shifts = np.array([[0, 0, 0, 0], [15, -10, 20, 0.2], [-20, 5, -30, -0.3]])
    rois = base + shifts
    batch = backend.landmarks(image, rois)
    assert len(batch) == 3
    for i in range(3):
        single = backend.landmarks(image, rois[i : i + 1])
        npt.assert_allclose(batch.xyz[i], single.xyz[0], atol=1e-5)
        npt.assert_allclose(batch.visibility[i], single.visibility[0], atol=1e-5)
        npt.assert_allclose(batch.presence[i], single.presence[0], atol=1e-5)
    # Different crops really give (slightly) different answers.
    assert not np.allclose(batch.xyz[0], batch.xyz[1], atol=1e-4)


@pytest.mark.model
@needs_models
@pytest.mark.parametrize("tracking", [True, False], ids=["tracking", "detect-each"])
def test_video_detection_rate_and_plausibility(tracking: bool) -> None:
    frames, fps = _video_frames()
    found = 0
    with ob.OnnxBackend(ob.OnnxOptions(tracking=tracking)) as b:
        for i, frame in enumerate(frames):
            poses = b.detect(frame, round(i * 1000 / fps) + 1)
            if not len(poses):
                continue
            found += 1
            xy = poses.xyz[0, :, :2]
            assert _y(poses, Joint.NOSE) < _y(poses, Joint.LEFT_HIP), f"frame {i}"
            assert _y(poses, Joint.LEFT_SHOULDER) < _y(poses, Joint.LEFT_KNEE)
            torso = [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_HIP]
            assert ((xy[torso] > -0.05) & (xy[torso] < 1.05)).all(), (
                f"frame {i}: {xy[torso]}"
            )
        runs = b.detector_runs
    rate = found / len(frames)
    assert rate >= MIN_VIDEO_DETECTION_RATE, f"pose in {found}/{len(frames)} frames"
    if tracking:
        assert runs < len(frames) / 4, f"tracking ran the detector {runs} times"
    else:
        assert runs == len(frames)


@pytest.mark.model
@needs_models
def test_timestamps_must_increase_and_close_is_final() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    b = ob.OnnxBackend()
    b.detect(image, 10)
    with pytest.raises(
        ValueError, match=r"timestamps must increase .* got 10 ms after 10 ms"
    ):
        b.detect(image, 10)
    b.close()
    b.close()
    with pytest.raises(BackendError, match="closed"):
        b.detect(image, 11)


@pytest.mark.model
@needs_models
def test_cuda_unavailable_is_a_clear_error() -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA execution provider present")
    with pytest.raises(BackendError, match=r"CUDAExecutionProvider.*onnxruntime-gpu"):
        ob.OnnxBackend(ob.OnnxOptions(provider="cuda"))


@pytest.mark.parametrize(
    ("tracked", "detected", "expected"),
    [
        pytest.param([], [], [], id="empty"),
        pytest.param([[0, 0, 10, 0]], [], [[0, 0, 10, 0]], id="only-tracked"),
        pytest.param(
            [[0, 0, 10, 0.0]],
            [[1, 0, 10, 0.5]],
            [[1, 0, 10, 0.5]],
            id="detection-replaces-overlapping-track",
        ),
        pytest.param(
            [[0, 0, 10, 0], [50, 0, 10, 0]],
            [[51, 1, 10, 0], [100, 0, 10, 0]],
            [[0, 0, 10, 0], [51, 1, 10, 0], [100, 0, 10, 0]],
            id="tracked-first-then-detections",
        ),
        pytest.param(
            [],
            [[0, 0, 10, 0], [1, 0, 10, 0]],
            [[1, 0, 10, 0]],
            id="later-wins-in-stream",
        ),
    ],
)
def test_associate_rois(
    tracked: list[list[float]], detected: list[list[float]], expected: list[list[float]]
) -> None:
    got = ob.associate_rois(tracked, detected)
    assert got.shape == (len(expected), 4)
    npt.assert_allclose(got, np.asarray(expected, np.float64).reshape(-1, 4))
