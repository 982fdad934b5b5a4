"""vision/backends/blazepose/tracking.py: the VIDEO-mode step, without a model."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from vision.backends.blazepose import (
    Detections,
    LandmarkResult,
    VideoTracking,
    no_rois,
)

IMAGE_WH = (640, 480)


def _result(people: list[tuple[float, float, float]], presence: list[float]):
    """Landmarks of people given as (hips x, hips y, scale-point distance) in px, the
    scale point straight above the hips (an upright ROI of side 2.5 x distance)."""
    n = len(people)
    xyz = np.zeros((n, 39, 3), np.float32)
    for i, (x, y, d) in enumerate(people):
        xyz[i, :, 0] = x / IMAGE_WH[0]
        xyz[i, :, 1] = y / IMAGE_WH[1]
        xyz[i, 34, 1] = (y - d) / IMAGE_WH[1]
    return LandmarkResult(
        xyz, np.ones((n, 39), np.float32), np.asarray(presence, np.float32)
    )


def _detections(people: list[tuple[float, float, float]]) -> Detections:
    kps = np.zeros((len(people), 4, 2), np.float32)
    for i, (x, y, d) in enumerate(people):
        kps[i, :, :] = (x, y)
        kps[i, 1] = (x, y - d)
    boxes = np.tile(np.asarray([[0, 0, 1, 1]], np.float32), (len(people), 1))
    return Detections(boxes, kps, np.full(len(people), 0.9, np.float32))


def _roi(x: float, y: float, d: float) -> list[float]:
    return [x, y, 2.5 * d, 0.0]


@pytest.mark.parametrize(
    ("step", "tracked", "carried", "needs_detector"),
    [
        pytest.param(VideoTracking(1), [_roi(320, 240, 80)], 1, False, id="tracked"),
        pytest.param(VideoTracking(1), [], 0, True, id="nobody-yet"),
        pytest.param(
            VideoTracking(2), [_roi(320, 240, 80)], 1, True, id="fewer-than-wanted"
        ),
        pytest.param(
            VideoTracking(1, enabled=False),
            [_roi(320, 240, 80)],
            0,
            True,
            id="tracking-off-detects-each-frame",
        ),
    ],
)
def test_the_detector_runs_only_to_acquire(
    step: VideoTracking, tracked: list[list[float]], carried: int, needs_detector: bool
) -> None:
    rois = step.carried(np.asarray(tracked, np.float64))
    assert rois.shape == (carried, 4)
    assert step.needs_detector(rois) is needs_detector


def test_a_detection_replaces_the_track_it_overlaps_and_new_people_follow() -> None:
    step = VideoTracking(num_poses=2)
    tracked = np.asarray([_roi(320, 240, 80)], np.float64)
    got = step.acquire(tracked, _detections([(500, 240, 60), (324, 238, 82)]))
    # The tracked ROI gave way to the detection overlapping it, which joins in
    # stream order (after the new person).
    npt.assert_allclose(got, [_roi(500, 240, 60), _roi(324, 238, 82)], atol=1e-4)
    assert step.acquire(no_rois(), _detections([])).shape == (0, 4)
    capped = VideoTracking(num_poses=1).acquire(
        no_rois(), _detections([(100, 240, 60), (500, 240, 60)])
    )
    npt.assert_allclose(capped, [_roi(100, 240, 60)], atol=1e-4)


def test_advance_keeps_present_poses_and_hands_their_rois_on() -> None:
    step = VideoTracking(num_poses=3, min_presence_confidence=0.5)
    result = _result(
        [(100, 300, 80), (400, 300, 80), (402, 298, 80)],  # the last two: one person
        [0.9, 0.6, 0.95],
    )
    kept, rois = step.advance(result, IMAGE_WH)
    npt.assert_allclose(kept.presence, [0.9, 0.95])  # converged track: best kept
    npt.assert_allclose(rois, [_roi(100, 300, 80), _roi(402, 298, 80)], atol=1e-3)
    kept, rois = step.advance(_result([(100, 300, 80)], [0.49]), IMAGE_WH)
    assert len(kept) == 0 and rois.shape == (0, 4)  # lost: the detector comes back


def test_advance_with_tracking_off_returns_poses_but_no_rois() -> None:
    step = VideoTracking(enabled=False)
    kept, rois = step.advance(_result([(100, 300, 80)], [0.9]), IMAGE_WH)
    assert len(kept) == 1 and rois.shape == (0, 4)
    assert step.next_rois(kept, IMAGE_WH).shape == (0, 4)
    npt.assert_allclose(
        VideoTracking().next_rois(kept, IMAGE_WH), [_roi(100, 300, 80)], atol=1e-3
    )


@pytest.mark.parametrize(
    ("people", "presence", "expected_presence"),
    [
        pytest.param([(100, 300, 80)], [0.9], [0.9], id="one-kept"),
        pytest.param(
            [(100, 300, 80), (400, 300, 80)], [0.9, 0.6], [0.9, 0.6], id="all-kept"
        ),
        pytest.param(
            [(100, 300, 80), (400, 300, 80)], [0.3, 0.6], [0.6], id="one-dropped"
        ),
        pytest.param(
            [(400, 300, 80), (402, 298, 80), (100, 300, 80)],
            [0.95, 0.7, 0.2],
            [0.95],
            id="dropped-and-duplicate",
        ),
    ],
)
def test_advance_returns_the_kept_rows_and_their_rois(
    people: list[tuple[float, float, float]],
    presence: list[float],
    expected_presence: list[float],
) -> None:
    step = VideoTracking(num_poses=3, min_presence_confidence=0.5)
    result = _result(people, presence)
    kept, rois = step.advance(result, IMAGE_WH)
    rows = [presence.index(p) for p in expected_presence]
    npt.assert_array_equal(kept.presence, np.float32(expected_presence))
    npt.assert_array_equal(kept.xyz, result.xyz[rows])
    npt.assert_array_equal(kept.visibility, result.visibility[rows])
    npt.assert_allclose(rois, [_roi(*people[r]) for r in rows], atol=1e-3)
