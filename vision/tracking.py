"""Person tracking across frames: every pose of a `Poses` gets a stable track ID.

    tracker = PoseTracker()
    tracked = tracker.update(poses)     # same poses, same order, track_ids filled

The supervision `update_with_detections` shape. Per frame:

0. First of all, when the caller passes the pose estimator's lineage (see
   `vision.multiperson.MultiPersonPoseEstimator.last_lineage`: the estimator followed
   that person from the last frame to this one by their crop), a detection continuing
   a track's lineage continues that track, whatever the cues and gates below say: a
   fit that grows from part of a body to the whole body (after a cut, or when someone
   steps out from behind another) is one person even though its size jumped.
1. Every track predicts where its person is now: last joints moved by the track's
   velocity (an exponential average of its centroid's motion) over the time since it
   was last seen.
2. Cost of giving detection d to track t, from three cues, each in [0, 1]:
   `1 - IoU` of the predicted and detected joint boxes, the centroid distance in body
   sizes (capped at 1), and `1 - keypoint similarity` (OKS) of the predicted and
   detected joints (the pose itself, which tells apart two people passing each other
   in different postures). Weighted mean: `TrackerOptions.weights`.
3. Gates make a pair impossible: centroid farther than `gate_body_sizes` (+
   `lost_gate_growth_per_s` per second unseen), or body sizes differing by more than
   `max_scale_ratio`.
4. Hungarian assignment (`scipy.optimize.linear_sum_assignment`) in two rounds: tracks
   seen in the previous frame first, then the remembered lost ones (a person behind
   someone else for a few seconds) for the detections left. Pairs costing more than
   `max_cost` stay apart, and every track may stay unmatched at that cost (so a track
   whose person has gone cannot take a detection from the track it belongs to).
5. A person who toppled (a fall): their body rotated about the feet, so box, centre
   and joints all moved and the cues above fail, and at low frame rates the pose
   model often misses them mid-fall. A detection left over whose trunk is turned
   at least `TOPPLE_MIN_DEG` from an unmatched upright track's last trunk, of the
   same torso length, with the hips within `TOPPLE_REACH_TORSO` of the track's, seen
   within `TOPPLE_MAX_LOST_MS`, continues that track (`exercises.falls` needs one
   track from standing to lying to see the fall).
6. Unmatched detections start new tracks (new IDs, never reused). Tracks unseen for
   longer than `max_lost_ms` are forgotten (short-lived ones, fewer than
   `min_hits_to_remember` frames, after one frame).

Coordinates are the normalized image coordinates of `Poses`, made isotropic with the
poses' own `aspect_wh` (`vision.geometry.isotropic`) before any distance is measured.
A hard cut in a video (every person jumps) is not a motion: the old tracks find no
match within the gates, so people get new IDs there (unless the estimator's crop of
someone lands on a person of the new shot, whose lineage then keeps the track); within
a shot IDs are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.clock import VideoClock
from vision.geometry import isotropic
from vision.types import Poses, Skeleton

__all__ = ["PoseTracker", "Track", "TrackerOptions", "pose_boxes"]

F64 = npt.NDArray[np.float64]

_INFEASIBLE: Final[float] = 1e6
_TORSO_PAIRS: Final[tuple[tuple[str, str], ...]] = (
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
)
BODY_PER_TORSO: Final[float] = 3.3
"""Body height in torso lengths (shoulder to hip midpoints: ~0.3 of the height)."""
SIZE_SMOOTHING: Final[float] = 0.3
"""Weight of the newest body size in a track's running size."""

