"""vision/backends/blazepose/landmarks.py: crops and landmark decoding (no model)."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from vision.backends import blazepose as ob

IMAGE_WH = (640, 480)


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


@pytest.mark.parametrize("n", [0, 1, 3], ids=lambda n: f"{n}-poses")
def test_landmarks_to_poses_keeps_the_33_joints_and_presence(n: int) -> None:
    rng = np.random.default_rng(n)
    xyz = rng.random((n, ob.NUM_LANDMARKS, 3), dtype=np.float32)
    visibility = rng.random((n, ob.NUM_LANDMARKS), dtype=np.float32)
    presence = rng.random(n, dtype=np.float32)
    poses = ob.landmarks_to_poses(ob.LandmarkResult(xyz, visibility, presence), 42)
    assert len(poses) == n and poses.timestamp_ms == 42
    npt.assert_array_equal(poses.xyz, xyz[:, :33])
    npt.assert_array_equal(poses.visibility, visibility[:, :33])
    npt.assert_array_equal(poses.scores, presence)
    npt.assert_array_equal(poses.track_ids, np.full(n, -1))
    assert poses.xyz.flags.c_contiguous and poses.visibility.flags.c_contiguous


def test_preprocess_into_a_reused_buffer_is_the_same_batch() -> None:
    image = np.random.default_rng(5).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    rois = np.array([[80.0, 60.0, 90.0, 0.4], [40.0, 50.0, 30.0, -1.0]])
    fresh, transforms = ob.preprocess_landmarks(image, rois)
    buffer = np.full((2, 3, 256, 256), np.nan, np.float32)
    filled, same_transforms = ob.preprocess_landmarks(image, rois, out=buffer)
    assert filled is buffer
    npt.assert_array_equal(filled, fresh)
    npt.assert_array_equal(same_transforms, transforms)
    with pytest.raises(ValueError, match=r"out must be \(2, 3, 256, 256\) float32"):
        ob.preprocess_landmarks(image, rois, out=buffer[:1])
    strided = np.zeros((2, 3, 256, 512), np.float32)[..., ::2]  # right shape, strided
    not_contiguous = r"C-contiguous, got \(2, 3, 256, 256\) float32$"
    with pytest.raises(ValueError, match=not_contiguous):
        ob.preprocess_landmarks(image, rois, out=strided)


@pytest.mark.parametrize("refine", [True, False], ids=["refined", "raw"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_postprocess_matches_its_slow_twin(seed: int, refine: bool) -> None:
    """The numba decoding (refine, projection, z, visibility) against tests/naive.py,
    landmarks on, near and off the heatmap's edges (MediaPipe's bounds), NaN too."""
    from tests import naive

    rng = np.random.default_rng(seed)
    n = 3
    raw = rng.normal(0.0, 1.0, (n, ob.NUM_LANDMARKS, 5)).astype(np.float32)
    raw[..., :2] = rng.uniform(-40.0, 300.0, (n, ob.NUM_LANDMARKS, 2))
    raw[0, :6, :2] = [[0, 0], [255.9, 10], [10, 255.9], [-0.5, 5], [5, 270], [3, 3]]
    raw[1, 7] = np.nan
    raw[..., 2] *= 50.0
    raw[..., 3] *= 4.0
    heatmap = rng.normal(-2.0, 3.0, (n, ob.NUM_LANDMARKS, 64, 64)).astype(np.float32)
    rois = np.array([[300.0, 200.0, 180.0, 0.3], [50.0, 400.0, 90.0, -2.5]] * 2)[:n]
    transforms = ob.roi_crop_transform(rois, ob.LANDMARK_INPUT_SIZE)
    outputs = [raw.reshape(n, -1), rng.uniform(0, 1, (n, 1)), heatmap]

    got = ob.postprocess_landmarks(outputs, transforms, IMAGE_WH, refine=refine)
    want_xyz, want_vis = naive.decode_landmarks(
        raw, heatmap, transforms, IMAGE_WH, refine=refine
    )
    npt.assert_allclose(got.xyz, want_xyz, rtol=1e-5, atol=1e-5)
    npt.assert_allclose(got.visibility, want_vis, rtol=1e-5, atol=1e-6)
    npt.assert_array_equal(got.presence, np.float32(outputs[1][:, 0]))
    assert np.isnan(got.xyz[1, 7]).all()
    xy = raw[..., :2] / np.float32(ob.LANDMARK_INPUT_SIZE)
    npt.assert_allclose(
        ob.refine_from_heatmap(xy, heatmap),
        naive.refine_from_heatmap(xy, heatmap),
        rtol=1e-5,
        atol=1e-6,
    )


WARP_LEVEL_TOLERANCE = 1 / 255 + 1e-6  # older OpenCV (fixed-point warps) may round
# a few pixels the other way; 5.x warps in float like the kernel, to the bit.


def _crop_transform(rng: np.random.Generator, image_wh: tuple[int, int]) -> np.ndarray:
    """A random rotated square crop, often reaching far past the image."""
    w, h = image_wh
    side = rng.uniform(4, 3 * max(w, h))
    centre = rng.uniform(-0.5, 1.5, 2) * (w, h)
    roi = np.array([[*centre, side, rng.uniform(-math.pi, math.pi)]])
    t = ob.roi_crop_transform(roi)[0]
    return t + rng.normal(0, 1e-3, t.shape) * (rng.random() < 0.3)


def _assert_like_opencv(
    got: np.ndarray, image: np.ndarray, tensor_to_image: np.ndarray
) -> None:
    """`got` (3, S, S) equals OpenCV's warpAffine of `image` (bilinear, inverse map,
    replicated border) as RGB planes / 255: to the bit on OpenCV 5, within one level
    on the fixed-point warps of older versions."""
    import cv2

    size = got.shape[-1]
    warped = cv2.warpAffine(
        image,
        tensor_to_image,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    planes = warped[:, :, ::-1].transpose(2, 0, 1)
    want = planes.astype(np.float32) * np.float32(1 / 255)
    npt.assert_allclose(got, want, rtol=0, atol=WARP_LEVEL_TOLERANCE)
    if int(cv2.__version__.split(".")[0]) >= 5:
        npt.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("image_hw", "size", "seed"),
    [
        pytest.param((37, 53), 16, 0, id="landscape"),
        pytest.param((61, 29), 24, 1, id="portrait"),
        pytest.param((1, 2), 8, 2, id="one-row"),
        pytest.param((5, 2), 8, 3, id="two-columns"),
    ],
)
def test_warp_replicate_matches_twin_and_opencv(
    image_hw: tuple[int, int], size: int, seed: int
) -> None:
    """The numba crop warp against tests/naive.py (to the bit) and OpenCV's
    warpAffine (replicated border, split, scaled) on random affine transforms, many
    of them reaching outside the image."""

    from tests import naive
    from vision.backends.blazepose._common import warp_into

    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (*image_hw, 3), np.uint8)
    for _ in range(12):
        t = _crop_transform(rng, (image_hw[1], image_hw[0]))
        got = np.full((3, size, size), np.nan, np.float32)
        warp_into(got, image, t, scale=1 / 255, offset=0, replicate=True)
        npt.assert_array_equal(got, naive.warp_replicate(image, t, size, 1 / 255))
        _assert_like_opencv(got, image, t)


def test_warp_replicate_real_crop_matches_opencv() -> None:
    """A 256x256 crop of a frame-sized image, as the landmark stage takes it, equals
    the OpenCV warp it replaced (replicated border, RGB planes, / 255)."""
    import cv2

    from vision.backends.blazepose._common import warp_into

    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (30, 52, 3), np.uint8)
    image = cv2.resize(small, (522, 294), interpolation=cv2.INTER_CUBIC)
    for _ in range(8):
        t = _crop_transform(rng, (522, 294))
        got = np.empty((3, 256, 256), np.float32)
        warp_into(got, image, t, scale=1 / 255, offset=0, replicate=True)
        _assert_like_opencv(got, image, t)
