"""vision/tracking.py: synthetic groups (crossings, occlusions, entries, cuts) with
exact track-ID expectations."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

from tests.factories import make_frame
from vision.tracking import PoseTracker, TrackerOptions, pose_boxes
from vision.types import Poses, Skeleton

FPS = 30.0
ARMS_UP = {"shoulder_deg": 160.0}
ARMS_DOWN = {"shoulder_deg": 10.0}


def _ts(i: int) -> int:
    return round(i * 1000 / FPS) + 1


def _poses(i: int, people: list[dict[str, Any]]) -> Poses:
    """One frame with one `make_frame(**kwargs)` per person, in the given order."""
    ts = _ts(i)
    return Poses.from_frames([make_frame(ts, **p) for p in people], ts)


def _run(
    tracker: PoseTracker, frames: list[list[tuple[str, dict[str, Any]]]]
) -> list[dict[str, int]]:
    """Feed frames of (name, make_frame kwargs); return each frame's name -> ID."""
    out = []
    for i, people in enumerate(frames):
        tracked = tracker.update(_poses(i, [p for _, p in people]))
        out.append(
            {
                name: int(tid)
                for (name, _), tid in zip(people, tracked.track_ids, strict=True)
            }
        )
    return out


def _ids_of(history: list[dict[str, int]], name: str) -> set[int]:
    return {frame[name] for frame in history if name in frame}


# --------------------------------------------------------------------- scenarios


def test_standing_group_keeps_ids_whatever_the_input_order() -> None:
    rng = np.random.default_rng(0)
    xs = {"a": 0.15, "b": 0.38, "c": 0.62, "d": 0.85}
    frames = []
    for _ in range(60):
        names = list(xs)
        rng.shuffle(names)
        frames.append(
            [
                (n, {"center_x": xs[n], "height": 0.5, "noise": 0.003, "rng": rng})
                for n in names
            ]
        )
    history = _run(PoseTracker(), frames)
    assert history[0] == {n: history[0][n] for n in xs}
    for name in xs:
        assert _ids_of(history, name) == {history[0][name]}, name
    assert sorted(history[0].values()) == [1, 2, 3, 4]


def _crossing(hide_overlap: bool) -> list[list[tuple[str, dict[str, Any]]]]:
    """A walks left to right with arms up, B right to left with arms down, 3 s."""
    frames = []
    n = int(3 * FPS)
    for i in range(n):
        u = i / (n - 1)
        xa, xb = 0.15 + 0.7 * u, 0.85 - 0.7 * u
        people = [
            ("a", {"center_x": xa, "height": 0.55, **ARMS_UP}),
            ("b", {"center_x": xb, "height": 0.55, **ARMS_DOWN}),
        ]
        if hide_overlap and abs(xa - xb) < 0.15:
            people = people[:1]  # B is behind A
        frames.append(people)
    return frames


@pytest.mark.parametrize(
    "hide_overlap",
    [
        pytest.param(False, id="both-visible-while-crossing"),
        pytest.param(True, id="one-hidden-while-crossing"),
    ],
)
def test_crossing_keeps_ids(hide_overlap: bool) -> None:
    history = _run(PoseTracker(), _crossing(hide_overlap))
    assert _ids_of(history, "a") == {1}
    assert _ids_of(history, "b") == {2}
    if hide_overlap:
        assert any("b" not in f for f in history), "scenario must hide B for a while"


@pytest.mark.parametrize(
    ("hidden_s", "expected_b_ids"),
    [
        pytest.param(1.0, {2}, id="1s-behind-someone"),
        pytest.param(3.0, {2}, id="3s-behind-someone"),
        pytest.param(6.0, {2, 3}, id="6s-longer-than-memory"),
    ],
)
def test_occlusion_within_memory_keeps_id(
    hidden_s: float, expected_b_ids: set[int]
) -> None:
    frames = []
    hide_from, hide_to = 20, 20 + int(hidden_s * FPS)
    for i in range(hide_to + 30):
        people = [("a", {"center_x": 0.3, "height": 0.5})]
        if not hide_from <= i < hide_to:
            people.append(("b", {"center_x": 0.7, "height": 0.5, **ARMS_UP}))
        frames.append(people)
    history = _run(PoseTracker(TrackerOptions(max_lost_ms=4000)), frames)
    assert _ids_of(history, "a") == {1}
    assert _ids_of(history, "b") == expected_b_ids


