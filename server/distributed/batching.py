"""Pose inference for frames of many kiosks in one ONNX Runtime call per stage.

`BatchedPoseModel.infer_batch(requests)` runs the pipeline of
`vision.backends.blazepose.OnnxBackend.detect` (MediaPipe's BlazePose graph
re-implemented) for frames that come from different kiosks, with the two networks
called once per batch instead of once per frame:

1. every frame is decoded (JPEG -> BGR) and letterboxed for the detector;
2. the frames that need the detector (fewer tracked people than `num_poses`) go through
   it in ONE call, (B, 3, 224, 224);
3. every ROI of every frame is cropped for the landmark model and all crops go through
   it in ONE call, (sum of ROIs, 3, 256, 256);
4. each frame's outputs are projected back and tracked by the same step as `detect`
   (`vision.backends.blazepose.VideoTracking`).

Tracking state travels with the request: `PoseRequest.rois` are the ROIs the kiosk's
previous reply returned (`PoseReply.rois`). The model keeps no per-kiosk state, so any
replica can serve any frame of any kiosk, a replica that dies loses nothing, and frames
of many kiosks batch freely. Results equal `OnnxBackend.detect` on the same frame with
the same tracked ROIs (tests/server/test_distributed.py compares them).

Edge module: imports cv2 and onnxruntime (through `vision.backends.blazepose`), not
Ray.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from server.failures import log_repeated_failure
from server.inference import decode_jpeg
from server.schemas import ErrorCode, ProtocolError
from vision.backends.blazepose import (
    LandmarkResult,
    OnnxOptions,
    PoseNetworks,
    VideoTracking,
    landmarks_to_poses,
    no_rois,
    postprocess_detector,
    postprocess_landmarks,
    preprocess_detector,
    preprocess_landmarks,
)
from vision.types import Poses, aspect_from_wh

__all__ = ["BatchedPoseModel", "PoseReply", "PoseRequest", "no_rois"]

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class PoseRequest:
    """One kiosk frame for the inference deployment.

    Attributes:
        jpeg: The frame as the kiosk sent it. Decoded on the inference replica: a JPEG
            is ~20x smaller than its pixels on the wire between processes.
        timestamp_ms: Capture time (the kiosk's clock).
        rois: (T, 4) float64 [cx_px, cy_px, side_px, rotation_rad], the people tracked
            in this kiosk's previous frame (the previous `PoseReply.rois`).
    """

    jpeg: bytes
    timestamp_ms: int
    rois: F64 = field(default_factory=no_rois)


@dataclass(frozen=True, slots=True, eq=False)
class PoseReply:
    """What the model made of one `PoseRequest`.

    Attributes:
        timestamp_ms: The request's capture time.
        poses: Everyone found (33 joints, normalized image coordinates, scores = pose
            presence); None on error.
        rois: (M, 4) float64 ROIs to send with the kiosk's next frame.
        image_wh: Decoded image size in px; (0, 0) when it did not decode.
        error_code: An `ErrorCode` value (`bad_image`, `inference_failed`) or None.
        error_detail: For developers, with `error_code`.
        batch_size: Frames in the batch this one ran in.
        batch_ms: Wall time of that whole batch on the replica (decode + both models).
    """

    timestamp_ms: int
    poses: Poses | None
    rois: F64
    image_wh: tuple[int, int]
    error_code: str | None = None
    error_detail: str | None = None
    batch_size: int = 1
    batch_ms: float = 0.0

    def raise_for_error(self) -> None:
        """Raises: ProtocolError: the reply carries an error."""
        if self.error_code is not None:
            raise ProtocolError(ErrorCode(self.error_code), self.error_detail or "")


@dataclass(slots=True)
class _Frame:
    index: int
    request: PoseRequest
    image: npt.NDArray[np.uint8]
    wh: tuple[int, int]
    rois: F64


class BatchedPoseModel:
    """BlazePose (detector + landmarks) over ONNX Runtime for batches of frames.

    Args:
        options: Provider ("cpu" or "cuda"), thresholds, `num_poses`, tracking, threads.

    Raises:
        BackendError, ModelIntegrityError: as `OnnxBackend` (no onnxruntime, provider
            unavailable, model file wrong).
    """

    def __init__(self, options: OnnxOptions | None = None) -> None:
        self.options = OnnxOptions() if options is None else options
        self.networks = PoseNetworks(self.options)  # loads, verifies, opens both
        self.tracking = VideoTracking(
            self.options.num_poses,
            self.options.min_presence_confidence,
            self.options.tracking,
        )
        self.batches = 0  # infer_batch calls that ran the models
        self.frames = 0  # frames in them
        self.timings_ms: dict[str, float] = {}  # the last batch's stages (benchmarks)
        self._model_s = 0.0
        # The networks' input buffers are reused from batch to batch: one at a time.
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return not self.networks.closed

    def warm_up(self) -> None:
        """Run both networks once (ORT builds its kernels on the first call)."""
        self.networks.warm_up()

    def close(self) -> None:
        """Release the ORT sessions. Safe to call twice."""
        self.networks.close()

    def infer_batch(self, requests: Sequence[PoseRequest]) -> list[PoseReply]:
        """Everyone in each request's frame, in request order.

        A frame that does not decode gets `bad_image`; when a network raises, every
        frame of the batch gets `inference_failed` (and its tracking is reset).

        Args:
            requests: Frames of any kiosks, any sizes.

        Returns:
            One `PoseReply` per request, same order.
        """
        with self._lock:
            return self._infer_batch(requests)

    def _infer_batch(self, requests: Sequence[PoseRequest]) -> list[PoseReply]:
        started = time.perf_counter()
        self._model_s = 0.0
        replies: list[PoseReply | None] = [None] * len(requests)
        frames: list[_Frame] = []
        for i, request in enumerate(requests):
            try:
                image = decode_jpeg(request.jpeg)
            except ProtocolError as exc:
                replies[i] = _error(request, exc.code, exc.detail)
                continue
            wh = (int(image.shape[1]), int(image.shape[0]))
            frames.append(
                _Frame(i, request, image, wh, self.tracking.carried(request.rois))
            )
        decoded = time.perf_counter()
        if frames:
            try:
                for frame, reply in zip(frames, self._run(frames), strict=True):
                    replies[frame.index] = reply
            except Exception as exc:  # one bad batch must not take the replica down
                log_repeated_failure(
                    log, exc, "pose models failed on a batch of %d frames", len(frames)
                )
                detail = f"pose inference failed: {type(exc).__name__}: {exc}"
                for frame in frames:
                    replies[frame.index] = _error(
                        frame.request, ErrorCode.INFERENCE_FAILED, detail
                    )
            self.batches += 1
            self.frames += len(frames)
        batch_ms = (time.perf_counter() - started) * 1e3
        decode_ms = (decoded - started) * 1e3
        model_ms = self._model_s * 1e3
        self.timings_ms = {
            "decode": decode_ms,  # JPEG -> pixels (CPU)
            "models": model_ms,  # the ORT calls (GPU with provider "cuda")
            "other": batch_ms - decode_ms - model_ms,  # warps, decoding outputs (CPU)
            "total": batch_ms,
        }
        return [
            replace(reply, batch_size=len(requests), batch_ms=batch_ms)
            for reply in replies
            if reply is not None
        ]

    def _timed(self, run: Callable[[F32], list[F32]], tensor: F32) -> list[F32]:
        t0 = time.perf_counter()
        try:
            return run(tensor)
        finally:
            self._model_s += time.perf_counter() - t0

    def _run(self, frames: list[_Frame]) -> list[PoseReply]:
        networks, step = self.networks, self.tracking
        networks.check_open()
        # Stage 1: one detector call for every frame tracking fewer than num_poses.
        searching = [f for f in frames if step.needs_detector(f.rois)]
        if searching:
            # Each frame letterboxed straight into its row of the reused input.
            batch = networks.detector_batch(len(searching))
            transforms = [
                preprocess_detector(f.image, out=batch[k : k + 1])[1]
                for k, f in enumerate(searching)
            ]
            raw_boxes, raw_scores = self._timed(networks.run_detector, batch)
            for k, frame in enumerate(searching):
                found = postprocess_detector(
                    (raw_boxes[k : k + 1], raw_scores[k : k + 1]),
                    transforms[k],
                    networks.anchors,
                    min_score=networks.min_detection_confidence,
                    max_detections=None,
                )
                frame.rois = step.acquire(frame.rois, found)
        # Stage 2: one landmark call for every ROI of every frame, each frame's
        # crops written straight into their rows of the reused input.
        total = sum(f.rois.shape[0] for f in frames)
        crops = networks.landmark_batch(total)
        crop_transforms: list[F64] = []
        start = 0
        for frame in frames:
            rows = crops[start : start + frame.rois.shape[0]]
            crop_transforms.append(
                preprocess_landmarks(frame.image, frame.rois, out=rows)[1]
            )
            start += rows.shape[0]
        outputs = self._timed(networks.run_landmarks, crops) if total else []
        replies: list[PoseReply] = []
        start = 0
        for frame, transform in zip(frames, crop_transforms, strict=True):
            n = transform.shape[0]
            ts = int(frame.request.timestamp_ms)
            result = (
                postprocess_landmarks(
                    [o[start : start + n] for o in outputs], transform, frame.wh
                )
                if n
                else LandmarkResult.empty()
            )
            start += n
            # The same step as the one-frame backend: kept poses, next frame's ROIs.
            kept, rois = step.advance(result, frame.wh)
            poses = landmarks_to_poses(kept, ts, aspect_from_wh(frame.wh))
            replies.append(PoseReply(ts, poses, rois, frame.wh))
        return replies


def _error(request: PoseRequest, code: ErrorCode | str, detail: str) -> PoseReply:
    return PoseReply(
        int(request.timestamp_ms),
        None,
        no_rois(),
        (0, 0),
        error_code=str(code),
        error_detail=detail,
    )