TOPPLE_MIN_DEG: Final[float] = 30.0
"""Trunk rotation (shoulders-over-hips direction in the image) from a track's last pose
that makes a left-over detection a toppled candidate for it. Measured offline on the
group screen's fall video (tests/exercises/fall_video.py): at 1.5-2 processed frames
per second the pose model lost the falling man for 1-4 frames and re-found him lying
(73-83 deg from his upright 0-12 deg); in half the runs he got a new track, so the fall
detector saw no fall. People bending in an exercise are matched by the ordinary cues
before this rule is tried (it only takes detections nobody matched)."""
TOPPLE_UPRIGHT_MAX_DEG: Final[float] = 45.0
"""The track's last trunk must have been within this of vertical: a fall starts from
an upright stance (`exercises.falls.UPRIGHT_MAX_DEG` is 35)."""
TOPPLE_REACH_TORSO: Final[float] = 3.0
"""Most the hips move in a topple, in torso lengths: rotating about the feet moves
hips ~1.7 torso lengths above them by up to ~2.4 (a quarter circle's chord), sliding
and the knees giving way add some."""
TOPPLE_MAX_LOST_MS: Final[int] = 3000
"""Most time since the track was seen: a fall (~1 s) plus re-finding the person (the
pose model returns someone it found anew from their second frame,
`vision.multiperson.CONFIRM_FRAMES`). Measured on the fall video: 1.33-2.5 s at 1.5-2
processed frames per second; at 1 frame per second 3-4 s (a fall the detector cannot
confirm anyway, `exercises.falls.UNSEEN_DROP_SPAN_S`)."""
TOPPLE_MAX_TORSO_RATIO: Final[float] = 1.5
"""Torso lengths of the track and the detection differ by at most this factor (the
torso's length does not change with the rotation in the image plane; some slack for
the model's fit of a lying person and foreshortening)."""


