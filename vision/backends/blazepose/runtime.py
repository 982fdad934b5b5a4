"""The ONNX Runtime edge of the BlazePose pipeline: options, the two sessions and
`infer`, the only onnxruntime call. `onnxruntime` is imported on first use."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from vision.backends.base import BackendError
from vision.backends.blazepose._common import (
    DETECTOR_INPUT_SIZE,
    F32,
    F64,
    LANDMARK_INPUT_SIZE,
    NUM_LANDMARKS,
    check_image,
    cv2_module,
)
from vision.backends.blazepose.anchors import POSE_ANCHORS, generate_anchors
from vision.backends.blazepose.detector import (
    Detections,
    postprocess_detector,
    preprocess_detector,
    preprocess_detector_regions,
)
from vision.backends.blazepose.graph import prune_outputs
from vision.backends.blazepose.landmarks import (
    LandmarkResult,
    postprocess_landmarks,
    preprocess_landmarks,
)
from vision.backends.blazepose.regions import postprocess_detector_batch

__all__ = [
    "DETECTOR_OUTPUTS",
    "LANDMARK_OUTPUTS",
    "OnnxOptions",
    "PoseNetworks",
    "SharedSessions",
    "infer",
    "open_session",
    "shared_sessions",
]

# Regressors (N, 2254, 12), logits (N, 2254, 1):
DETECTOR_OUTPUTS: Final = ("Identity", "Identity_1")
# Landmarks (N, 195), presence (N, 1), heatmaps (N, 39, 64, 64):
LANDMARK_OUTPUTS: Final = ("Identity", "Identity_1", "Identity_3")
_PROVIDERS: Final = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


@dataclass(frozen=True, slots=True)
class OnnxOptions:
    """Options of `OnnxBackend` (names follow mediapipe's `PoseLandmarkerOptions`).

    Attributes:
        provider: "cpu" or "cuda" (CUDA execution provider; needs onnxruntime-gpu and a
            GPU, else `BackendError`, no silent fallback to CPU).
        num_poses: Most people to return per frame (>= 1).
        min_detection_confidence: Detector score to accept a person, in [0, 1].
        min_presence_confidence: Landmark-model presence to keep (and keep tracking) a
            pose, in [0, 1].
        intra_op_threads: ONNX Runtime intra-op threads per session (0: its default,
            one per physical core). Default 1: on the 2-core box a second thread
            cost ~12 % more CPU per frame (`benchmarks.pose`); several kiosks
            use the cores through batching and workers instead.
        allow_spinning: Let idle ORT threads spin for work (ORT's default). Off:
            spinning threads doubled the process CPU per frame for the same
            frames (38-47 ms vs 18-22 ms on the 2-core box), and ORT's global
            thread pool, which cannot turn it off from Python, did the same.
        tracking: VIDEO-mode tracking (ROI from the previous landmarks); off runs the
            detector on every frame.
        detector_model: Manifest name of the detector ONNX file.
        landmark_model: Manifest name of the landmark ONNX file.
    """

    provider: Literal["cpu", "cuda"] = "cpu"
    num_poses: int = 1
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    intra_op_threads: int = 1
    allow_spinning: bool = False
    tracking: bool = True
    detector_model: str = "pose_detector"
    landmark_model: str = "pose_landmark_full"

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise ValueError(
                f"provider must be one of {sorted(_PROVIDERS)}, got {self.provider!r}"
            )
        for name in ("num_poses", "intra_op_threads"):
            value = getattr(self, name)
            low = 1 if name == "num_poses" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        for name in ("min_detection_confidence", "min_presence_confidence"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0.0 <= value <= 1.0
            ):
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        for name in ("tracking", "allow_spinning"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")


def onnxruntime_module() -> Any:
    """onnxruntime, imported on first use."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendError(
            "the onnx backend needs onnxruntime (a movecoach dependency: "
            "pip install -e . ; for provider='cuda' install onnxruntime-gpu instead): "
            f"{exc}"
        ) from exc
    return onnxruntime


def open_session(
    path: str, options: OnnxOptions, outputs: Sequence[str] | None = None
) -> Any:
    """An `onnxruntime.InferenceSession` on `options.provider`.

    Args:
        path: The model file.
        options: Provider and threads.
        outputs: Graph outputs the pipeline reads; the others, and the nodes only they
            need, are pruned from the graph before the session is built
            (`prune_outputs`: ONNX Runtime would run them on every call). None: all.

    Raises:
        BackendError: onnxruntime is missing, the provider is unavailable or did not
            start, or the model cannot be loaded.
    """
    ort = onnxruntime_module()
    provider = _PROVIDERS[options.provider]
    available = ort.get_available_providers()
    if provider not in available:
        raise BackendError(
            f"provider {options.provider!r} needs {provider}, but this onnxruntime "
            f"offers {available}; install onnxruntime-gpu (and CUDA) or use "
            "provider='cpu'"
        )
    so = ort.SessionOptions()
    # Chosen by measurement on the 2-core box (see `OnnxOptions`): per-session
    # threads that do not spin, sequential execution (ORT_PARALLEL with 2 inter-op
    # threads doubled the CPU), all graph optimizations (basic or extended ones
    # made the landmark model ~1.8x slower).
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    spin = "1" if options.allow_spinning else "0"
    so.add_session_config_entry("session.intra_op.allow_spinning", spin)
    so.add_session_config_entry("session.inter_op.allow_spinning", spin)
    # Errors only: ORT's warnings (e.g. a CUDA library it cannot load) would go to the
    # terminal; a provider that did not start is reported as BackendError below.
    so.log_severity_level = 3
    # CUDA sessions keep the CPU provider for the few ops CUDA lacks (ORT's own split).
    providers = (
        [provider] if provider == _PROVIDERS["cpu"] else [provider, _PROVIDERS["cpu"]]
    )
    try:
        model: str | bytes = path
        if outputs is not None:
            with open(path, "rb") as f:
                model = prune_outputs(f.read(), outputs)
        sess = ort.InferenceSession(model, sess_options=so, providers=providers)
    except Exception as exc:  # ORT raises its own exception types
        raise BackendError(f"expected onnxruntime to load {path}, got {exc}") from exc
    if provider not in sess.get_providers():
        raise BackendError(
            f"onnxruntime could not start {provider} for {path} (session runs on "
            f"{sess.get_providers()}); check the CUDA/cuDNN install or use "
            "provider='cpu'"
        )
    return sess


def infer(
    session: Any,
    tensor: F32,
    output_names: Sequence[str],
    input_name: str | None = None,
) -> list[npt.NDArray[np.float32]]:
    """Run one ONNX Runtime session on a batch (the only onnxruntime call).

    Args:
        session: An `onnxruntime.InferenceSession`.
        tensor: (N, 3, S, S) float32 input batch; C-contiguous float32 goes in
            without a copy.
        output_names: Outputs to compute, in the order returned.
        input_name: The session's input (None: ask the session).

    Returns:
        The requested outputs, each with N rows.
    """
    name = session.get_inputs()[0].name if input_name is None else input_name
    outs = session.run(list(output_names), {name: np.ascontiguousarray(tensor)})
    return [np.asarray(o) for o in outs]


class SharedSessions:
    """The two ORT sessions of one set of options, shared by every `PoseNetworks` of
    this process that uses them (`shared_sessions`).

    ONNX Runtime's `run` may be called from several threads at once on one session;
    what is per caller (input buffers, tracking) stays in `PoseNetworks` and the
    backends. One session per kiosk instead cost ~100 ms of CPU to open a session on
    a busy server, a model copy in memory per kiosk, and ~12 % more CPU per frame on
    the 2-core box: two inference threads serving 6 kiosks each took 10.0-10.3 ms a
    frame with a session pair per kiosk, 8.8-9.0 ms with one pair for all (the
    weights stay in the cache).
    """

    def __init__(self, options: OnnxOptions) -> None:
        from models import model_path

        self.detector_path = model_path(options.detector_model)
        self.landmark_path = model_path(options.landmark_model)
        self.detector: Any = open_session(str(self.detector_path), options)
        self.landmarker: Any = open_session(
            str(self.landmark_path), options, LANDMARK_OUTPUTS
        )
        self.input_names = (
            self.detector.get_inputs()[0].name,
            self.landmarker.get_inputs()[0].name,
        )
        self.anchors = generate_anchors(POSE_ANCHORS)
        self.anchors.setflags(write=False)  # every instance reads the same array


_SESSION_OPTIONS: Final = (
    "provider",
    "intra_op_threads",
    "allow_spinning",
    "detector_model",
    "landmark_model",
)
_sessions: weakref.WeakValueDictionary[tuple[object, ...], SharedSessions] = (
    weakref.WeakValueDictionary()
)
_sessions_lock = threading.Lock()


def shared_sessions(options: OnnxOptions) -> SharedSessions:
    """The process's sessions for `options` (opened on first use; freed once no
    `PoseNetworks` holds them).

    Raises:
        models.ModelIntegrityError: a model file does not match its manifest hash.
        BackendError: the provider is unavailable or a model cannot be loaded.
    """
    key = tuple(getattr(options, name) for name in _SESSION_OPTIONS)
    with _sessions_lock:
        found = _sessions.get(key)
        if found is None:
            found = SharedSessions(options)
            _sessions[key] = found
        return found


class _InputBuffer:
    """One network's input batch, reused from frame to frame (grown to the largest
    batch seen), so pre-processing writes straight into what the model reads."""

    def __init__(self, size: int) -> None:
        self._array: F32 = np.empty((0, 3, size, size), np.float32)

    def take(self, n: int) -> F32:
        """(n, 3, S, S) float32, C-contiguous; valid until the next `take`."""
        if self._array.shape[0] < n:
            self._array = np.empty((n, *self._array.shape[1:]), np.float32)
        return self._array[:n]


class PoseNetworks:
    """The detector and the landmark model, opened once, run on batches.

    Image-level calls (`detect_people`, `detect_people_in_regions`, `landmarks`) are
    stateless: pre-processing, one `infer` per network, post-processing.
    `run_detector` / `run_landmarks` take ready tensors (the Ray batcher stacks the
    frames of several kiosks into one).

    The ORT sessions are the process's `SharedSessions` for these options: any
    number of `PoseNetworks` (one per kiosk's backend) on any threads run the same two
    sessions; each keeps its own input buffers, so one instance is used by one thread
    at a time.

    Attributes:
        detector, landmarker: The two ORT sessions (None once closed).
        anchors: (2254, 4) detector anchors (shared, read-only).
        min_detection_confidence: Detector score to accept a person.

    Args:
        options: Provider, threads, model names, detection threshold.

    Raises:
        models.ModelIntegrityError: a model file does not match its manifest hash.
        BackendError: onnxruntime is missing, the provider is unavailable, or a model
            cannot be loaded.
    """

    def __init__(self, options: OnnxOptions) -> None:
        onnxruntime_module()  # a missing onnxruntime is reported before anything else

        # Process-wide: OpenCV's pool split each 256x256 crop warp over both cores of
        # the 2-core box for ~40 % more CPU per warp than one thread (0.92 vs 0.65 ms,
        # benchmarks.pose); frames run in parallel across inference threads instead.
        cv2_module().setNumThreads(1)

        sessions = shared_sessions(options)
        self._sessions: SharedSessions | None = sessions
        self.detector_path = sessions.detector_path
        self.landmark_path = sessions.landmark_path
        self.detector: Any = sessions.detector
        self.landmarker: Any = sessions.landmarker
        self.anchors = sessions.anchors
        self.min_detection_confidence = options.min_detection_confidence
        self._input_names = sessions.input_names
        self._detector_input = _InputBuffer(DETECTOR_INPUT_SIZE)
        self._landmark_input = _InputBuffer(LANDMARK_INPUT_SIZE)
        # The crop and decoding kernels compile (or load from numba's cache) here,
        # not on the first frame with a person in it.
        preprocess_landmarks(
            np.zeros((2, 2, 3), np.uint8), [[1.0, 1.0, 2.0, 0.0]], size=2
        )
        postprocess_landmarks(
            [
                np.zeros((0, NUM_LANDMARKS * 5), np.float32),
                np.zeros((0, 1), np.float32),
                np.zeros((0, NUM_LANDMARKS, 64, 64), np.float32),
            ],
            np.zeros((0, 2, 3), np.float64),
            (1, 1),
        )

    @property
    def closed(self) -> bool:
        return self.detector is None

    def close(self) -> None:
        """Let go of both sessions (freed once no other `PoseNetworks` of the process
        uses them). Safe to call twice."""
        self.detector = None
        self.landmarker = None
        self._sessions = None

    def check_open(self) -> None:
        """Raises: BackendError: the networks are closed."""
        if self.detector is None or self.landmarker is None:
            raise BackendError("the onnx backend is closed; create a new one")

    def run_detector(self, tensor: F32) -> list[npt.NDArray[np.float32]]:
        """Raw detector outputs (regressors (N, 2254, 12), logits (N, 2254, 1)) for
        a (N, 3, 224, 224) batch."""
        self.check_open()
        return infer(self.detector, tensor, DETECTOR_OUTPUTS, self._input_names[0])

    def run_landmarks(self, tensor: F32) -> list[npt.NDArray[np.float32]]:
        """Raw landmark outputs (landmarks (N, 195), presence (N, 1), heatmaps
        (N, 39, 64, 64)) for a (N, 3, 256, 256) batch."""
        self.check_open()
        return infer(self.landmarker, tensor, LANDMARK_OUTPUTS, self._input_names[1])

    def detector_batch(self, n: int) -> F32:
        """The reused (n, 3, 224, 224) detector input to pre-process into; valid
        until the next call."""
        return self._detector_input.take(n)

    def landmark_batch(self, n: int) -> F32:
        """The reused (n, 3, 256, 256) landmark input to pre-process into; valid
        until the next call."""
        return self._landmark_input.take(n)

    def warm_up(self) -> None:
        """Run both networks once (ORT builds its kernels on the first call)."""
        self.run_detector(np.full((1, 3, 224, 224), -1.0, np.float32))
        self.run_landmarks(np.zeros((1, 3, 256, 256), np.float32))

    def detect_people(
        self, image_bgr: npt.NDArray[np.uint8], max_detections: int | None = None
    ) -> Detections:
        """The detector alone: people in image px, best first.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            max_detections: Most detections to return (None: every one above
                `min_detection_confidence` after weighted NMS).
        """
        self.check_open()
        tensor, transform = preprocess_detector(image_bgr, out=self.detector_batch(1))
        return postprocess_detector(
            self.run_detector(tensor),
            transform,
            self.anchors,
            min_score=self.min_detection_confidence,
            max_detections=max_detections,
        )

    def detect_people_in_regions(
        self, image_bgr: npt.NDArray[np.uint8], regions_xyxy: npt.ArrayLike
    ) -> Detections:
        """The detector on several regions of a frame in one batch: one detection per
        person in image px, best first (`postprocess_detector_batch`).

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            regions_xyxy: (R, 4) px, e.g. the whole frame plus `tile_grid` tiles.
        """
        self.check_open()
        wh = check_image(image_bgr)
        regions = np.asarray(regions_xyxy, np.float64).reshape(-1, 4)
        if regions.shape[0] == 0:
            return Detections.empty()
        tensor, transforms = preprocess_detector_regions(
            image_bgr, regions, out=self.detector_batch(regions.shape[0])
        )
        return postprocess_detector_batch(
            self.run_detector(tensor),
            transforms,
            regions,
            self.anchors,
            wh,
            min_score=self.min_detection_confidence,
        )

    def landmarks(
        self, image_bgr: npt.NDArray[np.uint8], rois: npt.ArrayLike
    ) -> LandmarkResult:
        """The landmark model on every ROI of a frame in one batch.

        Args:
            image_bgr: (H, W, 3) uint8 BGR.
            rois: (N, 4) [cx_px, cy_px, side_px, rotation_rad].
        """
        self.check_open()
        wh = check_image(image_bgr)
        r: F64 = np.asarray(rois, np.float64).reshape(-1, 4)
        if r.shape[0] == 0:
            return LandmarkResult.empty()
        tensor, transforms = preprocess_landmarks(
            image_bgr, r, out=self.landmark_batch(r.shape[0])
        )
        return postprocess_landmarks(self.run_landmarks(tensor), transforms, wh)