def test_newcomer_gets_a_new_id_and_ids_are_never_reused() -> None:
    frames = []
    for i in range(90):
        people = [("a", {"center_x": 0.25, "height": 0.5})]
        if 10 <= i < 20:
            people.append(("b", {"center_x": 0.75, "height": 0.5}))
        if i >= 60:  # b is long gone (over 1 s... and forgotten below), c arrives
            people.append(("c", {"center_x": 0.75, "height": 0.5, **ARMS_UP}))
        frames.append(people)
    history = _run(PoseTracker(TrackerOptions(max_lost_ms=1000)), frames)
    assert _ids_of(history, "a") == {1}
    assert _ids_of(history, "b") == {2}
    assert _ids_of(history, "c") == {3}


def test_one_frame_false_detection_is_forgotten_at_once() -> None:
    tracker = PoseTracker()
    frames = []
    for i in range(12):
        people = [("a", {"center_x": 0.3, "height": 0.5})]
        if i == 3:
            people.append(("ghost", {"center_x": 0.75, "height": 0.3}))
        frames.append(people)
    history = _run(tracker, frames)
    assert history[3]["ghost"] == 2
    assert [t.track_id for t in tracker.tracks] == [1]


def test_walking_person_is_followed_at_speed() -> None:
    """1.5 body heights per second across the frame: velocity keeps the match."""
    frames = [
        [("a", {"center_x": 0.1 + 0.8 * i / 44, "height": 0.5})] for i in range(45)
    ]
    assert _ids_of(_run(PoseTracker(), frames), "a") == {1}


def test_hard_cut_gives_new_ids() -> None:
    """A video cut (everyone jumps in place and size) is not a motion."""
    frames = []
    for i in range(40):
        if i < 20:
            people = [
                ("a", {"center_x": 0.45, "height": 0.35}),
                ("b", {"center_x": 0.7, "height": 0.35}),
            ]
        else:
            people = [
                ("a2", {"center_x": 0.2, "height": 0.9, "floor_y": 1.3}),
                ("b2", {"center_x": 0.72, "height": 0.9, "floor_y": 1.3}),
            ]
        frames.append(people)
    history = _run(PoseTracker(), frames)
    assert _ids_of(history, "a") == {1} and _ids_of(history, "b") == {2}
    assert _ids_of(history, "a2") == {3} and _ids_of(history, "b2") == {4}


def _run_with_lineage(
    frames: list[list[tuple[str, dict[str, Any], int]]],
) -> list[dict[str, int]]:
    """Like `_run`, each person with the estimator's lineage number."""
    tracker = PoseTracker()
    out = []
    for i, people in enumerate(frames):
        poses = _poses(i, [p for _, p, _ in people])
        tracked = tracker.update(poses, [c for _, _, c in people])
        out.append(
            {
                name: int(tid)
                for (name, _, _), tid in zip(people, tracked.track_ids, strict=True)
            }
        )
    return out


def test_lineage_carries_a_track_through_a_jump_in_size() -> None:
    """A fit of part of a person (after a cut, or half hidden) grows to the whole body
    from one frame to the next (x1.9, past `max_scale_ratio`): the estimator followed
    them (same lineage), so the track goes on; without the lineage, a new track."""
    small = {"center_x": 0.5, "height": 0.4}
    whole = {"center_x": 0.5, "height": 0.76, "floor_y": 0.95}
    frames = [[("p", small, 7)] for _ in range(5)] + [
        [("p", whole, 7)] for _ in range(5)
    ]
    assert _ids_of(_run_with_lineage(frames), "p") == {1}
    plain = [[(name, kw) for name, kw, _ in people] for people in frames]
    assert _ids_of(_run(PoseTracker(), plain), "p") == {1, 2}


def test_lineage_wins_over_position_and_a_new_lineage_is_matched_by_the_cues() -> None:
    """Two people whose fits the estimator follows keep their tracks even where the
    cues alone would hand them over (a and b jump to each other's places); someone
    whose lineage is new (lost and found again on the spot) keeps their track by the
    ordinary cues; no lineage (< 1) is no constraint."""
    left, right = {"center_x": 0.3, "height": 0.5}, {"center_x": 0.7, "height": 0.5}
    frames = (
        [[("a", left, 1), ("b", right, 2)] for _ in range(4)]
        + [[("a", right, 1), ("b", left, 2)]]
        + [[("a", right, 3), ("b", left, -1)] for _ in range(3)]
    )
    history = _run_with_lineage(frames)
    assert _ids_of(history, "a") == {1} and _ids_of(history, "b") == {2}