@dataclass(frozen=True, slots=True)
class TrackerOptions:
    """Settings of `PoseTracker` (times in ms, distances in body sizes).

    Attributes:
        max_lost_ms: How long a track unseen is remembered (brief occlusion, a person
            stepping behind another; a few seconds).
        min_hits_to_remember: Tracks seen in fewer frames are forgotten as soon as
            they are missed (one-frame false detections do not linger).
        weights: (IoU, centroid distance, keypoint similarity) cost weights.
        max_cost: Assigned pairs costing more are not the same person.
        gate_body_sizes: Most a centroid may be from its prediction, in body sizes.
        lost_gate_growth_per_s: The gate grows by this many body sizes per second
            unseen (people move while hidden).
        max_scale_ratio: Most two body sizes of one person may differ by.
        velocity_smoothing: Weight of the newest motion in the velocity average.
        max_speed_body_sizes_per_s: Velocity clamp (a prediction never runs away).
        oks_sigma: Joint tolerance of the keypoint similarity, in body sizes.
        min_visibility: Joints below it are not used.
    """

    max_lost_ms: int = 4000
    min_hits_to_remember: int = 3
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_cost: float = 0.8
    gate_body_sizes: float = 0.75
    lost_gate_growth_per_s: float = 0.5
    max_scale_ratio: float = 1.6
    velocity_smoothing: float = 0.5
    max_speed_body_sizes_per_s: float = 2.0
    oks_sigma: float = 0.15
    min_visibility: float = 0.5

    def __post_init__(self) -> None:
        if self.max_lost_ms < 0 or self.min_hits_to_remember < 1:
            raise ValueError(
                "max_lost_ms must be >= 0 and min_hits_to_remember >= 1, got "
                f"{self.max_lost_ms} and {self.min_hits_to_remember}"
            )
        if len(self.weights) != 3 or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError(
                f"weights must be 3 non-negative numbers, not all 0, got {self.weights}"
            )
        for name in (
            "max_cost",
            "gate_body_sizes",
            "max_speed_body_sizes_per_s",
            "oks_sigma",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.max_scale_ratio >= 1.0:
            raise ValueError(
                f"max_scale_ratio must be >= 1, got {self.max_scale_ratio}"
            )
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError(
                f"velocity_smoothing must be in (0, 1], got {self.velocity_smoothing}"
            )


@dataclass(slots=True)
class Track:
    """One person followed over time (read-only for callers).

    Attributes:
        track_id: Stable ID (>= 1, never reused).
        xy: (J, 2) float64 last joints, isotropic units (`vision.geometry.isotropic`).
        visible: (J,) bool, joints usable in `xy`.
        velocity: (2,) float64 centroid velocity, units per ms.
        last_seen_ms: Timestamp of the last frame it was matched in.
        first_seen_ms: Timestamp it started.
        hits: Frames matched.
    """

    track_id: int
    xy: F64
    visible: npt.NDArray[np.bool_]
    velocity: F64
    last_seen_ms: int
    first_seen_ms: int
    hits: int = 1
    centroid: F64 = field(default_factory=lambda: np.zeros(2))
    size: float = 0.0
    lineage: int = -1  # the estimator's lineage of its last pose (-1: none given)

    def predicted_xy(self, timestamp_ms: int) -> F64:
        dt = float(timestamp_ms - self.last_seen_ms)
        out: F64 = self.xy + self.velocity * dt
        return out


def pose_boxes(xy: npt.ArrayLike, visible: npt.ArrayLike) -> tuple[F64, F64, F64]:
    """Boxes, centres and longer sides of N poses from their usable joints.

    Args:
        xy: (N, J, 2) float, isotropic units.
        visible: (N, J) bool.

    Returns:
        boxes (N, 4) [x0, y0, x1, y1]; centres (N, 2); sizes (N,) (NaN for a pose with
        no usable joint).
    """
    p = np.asarray(xy, np.float64)
    v = np.asarray(visible, np.bool_)
    lo = np.where(v[..., None], p, np.inf).min(axis=-2)
    hi = np.where(v[..., None], p, -np.inf).max(axis=-2)
    boxes = np.concatenate([lo, hi], axis=-1)
    boxes[~v.any(axis=-1)] = np.nan
    centres = (boxes[..., :2] + boxes[..., 2:]) / 2.0
    sizes = np.max(boxes[..., 2:] - boxes[..., :2], axis=-1)
    return boxes, centres, sizes


def _pair_iou(a: F64, b: F64) -> F64:
    """IoU of boxes a[t, d] and b[t, d], both (T, D, 4)."""
    lo = np.maximum(a[..., :2], b[..., :2])
    hi = np.minimum(a[..., 2:], b[..., 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)
    area_a = np.prod(np.clip(a[..., 2:] - a[..., :2], 0.0, None), axis=-1)
    area_b = np.prod(np.clip(b[..., 2:] - b[..., :2], 0.0, None), axis=-1)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.nan_to_num(np.asarray(out, np.float64))


class PoseTracker:
    """Assigns stable track IDs to the poses of consecutive frames (see the module
    docstring). Deterministic; no clock: time is `Poses.timestamp_ms`.

    Args:
        options: See `TrackerOptions`.
        skeleton: Joint layout of the poses that will be fed.
    """

    def __init__(
        self,
        options: TrackerOptions | None = None,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    ) -> None:
        self.options = TrackerOptions() if options is None else options
        self.skeleton = skeleton
        self._torso_pairs = [
            tuple(skeleton.index(j) for j in pair if skeleton.has(j))
            for pair in _TORSO_PAIRS
        ]
        self.reset()

    def reset(self) -> None:
        """Forget every track (IDs start again from 1)."""
        self._tracks: list[Track] = []
        self._next_id = 1
        self._clock = VideoClock()

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Tracks alive now: matched in the last frame or remembered while lost."""
        return tuple(self._tracks)

    def _features(self, poses: Poses) -> tuple[F64, npt.NDArray[np.bool_], F64, F64]:
        """Joints (N, J, 2), usable joints (N, J), torso centres (N, 2), sizes (N,)."""
        xy = isotropic(poses).xyz[:, :, :2].astype(np.float64)
        finite: npt.NDArray[np.bool_] = np.asarray(np.isfinite(xy).all(-1))
        visible: npt.NDArray[np.bool_] = (
            poses.visibility >= self.options.min_visibility
        ) & finite
        # A pose the model reports with (almost) nothing visible still has a place:
        # fall back to every finite joint.
        weak = visible.sum(-1) < 3
        visible[weak] = finite[weak]
        centres = np.empty((len(poses), 2))
        sizes = np.empty(len(poses))
        for i in range(len(poses)):
            centres[i], sizes[i] = self._body(xy[i], visible[i])
        return xy, visible, centres, sizes

    def _body(self, xy: F64, visible: npt.NDArray[np.bool_]) -> tuple[F64, float]:
        """Torso centre and body size of one pose.

        Limbs come and go (a waist-up person's extrapolated legs flicker around the
        visibility threshold; arms swing out), the trunk does not: the centre is the
        mean of the shoulder and hip midpoints and the size `BODY_PER_TORSO` torso
        lengths, falling back to the box of the usable joints.
        """
        _, box_centre, box_size = pose_boxes(xy[None], visible[None])
        mids = []
        for pair in self._torso_pairs:
            rows = [r for r in pair if visible[r]]
            if rows:
                mids.append(xy[rows].mean(axis=0))
        if len(mids) == 2:
            centre = (mids[0] + mids[1]) / 2.0
            torso = float(np.hypot(*(mids[0] - mids[1])))
            if torso > 0:
                return centre, max(BODY_PER_TORSO * torso, float(box_size[0]) * 0.5)
        return box_centre[0], float(box_size[0])

    def _costs(
        self,
        tracks: list[Track],
        xy: F64,
        visible: npt.NDArray[np.bool_],
        centres: F64,
        sizes: F64,
        timestamp_ms: int,
    ) -> F64:
        o = self.options
        n_t, n_d = len(tracks), xy.shape[0]
        if n_t == 0 or n_d == 0:
            return np.zeros((n_t, n_d))
        pred = np.stack([t.predicted_xy(timestamp_ms) for t in tracks])
        pvis = np.stack([t.visible for t in tracks])
        pcen = np.stack(
            [t.centroid + t.velocity * (timestamp_ms - t.last_seen_ms) for t in tracks]
        )
        psize = np.array([t.size for t in tracks])
        # Compare each pair on the joints both have, so a limb appearing in one of
        # them changes neither box.
        both = pvis[:, None] & visible[None]
        shape = (n_t, n_d, *xy.shape[1:])
        pbox, _, _ = pose_boxes(np.broadcast_to(pred[:, None], shape), both)
        dbox, _, _ = pose_boxes(np.broadcast_to(xy[None], shape), both)
        iou = _pair_iou(pbox, dbox)
        size = np.maximum(psize[:, None], sizes[None, :])
        dist = np.hypot(*(pcen[:, None] - centres[None]).transpose(2, 0, 1))
        dist = dist / np.maximum(size, 1e-9)
        d2 = np.sum((pred[:, None] - xy[None]) ** 2, axis=-1)
        s2 = np.maximum((o.oks_sigma * size) ** 2, 1e-12)[..., None]
        joint_sim = np.where(both, np.exp(-np.nan_to_num(d2) / (2.0 * s2)), 0.0)
        count = both.sum(-1)
        oks = np.where(count >= 3, joint_sim.sum(-1) / np.maximum(count, 1), 0.0)
        w = np.asarray(o.weights, np.float64)
        cost = (
            w[0] * (1.0 - iou) + w[1] * np.minimum(dist, 1.0) + w[2] * (1.0 - oks)
        ) / w.sum()
        lost_s = np.array(
            [max(0.0, (timestamp_ms - t.last_seen_ms) / 1000.0) for t in tracks]
        )
        # One frame interval (up to 0.1 s) is not "lost" time.
        gate = o.gate_body_sizes + o.lost_gate_growth_per_s * np.maximum(
            lost_s - 0.1, 0.0
        )
        ratio = np.maximum(psize[:, None], sizes[None]) / np.maximum(
            np.minimum(psize[:, None], sizes[None]), 1e-9
        )
        bad = (dist > gate[:, None]) | (ratio > o.max_scale_ratio) | ~np.isfinite(cost)
        return np.where(bad, _INFEASIBLE, cost)

    def _scale_fits(self, a: float, b: float) -> bool:
        """Two body sizes could be one person's (`max_scale_ratio`)."""
        return max(a, b) <= self.options.max_scale_ratio * max(min(a, b), 1e-9)

    def _trunk(
        self, xy: F64, visible: npt.NDArray[np.bool_]
    ) -> tuple[F64, float, float] | None:
        """Hip midpoint, torso length and trunk direction (deg from up, signed) of one
        pose, or None without a usable shoulder and hip."""
        mids = []
        for pair in self._torso_pairs:
            rows = [r for r in pair if visible[r]]
            if not rows:
                return None
            mids.append(xy[rows].mean(axis=0))
        if len(mids) != 2:
            return None
        d = mids[0] - mids[1]
        length = float(np.hypot(d[0], d[1]))
        if not length > 0:
            return None
        return mids[1], length, float(np.degrees(np.arctan2(d[0], -d[1])))

    def _topple_pairs(
        self, tracks: list[Track], xy: F64, visible: npt.NDArray[np.bool_]
    ) -> list[tuple[int, int]]:
        """Left-over detections that continue toppled tracks (see `TOPPLE_MIN_DEG`):
        pairs (track row, detection column), nearest hips first."""
        if not tracks or xy.shape[0] == 0:
            return []
        from scipy.optimize import linear_sum_assignment

        cost = np.full((len(tracks), xy.shape[0]), _INFEASIBLE)
        dets = [self._trunk(xy[d], visible[d]) for d in range(xy.shape[0])]
        for r, track in enumerate(tracks):
            last = self._trunk(track.xy, track.visible)
            if last is None or abs(last[2]) > TOPPLE_UPRIGHT_MAX_DEG:
                continue
            for c, det in enumerate(dets):
                if det is None:
                    continue
                turn = abs((det[2] - last[2] + 180.0) % 360.0 - 180.0)
                ratio = max(det[1], last[1]) / min(det[1], last[1])
                reach = float(np.hypot(*(det[0] - last[0]))) / last[1]
                if (
                    turn >= TOPPLE_MIN_DEG
                    and ratio <= TOPPLE_MAX_TORSO_RATIO
                    and reach <= TOPPLE_REACH_TORSO
                ):
                    cost[r, c] = reach
        if not (cost < _INFEASIBLE).any():
            return []
        rows, cols = linear_sum_assignment(cost)
        return [
            (int(r), int(c))
            for r, c in zip(rows, cols, strict=True)
            if cost[r, c] < _INFEASIBLE
        ]

    def _assign(self, cost: F64) -> list[tuple[int, int]]:
        """Minimum-cost matching in which every track may also stay unmatched at
        `max_cost`: a forced pairing must not bend the others (with a plain square
        problem, a track that fits nobody takes some detection above the limit and
        can push that detection's own track off it)."""
        if cost.size == 0:
            return []
        from scipy.optimize import linear_sum_assignment

        limit = self.options.max_cost
        n_t, n_d = cost.shape
        allowed = np.where(cost <= limit, cost, _INFEASIBLE)
        augmented = np.hstack([allowed, np.full((n_t, n_t), limit)])
        rows, cols = linear_sum_assignment(augmented)
        return [
            (int(r), int(c))
            for r, c in zip(rows, cols, strict=True)
            if c < n_d and cost[r, c] <= limit
        ]

    def update(self, poses: Poses, lineage: npt.ArrayLike | None = None) -> Poses:
        """Give every pose of this frame a track ID.

        Args:
            poses: This frame's people (any track_ids are ignored).
            lineage: (N,) int, optional: the estimator's lineage of each pose (see
                step 0 of the module's description); values < 1 mean none.

        Returns:
            The same poses in the same order with `track_ids` filled (each >= 1,
            distinct within the frame).

        Raises:
            TypeError: not a `Poses`.
            ValueError: another skeleton, a timestamp not after the previous one, or
                a lineage of another length.
        """
        if not isinstance(poses, Poses):
            raise TypeError(f"expected Poses, got {type(poses).__name__}")
        if poses.skeleton is not self.skeleton:
            raise ValueError(
                f"tracker is for {self.skeleton.value}, "
                f"got {poses.skeleton.value} poses"
            )
        n = len(poses)
        chain = (
            np.full(n, -1, np.int64)
            if lineage is None
            else np.asarray(lineage, np.int64).reshape(-1)
        )
        if chain.shape != (n,):
            raise ValueError(
                f"lineage must have one value per pose ({n}), got {chain.shape}"
            )
        ts = self._clock.check(int(poses.timestamp_ms))
        xy, visible, centres, sizes = self._features(poses)
        ids = np.full(n, -1, np.int64)
        by_lineage = {t.lineage: t for t in self._tracks if t.lineage >= 1}
        for d in range(n):
            track = by_lineage.pop(int(chain[d]), None) if chain[d] >= 1 else None
            if track is not None:
                if not self._scale_fits(track.size, sizes[d]):
                    track.size = float(sizes[d])  # a part became the whole body
                self._refresh(track, xy[d], visible[d], centres[d], sizes[d], ts)
                ids[d] = track.track_id
        previous = self._clock.last_ms
        taken = {int(i) for i in ids if i >= 0}
        active = [
            t
            for t in self._tracks
            if t.last_seen_ms == previous and t.track_id not in taken
        ]
        lost = [
            t
            for t in self._tracks
            if t.last_seen_ms != previous and t.track_id not in taken
        ]
        free = [d for d in range(n) if ids[d] < 0]
        for group in (active, lost):
            if not group or not free:
                continue
            cost = self._costs(
                group, xy[free], visible[free], centres[free], sizes[free], ts
            )
            for r, c in self._assign(cost):
                d = free[c]
                self._refresh(group[r], xy[d], visible[d], centres[d], sizes[d], ts)
                ids[d] = group[r].track_id
            free = [d for d in free if ids[d] < 0]
        if free:
            matched = {int(i) for i in ids if i >= 0}
            candidates = [
                t
                for t in self._tracks
                if t.track_id not in matched
                and t.hits >= self.options.min_hits_to_remember
                and ts - t.last_seen_ms <= TOPPLE_MAX_LOST_MS
            ]
            for r, c in self._topple_pairs(candidates, xy[free], visible[free]):
                d = free[c]
                track = candidates[r]
                self._refresh(track, xy[d], visible[d], centres[d], sizes[d], ts)
                track.velocity = np.zeros(2)  # down: not moving on
                ids[d] = track.track_id
            free = [d for d in free if ids[d] < 0]
        for d in free:
            ids[d] = self._start(xy[d], visible[d], centres[d], sizes[d], ts)
        lineage_of = dict(zip(ids.tolist(), chain.tolist(), strict=True))
        for t in self._tracks:
            if t.last_seen_ms == ts:
                t.lineage = lineage_of[t.track_id]
        self._forget(ts)
        self._clock.advance(ts)
        return Poses(
            poses.xyz,
            poses.visibility,
            ids,
            poses.scores,
            ts,
            poses.skeleton,
            poses.aspect_wh,
        )

    def _start(
        self,
        xy: F64,
        visible: npt.NDArray[np.bool_],
        centre: F64,
        size: float,
        ts: int,
    ) -> int:
        track = Track(
            self._next_id,
            xy.copy(),
            visible.copy(),
            np.zeros(2),
            ts,
            ts,
            1,
            centre.copy(),
            float(size),
        )
        self._next_id += 1
        self._tracks.append(track)
        return track.track_id

    def _refresh(
        self,
        track: Track,
        xy: F64,
        visible: npt.NDArray[np.bool_],
        centre: F64,
        size: float,
        ts: int,
    ) -> None:
        o = self.options
        dt = float(ts - track.last_seen_ms)
        if dt > 0:
            v = (centre - track.centroid) / dt
            a = o.velocity_smoothing
            track.velocity = (1 - a) * track.velocity + a * v
            limit = o.max_speed_body_sizes_per_s * max(size, 1e-9) / 1000.0
            speed = float(np.hypot(*track.velocity))
            if speed > limit:
                track.velocity *= limit / speed
        track.xy = np.where(visible[:, None], xy, track.xy)
        track.visible = visible.copy()
        track.centroid = centre.copy()
        track.size = (1 - SIZE_SMOOTHING) * track.size + SIZE_SMOOTHING * float(size)
        track.last_seen_ms = ts
        track.hits += 1

    def _forget(self, ts: int) -> None:
        o = self.options
        keep = []
        for t in self._tracks:
            unseen = ts - t.last_seen_ms
            if unseen == 0:
                keep.append(t)
            elif t.hits < o.min_hits_to_remember:
                continue
            elif unseen <= o.max_lost_ms:
                keep.append(t)
        self._tracks = keep

    def __repr__(self) -> str:
        info: Any = [t.track_id for t in self._tracks]
        return f"PoseTracker(tracks={info}, next_id={self._next_id})"
