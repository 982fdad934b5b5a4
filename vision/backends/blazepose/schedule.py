"""What the multi-person estimator spends its networks on in one frame, pure numpy:
which detector tiles still need a sweep (`uncovered_tiles`), whose landmarks are
refreshed and whose are carried forward (`refresh_mask`), and where a carried pose
is now (`extrapolate_xyz`).

On the 2-core box the landmark model costs ~17 ms a crop and the detector ~18 ms a
region (`benchmarks.group`), so eight people plus a tile sweep every frame cannot fit
100 ms; these choices bound the work per frame while everyone stays tracked.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose._common import F32, F64, NUM_POSE_JOINTS
from vision.backends.blazepose.landmarks import LandmarkResult
from vision.backends.blazepose.people import torso_lengths

__all__ = [
    "COVERAGE_GRID",
    "MAX_EXTRAPOLATION_FRAMES",
    "MAX_JUMP",
    "MAX_SCALE_JUMP",
    "TILE_COVERED",
    "FrameCosts",
    "concat_results",
    "extrapolate_xyz",
    "joint_boxes",
    "joint_motion",
    "jumped",
    "refresh_mask",
    "search_regions",
    "trunk_speed",
    "trunk_step",
    "uncovered_tiles",
]

TILE_COVERED: Final[float] = 0.6
"""A tile whose area is at least this share inside tracked people's joint boxes needs
no sweep: whoever stands there is already held. A person partly hidden between two
tracked ones (a second row) leaves more than 0.4 of a tile uncovered, and the whole
frame is swept as well."""
COVERAGE_GRID: Final[int] = 8
"""Coverage is measured on a grid of 8x8 px cells (the tiles are >= 100 px)."""
MAX_JUMP: Final[float] = 0.5
"""Trunk motion (torso lengths per frame) above which a pose is not moved on when
carried, and the detector looks again: nobody in a class moves their body that fast
between two frames at >= 5 fps (arms do; the trunk does not); such a jump is a re-fit
(a hard cut, a track handed to a better crop), not a velocity."""
MAX_SCALE_JUMP: Final[float] = 1.3
"""A torso growing or shrinking by more than this factor between two fits is a jump
too (a cut enlarged the people; walking towards the camera takes seconds)."""
MAX_EXTRAPOLATION_FRAMES: Final[int] = 2
"""A carried pose moves on with its last velocity for at most this many frames, then
stands still: a constant velocity is a fair guess over ~0.2 s, not beyond."""


def joint_boxes(
    xy_px: npt.ArrayLike, visibility: npt.ArrayLike, min_visibility: float = 0.5
) -> F64:
    """(N, 4) [x_min, y_min, x_max, y_max] px of each pose's visible joints (all
    joints when fewer than two are visible).

    Args:
        xy_px: (N, J, 2) px; NaN = missing.
        visibility: (N, J) in [0, 1].
        min_visibility: A joint below this is not visible.
    """
    xy = np.asarray(xy_px, np.float64)
    if xy.shape[0] == 0:
        return np.zeros((0, 4), np.float64)
    vis = np.asarray(visibility, np.float64) >= min_visibility
    vis &= np.isfinite(xy).all(axis=-1)
    few = vis.sum(axis=1) < 2
    vis[few] = np.isfinite(xy[few]).all(axis=-1)
    lo = np.where(vis[..., None], xy, np.inf).min(axis=1)
    hi = np.where(vis[..., None], xy, -np.inf).max(axis=1)
    out = np.concatenate([lo, hi], axis=1)
    return np.where(np.isfinite(out), out, 0.0)


def uncovered_tiles(
    tiles_xyxy: npt.ArrayLike,
    boxes_xyxy: npt.ArrayLike,
    image_wh: tuple[int, int],
    *,
    covered: float = TILE_COVERED,
    cell_px: int = COVERAGE_GRID,
) -> npt.NDArray[np.int64]:
    """Indices of the tiles less than `covered` inside the union of `boxes_xyxy`.

    Args:
        tiles_xyxy: (T, 4) px.
        boxes_xyxy: (B, 4) px, e.g. `joint_boxes` of the tracked people.
        image_wh: Image size in px.
        covered: Share of a tile's area above which it is covered.
        cell_px: Side of the coverage grid's cells.

    Returns:
        (K,) int64 ascending.
    """
    tiles = np.asarray(tiles_xyxy, np.float64).reshape(-1, 4)
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0 or tiles.shape[0] == 0:
        return np.arange(tiles.shape[0], dtype=np.int64)
    gw = -(-int(image_wh[0]) // cell_px)
    gh = -(-int(image_wh[1]) // cell_px)
    mask = np.zeros((gh, gw), np.bool_)
    cells = np.clip(np.round(boxes / cell_px).astype(np.int64), 0, [gw, gh, gw, gh])
    for x0, y0, x1, y1 in cells:
        mask[y0:y1, x0:x1] = True
    tc = np.clip(np.round(tiles / cell_px).astype(np.int64), 0, [gw, gh, gw, gh])
    out = [
        i
        for i, (x0, y0, x1, y1) in enumerate(tc)
        if x1 <= x0 or y1 <= y0 or mask[y0:y1, x0:x1].mean() < covered
    ]
    return np.asarray(out, np.int64)


def refresh_mask(
    stale: npt.ArrayLike,
    motion: npt.ArrayLike,
    *,
    budget: int,
    still_motion: float,
    max_hold: int,
) -> npt.NDArray[np.bool_]:
    """Which tracked people go through the landmark model this frame.

    Everyone, unless: someone whose joints moved less than `still_motion` (torso
    lengths per frame) between their last two fits is held while `stale` (frames since
    their fit) is below `max_hold`; and with `budget` > 0 at most `budget` people are
    refreshed, the longest held first, then the fastest moving.

    Args:
        stale: (T,) int, frames since each person's landmarks were computed (0: last
            frame).
        motion: (T,) float, joint motion per frame in torso lengths (inf: unknown).
        budget: Most people refreshed (0: no limit).
        still_motion: Below this a person counts as still (0: nobody does).
        max_hold: Most frames in a row a person is held (0: never).

    Returns:
        (T,) bool, True = refresh.
    """
    s = np.asarray(stale, np.int64).reshape(-1)
    m = np.nan_to_num(np.asarray(motion, np.float64).reshape(-1), nan=np.inf)
    n = s.shape[0]
    if max_hold <= 0:
        return np.ones(n, np.bool_)
    due = s >= max_hold
    want = due | (m >= still_motion) if still_motion > 0 else np.ones(n, np.bool_)
    if budget <= 0 or int(want.sum()) <= budget:
        return want
    # Over budget: the ones held longest, then the fastest; those due always go.
    order = np.lexsort((-np.minimum(m, 1e9), -s))
    chosen = np.zeros(n, np.bool_)
    for i in order:
        if want[i] and (chosen.sum() < budget or due[i]):
            chosen[i] = True
    return chosen


_TRUNK = (11, 12, 23, 24)  # shoulders and hips


def trunk_step(new_xyz: F32, old_xyz: F32, frames: npt.ArrayLike) -> F32:
    """(N, J, 3) per-frame motion of each pose's trunk (mean of shoulders and hips)
    between two fits `frames` apart, the same for every joint: a carried pose moves
    with its body, while its limbs (a swinging arm: at a few frames a second its
    per-joint velocity overshoots by a forearm) stay as last seen."""
    gap = np.maximum(np.asarray(frames, np.float32), 1.0)[:, None, None]
    step = (np.asarray(new_xyz, np.float32) - np.asarray(old_xyz, np.float32)) / gap
    trunk = step[:, list(_TRUNK)].mean(axis=1, keepdims=True)
    out: F32 = np.broadcast_to(trunk, step.shape).astype(np.float32)
    return out


def trunk_speed(step: F32, xyz: F32, image_wh: tuple[int, int]) -> F64:
    """(N,) trunk motion per frame in torso lengths, from `trunk_step`'s output and
    the poses' normalized joints."""
    scale = np.asarray(image_wh, np.float64)
    torso = torso_lengths(np.asarray(xyz, np.float64)[:, :NUM_POSE_JOINTS, :2] * scale)
    moved = np.hypot(*(np.asarray(step, np.float64)[:, 0, :2] * scale).T)
    out: F64 = np.nan_to_num(moved / np.maximum(torso, 1e-6), nan=0.0)
    return out


