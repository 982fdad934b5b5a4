"""Operations metrics: what a centre's IT scrapes with Prometheus.

Series (Prometheus names; under Ray Serve the same names come out of Ray's metrics
endpoint with Ray's `ray_` prefix and `deployment`/`replica`/`application` labels):

    movecoach_frames_received_total     counter    camera frames reaching a session
    movecoach_frames_processed_total    counter    frames through model and engine
    movecoach_frames_dropped_total      counter    frames replaced by a newer one before
                                                   inference (latest frame wins)
    movecoach_frames_rejected_total     counter    frames answered with an `error`
    movecoach_inference_seconds         histogram  frame offered to inference -> its
                                                   result (decode + model + waiting)
    movecoach_active_sessions           gauge      exercise sessions running now
    movecoach_sessions_total            counter    sessions started
    movecoach_reps_recorded_total       counter    reps the recorder committed
                                                   (accepted, without a database)
    movecoach_inference_batch_size      histogram  frames per model batch (inference)
    movecoach_inference_batch_seconds   histogram  wall time per model batch (inference)

Nothing here touches the websocket loop: `MeteredWorker` wraps the inference worker
(`server.inference.InferenceWorker` or the remote one) and `MeteredRecorder` the session
recorder; both forward everything else unchanged (they implement the same Protocols).
`install_metrics(app, metrics)` adds `GET /metrics` (text exposition format 0.0.4;
OpenMetrics when the scraper asks).

`prometheus_client` is imported when `PrometheusMetrics` is built (the
`prometheus-client` package; Ray Serve installs it too).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from exercises.events import Event, RepCompleted
from server.inference import InferenceResult, PoseStream, PoseWorker, StreamStats
from server.recording import ForwardingRecorder, RecordWrite, SessionRecorder
from vision.types import Skeleton

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "BATCH_SIZE_BUCKETS",
    "INFERENCE_BUCKETS_S",
    "CounterLike",
    "GaugeLike",
    "HistogramLike",
    "InstrumentedMetrics",
    "MeteredRecorder",
    "MeteredStream",
    "MeteredWorker",
    "Metrics",
    "PrometheusMetrics",
    "install_metrics",
]

log = logging.getLogger(__name__)

INFERENCE_BUCKETS_S: Final[tuple[float, ...]] = (
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    1.0,
    2.5,
)
"""Histogram buckets (s): 15-fps kiosks need a frame through in ~66-100 ms."""

BATCH_SIZE_BUCKETS: Final[tuple[float, ...]] = (1, 2, 4, 8, 16, 32, 64)

_FRAME_KINDS: Final[tuple[str, ...]] = ("received", "processed", "dropped", "rejected")


class Metrics(Protocol):
    """Where the counts go (`PrometheusMetrics` in one process; Ray's metrics under
    Ray Serve, `server.distributed.deployment.RayMetrics`)."""

    def count_frames(self, kind: str, n: int) -> None:
        """`kind` in received, processed, dropped, rejected; n > 0."""

    def observe_inference(self, seconds: float) -> None: ...

    def session_started(self) -> None: ...

    def session_ended(self) -> None: ...

    def rep_recorded(self) -> None: ...

    def observe_batch(self, size: int, seconds: float) -> None: ...


class CounterLike(Protocol):
    def inc(self, value: float = 1.0) -> None: ...


class HistogramLike(Protocol):
    def observe(self, value: float) -> None: ...


class GaugeLike(Protocol):
    def set(self, value: float) -> None: ...


class InstrumentedMetrics:
    """`Metrics` over instruments a subclass makes (`counter`, `histogram`, `gauge`):
    the series of the module docstring, once, for Prometheus and Ray alike.

    `frames_flush_s`: frame counts reach their counters at most this often (and when
    a session ends); 0, at once. A subclass whose counters cost much per call sets it
    (Ray's, `server.distributed.deployment.RayMetrics`)."""

    frames_flush_s: float = 0.0

    def __init__(self) -> None:
        self._frames = {
            kind: self.counter(
                f"movecoach_frames_{kind}",
                f"Camera frames {kind} (see server/metrics.py)",
            )
            for kind in _FRAME_KINDS
        }
        self._inference = self.histogram(
            "movecoach_inference_seconds",
            "Frame offered to inference -> its result (decode, model, waiting)",
            INFERENCE_BUCKETS_S,
        )
        self._active_gauge = self.gauge(
            "movecoach_active_sessions", "Exercise sessions running now"
        )
        self._sessions = self.counter("movecoach_sessions", "Exercise sessions started")
        self._reps = self.counter(
            "movecoach_reps_recorded",
            "Reps committed by the recorder before the kiosk was told",
        )
        self._batch_size = self.histogram(
            "movecoach_inference_batch_size",
            "Frames per model batch",
            BATCH_SIZE_BUCKETS,
        )
        self._batch_seconds = self.histogram(
            "movecoach_inference_batch_seconds",
            "Wall time per model batch",
            INFERENCE_BUCKETS_S,
        )
        self._active = 0
        self._lock = threading.Lock()
        self._pending_frames = dict.fromkeys(_FRAME_KINDS, 0)
        self._frames_flushed_at = time.monotonic()

    def counter(self, name: str, description: str) -> CounterLike:
        raise NotImplementedError

    def histogram(
        self, name: str, description: str, buckets: tuple[float, ...]
    ) -> HistogramLike:
        raise NotImplementedError

    def gauge(self, name: str, description: str) -> GaugeLike:
        raise NotImplementedError

    def count_frames(self, kind: str, n: int) -> None:
        if n <= 0:
            return
        if not self.frames_flush_s:
            self._frames[kind].inc(n)
            return
        with self._lock:
            self._pending_frames[kind] += n
        if time.monotonic() - self._frames_flushed_at >= self.frames_flush_s:
            self.flush_frames()

    def flush_frames(self) -> None:
        """Pass the frame counts held back (`frames_flush_s`) to the counters."""
        with self._lock:
            pending = {k: n for k, n in self._pending_frames.items() if n}
            self._pending_frames = dict.fromkeys(_FRAME_KINDS, 0)
            self._frames_flushed_at = time.monotonic()
        for kind, n in pending.items():
            self._frames[kind].inc(n)

    def observe_inference(self, seconds: float) -> None:
        self._inference.observe(seconds)

    def session_started(self) -> None:
        self._sessions.inc()
        self._move_active(+1)

    def session_ended(self) -> None:
        self.flush_frames()
        self._move_active(-1)

    def _move_active(self, step: int) -> None:
        with self._lock:
            self._active += step
            self._active_gauge.set(self._active)

    def rep_recorded(self) -> None:
        self._reps.inc()

    def observe_batch(self, size: int, seconds: float) -> None:
        self._batch_size.observe(size)
        self._batch_seconds.observe(seconds)


class PrometheusMetrics(InstrumentedMetrics):
    """`Metrics` in a `prometheus_client` registry of its own (not the global one, so
    several apps in one process, as in tests, do not collide).

    Raises:
        ImportError: prometheus_client is missing (names the package to install).
    """

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry
        except ImportError as exc:  # pragma: no cover - installed with ray[serve]
            raise ImportError(
                "metrics need the prometheus-client package "
                "(pip install 'prometheus-client>=0.20,<1')"
            ) from exc
        self.registry = CollectorRegistry(auto_describe=True)
        super().__init__()

    def counter(self, name: str, description: str) -> CounterLike:
        from prometheus_client import Counter

        return Counter(name, description, registry=self.registry)

    def histogram(
        self, name: str, description: str, buckets: tuple[float, ...]
    ) -> HistogramLike:
        from prometheus_client import Histogram

        return Histogram(name, description, buckets=buckets, registry=self.registry)

    def gauge(self, name: str, description: str) -> GaugeLike:
        from prometheus_client import Gauge

        return Gauge(name, description, registry=self.registry)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """(body, content type) for a scraper's Accept header: the Prometheus text
        format 0.0.4 by default, OpenMetrics when asked for."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class MeteredStream:
    """A session's inference stream that reports its frame counts and inference
    latency (`PoseStream`, forwarding to `inner`)."""

    def __init__(
        self, inner: PoseStream, metrics: Metrics, on_close: Callable[[], None]
    ) -> None:
        self.inner = inner
        self._metrics = metrics
        self._on_close = on_close
        self._seen = StreamStats()
        self._closed = False

    @property
    def stats(self) -> StreamStats:
        return self.inner.stats

    @property
    def skeleton(self) -> Skeleton:
        return self.inner.skeleton

    def _sync(self) -> None:
        # The loop and the worker update `stats` in place (also for frames rejected
        # before they reach `submit`); report what changed since the last look.
        now = dataclasses.astuple(self.inner.stats)
        seen = dataclasses.astuple(self._seen)
        for kind, count, before in zip(_FRAME_KINDS, now, seen, strict=True):
            if count > before:
                self._metrics.count_frames(kind, count - before)
        self._seen = StreamStats(*now)

    def submit(self, timestamp_ms: int, jpeg: bytes, received_ns: int) -> None:
        try:
            self.inner.submit(timestamp_ms, jpeg, received_ns)
        finally:
            self._sync()

    async def next_result(self) -> InferenceResult:
        result = await self.inner.next_result()
        if result.error is None:
            self._metrics.observe_inference(result.inference_ms / 1e3)
        return result

    def task_done(self, processed: bool) -> None:
        self.inner.task_done(processed)
        self._sync()

    async def drain(self) -> None:
        await self.inner.drain()

    def close(self) -> None:
        self.inner.close()
        self._sync()
        if not self._closed:
            self._closed = True
            self._on_close()


class MeteredWorker:
    """A `PoseWorker` around `inner` whose streams are `MeteredStream`s, one per
    session."""

    def __init__(self, inner: PoseWorker, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self._lock = threading.Lock()
        self.active = 0

    @property
    def backend_name(self) -> str | None:
        return self.inner.backend_name

    @property
    def warm(self) -> bool:
        return self.inner.warm

    @property
    def running(self) -> bool:
        return self.inner.running

    @property
    def degraded(self) -> str | None:
        return self.inner.degraded

    def load(self) -> None:
        self.inner.load()

    def start(self) -> None:
        self.inner.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.inner.stop(timeout_s)

    async def deployment_health(self) -> dict[str, Any] | None:
        return await self.inner.deployment_health()

    async def open_stream(self) -> MeteredStream:
        stream = await self.inner.open_stream()
        with self._lock:
            self.active += 1
        self.metrics.session_started()
        return MeteredStream(stream, self.metrics, self._ended)

    def _ended(self) -> None:
        with self._lock:
            self.active -= 1
        self.metrics.session_ended()


class MeteredRecorder(ForwardingRecorder):
    """A `SessionRecorder` around `inner` that counts reps once they are recorded
    (the database recorder's future resolved without error)."""

    def __init__(self, inner: SessionRecorder, metrics: Metrics) -> None:
        super().__init__(inner)
        self._metrics = metrics

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        result = self.inner.on_event(session_id, event)
        if isinstance(event, RepCompleted):
            if result is not None:
                result.add_done_callback(self._rep_done)
            else:
                self._metrics.rep_recorded()
        return result

    def _rep_done(self, future: concurrent.futures.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._metrics.rep_recorded()


def install_metrics(app: FastAPI, metrics: PrometheusMetrics) -> None:
    """Add `GET /metrics` (Prometheus text exposition) to `app`."""
    from starlette.requests import Request
    from starlette.responses import Response

    async def metrics_route(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    # A plain Starlette route: the request is passed as is, no dependency injection.
    app.add_route("/metrics", metrics_route, include_in_schema=False)