def test_lineage_must_have_one_value_per_pose() -> None:
    tracker = PoseTracker()
    with pytest.raises(ValueError, match="one value per pose"):
        tracker.update(_poses(0, [{}, {"center_x": 0.8}]), [1])


def test_flickering_limbs_do_not_split_a_track() -> None:
    """A waist-up person whose extrapolated legs cross the visibility threshold every
    few frames (BlazePose does that) keeps one ID."""
    frames = []
    legs = (
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    )
    for i in range(40):
        hidden = legs if i % 3 else ()
        frames.append(
            [
                (
                    "a",
                    {
                        "center_x": 0.5,
                        "height": 0.8,
                        "hidden": hidden,
                        "shoulder_deg": 20 + 70 * (i % 10) / 9,
                    },
                )
            ]
        )
    assert _ids_of(_run(PoseTracker(), frames), "a") == {1}


def test_empty_frames_and_output_shape() -> None:
    tracker = PoseTracker()
    empty = tracker.update(Poses.empty(1))
    assert len(empty) == 0 and empty.track_ids.dtype == np.int64
    poses = _poses(1, [{"center_x": 0.3}, {"center_x": 0.7}])
    out = tracker.update(poses)
    npt.assert_array_equal(out.xyz, poses.xyz)
    npt.assert_array_equal(out.scores, poses.scores)
    assert out.timestamp_ms == poses.timestamp_ms
    assert out.track_ids.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("make", "expectation"),
    [
        pytest.param(
            lambda t: t.update(_poses(0, [{}])),
            pytest.raises(ValueError, match="timestamps must increase"),
            id="same-timestamp",
        ),
        pytest.param(
            lambda t: t.update(make_frame(99)),
            pytest.raises(TypeError, match="expected Poses"),
            id="not-poses",
        ),
        pytest.param(
            lambda t: t.update(Poses.empty(99, Skeleton.COCO_17)),
            pytest.raises(ValueError, match="tracker is for blazepose_33"),
            id="other-skeleton",
        ),
        pytest.param(
            lambda t: t.update(_poses(5, [{}])),
            does_not_raise(),
            id="later-frame",
        ),
    ],
)
def test_update_validates(make: Any, expectation: Any) -> None:
    tracker = PoseTracker()
    tracker.update(_poses(0, [{}]))
    with expectation:
        make(tracker)


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        pytest.param({}, does_not_raise(), id="defaults"),
        pytest.param({"max_lost_ms": -1}, pytest.raises(ValueError), id="lost"),
        pytest.param({"weights": (0, 0, 0)}, pytest.raises(ValueError), id="weights"),
        pytest.param({"max_scale_ratio": 0.5}, pytest.raises(ValueError), id="ratio"),
        pytest.param(
            {"velocity_smoothing": 0.0}, pytest.raises(ValueError), id="smoothing"
        ),
    ],
)
def test_options(kwargs: dict[str, Any], expectation: Any) -> None:
    with expectation:
        TrackerOptions(**kwargs)


def test_pose_boxes() -> None:
    xy = np.array([[[0.0, 0.0], [2.0, 1.0], [9.0, 9.0]]])
    visible = np.array([[True, True, False]])
    boxes, centres, sizes = pose_boxes(xy, visible)
    npt.assert_allclose(boxes, [[0, 0, 2, 1]])
    npt.assert_allclose(centres, [[1, 0.5]])
    npt.assert_allclose(sizes, [2])
    boxes, _, sizes = pose_boxes(xy, np.zeros((1, 3), bool))
    assert np.isnan(boxes).all() and np.isnan(sizes).all()


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        pytest.param(
            # Seen on a pasted scene: track 0 fits detection 0 (0.01) and, poorly,
            # a newcomer (0.89); track 1 (its person gone) fits detection 0 poorly
            # (0.81). A square assignment takes 0.89 + 0.81 over 0.01 + infeasible
            # and then drops both as too costly: detection 0 would get a new ID.
            [[0.01, 0.89], [0.81, 1e6]],
            [(0, 0)],
            id="gone-track-does-not-push-another-off",
        ),
        pytest.param([[0.2, 0.9], [0.9, 0.3]], [(0, 0), (1, 1)], id="plain"),
        pytest.param([[0.9], [0.95]], [], id="nobody-close-enough"),
        pytest.param(np.zeros((0, 3)), [], id="no-tracks"),
    ],
)
def test_assignment(cost: Any, expected: list[tuple[int, int]]) -> None:
    tracker = PoseTracker(TrackerOptions(max_cost=0.8))
    assert tracker._assign(np.asarray(cost, np.float64)) == expected


