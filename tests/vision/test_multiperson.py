"""vision/multiperson.py and the multi-person helpers of vision/backends/onnx.py.

Pure parts (tiles, region batches, merging, keypoint similarity, duplicate selection)
without a model; then the real models on the real two-person clip (both people in every
frame, no duplicates, one ID per person per shot) and on a scene of pasted shared clips.
"""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

import models
from tests.factories import make_frame
from vision.backends import onnx as ob
from vision.multiperson import MultiPersonOptions, MultiPersonPoseEstimator
from vision.types import Poses

# ---------------------------------------------------------------------- tiles


@pytest.mark.parametrize(
    ("image_wh", "min_height", "expected_side"),
    [
        pytest.param((1280, 720), 0.2, 360, id="720p"),
        pytest.param((640, 480), 0.2, 240, id="vga"),
        pytest.param((720, 1280), 0.2, 640, id="portrait"),
        pytest.param((1280, 720), 0.1, 180, id="smaller-people-smaller-tiles"),
    ],
)
def test_tiles_hold_the_smallest_person_wherever_they_stand(
    image_wh: tuple[int, int], min_height: float, expected_side: int
) -> None:
    tiles = ob.tile_grid(image_wh, min_height)
    w, h = image_wh
    sides = tiles[:, 2:] - tiles[:, :2]
    assert (sides == expected_side).all(), sides
    assert tiles[:, :2].min() == 0 and tiles[:, 2].max() == w and tiles[:, 3].max() == h
    # Any box of the smallest person (height min_height*H, width half that) lies
    # entirely inside at least one tile, and the person fills >= the reliable share.
    ph = round(min_height * h)
    pw = ph // 2
    assert ph / expected_side >= ob.DETECTOR_RELIABLE_FRACTION - 1e-9
    for x in range(0, w - pw + 1, max(1, (w - pw) // 37)):
        for y in range(0, h - ph + 1, max(1, (h - ph) // 23)):
            inside = (
                (tiles[:, 0] <= x)
                & (tiles[:, 1] <= y)
                & (tiles[:, 2] >= x + pw)
                & (tiles[:, 3] >= y + ph)
            )
            assert inside.any(), (x, y)


def test_no_tiles_when_the_whole_frame_suffices() -> None:
    # 0.5 of 480 px = 240 px >= 0.4 * 640: the letterboxed frame shows them big enough.
    assert ob.tile_grid((640, 480), 0.6).shape == (0, 4)


@pytest.mark.parametrize(
    ("args", "expectation"),
    [
        pytest.param(((640, 480), 0.2), does_not_raise(), id="ok"),
        pytest.param(((0, 480), 0.2), pytest.raises(ValueError), id="empty-image"),
        pytest.param(((640, 480), 0.0), pytest.raises(ValueError), id="zero-height"),
        pytest.param(((640, 480), 1.5), pytest.raises(ValueError), id="over-one"),
    ],
)
def test_tile_grid_validates(args: tuple[Any, ...], expectation: Any) -> None:
    with expectation:
        ob.tile_grid(*args)


def test_region_batch_matches_single_letterbox() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    tile = [100, 50, 340, 290]
    tensor, transforms = ob.preprocess_detector_regions(image, [[0, 0, 500, 300], tile])
    whole, whole_t = ob.preprocess_detector(image)
    npt.assert_allclose(tensor[0], whole[0], atol=1e-6)
    npt.assert_allclose(transforms[0], whole_t)
    crop = np.ascontiguousarray(image[50:290, 100:340])
    alone, _ = ob.preprocess_detector(crop)
    # Same samples; only the border differs (the crop has no pixels beyond its edge
    # to interpolate with) and rounding in the warp (one grey level, 1/127.5).
    npt.assert_allclose(tensor[1, :, 2:-2, 2:-2], alone[0, :, 2:-2, 2:-2], atol=0.008)
    # Tensor corners map to the region's corners.
    corners = ob.apply_transform(transforms[1], [[0, 0], [224, 224]])
    npt.assert_allclose(corners, [[100, 50], [340, 290]], atol=1e-9)


def _raw_for(dets_tensor: list[tuple[float, list[float]]]) -> tuple[np.ndarray, ...]:
    """Detector outputs (A, 12), (A,) with one hit per (logit, [cx, cy, w, h, kp0x,
    kp0y, kp1x, kp1y, ...]) given in tensor-normalised coordinates."""
    anchors = ob.generate_anchors()
    boxes = np.zeros((anchors.shape[0], 12), np.float32)
    logits = np.full(anchors.shape[0], -20.0, np.float32)
    for logit, values in dets_tensor:
        cx, cy = values[0], values[1]
        a = int(np.argmin(np.hypot(anchors[:, 0] - cx, anchors[:, 1] - cy)))
        row = np.zeros(12, np.float32)
        row[:4] = values[:4]
        row[4 : 4 + len(values) - 4] = values[4:]
        row[[0, 4, 6, 8, 10]] -= anchors[a, 0]
        row[[1, 5, 7, 9, 11]] -= anchors[a, 1]
        boxes[a] = row * 224
        logits[a] = logit
    return boxes, logits


def _person(cx: float, cy: float, s: float) -> list[float]:
    """Face box at (cx, cy), hips s below, scale point s further (tensor coords)."""
    return [cx, cy, 0.1, 0.1, cx, cy + s, cx, cy, cx, cy + s / 2, cx, cy]


def test_one_person_in_two_regions_is_one_detection() -> None:
    image_wh = (448, 224)
    regions = np.array([[0, 0, 448, 224], [0, 0, 224, 224]], np.float64)
    _, transforms = ob.preprocess_detector_regions(
        np.zeros((224, 448, 3), np.uint8), regions
    )
    # A person at image px (112, 60): tensor coords differ per region.
    whole = _raw_for([(3.0, _person(112 / 448, (60 + 112) / 448, 0.15))])
    tile = _raw_for([(4.0, _person(112 / 224, 60 / 224, 0.3))])
    outputs = (
        np.stack([whole[0], tile[0]])[:, :, :],
        np.stack([whole[1], tile[1]])[:, :, None],
    )
    dets = ob.postprocess_detector_batch(
        outputs, transforms, regions, ob.generate_anchors(), image_wh, min_score=0.5
    )
    assert len(dets) == 1
    npt.assert_allclose(dets.keypoints_xy[0, 0], [112, 60 + 67.2], atol=1.0)


def test_detection_with_hips_far_outside_its_tile_is_dropped() -> None:
    image_wh = (448, 224)
    regions = np.array([[0, 0, 112, 112]], np.float64)
    _, transforms = ob.preprocess_detector_regions(
        np.zeros((224, 448, 3), np.uint8), regions
    )
    near = _person(0.5, 0.2, 0.3)  # hips inside the tile
    far = _person(0.9, 0.5, 1.5)  # hips 1.5 tile sides below: a scrap at the edge
    raw = _raw_for([(4.0, near), (4.0, far)])
    dets = ob.postprocess_detector_batch(
        (raw[0][None], raw[1][None, :, None]),
        transforms,
        regions,
        ob.generate_anchors(),
        image_wh,
        min_score=0.5,
    )
    assert len(dets) == 1
    assert dets.keypoints_xy[0, 0, 1] < 112


# ------------------------------------------------------------- pose similarity


def _px(frame: Any, wh: tuple[int, int] = (1280, 720)) -> np.ndarray:
    return frame.xyz[:, :2] * np.asarray(wh, np.float32)


def _stack(*frames: Any) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.stack([_px(f) for f in frames]),
        np.stack([f.visibility for f in frames]),
    )


ASPECT = 16 / 9


def test_keypoint_similarity_separates_people_not_jitter() -> None:
    a = make_frame(0, center_x=0.4, height=0.6, aspect=ASPECT)
    jitter = make_frame(0, center_x=0.4, height=0.6, aspect=ASPECT, noise=0.004, seed=1)
    # make_frame's center_x offsets are in frame heights: 0.15 = 108 px, about a
    # shoulder width of a 432-px person: the neighbour stands shoulder to shoulder.
    neighbour = make_frame(0, center_x=0.55, height=0.6, aspect=ASPECT)
    xy, vis = _stack(a, jitter, neighbour)
    sim = ob.keypoint_similarity(xy, vis, xy, vis)
    npt.assert_allclose(np.diag(sim), 1.0)
    assert sim[0, 1] > 0.7
    assert sim[0, 2] < 0.1
    npt.assert_allclose(sim, sim.T, atol=1e-12)
    assert ob.keypoint_similarity(xy[:0], vis[:0], xy, vis).shape == (0, 3)


def test_shoulder_to_shoulder_people_are_two_duplicates_are_one() -> None:
    # Shoulders touching (centres 101 px apart, shoulder width ~95 px): two people.
    left = make_frame(0, center_x=0.43, height=0.6, aspect=ASPECT, shoulder_deg=40)
    right = make_frame(0, center_x=0.57, height=0.6, aspect=ASPECT)
    dup = make_frame(0, center_x=0.432, height=0.61, aspect=ASPECT, noise=0.003, seed=2)
    xy, vis = _stack(left, right, dup)
    keep = ob.select_distinct_poses(xy, vis, np.array([0.9, 0.95, 0.99]))
    assert keep.tolist() == [2, 1]  # the better of the two fits on the left person
    same = ob.same_person(xy, vis)
    assert same.tolist() == [
        [True, False, True],
        [False, True, False],
        [True, False, True],
    ]


def test_collapsed_fit_on_someones_trunk_is_a_duplicate() -> None:
    body = make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT)
    # A small fit whose trunk lies on the chest of the first (what a crop at the
    # wrong scale produces): different joints, same trunk.
    small = make_frame(0, center_x=0.5, height=0.25, floor_y=0.55, aspect=ASPECT)
    xy, vis = _stack(body, small)
    assert ob.keypoint_similarity(xy, vis, xy, vis)[0, 1] < ob.DUPLICATE_SIMILARITY
    assert ob.torso_containment(xy)[0, 1] > ob.TORSO_CONTAINMENT
    # The part ranks at half its score: the whole person's fit is kept even when the
    # part's presence is higher; a part scoring over twice as high would win.
    assert ob.part_of_another(xy, vis).tolist() == [False, True]
    assert ob.select_distinct_poses(xy, vis, np.array([0.9, 1.0])).tolist() == [0]
    assert ob.select_distinct_poses(xy, vis, np.array([0.4, 1.0])).tolist() == [1]


def test_fit_along_someones_arm_is_a_part_of_them() -> None:
    body = make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT, shoulder_deg=90)
    xy_body = _px(body)
    shoulder, wrist = xy_body[11], xy_body[15]  # the left arm, held out sideways
    # A "pose" whose joints are strung along that arm (what a crop on an arm gives).
    t = np.linspace(0, 1, 33)[:, None]
    along = shoulder + t * (wrist - shoulder) + np.array([0, 2.0]) * np.sin(9 * t)
    xy = np.stack([xy_body, along])
    vis = np.ones((2, 33), np.float32)
    on = ob.skeleton_overlap(xy, vis)
    assert on[1, 0] == 1.0 and on[0, 1] < 0.3
    assert ob.part_of_another(xy, vis).tolist() == [False, True]
    assert ob.same_person(xy, vis)[0, 1]
    # A neighbour within reach of the outstretched arm: a few joints touch it, far
    # from "lying on" each other.
    other = _px(make_frame(0, center_x=0.7, height=0.7, aspect=ASPECT))
    apart = ob.skeleton_overlap(np.stack([xy_body, other]), vis)
    assert apart.max(initial=0, where=~np.eye(2, dtype=bool)) < ob.SKELETON_OVERLAP / 2
    assert not ob.same_person(np.stack([xy_body, other]), vis)[0, 1]


def test_plausibility_scores_collapsed_proportions_low() -> None:
    body = _px(make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT))
    collapsed = body.copy()
    collapsed[0] = (body[11] + body[12]) / 2 + np.array([0, -3.0])  # nose on shoulders
    stretched = body.copy()
    stretched[0] = (body[11] + body[12]) / 2 + (body[0] - (body[11] + body[12]) / 2) * 4
    score = ob.pose_plausibility(np.stack([body, collapsed, stretched]))
    assert score[0] > 0.8
    assert score[1] < 0.05 and score[2] < 0.05
    missing = body.copy()
    missing[0] = np.nan
    assert ob.pose_plausibility(missing[None])[0] == 1.0
    npt.assert_allclose(
        ob.torso_lengths(body[None]),
        np.hypot(*((body[11] + body[12]) / 2 - (body[23] + body[24]) / 2)),
    )


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        pytest.param({}, does_not_raise(), id="defaults"),
        pytest.param({"max_people": 0}, pytest.raises(ValueError), id="max-people"),
        pytest.param({"detect_every": 0}, pytest.raises(ValueError), id="detect-every"),
        pytest.param(
            {"min_person_height": 0.0}, pytest.raises(ValueError), id="min-height"
        ),
        pytest.param(
            {"min_presence_confidence": 1.5}, pytest.raises(ValueError), id="presence"
        ),
        pytest.param({"tracking": 1}, pytest.raises(ValueError), id="tracking-bool"),
    ],
)
def test_options(kwargs: dict[str, Any], expectation: Any) -> None:
    with expectation:
        MultiPersonOptions(**kwargs)


