"""MediaPipe Tasks `PoseLandmarker` backend (edge): BlazePose-33 in VIDEO running mode.

The model is the offline bundle `models/pose_landmarker_full.task`, found and
hash-checked by `models.model_path`. `mediapipe` is imported on first use, and its
`mp.Image` and result objects stay inside this module: `detect` returns `Poses`.

Landmarks keep MediaPipe's normalized coordinates: x, y in [0, 1] of the image width
and height (values just outside happen for joints out of frame), and z its normalized
depth relative to the hips, on the same scale as x.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vision._closeable import Closeable
from vision._stderr import captured_native_stderr
from vision.backends.base import BackendError, check_image, options_or_default
from vision.clock import VideoClock
from vision.types import Poses, Skeleton, aspect_from_wh

__all__ = ["MediaPipeOptions", "MediaPipeTasksBackend"]

_NUM_JOINTS: Final[int] = Skeleton.BLAZEPOSE_33.num_joints


@dataclass(frozen=True, slots=True)
class MediaPipeOptions:
    """Options of `MediaPipeTasksBackend` (mirrors mediapipe's `PoseLandmarkerOptions`).

    Attributes:
        num_poses: Most people to find per image (>= 1). Above 1 the Tasks API finds
            only large people and can return near-duplicates (see the pose recipe).
        min_pose_detection_confidence: Detector score to accept a person, in [0, 1].
        min_pose_presence_confidence: Landmark-model presence score to keep a pose.
        min_tracking_confidence: Below it, VIDEO mode re-runs the detector.
        model: File name in `models/` (checked against `models/manifest.toml`).
    """

    num_poses: int = 1
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    model: str = "pose_landmarker_full.task"

    def __post_init__(self) -> None:
        if (
            isinstance(self.num_poses, bool)
            or not isinstance(self.num_poses, int)
            or self.num_poses < 1
        ):
            raise ValueError(f"num_poses must be an int >= 1, got {self.num_poses!r}")
        for name in (
            "min_pose_detection_confidence",
            "min_pose_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.model, str) or not self.model.endswith(".task"):
            raise ValueError(
                f"model must be a .task file name in models/, got {self.model!r}"
            )


class _Landmark(Protocol):
    x: float
    y: float
    z: float
    visibility: float | None
    presence: float | None


def landmarks_to_arrays(
    pose_landmarks: Sequence[Sequence[_Landmark]],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Turn MediaPipe's per-pose landmark lists into arrays (pure; no mediapipe import).

    Args:
        pose_landmarks: N poses of 33 objects with x, y, z, visibility, presence.

    Returns:
        xyz: (N, 33, 3) float32, normalized image coordinates.
        visibility: (N, 33) float32 in [0, 1] (a missing value reads as 0).
        scores: (N,) float32, the mean landmark presence of each pose.

    Raises:
        BackendError: a pose does not have 33 landmarks.
    """
    n = len(pose_landmarks)
    table = np.empty((n, _NUM_JOINTS, 5), np.float32)  # x, y, z, visibility, presence
    for i, landmarks in enumerate(pose_landmarks):
        if len(landmarks) != _NUM_JOINTS:
            raise BackendError(
                f"expected {_NUM_JOINTS} landmarks per pose from MediaPipe, "
                f"got {len(landmarks)}"
            )
        # One list -> array conversion per pose; item-wise numpy writes cost 5x more.
        table[i] = [
            (lm.x, lm.y, lm.z, lm.visibility or 0.0, lm.presence or 0.0)
            for lm in landmarks
        ]
    xyz = np.ascontiguousarray(table[..., :3])
    vis = np.ascontiguousarray(table[..., 3])
    presence = table[..., 4]
    np.clip(vis, 0.0, 1.0, out=vis)
    scores = np.clip(presence.mean(axis=1), 0.0, 1.0).astype(np.float32)
    return xyz, vis, scores


def preprocess(image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Check a BGR frame and convert it to the contiguous RGB MediaPipe wants.

    Args:
        image_bgr: (H, W, 3) uint8.

    Returns:
        (H, W, 3) uint8 RGB, C-contiguous.

    Raises:
        ValueError: the image is not (H, W, 3) uint8.
    """
    check_image(image_bgr)
    return np.asarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), np.uint8)


def _close_landmarker(landmarker: Any) -> None:
    with contextlib.suppress(Exception):
        landmarker.close()


class MediaPipeTasksBackend(Closeable):
    """BlazePose-33 through MediaPipe Tasks `PoseLandmarker` (VIDEO mode).

    Args:
        options: Thresholds, number of poses and model file name.

    Raises:
        models.ModelIntegrityError: the model file does not match its manifest hash.
        BackendError: mediapipe is not installed, or the landmarker cannot be built
            (the message includes MediaPipe's own log).
    """

    name: str = "mediapipe"
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33

    def __init__(self, options: MediaPipeOptions | None = None) -> None:
        self.options = options_or_default(options, MediaPipeOptions)
        from models import model_path

        self.model_path = model_path(self.options.model)
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError as exc:
            raise BackendError(
                "the mediapipe backend needs the 'mediapipe' package (pip install "
                f"'mediapipe==1.2.2', part of movecoach's dependencies): {exc}"
            ) from exc
        self._mp = mp
        task_options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.options.num_poses,
            min_pose_detection_confidence=float(
                self.options.min_pose_detection_confidence
            ),
            min_pose_presence_confidence=float(
                self.options.min_pose_presence_confidence
            ),
            min_tracking_confidence=float(self.options.min_tracking_confidence),
            output_segmentation_masks=False,
        )
        # MediaPipe logs a screenful at start-up; keep it for errors and debugging.
        with captured_native_stderr() as log:
            try:
                landmarker = vision.PoseLandmarker.create_from_options(task_options)
            except (RuntimeError, ValueError, OSError) as exc:
                failure: Exception | None = exc
            else:
                failure = None
        self.startup_log = "".join(log)
        if failure is not None:
            tail = " | ".join(self.startup_log.strip().splitlines()[-3:])
            raise BackendError(
                f"expected MediaPipe to load {self.model_path}, got {failure}"
                + (f" (mediapipe log: {tail})" if tail else "")
            ) from failure
        self._landmarker: Any = landmarker
        # 1.2.2's PoseLandmarker.__del__ raises at interpreter exit; close it before.
        self._finalizer = weakref.finalize(self, _close_landmarker, landmarker)
        self.clock = VideoClock("VIDEO mode")
        self._quiet = True

    def infer(
        self, image_rgb: npt.NDArray[np.uint8], timestamp_ms: int
    ) -> tuple[
        npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]
    ]:
        """Run the landmarker on an RGB frame (the only MediaPipe call).

        Args:
            image_rgb: (H, W, 3) uint8 RGB, C-contiguous (from `preprocess`).
            timestamp_ms: Capture time; must be after the previous call's.

        Returns:
            xyz (N, 33, 3), visibility (N, 33) and scores (N,), float32
            (see `landmarks_to_arrays`).

        Raises:
            ValueError: the timestamp does not increase.
            BackendError: the backend is closed.
        """
        if self._landmarker is None:
            raise BackendError("the mediapipe backend is closed; create a new one")
        ts = self.clock.check(timestamp_ms)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image_rgb)
        if self._quiet:
            # The landmark stage logs a warning the first time it runs (the first
            # frame with a person); keep it out of the terminal as well.
            with captured_native_stderr() as log:
                result = self._landmarker.detect_for_video(image, ts)
            self.startup_log += "".join(log)
            self._quiet = not result.pose_landmarks
        else:
            result = self._landmarker.detect_for_video(image, ts)
        self.clock.advance(ts)
        return landmarks_to_arrays(result.pose_landmarks)

    def postprocess(
        self,
        arrays: tuple[
            npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]
        ],
        timestamp_ms: int,
        aspect_wh: float = 1.0,
    ) -> Poses:
        """Wrap `infer`'s arrays as `Poses` (track IDs -1) of an image of that
        width / height."""
        xyz, visibility, scores = arrays
        return Poses(
            xyz,
            visibility,
            np.full(xyz.shape[0], -1, np.int64),
            scores,
            int(timestamp_ms),
            self.skeleton,
            aspect_wh,
        )

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        """Find up to `options.num_poses` people in one frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            timestamp_ms: Capture time; strictly greater than the previous call's.

        Returns:
            `Poses` with normalized landmarks; empty when nobody is found.

        Raises:
            ValueError: a malformed image or a timestamp that does not increase.
            BackendError: the backend is closed.
        """
        self.clock.check(timestamp_ms)
        image_rgb = preprocess(image_bgr)
        h, w = image_rgb.shape[:2]
        return self.postprocess(
            self.infer(image_rgb, timestamp_ms),
            int(timestamp_ms),
            aspect_from_wh((w, h)),
        )

    def close(self) -> None:
        """Release the landmarker. Safe to call twice."""
        if self._landmarker is not None:
            self._landmarker = None
            self._finalizer()