def jumped(
    new_xyz: F32, old_xyz: F32, step: F32, image_wh: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    """(N,) the fit moved its trunk more than `MAX_JUMP` torso lengths a frame or
    changed its torso length by more than `MAX_SCALE_JUMP` (a hard cut, a re-fit)."""
    scale = np.asarray(image_wh, np.float64)
    j = NUM_POSE_JOINTS
    new = torso_lengths(np.asarray(new_xyz, np.float64)[:, :j, :2] * scale)
    old = torso_lengths(np.asarray(old_xyz, np.float64)[:, :j, :2] * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.nan_to_num(np.abs(np.log(new / old)), nan=0.0, posinf=0.0)
    out = (trunk_speed(step, new_xyz, image_wh) > MAX_JUMP) | (
        ratio > np.log(MAX_SCALE_JUMP)
    )
    return np.asarray(out, np.bool_)


def extrapolate_xyz(xyz: F32, velocity: F32, frames: npt.ArrayLike) -> F32:
    """Carried poses moved on by their per-frame joint velocity for `frames` frames
    (at most `MAX_EXTRAPOLATION_FRAMES`).

    Args:
        xyz: (N, J, 3) float32 normalized, the last fits.
        velocity: (N, J, 3) float32 per frame (NaN: unknown, the pose stands still).
        frames: (N,) frames since each fit.

    Returns:
        (N, J, 3) float32.
    """
    k = np.minimum(np.asarray(frames, np.float32), MAX_EXTRAPOLATION_FRAMES)
    v = np.nan_to_num(np.asarray(velocity, np.float32))
    out: F32 = (np.asarray(xyz, np.float32) + v * k[:, None, None]).astype(np.float32)
    return out


def concat_results(parts: list[LandmarkResult]) -> LandmarkResult:
    """The rows of several landmark results, in order."""
    return LandmarkResult(
        np.concatenate([p.xyz for p in parts]),
        np.concatenate([p.visibility for p in parts]),
        np.concatenate([p.presence for p in parts]),
    )


def joint_motion(
    new: LandmarkResult, old: LandmarkResult, frames: npt.ArrayLike, wh: tuple[int, int]
) -> F64:
    """Visible-joint motion per frame (90th percentile: a moving arm counts), in torso
    lengths, (N,)."""
    scale = np.asarray(wh, np.float32)
    a = new.xyz[:, :NUM_POSE_JOINTS, :2] * scale
    b = old.xyz[:, :NUM_POSE_JOINTS, :2] * scale
    d = np.hypot(*(a - b).transpose(2, 0, 1))
    vis_new = new.visibility[:, :NUM_POSE_JOINTS]
    seen = np.minimum(vis_new, old.visibility[:, :NUM_POSE_JOINTS]) >= 0.5
    torso = np.maximum(torso_lengths(a), 1e-6)
    with np.errstate(invalid="ignore"):
        med = np.nanpercentile(np.where(seen, d, np.nan), 90, axis=1)
    out = med / torso / np.maximum(np.asarray(frames, np.float64), 1.0)
    return np.where(np.isfinite(out), out, np.inf)


class FrameCosts:
    """Running averages (ms) of one landmark crop, one detector region and the rest
    of a frame's work, from the estimator's own timings; they say how many crops fit
    a frame budget."""

    SMOOTHING: Final[float] = 0.2  # weight of the newest frame

    def __init__(self) -> None:
        self.crop_ms = 0.0
        self.region_ms = 0.0
        self.rest_ms = 0.0

    def _mix(self, old: float, new: float) -> float:
        return new if old == 0 else (1 - self.SMOOTHING) * old + self.SMOOTHING * new

    def learn(self, timings_ms: dict[str, float], crops: int, regions: int) -> None:
        """Add one frame: `timings_ms` with "landmarks", "detector" and "roi"."""
        if crops:
            self.crop_ms = self._mix(self.crop_ms, timings_ms["landmarks"] / crops)
        if regions:
            self.region_ms = self._mix(self.region_ms, timings_ms["detector"] / regions)
        self.rest_ms = self._mix(self.rest_ms, timings_ms["roi"])

    def crops_that_fit(self, budget_ms: float, regions: int) -> int:
        """Crops that fit `budget_ms` with `regions` detector regions (at least 1;
        0 when there is no budget or nothing measured yet)."""
        if budget_ms <= 0 or self.crop_ms <= 0:
            return 0
        room = budget_ms - self.rest_ms - self.region_ms * regions
        return max(1, int(room // self.crop_ms))


SEARCH_SCALE: Final[float] = 1.2
"""Side of the detector region searched for someone lost, over the longer side of
their last joint box (at least a detector tile's side): the detector finds a person
best when they fill most of its region; a region twice their size, with neighbours in
it, re-found a back-row performer 3 frames later than the tiles had."""


def search_regions(
    boxes: npt.ArrayLike,
    image_wh: tuple[int, int],
    min_side: float,
    scale: float = SEARCH_SCALE,
) -> F64:
    """(N, 4) [x0, y0, x1, y1] px square detector regions around people's last joint
    boxes: centred on each box, `scale` times its longer side but at least
    `min_side`, moved (not shrunk) to lie inside the image where it fits, clipped
    where it does not.

    Args:
        boxes: (N, 4) [x_min, y_min, x_max, y_max] px (`joint_boxes`).
        image_wh: (W, H) px.
        min_side: Smallest region side, px (a detector tile's, `tile_grid`).
        scale: Region side over the box's longer side (> 0).
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = image_wh
    side = scale * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    side = np.minimum(np.maximum(side, max(min_side, 1.0)), max(w, h))
    half = side / 2.0
    cx = np.clip((b[:, 0] + b[:, 2]) / 2.0, half, np.maximum(w - half, half))
    cy = np.clip((b[:, 1] + b[:, 3]) / 2.0, half, np.maximum(h - half, half))
    out = np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)
    return np.clip(out, 0.0, np.array([w, h, w, h], np.float64))
