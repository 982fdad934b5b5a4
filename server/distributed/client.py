"""The ingress side of remote inference: a worker that `server.app.Runtime` and the
websocket loop (`server.ws`) use exactly like the in-process `InferenceWorker`, but
whose frames go to the pose inference deployment.

Both workers implement `server.inference.PoseWorker` (and their streams
`PoseStream`), what the app and the websocket loops call. So the session logic
(engine, recording, wire messages) is the same code in one process and under Ray
Serve; only where the model runs changes.

Latest frame wins, per stream, as in `server.inference`: at most one frame of a stream
is in flight to the inference deployment and at most one waits; a newer frame replaces
the waiting one (counted as dropped). Streams do not wait for each other: their frames
meet in the deployment's batches (`@serve.batch`).

Tracking state (the ROIs of the people found in the stream's previous frame) lives in
the stream and travels with each request, so any inference replica can serve any
frame; a failed call resets it (the next frame runs the detector).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final, Protocol

from server.distributed.batching import PoseReply, PoseRequest, no_rois
from server.inference import InferenceResult, accept_timestamp, select_subject
from server.schemas import ErrorCode, ProtocolError
from server.streams import BaseFrameStream, FrameJob
from vision.types import Skeleton

__all__ = [
    "INFER_TIMEOUT_S",
    "PoseService",
    "RemoteFrameStream",
    "RemoteInferenceWorker",
]

log = logging.getLogger(__name__)

INFER_TIMEOUT_S: Final[float] = 10.0
"""Longest a frame waits for the inference deployment before it counts as failed."""

PROBE_INTERVAL_S: Final[float] = 5.0
"""How often the worker asks the inference deployment whether it is healthy."""

UNREADY_AFTER_FAILURES: Final[int] = 3
"""Consecutive failed calls (frames or probes) after which the ingress is not ready."""


class PoseService(Protocol):
    """The inference deployment as the ingress sees it (`HandleService` wraps a Ray
    Serve `DeploymentHandle`; tests pass fakes)."""

    name: str

    async def infer(self, request: PoseRequest) -> PoseReply: ...

    async def health(self) -> dict[str, Any]: ...

    def wait_ready(self, timeout_s: float) -> dict[str, Any]: ...


class RemoteFrameStream(BaseFrameStream):
    """`server.inference.PoseStream` over a `PoseService`; see the module
    docstring. Every method is called on the event loop."""

    def __init__(self, worker: RemoteInferenceWorker) -> None:
        super().__init__()
        self._worker = worker
        self._task: asyncio.Task[None] | None = None
        self._rois = no_rois()

    @property
    def skeleton(self) -> Skeleton:
        return Skeleton.BLAZEPOSE_33

    def submit(self, timestamp_ms: int, jpeg: bytes, received_ns: int) -> None:
        """Offer a frame; it replaces (and drops) any frame still waiting.

        Raises:
            ProtocolError: `non_monotonic` when timestamp_ms is not above the previous
                accepted frame's (the frame is rejected, the stream goes on).
        """
        accept_timestamp(self, timestamp_ms)
        if self._closed:
            return
        self._idle.clear()
        self._wait(FrameJob(timestamp_ms, jpeg, received_ns))
        self._kick()

    def task_done(self, processed: bool) -> None:
        """The session used the last result; the next waiting frame may go."""
        self._used(processed)
        self._busy = False
        self._kick()
        if not self._busy:
            self._idle.set()

    def close(self) -> None:
        """Forget any waiting frame; a frame in flight is discarded. Idempotent."""
        if not self._close_slot():
            return
        self._idle.set()
        self._worker._streams.discard(self)

    def _kick(self) -> None:
        if self._busy or self._closed or self._pending is None:
            return
        job, self._pending = self._pending, None
        self._busy = True
        self._task = asyncio.get_running_loop().create_task(
            self._run(job), name=f"infer-{job.timestamp_ms}"
        )

    async def _run(self, job: FrameJob) -> None:
        started = time.perf_counter_ns()
        request = PoseRequest(job.jpeg, job.timestamp_ms, self._rois)
        try:
            reply = await asyncio.wait_for(
                self._worker.service.infer(request), self._worker.timeout_s
            )
            reply.raise_for_error()
        except ProtocolError as exc:
            self._worker._outcome(ok=exc.code != ErrorCode.INFERENCE_FAILED)
            self._rois = no_rois()
            result = self._failed(job, started, exc)
        except Exception as exc:  # replica gone, timeout, backpressure: this frame only
            self._worker._outcome(ok=False)
            log.warning(
                "inference of frame %d failed: %s: %s",
                job.timestamp_ms,
                type(exc).__name__,
                exc,
            )
            self._rois = no_rois()
            result = self._failed(
                job,
                started,
                ProtocolError(
                    ErrorCode.INFERENCE_FAILED,
                    f"pose inference failed on frame {job.timestamp_ms}: "
                    f"{type(exc).__name__}: {exc}",
                ),
            )
        else:
            self._worker._outcome(ok=True)
            assert reply.poses is not None
            self._rois = reply.rois
            frame = select_subject(reply.poses)
            result = InferenceResult(
                job.timestamp_ms,
                job.received_ns,
                frame,
                len(reply.poses),
                reply.image_wh,
                (time.perf_counter_ns() - started) / 1e6,
            )
        if self._closed:
            return
        self._results.put_nowait(result)

    @staticmethod
    def _failed(job: FrameJob, started: int, error: ProtocolError) -> InferenceResult:
        return InferenceResult(
            job.timestamp_ms,
            job.received_ns,
            None,
            0,
            (0, 0),
            (time.perf_counter_ns() - started) / 1e6,
            error,
        )


class RemoteInferenceWorker:
    """`server.inference.PoseWorker` whose streams run on a `PoseService` (the
    inference deployment).

    Args:
        service: The inference deployment (`HandleService`) or a fake.
        ready_timeout_s: Longest `load` waits for the deployment to answer; it returns
            anyway (not warm) and the background probe marks it warm later.
        timeout_s: Per-frame limit (`INFER_TIMEOUT_S`).
        probe_interval_s: Health probe period (`PROBE_INTERVAL_S`).
    """

    def __init__(
        self,
        service: PoseService,
        *,
        ready_timeout_s: float = 60.0,
        timeout_s: float = INFER_TIMEOUT_S,
        probe_interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        self.service = service
        self.ready_timeout_s = ready_timeout_s
        self.timeout_s = timeout_s
        self.probe_interval_s = probe_interval_s
        self.backend_name: str | None = service.name
        self.warm = False
        self.remote: dict[str, Any] = {}  # the deployment's last health answer
        self._failures = 0
        self._started = False
        self._probe: asyncio.Task[None] | None = None
        self._streams: set[RemoteFrameStream] = set()

    # --- lifecycle (the app's lifespan) ---------------------------------------------

    def load(self) -> None:
        """Wait (blocking, call from a thread) until the deployment answers."""
        try:
            self.remote = self.service.wait_ready(self.ready_timeout_s)
        except Exception as exc:
            log.warning(
                "inference deployment not ready after %.0f s (%s: %s); "
                "starting anyway, readiness follows its health probe",
                self.ready_timeout_s,
                type(exc).__name__,
                exc,
            )
            return
        self.warm = True

    def start(self) -> None:
        """Start the health probe (call on the event loop)."""
        if self._started:
            return
        self._started = True
        self._probe = asyncio.get_running_loop().create_task(
            self._probe_loop(), name="inference-probe"
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the probe and close the streams still open (on their event loop:
        the lifespan calls this from a thread)."""
        self._started = False
        probe, self._probe = self._probe, None
        if probe is None:
            return
        streams = list(self._streams)

        def stop_on_loop() -> None:
            probe.cancel()
            for stream in streams:
                stream.close()

        loop = probe.get_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop_on_loop()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                loop.call_soon_threadsafe(stop_on_loop)

    @property
    def running(self) -> bool:
        """Started, and the deployment answered lately."""
        return self._started and self._failures < UNREADY_AFTER_FAILURES

    @property
    def degraded(self) -> str | None:
        """None: the deployment reports on its replicas (`/health/inference`)."""
        return None

    async def open_stream(self) -> RemoteFrameStream:
        stream = RemoteFrameStream(self)
        self._streams.add(stream)
        return stream

    async def health(self) -> dict[str, Any]:
        """The deployment's own health answer (raises when it cannot be reached)."""
        info = await asyncio.wait_for(self.service.health(), self.timeout_s)
        self.remote = info
        return info

    async def deployment_health(self) -> dict[str, Any] | None:
        return await self.health()

    # --- internals ------------------------------------------------------------------

    def _outcome(self, *, ok: bool) -> None:
        if ok:
            self._failures = 0
            self.warm = True
        else:
            self._failures += 1

    async def _probe_loop(self) -> None:
        while True:
            try:
                info = await self.health()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outcome(ok=False)
                log.warning(
                    "inference health probe failed: %s: %s", type(exc).__name__, exc
                )
            else:
                self._outcome(ok=bool(info.get("ready", True)))
            # Quickly while it is not there yet, then at the probe period.
            await asyncio.sleep(
                self.probe_interval_s if self.running and self.warm else 1.0
            )
