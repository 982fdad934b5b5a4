"""Multi-person BlazePose for group sessions (edge): everyone in view, no
near-duplicates, small people included, one landmark batch per frame.

MediaPipe's `num_poses > 1` finds only people larger than about a quarter of the frame
and returns near-duplicates. Here, on `vision.backends.blazepose`'s stages:

1. Detector on the whole frame plus square tiles (`tile_grid`) sized so that a person
   `min_person_height` of the frame high fills `DETECTOR_RELIABLE_FRACTION` of a tile
   and lies wholly inside one; all regions go through the detector in ONE batch, and
   their detections are merged across regions, whole views first; detections whose
   hips lie far outside their tile (scraps at its edge) are dropped
   (`postprocess_detector_batch`). The detector only (re)acquires people: while
   nobody is tracked it runs every frame on the whole frame plus `tiles_per_frame`
   tiles, round robin (every tile on a session's first frame); while people are
   tracked, every `detect_every` frames on `sweep_regions` of the whole frame and the
   tiles tracked people do not cover (`uncovered_tiles`), and again on the next frame
   whenever a run found someone. Once found, a person is held by the tracked ROIs
   below, whatever their size.
2. Crops: the people tracked from the previous frame's landmarks (VIDEO mode), plus the
   detections that do not coincide with a tracked ROI; someone not tracked at all also
   gets a 1.2x larger crop (the better of the two is kept). Someone whose joints
   barely moved between their last two fits (`still_motion`) is carried forward one
   frame (`max_hold`) on their last fit moved with their trunk (`refresh_mask`,
   `trunk_step`, `extrapolate_xyz`); with `frame_budget_ms` only as many people as
   the measured cost per crop leaves room for are refreshed. On the 2-core box a crop
   costs ~9 ms in a batch on two threads (~13 ms alone on one): eight people fit
   100 ms, and a budget trades each person's refresh rate for frames.
3. Landmark model on every crop in ONE batch; someone tracked whom it loses on their
   crop is tried once more on a crop `RETRY_SCALE` the size (a second, small batch).
   Kept: presence at least `min_presence_confidence`, trunk inside the image, not
   collapsed to a point.
   Someone new must also have presence >= `NEW_MIN_PRESENCE` and a body-like
   head-to-trunk proportion (`pose_plausibility`), and is returned from their second
   frame (`CONFIRM_FRAMES`) unless the detector was sure (`STRONG_DETECTION`): fits
   on background texture, arms and clothing (presence ~1 too) rarely last.
4. One fit per person (`select_distinct_poses`): two fits are one person when their
   landmarks are alike (keypoint similarity), their trunks overlap, or one lies on the
   other's bones; the tracked fit is preferred slightly, a fit lying on another's body
   (a part) much less. Shoulder-to-shoulder neighbours stay two (ROI overlap alone
   would merge them). Over `max_people`, the largest stay.
5. The kept poses' alignment landmarks give the next frame's ROIs.

Output is `Poses` with track_ids -1: `vision.tracking.PoseTracker` assigns IDs. Beside
it, `last_lineage` numbers each returned pose by the chain of fits it came from: the
same number while the estimator follows the person from frame to frame (their ROI from
the last fit, or a fresh crop that fits the same person better), a new one when
someone is found anew. The tracker takes it as the strongest cue
(`PoseTracker.update(poses, lineage=...)`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision._closeable import Closeable
from vision.backends import blazepose as bp
from vision.backends.base import BackendError, options_or_default
from vision.clock import VideoClock
from vision.lineage import continued_chains, number_chains
from vision.multiperson_options import MultiPersonOptions
from vision.types import Poses, Skeleton, aspect_from_wh

__all__ = ["MultiPersonOptions", "MultiPersonPoseEstimator"]

F64 = npt.NDArray[np.float64]

SAME_PERSON_ROI_IOU: Final[float] = 0.7  # a detection overlapping a track more: them
NEW_PERSON_ROI_IOU: Final[float] = 0.3  # ... overlapping every track less: someone new
WARMUP_FRAMES: Final[int] = 10  # a session's first: the acquiring regions each frame
REACQUIRE_FRAMES: Final[int] = 10
"""After a loss, the detector looks for the lost person every frame for this many
frames: at 2-4 fps the idle sweep re-found a fallen man 4.5-7.5 s later
(tests/exercises/fall_video.py). With everyone lost (or after a jump) it looks on the
acquiring regions (the whole frame and tiles); with others still tracked, on the whole
frame and around where each lost person was (`search_regions`): the whole frame and
four tiles every frame had cost 8 tracked people 60-80 ms a frame for ten frames after
each loss (p95 of the frame 205 ms)."""
CONFIRM_FRAMES: Final[int] = 2
"""Consecutive frames someone new must be found in before they are returned."""
NEW_MIN_PRESENCE: Final[float] = 0.8
NEW_MIN_PLAUSIBILITY: Final[float] = 0.1
"""Someone new (not yet confirmed) must reach both: presence (the landmark model's
pose flag) and `pose_plausibility`. Measured on 177 crops of new detections in the
group scenes: real people had median presence 1.0 (25th percentile 0.99), fits on
background or on part of a body median 0.37 (75th percentile 0.76); plausibility
separated them less (5th percentile of real people 0.001 in side views) and only
guards against collapsed fits (25 % of them under 0.09)."""
STRONG_DETECTION: Final[float] = 0.85
"""A new person detected at least this confidently is returned at once (real people
scored 0.73-0.98 in the group scenes, fits on background at most 0.56)."""
MIN_TRUNK_SHARE: Final[float] = 0.04
"""Torso length over the crop's side below which a fit has collapsed. Fits matching the
ground truth in the group scenes: 0.11 at the least, median 0.23; a fit collapsed onto
a person's hips: 0.02."""
TORSO_PER_HEIGHT: Final[float] = 0.3  # shoulder-hip distance over body height
MIN_TORSO_SHARE: Final[float] = 0.25
"""A trunk shorter than this share of the smallest wanted person's (min_person_height
x TORSO_PER_HEIGHT of the frame height) is not a person: people a quarter of the
smallest wanted size are still returned, fits collapsed to a few pixels are not."""
TRACKED_PREFERENCE: Final[float] = 1.15
"""Among fits of one person, the tracked one's score (presence x plausibility) counts
this much more than a fresh crop's: on the real two-person clip fresh crops collapsed
onto an upper body scored within 0.01 of the tracked fit, while a tracked fit that had
gone wrong (after a cut) scored under half of the fresh one."""
NEW_PERSON_EXTRA_SCALE: Final[float] = 1.2
"""Side of the second crop tried for someone new. Measured on 253 detections in the
group scenes: the landmark model accepted (presence >= 0.5) 97.2 % of the detector's
crops, 98.4 % of crops 1.2x larger and of the better of the two (0.8x: 90.9 %)."""
RETRY_SCALE: Final[float] = 0.75
"""Side of the crop tried again, in the same frame, for someone tracked whom the model
lost on their crop. A small person's presence flickers with the crop's scale: a
Baduanjin performer 135 px tall at the edge of the tiled class scored 0.25-0.56 on her
tracked crop (210-218 px) and 0.97-1.00 at 150-170 px, five frames out of five; she
was lost for 3 s, found in 0.52 of the frames with everyone (1.0 with the retry)."""


