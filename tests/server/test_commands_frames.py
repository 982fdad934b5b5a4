"""server.commands._frames: the pose-reading steps `pose` and `analyze` share."""

from __future__ import annotations

import numpy as np
import pytest

from server.cli import CommandError
from server.commands._frames import frame_total, main_person, open_backend, open_frames
from vision.types import Poses, Skeleton


@pytest.mark.parametrize(
    ("frame_count", "max_frames", "total"),
    [
        pytest.param(None, None, None, id="unknown"),
        pytest.param(100, None, 100, id="the-source-count"),
        pytest.param(None, 10, 10, id="the-cap"),
        pytest.param(100, 10, 10, id="capped"),
        pytest.param(5, 10, 5, id="shorter-than-the-cap"),
    ],
)
def test_frame_total(
    frame_count: int | None, max_frames: int | None, total: int | None
) -> None:
    assert frame_total(frame_count, max_frames) == total


def poses(scores: list[float]) -> Poses:
    n, j = len(scores), Skeleton.COCO_17.num_joints
    xyz = np.stack([np.full((j, 3), 0.1 * (i + 1), np.float32) for i in range(n)])
    return Poses(
        xyz.reshape(n, j, 3),
        np.ones((n, j), np.float32),
        np.full(n, -1, np.int64),
        np.asarray(scores, np.float32),
        7,
        Skeleton.COCO_17,
        16 / 9,
    )


def test_main_person_is_the_most_confident() -> None:
    person = main_person(poses([0.2, 0.9, 0.5]), 7)
    assert np.allclose(person.xyz, 0.2)
    assert (person.timestamp_ms, person.skeleton) == (7, Skeleton.COCO_17)


def test_nobody_is_a_missing_frame_with_the_frame_geometry() -> None:
    person = main_person(Poses.empty(7, Skeleton.COCO_17, 16 / 9), 7)
    assert person.is_missing
    assert (person.skeleton, person.aspect_wh) == (Skeleton.COCO_17, 16 / 9)


def test_errors_are_one_line_command_errors() -> None:
    with pytest.raises(CommandError):
        open_frames("/no/such/video.mp4")
    with pytest.raises(CommandError, match="nope backend"):
        open_backend("nope")
