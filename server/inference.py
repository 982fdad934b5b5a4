"""Pose inference off the event loop, one worker thread per core, latest frame wins.

Every websocket session gets a `FrameStream`. The stream holds at most one frame waiting
for inference: a newer frame replaces it and the replaced one is counted as dropped
(mediapipe LIVE_STREAM "may drop the input images"); the server never builds a backlog.
The worker threads serve the streams round-robin, each stream on one thread at a time,
and a stream is only eligible again once its previous result has been taken by its
session (`task_done`), so a client that stops reading its socket stalls only itself: its
frames keep replacing each other while every other stream is served as usual. One
thread per core (single-threaded ONNX Runtime sessions) uses every core for several
kiosks; the model, JPEG decoding and warps release the GIL.

Each stream uses its own backend instance from a small pool (pose tracking in VIDEO
mode carries state from frame to frame and needs increasing timestamps, so two kiosks
must never share one). A pooled backend is re-used by the next session with its
timestamps rebased to start past the last one it took; a backend that failed is
closed after its session, never re-used. Timestamps are bounded (`accept_timestamp`),
so no session can push a backend's clock where MediaPipe's int64 microseconds wrap.

JPEG decoding happens in the worker too, so frames that are dropped are never decoded.

`PoseWorker` and `PoseStream` are what the app and the websocket loops use of
inference; `InferenceWorker`/`FrameStream` here, the Ray Serve client
(`server.distributed.client`) and the metered wrappers (`server.metrics`) implement
them.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from server.failures import log_repeated_failure
from server.schemas import ErrorCode, ProtocolError
from server.schemas.protocol import jpeg_size_wh
from server.streams import BaseFrameStream, FrameJob, InferenceResult, StreamStats
from server.timestamps import (
    BACKEND_CLOCK_LIMIT_MS,
    MAX_TIMESTAMP_MS,
    MAX_TIMESTAMP_STEP_MS,
    ShiftedBackend,
    accept_timestamp,
)
from vision.backends.base import FollowsPeople, PoseBackend
from vision.types import PoseFrame, Poses, Skeleton, aspect_from_wh

__all__ = [
    "BACKEND_CLOCK_LIMIT_MS",
    "DEGRADED_FOR_S",
    "MAX_TIMESTAMP_MS",
    "MAX_TIMESTAMP_STEP_MS",
    "FrameStream",
    "InferenceResult",
    "InferenceWorker",
    "PoseStream",
    "PoseWorker",
    "StreamStats",
    "accept_timestamp",
    "decode_jpeg",
    "default_threads",
    "select_subject",
]

log = logging.getLogger(__name__)

SUBJECT_MIN_VISIBILITY = 0.5
"""Joints at or above this visibility outline a candidate in `select_subject`."""

CENTRALITY_WEIGHT = 0.5
"""How much being off-centre costs in `select_subject`: 0 = size only; at 0.5 a person
touching a corner counts half as large as the same person in the middle."""


def select_subject(
    poses: Poses, *, min_visibility: float = SUBJECT_MIN_VISIBILITY
) -> PoseFrame:
    """The kiosk's subject among everyone found: the largest, most central person.

    Each candidate is scored by the area of the box around its visible joints (clipped
    to the image) times `1 - CENTRALITY_WEIGHT * d`, where d in [0, 1] is the distance
    of the box centre from the image centre over the half-diagonal. Stateless: no
    hysteresis between frames (a kiosk has one person in front of it).

    Args:
        poses: Everyone in one image; xyz (N, J, 3) float32 normalized coordinates.
        min_visibility: Joints below it do not count towards a candidate's box.

    Returns:
        The chosen person, or `PoseFrame.missing(poses.timestamp_ms)` when N == 0 or
        nobody has a visible joint.
    """
    n = len(poses)
    if n == 0:
        return PoseFrame.missing(poses.timestamp_ms, poses.skeleton, poses.aspect_wh)
    xy = poses.xyz[:, :, :2]
    usable = (poses.visibility >= min_visibility) & np.isfinite(xy).all(
        axis=2
    )  # (N, J)
    if n == 1:
        return (
            poses[0]
            if usable[0].any()
            else PoseFrame.missing(poses.timestamp_ms, poses.skeleton, poses.aspect_wh)
        )
    clipped = np.clip(np.where(usable[:, :, None], xy, np.nan), 0.0, 1.0)
    scores = np.full(n, -1.0)
    for i in range(n):
        if not usable[i].any():
            continue
        lo = np.nanmin(clipped[i], axis=0)
        hi = np.nanmax(clipped[i], axis=0)
        area = float(np.prod(hi - lo))
        centre_distance = float(np.hypot(*((lo + hi) / 2 - 0.5))) / np.sqrt(0.5)
        scores[i] = area * (1.0 - CENTRALITY_WEIGHT * min(centre_distance, 1.0))
    best = int(np.argmax(scores))
    if scores[best] < 0:
        return PoseFrame.missing(poses.timestamp_ms, poses.skeleton, poses.aspect_wh)
    return poses[best]


MAX_IMAGE_SIDE_PX = 16384
"""Widest and tallest frame decoded (as `OpenMessage.resolution_wh` allows). MediaPipe
aborts the whole process (an OpenCV assertion in its C++ remap) on a side of 32767 or
more, which a bit-flipped JPEG header can claim."""


def decode_jpeg(jpeg: bytes) -> npt.NDArray[np.uint8]:
    """(H, W, 3) uint8 BGR image of a JPEG.

    Raises:
        ProtocolError: `bad_image` when the bytes do not decode to an image, or to
            one with a side above `MAX_IMAGE_SIDE_PX`.
    """
    width, height = jpeg_size_wh(jpeg)  # before the decoder allocates anything
    if max(width, height) > MAX_IMAGE_SIDE_PX:
        raise ProtocolError(
            ErrorCode.BAD_IMAGE,
            f"expected an image of at most {MAX_IMAGE_SIDE_PX} px a side, got "
            f"{width}x{height}",
        )
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ProtocolError(
            ErrorCode.BAD_IMAGE,
            f"expected JPEG bytes, got {len(jpeg)} bytes that do not decode "
            f"(starting {jpeg[:4].hex()})",
        )
    if max(image.shape[:2]) > MAX_IMAGE_SIDE_PX:
        raise ProtocolError(
            ErrorCode.BAD_IMAGE,
            f"expected an image of at most {MAX_IMAGE_SIDE_PX} px a side, got "
            f"{image.shape[1]}x{image.shape[0]}",
        )
    return np.asarray(image, np.uint8)


DEGRADED_FOR_S: Final[float] = 300.0
"""`/health` says inference is degraded this long after a backend failed."""


@runtime_checkable
class PoseStream(Protocol):
    """One session's way into inference: `submit` frames, `await next_result()`,
    then `task_done()` once the result has been used."""

    @property
    def stats(self) -> StreamStats:
        """Its frame counters (updated in place)."""

    @property
    def skeleton(self) -> Skeleton:
        """Joint layout of the poses it returns."""

    def submit(self, timestamp_ms: int, jpeg: bytes, received_ns: int) -> None:
        """Offer a frame (latest wins; `ProtocolError` for a rejected one)."""

    async def next_result(self) -> InferenceResult:
        """Wait for the next result of this stream."""

    def task_done(self, processed: bool) -> None:
        """The session used the last result (`processed`: it produced a pose)."""

    async def drain(self) -> None:
        """Wait until the waiting frame (if any) has been processed and used."""

    def close(self) -> None:
        """Forget any waiting frame and free the stream. Idempotent."""


@runtime_checkable
class PoseWorker(Protocol):
    """What the app needs of inference: its lifecycle (the lifespan calls `load`,
    `start`, `stop`), its state for the health routes, and one stream per session."""

    @property
    def backend_name(self) -> str | None:
        """The model's name once known."""

    @property
    def warm(self) -> bool:
        """The model is loaded (or the inference deployment answered)."""

    @property
    def running(self) -> bool:
        """Frames are being served."""

    @property
    def degraded(self) -> str | None:
        """Why inference is degraded (a backend failed lately), else None."""

    def load(self) -> None:
        """Build and run the model once (blocking: call from a thread)."""

    def start(self) -> None:
        """Start serving (on the event loop)."""

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and free the model."""

    async def open_stream(self) -> PoseStream:
        """A stream for one session."""

    async def deployment_health(self) -> dict[str, Any] | None:
        """The inference deployment's own health answer (raises when unreachable);
        None for in-process inference."""


@runtime_checkable
class _Resettable(Protocol):
    def reset(self) -> None: ...


class FrameStream(BaseFrameStream):
    """One session's way into the worker: `submit` frames, `await next_result()`,
    then `task_done()` once the result has been used.

    `submit`, `next_result`, `task_done`, `drain` and `close` are called on the event
    loop; the worker thread touches only the fields guarded by the worker's lock.
    """

    def __init__(
        self,
        worker: InferenceWorker,
        backend: ShiftedBackend,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__()  # its waiting frame, busy and closed: under worker._cond
        self._worker = worker
        self._backend: ShiftedBackend | None = backend
        # Decided once: a failed runtime Protocol check costs ~14 us, every frame.
        inner = backend.backend
        self._follower = inner if isinstance(inner, FollowsPeople) else None
        self._loop = loop
        self._in_flight = False  # the worker is running it right now (worker._cond)

    @property
    def skeleton(self) -> Skeleton:
        backend = self._backend
        return (
            backend.backend.skeleton if backend is not None else Skeleton.BLAZEPOSE_33
        )

    def submit(self, timestamp_ms: int, jpeg: bytes, received_ns: int) -> None:
        """Offer a frame; it replaces (and drops) any frame still waiting.

        Raises:
            ProtocolError: `non_monotonic` when timestamp_ms is not above the previous
                accepted frame's (the frame is rejected, the stream goes on).
        """
        accept_timestamp(self, timestamp_ms)
        self._idle.clear()
        self._worker._offer(self, FrameJob(timestamp_ms, jpeg, received_ns))

    def task_done(self, processed: bool) -> None:
        """The session has used the last result (`processed`: it produced a pose;
        else it was answered with an error); the stream may be scheduled again."""
        self._used(processed)
        if self._worker._release(self):
            self._idle.set()

    def close(self) -> None:
        """Forget any waiting frame, give the backend back to the pool. Idempotent."""
        self._worker._close_stream(self)

    def _deliver(self, result: InferenceResult) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.call_soon_threadsafe(self._results.put_nowait, result)
        except RuntimeError:  # loop shut down between the check and the call
            pass

    def _run(self, job: FrameJob) -> InferenceResult:
        started = time.perf_counter_ns()
        backend = self._backend
        wh = (0, 0)
        poses: Poses | None = None
        lineage: npt.NDArray[np.int64] | None = None
        try:
            if backend is None:
                raise RuntimeError("stream closed")
            image = decode_jpeg(job.jpeg)
            wh = (int(image.shape[1]), int(image.shape[0]))
            poses = backend.detect(image, job.timestamp_ms)
            if self._follower is not None:
                lineage = self._follower.last_lineage.copy()
            aspect_wh = aspect_from_wh(wh)
            if poses.aspect_wh != aspect_wh:  # the decoded image's size is the truth
                poses = replace(poses, aspect_wh=aspect_wh)
            frame = select_subject(poses)
            error = None
            candidates = len(poses)
        except ProtocolError as exc:
            frame, candidates, error, poses = None, 0, exc, None
        except (
            Exception
        ) as exc:  # a backend failing on one frame must not end the stream
            log_repeated_failure(
                log, exc, "pose backend failed on frame %d", job.timestamp_ms
            )
            if backend is not None:  # not a stream closed under it
                self._worker._failed(exc)
            frame, candidates, poses = None, 0, None
            error = ProtocolError(
                ErrorCode.INFERENCE_FAILED,
                f"pose inference failed on frame {job.timestamp_ms}: "
                f"{type(exc).__name__}: {exc}",
            )
        elapsed_ms = (time.perf_counter_ns() - started) / 1e6
        return InferenceResult(
            job.timestamp_ms,
            job.received_ns,
            frame,
            candidates,
            wh,
            elapsed_ms,
            error,
            poses,
            lineage if poses is not None else None,
        )


class InferenceWorker:
    """The threads that run pose inference for every session.

    Args:
        backend_factory: Builds a fresh backend (called off the event loop).
        max_idle_backends: Backends kept for re-use after their session ends.
        reset_backends: A pooled backend's `reset()` (where it has one) is called
            before its next session, so it tracks nobody from the last one (the
            group screen's multi-person backend).
        threads: Worker threads (None: one per core this process may run on).
    """

    def __init__(
        self,
        backend_factory: Callable[[], PoseBackend],
        *,
        max_idle_backends: int = 4,
        reset_backends: bool = False,
        threads: int | None = None,
    ) -> None:
        self._factory = backend_factory
        self._max_idle = max_idle_backends
        self._reset = reset_backends
        self.threads = default_threads() if threads is None else threads
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self._cond = threading.Condition()
        self._runnable: collections.deque[FrameStream] = collections.deque()
        self._pool: list[ShiftedBackend] = []
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self.backend_name: str | None = None
        self.warm = False
        self._last_failure: tuple[float, str] | None = None  # (monotonic s, why)

    # --- lifecycle (lifespan) -----------------------------------------------------

    def load(self) -> None:
        """Build the first backend and run it once (blocking; call from a thread).

        Raises:
            Whatever the factory raises (missing model, wrong hash, bad options).
        """
        backend = ShiftedBackend(self._factory())
        self.backend_name = backend.backend.name
        blank = np.full((256, 256, 3), 127, np.uint8)
        backend.detect(blank, 0)  # the first call builds the graph; pay it now
        with self._cond:
            self._pool.append(backend)
        self.warm = True

    def start(self) -> None:
        if self._workers:
            return
        self._stopping = False
        self._workers = [
            threading.Thread(
                target=self._loop, name=f"movecoach-inference-{i}", daemon=True
            )
            for i in range(self.threads)
        ]
        for thread in self._workers:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the threads after the frames in progress; close every pooled backend."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout_s
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._workers = []
        with self._cond:
            pool, self._pool = self._pool, []
        for shifted in pool:
            _close_quietly(shifted.backend)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._workers)

    @property
    def degraded(self) -> str | None:
        last = self._last_failure
        if last is None or time.monotonic() - last[0] > DEGRADED_FOR_S:
            return None
        return last[1]

    def _failed(self, exc: Exception) -> None:
        self._last_failure = (
            time.monotonic(),
            f"a pose backend failed: {type(exc).__name__}: {exc}",
        )

    async def deployment_health(self) -> dict[str, Any] | None:
        return None  # in-process: `warm`, `running` and `degraded` say it all

    # --- streams ------------------------------------------------------------------

    async def open_stream(self) -> FrameStream:
        """A stream with its own backend (pooled, or built off the event loop)."""
        with self._cond:
            backend = self._pool.pop() if self._pool else None
        if backend is None:
            backend = ShiftedBackend(await asyncio.to_thread(self._factory))
        elif self._reset and isinstance(backend.backend, _Resettable):
            backend.backend.reset()
        backend.rebase = True
        return FrameStream(self, backend, asyncio.get_running_loop())

    def _offer(self, stream: FrameStream, job: FrameJob) -> None:
        with self._cond:
            if stream._closed:
                return
            stream._wait(job)
            self._schedule(stream)

    def _schedule(self, stream: FrameStream) -> None:
        # Caller holds the lock. A stream is queued once, and only while it has a frame
        # waiting and its previous result has been used.
        if (
            stream._pending is not None
            and not stream._busy
            and stream not in self._runnable
        ):
            self._runnable.append(stream)
            self._cond.notify()

    def _release(self, stream: FrameStream) -> bool:
        """After task_done: reschedule; True when the stream is idle."""
        with self._cond:
            stream._busy = False
            self._schedule(stream)
            return stream._pending is None

    def _close_stream(self, stream: FrameStream) -> None:
        with self._cond:
            if not stream._close_slot():
                return
            try:
                self._runnable.remove(stream)
            except ValueError:
                pass
            if not stream._in_flight:
                self._recycle(stream)
        stream._idle.set()

    def _recycle(self, stream: FrameStream) -> None:
        # Caller holds the lock; the backend is not in use.
        backend, stream._backend = stream._backend, None
        if backend is None:
            return
        if (
            not backend.failed
            and len(self._pool) < self._max_idle
            and not self._stopping
        ):
            self._pool.append(backend)
        else:
            _close_quietly(backend.backend)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._runnable and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                stream = self._runnable.popleft()
                job, stream._pending = stream._pending, None
                stream._busy = stream._in_flight = True
            assert job is not None
            result = stream._run(job)
            with self._cond:
                stream._in_flight = False
                closed = stream._closed
                if closed:
                    self._recycle(stream)
            if not closed:
                stream._deliver(result)


def default_threads() -> int:
    """Inference threads by default: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _close_quietly(backend: PoseBackend) -> None:
    try:
        backend.close()
    except Exception:
        log.exception("closing pose backend %r failed", backend.name)