@dataclass(slots=True)
class _State:
    """What one frame hands the next, one row per tracked person (ROI order)."""

    rois: F64 = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    ages: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    lineage: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )
    """Each person's chain of fits (see `MultiPersonPoseEstimator.last_lineage`)."""
    next_lineage: int = 1
    fits: bp.LandmarkResult = field(default_factory=bp.LandmarkResult.empty)
    """Each person's last landmark-model fit (not extrapolated)."""
    velocity: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, bp.NUM_LANDMARKS, 3), np.float32)
    )
    """(T, 39, 3) per-frame joint motion between the last two fits (NaN: unknown)."""
    stale: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """Frames since each fit (0: this frame's)."""
    motion: F64 = field(default_factory=lambda: np.zeros(0, np.float64))
    """Joint motion per frame between the last two fits, in torso lengths (inf:
    unknown)."""
    frame_index: int = 0
    found_new: bool = False
    """The last detector run added someone: sweep again next frame."""
    reacquire: int = 0  # frames left on the acquiring regions (`REACQUIRE_FRAMES`)
    search: F64 = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    """Detector regions around people lost while others stay tracked, ..."""
    search_frames: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )
    """... and the frames each is searched for yet."""
    tile_cursor: int = 0
    sweep_cursor: int = 0
    image_wh: tuple[int, int] | None = None
    tiles: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((0, 4), np.int64)
    )