# ----------------------------------------------------------------- real models

needs_models = pytest.mark.skipif(
    not all(
        (models.MODELS_DIR / f).is_file()
        for f in ("pose_detector.onnx", "pose_landmark_full.onnx")
    ),
    reason="ONNX model files absent",
)


@pytest.mark.model
@needs_models
@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((480, 640, 3), np.uint8), id="black"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
            id="noise",
        ),
    ],
)
def test_nobody_in_view(image: np.ndarray) -> None:
    with MultiPersonPoseEstimator() as est:
        for ts in (1, 2, 3):
            assert len(est.detect(image, ts)) == 0


@pytest.mark.model
@needs_models
def test_timestamps_must_increase_and_close_is_final() -> None:
    from vision.backends.base import BackendError

    est = MultiPersonPoseEstimator()
    image = np.zeros((64, 64, 3), np.uint8)
    est.detect(image, 10)
    with pytest.raises(ValueError, match="timestamps must increase"):
        est.detect(image, 10)
    est.close()
    est.close()
    with pytest.raises(BackendError, match="closed"):
        est.detect(image, 11)


def _group_clip() -> list[Any]:
    from tests.conftest import shared_data_path

    shared_data_path("video", "group2_taichi_beach.mp4")
    from benchmarks import group_data as gd

    return list(gd.group_clip_frames())


