"""A Baduanjin class of two real people (../shared/data/baduanjin; skipped when
absent): the whole-routine performer's section 1 (enlarged twice) and the tutorial
woman in red's section 1 side by side in one picture, 30 s, through the project's pose
backend (two people) and tracker, then `RoutineClass` with the whole Baduanjin.

Rounds by eye (CATALOG.tsv): the performer's tops at 6.15, 13.35, 20.25 and 27.33 s
(the fourth's hold over and the arms coming down when the 30 s end: `finish` counts
it, as at the kiosk), the woman's at 9.2 and 23.8 s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exercises.events import Event
from exercises.group import ParticipantEvent
from exercises.roster import ParticipantJoined
from exercises.routine import get_routine
from exercises.routine_events import RoutineCompleted, SectionStarted
from exercises.routine_group import RoutineClass
from exercises.routine_session import RoutineOptions, RoutineSession
from tests.clip_landmarks import save_npz
from tests.conftest import shared_data_path
from vision.types import Poses, Skeleton

pytestmark = [pytest.mark.slow, pytest.mark.model]

CLIPS = (("solo_full_s1", 2.0), ("s1_indoor_red", 376 / 640))
"""Each clip and its scale: both 376 px tall side by side."""
UNTIL_S = 30.0
STEP = 3  # of the 30 fps clips: 10 frames a second
HEIGHT = 376
BY_EYE = {1: 4, 2: 2}
"""Track (1 left, 2 right) -> rounds of section 1 whose top is within the 30 s."""


def _class_poses(cache: Path) -> list[Poses]:
    """The tiled picture's tracked poses, frame by frame (cached)."""
    key = cache / "baduanjin-class-s1-v1.npz"
    if not key.exists():
        _track_class(key)
    data = np.load(key)
    out = []
    for ts, ids, xyz, vis in zip(
        data["ts"], data["ids"], data["xyz"], data["vis"], strict=True
    ):
        keep = ids >= 0
        out.append(
            Poses(
                xyz[keep],
                vis[keep],
                ids[keep].astype(np.int64),
                np.ones(int(keep.sum()), np.float32),
                int(ts),
                Skeleton.BLAZEPOSE_33,
                aspect_wh=float(data["aspect"]),
            )
        )
    return out


def _track_class(key: Path) -> None:
    import cv2

    from vision.backends.onnx import OnnxBackend, OnnxOptions
    from vision.tracking import PoseTracker, TrackerOptions

    videos = []
    for name, scale in CLIPS:
        capture = cv2.VideoCapture(
            str(shared_data_path("baduanjin", "video", f"{name}.mp4"))
        )
        frames = []
        while len(frames) < round(UNTIL_S * 30):
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.resize(bgr, None, fx=scale, fy=scale))
        capture.release()
        videos.append(frames)
    widths = [v[0].shape[1] for v in videos]
    width = sum(widths) + sum(widths) % 2
    tracker = PoseTracker(TrackerOptions(), Skeleton.BLAZEPOSE_33)
    stamps, ids, xyz, vis = [], [], [], []
    with OnnxBackend(OnnxOptions(num_poses=2)) as backend:
        for i in range(0, min(len(v) for v in videos), STEP):
            canvas = np.full((HEIGHT, width, 3), 200, np.uint8)
            x = 0
            for v in videos:
                h, w = v[i].shape[:2]
                canvas[:h, x : x + w] = v[i]
                x += w
            ts = round(i * 1000 / 30) + 1
            tracked = tracker.update(backend.detect(canvas, ts))
            row_ids = np.full(2, -1, np.int64)
            row_xyz = np.full((2, 33, 3), np.nan, np.float32)
            row_vis = np.zeros((2, 33), np.float32)
            n = min(2, len(tracked))
            row_ids[:n] = tracked.track_ids[:n]
            row_xyz[:n] = tracked.xyz[:n]
            row_vis[:n] = tracked.visibility[:n]
            stamps.append(ts)
            ids.append(row_ids)
            xyz.append(row_xyz)
            vis.append(row_vis)
    save_npz(
        key,
        ts=np.array(stamps),
        ids=np.array(ids),
        xyz=np.array(xyz),
        vis=np.array(vis),
        aspect=width / HEIGHT,
    )


@pytest.fixture(scope="module")
def class_poses(request: pytest.FixtureRequest) -> list[Poses]:
    return _class_poses(Path(request.config.cache.mkdir("movecoach-class")))


def _alone(poses: list[Poses], track_id: int) -> RoutineCompleted:
    session = RoutineSession(
        get_routine("baduanjin"), RoutineOptions(image_aspect=poses[0].aspect_wh)
    )
    for p in poses:
        rows = list(p.track_ids)
        if track_id in rows:
            session.feed(p[rows.index(track_id)])
    final = session.finish(poses[-1].timestamp_ms + 1)[-1]
    assert isinstance(final, RoutineCompleted)
    return final


def test_a_class_of_two_real_people(class_poses: list[Poses]) -> None:
    group = RoutineClass(get_routine("baduanjin"))
    events: list[Event] = []
    for p in class_poses:
        events += group.feed(p)
    events += group.finish(class_poses[-1].timestamp_ms + 1)
    joined = [e.track_id for e in events if isinstance(e, ParticipantJoined)]
    assert joined == [1, 2]  # the tracker kept both people all along
    done = {
        e.track_id: e.event
        for e in events
        if isinstance(e, ParticipantEvent) and isinstance(e.event, RoutineCompleted)
    }
    for track_id, rounds in BY_EYE.items():
        mine = done[track_id]
        assert mine.section_rounds["hold_up_heavens"] == rounds
        assert mine == _alone(class_poses, track_id)  # as at a kiosk of their own
    room = [e.section_id for e in events if isinstance(e, SectionStarted)]
    assert room[:2] == ["preparation", "hold_up_heavens"]