# --------------------------------------------------------------------- toppling


def _toppled(ts: int, angle_deg: float, **kw: Any) -> Any:
    """`make_frame` rotated by `angle_deg` (+ = to the image right) about its ankles
    (a fall sideways)."""
    frame = make_frame(ts, **kw)
    j = Skeleton.BLAZEPOSE_33.index
    xy = frame.xyz[:, :2].astype(np.float64)
    feet = xy[[j("left_ankle"), j("right_ankle")]].mean(axis=0)
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xyz = frame.xyz.copy()
    xyz[:, :2] = ((xy - feet) @ rot.T + feet).astype(np.float32)
    return type(frame)(xyz, frame.visibility, frame.timestamp_ms)


def _low_rate_fall(
    fps: float, missed: int, angle: float, faller: dict[str, Any], gap_from: int = 4
) -> list[dict[str, int]]:
    """A bystander standing and `faller` standing for `gap_from` frames, then missing
    for `missed` frames (mid-fall), then lying (`angle` deg) for 5 frames."""
    tracker = PoseTracker()
    out = []
    for i in range(gap_from + missed + 5):
        ts = round(i * 1000 / fps) + 1
        people = [("bystander", make_frame(ts, center_x=0.2, height=0.5))]
        if i < gap_from:
            people.append(("faller", make_frame(ts, **faller)))
        elif i >= gap_from + missed:
            people.append(("faller", _toppled(ts, angle, **faller)))
        poses = Poses.from_frames([f for _, f in people], ts)
        tracked = tracker.update(poses)
        out.append(
            {n: int(t) for (n, _), t in zip(people, tracked.track_ids, strict=True)}
        )
    return out


@pytest.mark.parametrize(
    ("fps", "missed", "angle"),
    [
        pytest.param(2.0, 0, 80.0, id="2fps-seen-throughout"),
        pytest.param(2.0, 1, 80.0, id="2fps-1-missed"),
        pytest.param(2.0, 1, -85.0, id="2fps-1-missed-to-the-right"),
        pytest.param(1.5, 1, 45.0, id="1.5fps-1-missed-half-way-down"),
        pytest.param(1.5, 2, 85.0, id="1.5fps-2-missed"),
        pytest.param(1.0, 2, 85.0, id="1fps-2-missed"),
    ],
)
def test_person_who_topples_keeps_the_id(fps: float, missed: int, angle: float) -> None:
    """The fall detector needs one track from standing to lying; at 1-2 processed
    frames per second the pose model misses people mid-fall (TOPPLE_* constants)."""
    history = _low_rate_fall(fps, missed, angle, {"center_x": 0.6, "height": 0.5})
    assert _ids_of(history, "bystander") == {1}
    assert _ids_of(history, "faller") == {2}


def test_lying_newcomer_after_the_track_is_long_lost_gets_a_new_id() -> None:
    """Lying down where someone vanished `TOPPLE_MAX_LOST_MS` ago: someone else."""
    history = _low_rate_fall(1.0, 4, 85.0, {"center_x": 0.6, "height": 0.5})
    assert _ids_of(history, "faller") == {2, 3}


def test_lying_newcomer_beyond_reach_gets_a_new_id() -> None:
    """Someone lying down further than `TOPPLE_REACH_TORSO` from where a person
    vanished is not that person."""
    tracker = PoseTracker()
    ids = []
    for i in range(10):
        ts = round(i * 500) + 1
        if i < 4:
            frame = make_frame(ts, center_x=0.1, height=0.5)
        elif i < 5:
            continue
        else:  # hips 3.5 torso lengths from where the first person's were
            frame = _toppled(ts, -85.0, center_x=0.85, height=0.5)
        ids.append(int(tracker.update(Poses.from_frames([frame], ts)).track_ids[0]))
    assert ids == [1] * 4 + [2] * 5


def test_distances_are_isotropic_and_the_aspect_is_kept() -> None:
    wide = 16 / 9
    tracker = PoseTracker()
    poses = Poses.from_frames([make_frame(1, center_x=0.3, aspect=wide)], 1)
    out = tracker.update(poses)
    assert out.aspect_wh == wide
    (track,) = tracker.tracks
    seen = track.visible
    npt.assert_allclose(track.xy[seen, 0], poses.xyz[0, seen, 0] * wide, rtol=1e-6)
    npt.assert_allclose(track.xy[seen, 1], poses.xyz[0, seen, 1], rtol=1e-6)
