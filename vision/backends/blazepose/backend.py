"""`OnnxBackend`: single-pose (or `num_poses`) BlazePose through ONNX Runtime with
MediaPipe's VIDEO-mode tracking (`VideoTracking`)."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from vision._closeable import Closeable
from vision.backends.base import options_or_default
from vision.backends.blazepose._common import F64, check_image, no_rois
from vision.backends.blazepose.detector import Detections
from vision.backends.blazepose.landmarks import LandmarkResult, landmarks_to_poses
from vision.backends.blazepose.runtime import OnnxOptions, PoseNetworks
from vision.backends.blazepose.tracking import VideoTracking
from vision.clock import VideoClock
from vision.types import Poses, Skeleton, aspect_from_wh

__all__ = ["OnnxBackend"]


class OnnxBackend(Closeable):
    """BlazePose-33 (full) through ONNX Runtime with MediaPipe's VIDEO-mode tracking.

    Args:
        options: Provider, thresholds, number of poses, tracking.

    Raises:
        models.ModelIntegrityError: a model file does not match its manifest hash.
        BackendError: onnxruntime is missing, the provider is unavailable, or a model
            cannot be loaded.
    """

    name: str = "onnx"
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33

    def __init__(self, options: OnnxOptions | None = None) -> None:
        self.options = options_or_default(options, OnnxOptions)
        self.networks = PoseNetworks(self.options)
        self.tracking = VideoTracking(
            self.options.num_poses,
            self.options.min_presence_confidence,
            self.options.tracking,
        )
        self._rois: F64 = no_rois()
        self.clock = VideoClock("VIDEO mode")
        self.timings_ms: dict[str, float] = {}  # last frame's stages, for benchmarks
        self.detector_runs = 0  # detector calls made by `detect` (tracking skips it)

    def detect_people(
        self, image_bgr: npt.NDArray[np.uint8], max_detections: int | None = None
    ) -> Detections:
        """The detector alone (stateless); see `PoseNetworks.detect_people`."""
        return self.networks.detect_people(image_bgr, max_detections)

    def landmarks(
        self, image_bgr: npt.NDArray[np.uint8], rois: npt.ArrayLike
    ) -> LandmarkResult:
        """The landmark model on ROIs (stateless); see `PoseNetworks.landmarks`."""
        return self.networks.landmarks(image_bgr, rois)

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        """Find up to `options.num_poses` people in one frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            timestamp_ms: Capture time; strictly greater than the previous call's.

        Returns:
            `Poses` (33 joints, normalized image coordinates, track IDs -1, scores =
            pose presence): people tracked from the last frame first, then new
            detections best first; empty when nobody is found.

        Raises:
            ValueError: a malformed image or a timestamp that does not increase.
            BackendError: the backend is closed.
        """
        networks = self.networks
        networks.check_open()
        ts = self.clock.check(timestamp_ms)
        wh = check_image(image_bgr)
        timings = {"detector": 0.0, "landmarks": 0.0}
        rois = self.tracking.carried(self._rois)
        if self.tracking.needs_detector(rois):
            t0 = time.perf_counter()
            rois = self.tracking.acquire(rois, networks.detect_people(image_bgr))
            self.detector_runs += 1
            timings["detector"] = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        result = networks.landmarks(image_bgr, rois)
        timings["landmarks"] = (time.perf_counter() - t0) * 1e3
        kept, self._rois = self.tracking.advance(result, wh)
        self.clock.advance(ts)
        self.timings_ms = timings
        return landmarks_to_poses(kept, ts, aspect_from_wh(wh))

    def reset(self) -> None:
        """Forget the tracked people and the last timestamp (a new video)."""
        self._rois = no_rois()
        self.clock.reset()

    def close(self) -> None:
        """Release both sessions. Safe to call twice."""
        self.networks.close()