@pytest.mark.model
@pytest.mark.slow
@needs_models
@pytest.mark.parametrize(
    "options",
    [
        pytest.param(MultiPersonOptions(), id="defaults"),
        pytest.param(MultiPersonOptions(tiles_per_frame=0), id="all-tiles"),
    ],
)
def test_real_two_person_clip(options: MultiPersonOptions) -> None:
    """group2_taichi_beach.mp4: both people found in every frame, never a duplicate,
    each keeps one track ID within each shot, no fall alert. The hard cut at 1.8 s
    (frame 30) moves and enlarges both people at once; the tracker treats that as new
    people (new IDs after the cut), since nothing in the poses says who is who across
    a cut."""
    from benchmarks import group_data as gd
    from exercises.falls import FallMonitor
    from vision.tracking import PoseTracker

    frames = _group_clip()
    assert len(frames) == 66
    tracker = PoseTracker()
    falls = FallMonitor()
    alerts = []
    ids: dict[tuple[int, int], set[int]] = {}
    with MultiPersonPoseEstimator(options) as est:
        for f in frames:
            poses = tracker.update(est.detect(f.image, f.timestamp_ms))
            h, w = f.image.shape[:2]
            assert poses.aspect_wh == pytest.approx(w / h)  # stamped, kept by tracking
            alerts += falls.update(poses)
            assert len(poses) == 2, f"frame {f.index}: {len(poses)} people"
            xy = poses.xyz[:, :, :2] * np.array([w, h], np.float32)
            sim = ob.keypoint_similarity(xy, poses.visibility, xy, poses.visibility)
            assert sim[0, 1] < ob.DUPLICATE_SIMILARITY, f"frame {f.index}"
            # Who is who: match to the per-half ground truth (man left, woman right).
            gt_xy = f.gt_xyz[:, :, :2] * np.array([w, h], np.float32)
            gt_sim = ob.keypoint_similarity(
                gt_xy, f.gt_visibility, xy, poses.visibility
            )
            shot = int(f.index >= gd.GROUP_CUT_FRAME)
            for person in (0, 1):
                if not np.isfinite(gt_xy[person, 0, 0]):
                    continue
                k = int(np.argmax(gt_sim[person]))
                assert gt_sim[person, k] >= 0.5, f"frame {f.index}, person {person}"
                ids.setdefault((shot, person), set()).add(int(poses.track_ids[k]))
    for key, found in ids.items():
        assert len(found) == 1, f"shot/person {key}: IDs {found}"
    assert ids[(0, 0)] != ids[(0, 1)] and ids[(1, 0)] != ids[(1, 1)]
    assert alerts == []  # tai chi, and the cut, are not falls


@pytest.mark.model
@pytest.mark.slow
@needs_models
def test_pasted_group_scene_recall_no_duplicates() -> None:
    """Six people pasted from shared clips into a 4:3 frame, each about a fifth to a
    quarter of the frame high (benchmarks.group_data "row6", first 20 frames)."""
    import dataclasses

    from benchmarks import group as gb
    from benchmarks import group_data as gd
    from tests.conftest import shared_data_path
    from vision.tracking import PoseTracker

    shared_data_path("video")
    scene = dataclasses.replace(
        next(s for s in gd.SCENES if s.name == "row6"), num_frames=20
    )
    tally = gb.Tally()
    tracker = PoseTracker()
    with MultiPersonPoseEstimator(MultiPersonOptions(tiles_per_frame=0)) as est:
        for f in gd.render_scene(scene):
            poses: Poses = tracker.update(est.detect(f.image, f.timestamp_ms))
            gb.evaluate_frame(tally, f, poses, 0.0)
    s = tally.summary()
    assert s["people"] >= 80
    assert s["recall"] >= gb.RECALL_TARGET, s
    assert s["duplicates"] == 0, s
    assert s["id_switches"] == 0, s