def _trunk_inside(xy_px: npt.NDArray[np.float32], image_wh: tuple[int, int]) -> Any:
    """(N,) bool: the trunk's centre (shoulders and hips) lies inside the image; a fit
    whose trunk is outside is on nobody we can see."""
    trunk = xy_px[:, [11, 12, 23, 24]].mean(axis=1)
    w, h = image_wh
    return (
        (trunk[:, 0] >= 0)
        & (trunk[:, 0] <= w)
        & (trunk[:, 1] >= 0)
        & (trunk[:, 1] <= h)
    )


class MultiPersonPoseEstimator(Closeable):
    """Everyone in view, BlazePose-33 through ONNX Runtime (a `PoseBackend`).

    Args:
        options: See `MultiPersonOptions`.

    Raises:
        models.ModelIntegrityError: a model file does not match its manifest hash.
        BackendError: onnxruntime is missing, the provider is unavailable, or a model
            cannot be loaded.
    """

    name: str = "onnx-multi"
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33

    def __init__(self, options: MultiPersonOptions | None = None) -> None:
        self.options = options_or_default(options, MultiPersonOptions)
        onnx_options = self.options.onnx_options()
        self._networks: bp.PoseNetworks | None = bp.PoseNetworks(onnx_options)
        self.tracking = bp.VideoTracking(
            onnx_options.num_poses,
            onnx_options.min_presence_confidence,
            onnx_options.tracking,
        )
        self._state = _State()
        self.clock = VideoClock("VIDEO mode")
        self.timings_ms: dict[str, float] = {}  # last frame's stages, for benchmarks
        self.detector_runs = 0
        self.last_num_regions = 0
        self.last_num_crops = 0
        self.last_lineage = np.zeros(0, np.int64)
        """(N,) int64 >= 1, one per pose of the last `detect`: equal numbers across
        frames mean the estimator followed that person from one frame to the next
        (never reused within a session)."""
        self._costs = bp.FrameCosts()  # for `frame_budget_ms`

    @property
    def networks(self) -> bp.PoseNetworks:
        if self._networks is None:
            raise BackendError("the multi-person estimator is closed; create a new one")
        return self._networks

    def tiles(self, image_wh: tuple[int, int]) -> npt.NDArray[np.int64]:
        """(T, 4) px detector tiles used for frames of this size (see `tile_grid`)."""
        return bp.tile_grid(
            image_wh,
            self.options.min_person_height,
            overlap=self.options.tile_overlap,
        )

    def _regions(self, image_wh: tuple[int, int], tracked_boxes: F64 | None) -> F64:
        """Detector regions of this run: acquiring (`tracked_boxes` None, or
        `sweep_regions` 0), the whole frame plus `tiles_per_frame` tiles; else
        `sweep_regions` of the whole frame and the tiles nobody tracked covers."""
        st = self._state
        if st.image_wh != image_wh:
            st.image_wh = image_wh
            st.tiles = self.tiles(image_wh)
            st.tile_cursor = st.sweep_cursor = 0
        w, h = image_wh
        whole = np.array([[0, 0, w, h]], np.float64)
        tiles = st.tiles.astype(np.float64)
        if tracked_boxes is not None and self.options.sweep_regions:
            open_tiles = tiles[bp.uncovered_tiles(tiles, tracked_boxes, image_wh)]
            sweep = np.concatenate([whole, open_tiles])
            k = self.options.sweep_regions
            if 0 < k < sweep.shape[0]:
                idx = (st.sweep_cursor + np.arange(k)) % sweep.shape[0]
                st.sweep_cursor = int((st.sweep_cursor + k) % sweep.shape[0])
                sweep = sweep[idx]
            return sweep
        k = self.options.tiles_per_frame
        if st.frame_index == 0 and self.options.sweep_regions:
            k = 0  # a session's first frame sweeps every tile: the class is there
        if tiles.shape[0] and 0 < k < tiles.shape[0]:
            idx = (st.tile_cursor + np.arange(k)) % tiles.shape[0]
            st.tile_cursor = int((st.tile_cursor + k) % tiles.shape[0])
            tiles = tiles[idx]
        return np.concatenate([whole, tiles])

    def _landmarks(self, image_bgr: npt.NDArray[np.uint8], rois: F64) -> Any:
        """The landmark model on `rois`, `landmark_chunk` crops per call."""
        k = self.options.landmark_chunk
        if k <= 0 or rois.shape[0] <= k:
            return self.networks.landmarks(image_bgr, rois)
        return bp.concat_results(
            [
                self.networks.landmarks(image_bgr, rois[i : i + k])
                for i in range(0, rois.shape[0], k)
            ]
        )

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        """Find everyone in one frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            timestamp_ms: Capture time; strictly greater than the previous call's.

        Returns:
            `Poses` (33 joints, normalized image coordinates, track_ids -1, scores =
            pose presence), at most `options.max_people`, no two on one person;
            people tracked from the last frame first. Empty when nobody is found.
            Someone new is returned from the second consecutive frame they are found
            in (`CONFIRM_FRAMES`), so a one-frame false find never reaches the caller.
            A person carried forward this frame (`max_hold`) has their last fit moved
            on by its velocity.

        Raises:
            ValueError: a malformed image or a timestamp that does not increase.
            BackendError: the estimator is closed.
        """
        networks = self.networks
        ts = self.clock.check(timestamp_ms)
        wh = bp.check_image(image_bgr)
        opts = self.options
        st = self._state
        timings = {"detector": 0.0, "landmarks": 0.0, "roi": 0.0}
        t_roi = time.perf_counter()
        tracked = self.tracking.carried(st.rois)
        n_tracked = int(tracked.shape[0])
        ages = st.ages if opts.tracking else np.zeros(0, np.int64)
        refresh = np.ones(n_tracked, np.bool_)
        acquiring = st.reacquire > 0 or st.frame_index < WARMUP_FRAMES
        run_detector = (
            not opts.tracking
            or n_tracked == 0
            or st.frame_index % opts.detect_every == 0
            or st.found_new
            or acquiring
            or st.search.shape[0] > 0
        )
        if n_tracked and opts.max_hold:
            refresh = bp.refresh_mask(
                st.stale,
                st.motion,
                budget=self._crop_budget(run_detector),
                still_motion=opts.still_motion,
                max_hold=opts.max_hold,
            )
        held = np.flatnonzero(~refresh)
        self.last_num_regions = 0
        crops = [tracked[refresh]]
        groups = [np.flatnonzero(refresh)]  # crops of one candidate share a group
        start_ages = [ages]  # frames each candidate has been kept (or its head start)
        timings["roi"] += time.perf_counter() - t_roi
        if run_detector:
            t0 = time.perf_counter()
            boxes = None
            if n_tracked and not acquiring:
                scale = np.asarray(wh, np.float32)
                boxes = bp.joint_boxes(
                    st.fits.xyz[:, : bp.NUM_POSE_JOINTS, :2] * scale,
                    st.fits.visibility[:, : bp.NUM_POSE_JOINTS],
                )
            regions = self._regions(wh, boxes)
            if boxes is not None and st.search.shape[0]:
                # Looking for someone lost: around where they were, and on the whole
                # frame (a person who moved away, or a cut that moved everyone).
                whole = np.array([[0.0, 0.0, wh[0], wh[1]]])
                sweep = regions[np.any(regions != whole, axis=1)]
                regions = np.concatenate([whole, sweep, st.search])
            dets = networks.detect_people_in_regions(image_bgr, regions)
            self.detector_runs += 1
            self.last_num_regions = int(regions.shape[0])
            timings["detector"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            found = bp.detection_rois(dets)
            overlap = np.zeros(found.shape[0])
            if n_tracked and found.shape[0]:
                iou = bp.box_iou(bp.roi_boxes(found), bp.roi_boxes(tracked))
                overlap = iou.max(axis=1)
            # A detection that agrees with a tracked ROI adds nothing (the landmark-
            # based ROI is the more precise one). One that overlaps a track only in
            # part may be a better view of that person (or the track may have slid
            # off): both go to the landmark model and the duplicate check keeps the
            # better fit.
            keep = overlap <= SAME_PERSON_ROI_IOU
            found, overlap = found[keep], overlap[keep]
            # A strong detection needs no second frame to be believed.
            head_start = np.where(
                dets.scores[keep] >= STRONG_DETECTION, CONFIRM_FRAMES - 1, 0
            )
            # Someone not tracked at all gets a second, larger crop too: the
            # detector's scale point is least reliable for small people, and a crop
            # that cuts the body off loses the whole person.
            new = np.flatnonzero(overlap < NEW_PERSON_ROI_IOU)
            larger = found[new].copy()
            larger[:, 2] *= NEW_PERSON_EXTRA_SCALE
            crops += [found, larger]
            groups += [n_tracked + np.arange(found.shape[0]), n_tracked + new]
            start_ages.append(head_start.astype(np.int64))
            timings["roi"] += time.perf_counter() - t0
        rois = np.concatenate(crops)
        group = np.concatenate(groups)
        t0 = time.perf_counter()
        result = self._landmarks(image_bgr, rois)
        # Someone tracked whom the model lost on their crop: once more, tighter.
        slipped = np.flatnonzero(
            (group < n_tracked) & (result.presence < opts.min_presence_confidence)
        )
        if slipped.size:
            tight = rois[slipped].copy()
            tight[:, 2] *= RETRY_SCALE
            result = bp.concat_results([result, self._landmarks(image_bgr, tight)])
            rois, group = np.concatenate([rois, tight]), np.r_[group, group[slipped]]
        timings["landmarks"] = time.perf_counter() - t0
        self.last_num_crops = int(rois.shape[0])
        t0 = time.perf_counter()
        if held.size:
            # The people carried forward join as if the model had answered for them.
            fits = st.fits.take(held)
            moved = bp.extrapolate_xyz(fits.xyz, st.velocity[held], st.stale[held] + 1)
            result = bp.concat_results(
                [result, bp.LandmarkResult(moved, fits.visibility, fits.presence)]
            )
            rois = np.concatenate([rois, tracked[held]])
            group = np.concatenate([group, held])
        fresh = np.r_[np.ones(self.last_num_crops, np.bool_), np.zeros(held.size, bool)]
        # One answer per candidate: its crop with the highest presence.
        order = np.lexsort((-result.presence, group))
        first_crop = np.r_[True, group[order][1:] != group[order][:-1]]
        best = np.sort(order[first_crop[: order.size]]) if order.size else order
        result = result.take(best)
        age = np.concatenate(start_ages)[group[best]]
        is_new = group[best] >= n_tracked
        lineage = np.full(group[best].shape, -1, np.int64)
        if n_tracked and st.lineage.size == n_tracked:
            lineage[~is_new] = st.lineage[group[best][~is_new]]
        xy_px = result.xyz[:, : bp.NUM_POSE_JOINTS, :2] * np.asarray(wh, np.float32)
        plausible = bp.pose_plausibility(xy_px)
        # A fit collapsed to a point (all joints within a few pixels) is on nobody;
        # a real trunk is ~0.2 of the crop's side.
        torso_px = bp.torso_lengths(xy_px)
        trunk_share = torso_px / np.maximum(rois[best, 2], 1e-9)
        # ...and tracked from frame to frame, a collapsed fit keeps a collapsed ROI:
        # also drop trunks far below the smallest person looked for.
        min_torso_px = (
            MIN_TORSO_SHARE * TORSO_PER_HEIGHT * opts.min_person_height * wh[1]
        )
        ok = (
            (result.presence >= opts.min_presence_confidence)
            & _trunk_inside(xy_px, wh)
            & (trunk_share >= MIN_TRUNK_SHARE)
            & (torso_px >= min_torso_px)
        )
        # Someone new must look like a person beyond doubt: the landmark model's
        # presence alone lets through fits on background texture.
        ok &= ~is_new | (
            (result.presence >= NEW_MIN_PRESENCE) & (plausible >= NEW_MIN_PLAUSIBILITY)
        )
        idx = np.flatnonzero(ok)
        vis_ok = result.visibility[idx, : bp.NUM_POSE_JOINTS]
        chosen = idx[
            bp.select_distinct_poses(
                xy_px[idx],
                vis_ok,
                result.presence[idx]
                * plausible[idx]
                * np.where(is_new[idx], 1.0, TRACKED_PREFERENCE),
                similarity_threshold=opts.duplicate_similarity,
            )
        ]
        # The fit kept for a person carries the person's history: a fresh crop that
        # fits a confirmed person better than their tracked ROI did is not new.
        if idx.size:
            same = bp.same_person(
                xy_px[idx], vis_ok, similarity_threshold=opts.duplicate_similarity
            )
            group_age = np.where(same, age[idx][None, :], 0).max(axis=1)
            age[idx] = group_age
            # ...and the chain of fits it continues.
            lineage[idx] = continued_chains(
                xy_px[idx],
                vis_ok,
                group[best][idx],
                same,
                st.fits.xyz[:n_tracked, : bp.NUM_POSE_JOINTS, :2]
                * np.asarray(wh, np.float32),
                st.fits.visibility[:n_tracked, : bp.NUM_POSE_JOINTS],
                st.lineage if st.lineage.size == n_tracked else np.zeros(0, np.int64),
            )
        # Over capacity, the largest (nearest) people stay.
        size = bp.torso_lengths(xy_px[chosen])
        keep_idx = np.sort(chosen[np.argsort(-size, kind="stable")][: opts.max_people])
        kept = result.take(keep_idx)
        kept_age = age[keep_idx] + 1
        last_chains = st.lineage
        st.lineage, st.next_lineage = number_chains(lineage[keep_idx], st.next_lineage)
        st.rois = self.tracking.next_rois(kept, wh)
        st.ages = kept_age if opts.tracking else np.zeros(0, np.int64)
        st.found_new = run_detector and 0 < n_tracked < len(kept)
        # Lost: someone returned (confirmed) whose chain of fits ends here (not a
        # tracked crop whose person a fresh crop fits better).
        lost = np.zeros(0, np.int64)
        if n_tracked and last_chains.size == n_tracked and ages.size == n_tracked:
            ended = ~np.isin(last_chains, st.lineage)
            lost = np.flatnonzero(ended & (ages >= CONFIRM_FRAMES))
        self._look_for_the_lost(lost, len(kept) > 0, wh)
        self._carry(kept, group[best][keep_idx], fresh[best][keep_idx], n_tracked, wh)
        self.clock.advance(ts)
        st.frame_index += 1
        confirmed = kept_age >= CONFIRM_FRAMES if opts.tracking else kept_age >= 1
        out = kept.take(np.flatnonzero(confirmed))
        self.last_lineage = st.lineage[confirmed]
        timings["roi"] += time.perf_counter() - t0
        self.timings_ms = {k: v * 1e3 for k, v in timings.items()}
        self._costs.learn(self.timings_ms, self.last_num_crops, self.last_num_regions)
        return bp.landmarks_to_poses(out, ts, aspect_from_wh(wh))

    def _look_for_the_lost(
        self,
        gone: npt.NDArray[np.int64],
        anyone_kept: bool,
        wh: tuple[int, int],
    ) -> None:
        """After this frame: search (`REACQUIRE_FRAMES`) around each tracked person
        lost in it (and on the whole frame), or everywhere when nobody is left. A
        region is searched for its whole time even when someone is found in it
        (stopping then, in a 2x region, re-found a back-row performer later: the one
        found was her neighbour)."""
        st = self._state
        scale = np.asarray(wh, np.float32)
        frames = st.search_frames - 1
        if gone.size and not anyone_kept:
            st.reacquire = REACQUIRE_FRAMES
            frames[:] = 0
        else:
            st.reacquire = max(0, st.reacquire - 1)
        regions = st.search
        if gone.size and anyone_kept:
            lost_boxes = bp.joint_boxes(
                st.fits.xyz[gone, : bp.NUM_POSE_JOINTS, :2] * scale,
                st.fits.visibility[gone, : bp.NUM_POSE_JOINTS],
            )
            tile_side = float(st.tiles[0, 2] - st.tiles[0, 0]) if st.tiles.size else 0.0
            near = bp.search_regions(lost_boxes, wh, tile_side)
            # Someone lost again where they are searched for already: search on.
            again = (
                bp.box_iou(regions, near) >= SAME_PERSON_ROI_IOU
                if regions.shape[0]
                else np.zeros((0, near.shape[0]), bool)
            )
            frames = np.where(again.any(axis=1), REACQUIRE_FRAMES, frames)
            fresh = ~again.any(axis=0)
            regions = np.concatenate([regions, near[fresh]])
            frames = np.r_[frames, np.full(int(fresh.sum()), REACQUIRE_FRAMES)]
        st.search, st.search_frames = regions[frames > 0], frames[frames > 0]

    def _crop_budget(self, run_detector: bool) -> int:
        """Most tracked people to refresh this frame (0: no limit)."""
        opts = self.options
        fit = self._costs.crops_that_fit(
            opts.frame_budget_ms, max(opts.sweep_regions, 1) if run_detector else 0
        )
        budget = opts.landmark_budget
        return (min(budget, fit) if budget else fit) if fit else budget

    def _carry(
        self,
        kept: bp.LandmarkResult,
        source: npt.NDArray[np.int64],
        fresh: npt.NDArray[np.bool_],
        n_tracked: int,
        wh: tuple[int, int],
    ) -> None:
        """Hand each kept person's last fit, velocity and motion to the next frame.

        Args:
            kept: The kept poses (K rows).
            source: (K,) the tracked row each came from (>= n_tracked: someone new).
            fresh: (K,) the landmark model fitted it this frame (else carried).
            n_tracked: Tracked people at the start of the frame.
            wh: Image size in px.
        """
        st = self._state
        k = len(kept)
        was = source < n_tracked
        prev = np.where(was, source, 0)
        fits = kept
        velocity = np.full((k, bp.NUM_LANDMARKS, 3), np.nan, np.float32)
        motion = np.full(k, np.inf)
        stale = np.zeros(k, np.int64)
        if n_tracked and k:
            base = st.fits.take(prev)
            gap = st.stale[prev] + 1
            held = was & ~fresh
            step = bp.trunk_step(kept.xyz, base.xyz, gap)
            velocity = np.where(was[:, None, None] & fresh[:, None, None], step, np.nan)
            velocity = np.where(held[:, None, None], st.velocity[prev], velocity)
            motion = np.where(was & fresh, bp.joint_motion(kept, base, gap, wh), np.inf)
            jumped = was & fresh & bp.jumped(kept.xyz, base.xyz, step, wh)
            velocity = np.where(jumped[:, None, None], np.nan, velocity)
            if jumped.any():  # a cut or a slipped ROI: look again
                st.reacquire = REACQUIRE_FRAMES
            motion = np.where(held, st.motion[prev], motion)
            stale = np.where(held, st.stale[prev] + 1, 0)
            fits = bp.LandmarkResult(
                np.where(held[:, None, None], base.xyz, kept.xyz),
                np.where(held[:, None], base.visibility, kept.visibility),
                np.where(held, base.presence, kept.presence),
            )
        st.fits = fits
        st.velocity = velocity.astype(np.float32)
        st.motion = motion
        st.stale = stale

    def reset(self) -> None:
        """Forget the tracked people and the last timestamp (a new video)."""
        self._state = _State()
        self.clock.reset()

    def close(self) -> None:
        """Release the models. Safe to call twice."""
        if self._networks is not None:
            self._networks.close()
        self._networks = None

    def __repr__(self) -> str:
        state: Any = "closed" if self._networks is None else "open"
        return f"MultiPersonPoseEstimator({self.options!r}, {state})"
