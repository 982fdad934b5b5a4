"""MediaPipe's VIDEO-mode tracking step, pure: the landmarks of frame t give the ROIs of
frame t+1; the detector only (re)acquires people.

One step per frame, in two halves around the networks (so that frames of several
streams can share one detector and one landmark call):

    tracked = step.carried(rois)                        # ROIs from the last frame
    if step.needs_detector(tracked):
        rois = step.acquire(tracked, detections)        # + the detector's people
    result = landmark model on rois
    kept, rois = step.advance(result, image_wh)         # ROIs for the next frame

While the pose presence stays above `min_presence_confidence` a person is tracked;
the detector runs only while fewer than `num_poses` people are, and its ROIs replace
the tracked ones they overlap (`associate_rois`, MediaPipe's rect association). Unlike
MediaPipe, tracks that converge on one person are merged (`dedupe_rois`).

The single-pose backend (`OnnxBackend`), the Ray batcher
(`server.distributed.batching`) and, for the ROI hand-over, the multi-person estimator
(`vision.multiperson`) all run this step; the state (the ROIs) is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.backends.blazepose._common import F64, no_rois
from vision.backends.blazepose.detector import Detections, detection_rois
from vision.backends.blazepose.landmarks import LandmarkResult, rois_from_landmarks
from vision.backends.blazepose.roi import associate_rois, dedupe_rois

__all__ = ["VideoTracking"]


@dataclass(frozen=True, slots=True)
class VideoTracking:
    """The parameters of the tracking step and its three pure halves.

    Attributes:
        num_poses: Most people tracked (and returned) per frame.
        min_presence_confidence: Pose presence to keep, and keep tracking, a person.
        enabled: Carry ROIs from frame to frame; off, every frame starts from the
            detector (IMAGE mode).
    """

    num_poses: int = 1
    min_presence_confidence: float = 0.5
    enabled: bool = True

    def carried(self, rois: F64) -> F64:
        """The ROIs (T, 4) this frame starts from: the last frame's (none when
        tracking is off)."""
        tracked = np.asarray(rois, np.float64).reshape(-1, 4)
        return tracked if self.enabled else no_rois()

    def needs_detector(self, tracked: F64) -> bool:
        """Whether this frame runs the detector: fewer than `num_poses` tracked."""
        return int(tracked.shape[0]) < self.num_poses

    def acquire(self, tracked: F64, detections: Detections) -> F64:
        """ROIs (M, 4) for the landmark model: the tracked ones, each replaced by a
        detection that overlaps it, then the new people, at most `num_poses`.

        Args:
            tracked: (T, 4) from `carried`.
            detections: This frame's detector output in image px, best first.
        """
        return associate_rois(tracked, detection_rois(detections))[: self.num_poses]

    def next_rois(self, kept: LandmarkResult, image_wh: tuple[int, int]) -> F64:
        """ROIs (N, 4) of the next frame from this frame's kept landmarks (none when
        tracking is off)."""
        if not self.enabled:
            return no_rois()
        return rois_from_landmarks(kept, image_wh)

    def advance(
        self, result: LandmarkResult, image_wh: tuple[int, int]
    ) -> tuple[LandmarkResult, F64]:
        """Keep the poses present enough, one per person, and hand their ROIs on.

        Args:
            result: The landmark model's answer for the ROIs from `acquire` (or
                `carried`), in image coordinates.
            image_wh: Image size in px.

        Returns:
            kept: The poses to return, in ROI order (tracked people first).
            rois: (K, 4) the next frame's ROIs, one per kept pose (none when tracking
                is off).
        """
        present = result.presence >= self.min_presence_confidence
        # The usual frame keeps every pose and drops no duplicate: skip `take`'s six
        # row copies (advance 45 -> 27 us warm; the results are the same arrays).
        # count_nonzero: one C call, where ndarray.all() runs numpy's Python layer.
        all_present = np.count_nonzero(present) == present.shape[0]
        kept = result if all_present else result.take(np.flatnonzero(present))
        rois = rois_from_landmarks(kept, image_wh)
        order = dedupe_rois(rois, kept.presence)
        if order.shape[0] < len(kept):  # ascending indices: all of them means no drop
            kept, rois = kept.take(order), rois[order]
        return kept, (rois if self.enabled else no_rois())
