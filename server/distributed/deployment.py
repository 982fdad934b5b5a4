"""MoveCoach on Ray Serve: the web app as the ingress, pose inference as its own
deployment with dynamic batching.

    kiosks --ws--> Serve proxy --> MoveCoachIngress --handle--> PoseInference replicas:
                                   replicas (server.app +       @serve.batch -> one ONNX
                                   server.ws: the app and loop  Runtime call per stage
                                   of `movecoach serve`)        per batch

* `MoveCoachIngress` (`@serve.ingress()`, app built on the replica by
  `__serve_build_asgi_app__`) runs `server.operations.build_app`: the same
  `create_app`, websocket loop, engine sessions and recorder as one process, with the
  inference worker swapped for `RemoteInferenceWorker` (server/distributed/client.py),
  which sends each stream's latest frame to the inference deployment.
* `PoseInference` gathers frames of every kiosk of every ingress replica into batches
  (`@serve.batch`; size and wait are its `user_config`, changeable live) and runs them
  through `BatchedPoseModel` (one detector call, one landmark call per batch), on the
  CUDA execution provider where the replica has a GPU, else on CPU.
* Replicas, autoscaling, GPUs and health checks are Serve's own settings
  (server/distributed/serve_config.yaml; `build_app` sets the defaults).
* Metrics go through Ray's metrics (`RayMetrics`): scrape each Ray node's metrics port;
  logs are Serve's (`logging_config: encoding: JSON`).

Run it: `serve run server.distributed.deployment:build_app db_url=postgresql+psycopg://...`
or `serve deploy server/distributed/serve_config.yaml` (docs/deployment.md), or
`movecoach serve --ray` on one machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from ray import serve
from ray.serve.handle import DeploymentHandle

from server.distributed.batching import BatchedPoseModel, PoseReply, PoseRequest
from server.distributed.client import RemoteInferenceWorker
from server.metrics import (
    CounterLike,
    GaugeLike,
    HistogramLike,
    InstrumentedMetrics,
)
from server.settings import Settings

if TYPE_CHECKING:
    from server.resume import ResumableRecorder
    from server.store import Store

__all__ = [
    "DEFAULT_BATCH_WAIT_S",
    "DEFAULT_MAX_BATCH_SIZE",
    "AppArgs",
    "HandleService",
    "MoveCoachIngress",
    "PoseInference",
    "RayMetrics",
    "build_app",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE: Final[int] = 8
"""Frames per model batch at most. On CPU a batch costs about its size times one frame
(benchmarks/scale.py), so bigger batches only add waiting; on a GPU raise it (16-32)."""

DEFAULT_BATCH_WAIT_S: Final[float] = 0.004
"""Longest the first frame of a batch waits for others (a 15-fps kiosk sends every
66 ms; 4 ms of waiting is ~6 % of that)."""

APP_NAME: Final[str] = "movecoach"
INFERENCE: Final[str] = "PoseInference"
INGRESS: Final[str] = "MoveCoachIngress"


# --- metrics through Ray --------------------------------------------------------------


class RayMetrics(InstrumentedMetrics):
    """`server.metrics.Metrics` on Ray's metrics (`ray.serve.metrics`: tagged with the
    deployment, replica and application; exported by every Ray node's metrics agent in
    the Prometheus format, names prefixed `ray_`). The active-session gauge counts
    this replica's sessions. Frame counts go to Ray once a second (and when a session
    ends): Ray's counters are costly per call (tags merged, a C++ record), and two
    counts a frame in the co-located ingress showed in py-spy at 8 kiosks with 116
    samples against the engine's 198 (`Session.feed`)."""

    frames_flush_s = 1.0

    def counter(self, name: str, description: str) -> CounterLike:
        from ray.serve import metrics

        return metrics.Counter(name, description)

    def histogram(
        self, name: str, description: str, buckets: tuple[float, ...]
    ) -> HistogramLike:
        from ray.serve import metrics

        return metrics.Histogram(name, description, boundaries=list(buckets))

    def gauge(self, name: str, description: str) -> GaugeLike:
        from ray.serve import metrics

        return metrics.Gauge(name, description)


def _metrics(kind: str) -> Any:
    if kind == "ray":
        return RayMetrics()
    if kind == "prometheus":
        from server.metrics import PrometheusMetrics

        return PrometheusMetrics()
    return _NoMetrics()


class _NoMetrics:
    def count_frames(self, kind: str, n: int) -> None: ...
    def observe_inference(self, seconds: float) -> None: ...
    def session_started(self) -> None: ...
    def session_ended(self) -> None: ...
    def rep_recorded(self) -> None: ...
    def observe_batch(self, size: int, seconds: float) -> None: ...


# --- pose inference -------------------------------------------------------------------


@serve.deployment(
    name=INFERENCE,
    max_ongoing_requests=4 * DEFAULT_MAX_BATCH_SIZE,
    health_check_period_s=5.0,
    health_check_timeout_s=30.0,
    graceful_shutdown_timeout_s=10.0,
    ray_actor_options={"num_cpus": 1},
    user_config={
        "max_batch_size": DEFAULT_MAX_BATCH_SIZE,
        "batch_wait_timeout_s": DEFAULT_BATCH_WAIT_S,
    },
)
class PoseInference:
    """BlazePose for frames of every kiosk, in dynamic batches (`@serve.batch`).

    Args:
        options: `vision.backends.onnx.OnnxOptions` fields (provider "cpu" or "cuda",
            intra_op_threads, num_poses, thresholds, tracking).
        metrics: "ray" (default), "prometheus" or "none".
    """

    def __init__(
        self, options: Mapping[str, Any] | None = None, metrics: str = "ray"
    ) -> None:
        from vision.backends.onnx import OnnxOptions

        self.model = BatchedPoseModel(OnnxOptions(**dict(options or {})))
        self.model.warm_up()
        self.metrics = _metrics(metrics)
        self.max_batch_size = DEFAULT_MAX_BATCH_SIZE
        self.batch_wait_timeout_s = DEFAULT_BATCH_WAIT_S
        self.sizes: dict[int, int] = {}  # batch size -> batches run (health answer)
        self.replica = _replica_tag()

    def reconfigure(self, user_config: Mapping[str, Any]) -> None:
        """Serve calls this at start and whenever `user_config` changes (no restart)."""
        size = int(user_config.get("max_batch_size", DEFAULT_MAX_BATCH_SIZE))
        wait = float(user_config.get("batch_wait_timeout_s", DEFAULT_BATCH_WAIT_S))
        if size < 1 or not 0 <= wait <= 1:
            raise ValueError(
                "expected max_batch_size >= 1 and batch_wait_timeout_s in [0, 1], "
                f"got {size} and {wait}"
            )
        self.max_batch_size, self.batch_wait_timeout_s = size, wait
        # Methods @serve.batch adds to the handler.
        self.infer.set_max_batch_size(size)  # type: ignore[attr-defined]
        self.infer.set_batch_wait_timeout_s(wait)  # type: ignore[attr-defined]

    @serve.batch(
        max_batch_size=DEFAULT_MAX_BATCH_SIZE, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_S
    )
    async def infer(self, requests: list[PoseRequest]) -> list[PoseReply]:
        """Frames of any kiosks in, one reply per frame out, in order. (Callers pass
        one `PoseRequest`; Serve gathers them into the list.)"""
        started = time.perf_counter()
        # Off the replica's event loop, so it keeps taking frames for the next batch.
        replies = await asyncio.to_thread(self.model.infer_batch, requests)
        self.sizes[len(requests)] = self.sizes.get(len(requests), 0) + 1
        self.metrics.observe_batch(len(requests), time.perf_counter() - started)
        return replies

    async def health(self) -> dict[str, Any]:
        """Readiness as the ingress reports it (`GET /health/inference`)."""
        return {
            "ready": self.model.loaded,
            "replica": self.replica,
            "provider": self.model.options.provider,
            "max_batch_size": self.max_batch_size,
            "batch_wait_timeout_s": self.batch_wait_timeout_s,
            "batches": self.model.batches,
            "frames": self.model.frames,
            "batch_sizes": dict(self.sizes),
        }

    def check_health(self) -> None:
        """Serve's health check: a replica whose model is gone is restarted."""
        if not self.model.loaded:
            raise RuntimeError("the pose model of this replica is closed")

    def __del__(self) -> None:
        self.model.close()


class HandleService:
    """`server.distributed.client.PoseService` over the `PoseInference` handle."""

    name = "onnx@serve"

    def __init__(self, handle: DeploymentHandle[Any]) -> None:
        self._handle = handle

    async def infer(self, request: PoseRequest) -> PoseReply:
        reply: PoseReply = await self._handle.infer.remote(request)
        return reply

    async def health(self) -> dict[str, Any]:
        info: dict[str, Any] = await self._handle.health.remote()
        return info

    def wait_ready(self, timeout_s: float) -> dict[str, Any]:
        info: dict[str, Any] = self._handle.health.remote().result(timeout_s=timeout_s)
        return info


# --- the ingress ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """What each ingress replica builds its app from.

    Attributes:
        settings: `Settings` fields over the replica's MOVECOACH_* environment.
        records: Record sessions in `settings.db_url` (and serve the records API).
        metrics: "ray", "prometheus" (a per-replica /metrics: tests) or "none".
        ready_timeout_s: Longest the replica waits for the inference deployment.
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    records: bool = True
    metrics: str = "ray"
    ready_timeout_s: float = 120.0


@serve.deployment(
    name=INGRESS,
    # Each kiosk websocket is one ongoing request for its whole connection.
    max_ongoing_requests=256,
    health_check_period_s=5.0,
    health_check_timeout_s=30.0,
    # Serve waits this long for a stopping replica's websockets to end; then kiosks
    # are cut off and resume their sessions on another replica (server/resume.py).
    graceful_shutdown_timeout_s=60.0,
    graceful_shutdown_wait_loop_s=1.0,
    ray_actor_options={"num_cpus": 1},
)
@serve.ingress()
class MoveCoachIngress:
    """The MoveCoach web app (page, websocket, records API) on a Serve replica.

    Args:
        inference: Handle of the `PoseInference` deployment; None: pose inference
            in the replica (`AppArgs.colocate`).
        config: `IngressConfig` fields.
    """

    def __init__(
        self,
        inference: DeploymentHandle[Any] | None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        from server.distributed.local import configure_replica_server

        self._inference = inference
        self._config = IngressConfig(**dict(config or {}))
        self._settings = Settings.from_env(**dict(self._config.settings))
        # Before Serve starts this replica's server.
        configure_replica_server(self._settings.uvicorn_websocket_options)
        self._recorder: ResumableRecorder | None = None

    def __serve_build_asgi_app__(self) -> Any:
        from server.operations import build_app as build_web_app

        cfg, settings = self._config, self._settings
        store: Store | None = None
        recorder: ResumableRecorder | None = None
        if cfg.records:
            from server.resume import ResumableRecorder
            from server.store import Store

            store = Store(settings.db_url)
            # The loop awaits each rep's commit before sending it (no blocking).
            recorder = ResumableRecorder(store, wait_for_reps=False)
        self._recorder = recorder
        # Co-located (no inference deployment): the replica runs pose inference
        # itself, one thread per core, as `movecoach serve` does.
        worker = (
            None
            if self._inference is None
            else RemoteInferenceWorker(
                HandleService(self._inference), ready_timeout_s=cfg.ready_timeout_s
            )
        )
        return build_web_app(
            settings,
            worker=worker,
            recorder=recorder,
            store=store,
            metrics=_metrics(cfg.metrics),
            prepare_records=False,  # build_app migrated; replicas share the database
        )

    def check_health(self) -> None:
        """Serve's health check (liveness of this replica, not of inference: a
        replica is not restarted because the inference deployment is)."""
        recorder = self._recorder
        if recorder is not None and not recorder.writer_alive and not recorder.closed:
            raise RuntimeError("the session recorder's writer thread died")


# --- the application ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppArgs:
    """Arguments of `build_app` (`serve run ... key=value`, or `args:` in a Serve
    config file). Unknown keys are errors that list the valid ones.

    Attributes:
        provider: "cpu" or "cuda" (ONNX Runtime execution provider of the inference
            replicas; "cuda" also asks Ray for one GPU per replica).
        colocate: No inference deployment: each ingress replica runs pose inference
            in-process, one thread per core (the `Settings.backend`, ONNX Runtime by
            default), like `movecoach serve`. For CPU boxes: a frame then costs no
            hop between replicas (measured on 2 cores, docs/deployment.md); the
            batching inference deployment is for GPUs.
        gpus_per_replica: GPUs per inference replica with "cuda" (0.5: two per GPU).
        intra_op_threads: ORT threads per inference replica (0: ORT's default).
        num_poses: People per frame.
        inference_replicas: Fixed number; 0 means autoscaling between
            `min_inference_replicas` and `max_inference_replicas`.
        ingress_replicas: Web app replicas.
        max_batch_size, batch_wait_timeout_s: The inference batching (`user_config`).
        records: Record sessions in the database.
        migrate: Upgrade the database schema here, once, before replicas start.
        metrics: "ray", "prometheus" or "none".
        settings: `Settings` fields for every ingress replica (db_url, kiosk_auth,
            max_sessions, ...); top-level keys that are Settings fields go here too.
    """

    provider: str = "cpu"
    colocate: bool = False
    gpus_per_replica: float = 1.0
    intra_op_threads: int = 0
    num_poses: int = 1
    inference_replicas: int = 1
    min_inference_replicas: int = 1
    max_inference_replicas: int = 4
    ingress_replicas: int = 1
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    batch_wait_timeout_s: float = DEFAULT_BATCH_WAIT_S
    records: bool = True
    migrate: bool = True
    metrics: str = "ray"
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, args: Mapping[str, Any] | None) -> AppArgs:
        """From a Serve args dict; strings (`serve run k=v`) are converted."""
        own = {f.name: f for f in fields(cls)}
        setting_names = {f.name for f in fields(Settings)}
        values: dict[str, Any] = {}
        settings: dict[str, Any] = dict((args or {}).get("settings") or {})
        for key, raw in (args or {}).items():
            if key == "settings":
                continue
            if key in setting_names:
                settings[key] = raw
            elif key in own:
                values[key] = _convert(key, raw, type(getattr(cls(), key)))
            else:
                valid = sorted((set(own) | setting_names) - {"settings"})
                raise ValueError(
                    f"unknown movecoach app argument {key!r}; valid: {', '.join(valid)}"
                )
        for name, raw in list(settings.items()):
            default = getattr(Settings(), name, None)
            if isinstance(default, bool | int | float) and isinstance(raw, str):
                settings[name] = _convert(name, raw, type(default))
        values["settings"] = settings
        parsed = cls(**values)
        if parsed.provider not in ("cpu", "cuda"):
            raise ValueError(f"provider must be cpu or cuda, got {parsed.provider!r}")
        if parsed.colocate and parsed.provider != "cpu":
            raise ValueError(
                "colocate runs the server's backend on CPU in each ingress replica; "
                f"expected provider cpu with it, got {parsed.provider!r}"
            )
        if parsed.metrics not in ("ray", "prometheus", "none"):
            raise ValueError(
                f"metrics must be ray, prometheus or none, got {parsed.metrics!r}"
            )
        return parsed

    def inference_options(self) -> dict[str, Any]:
        """`PoseInference.options(...)` (a Serve config file's `deployments:` wins)."""
        actor: dict[str, Any] = {"num_cpus": 1}
        if self.provider == "cuda":
            actor["num_gpus"] = self.gpus_per_replica
        options: dict[str, Any] = {
            "ray_actor_options": actor,
            "max_ongoing_requests": 4 * self.max_batch_size,
            "user_config": {
                "max_batch_size": self.max_batch_size,
                "batch_wait_timeout_s": self.batch_wait_timeout_s,
            },
        }
        if self.inference_replicas > 0:
            options["num_replicas"] = self.inference_replicas
        else:
            options["autoscaling_config"] = {
                "min_replicas": self.min_inference_replicas,
                "max_replicas": self.max_inference_replicas,
                # Two batches per replica (one running, one filling) is full.
                "target_ongoing_requests": 2 * self.max_batch_size,
                "upscale_delay_s": 10.0,
                "downscale_delay_s": 300.0,
            }
        return options


def _convert(name: str, raw: Any, kind: type) -> Any:
    if not isinstance(raw, str) or kind is str:
        return raw
    text = raw.strip().lower()
    try:
        if kind is bool:
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return kind(raw)
    except ValueError:
        raise ValueError(
            f"argument {name} must be a {kind.__name__}, got {raw!r}"
        ) from None


def build_app(args: Mapping[str, Any] | None = None) -> Any:
    """Serve application builder (`server.distributed.deployment:build_app`).

    Migrates the records database once (here, before any replica starts, so replicas
    never race on the schema) and marks sessions abandoned by an earlier deployment
    (`active`, started more than `server.resume.MAX_SESSION_AGE_S` ago) interrupted.

    Returns:
        The bound application: `MoveCoachIngress` over `PoseInference`.
    """
    parsed = AppArgs.parse(args)
    settings = Settings.from_env(**dict(parsed.settings))
    if parsed.records and parsed.migrate:
        _prepare_records(settings.db_url)
    onnx = {
        "provider": parsed.provider,
        "intra_op_threads": parsed.intra_op_threads,
        "num_poses": parsed.num_poses,
    }
    # @serve.deployment turned the classes into Deployments (typed as the classes).
    inference_deployment: Any = PoseInference
    ingress_deployment: Any = MoveCoachIngress
    inference = (
        None
        if parsed.colocate
        else inference_deployment.options(**parsed.inference_options()).bind(
            onnx, parsed.metrics
        )
    )
    return ingress_deployment.options(num_replicas=parsed.ingress_replicas).bind(
        inference,
        {
            "settings": dict(parsed.settings),
            "records": parsed.records,
            "metrics": parsed.metrics,
        },
    )


def _prepare_records(db_url: str) -> None:
    from server.resume import MAX_SESSION_AGE_S
    from server.store import Store, repository, upgrade_database

    upgrade_database(db_url)
    store = Store(db_url)
    try:
        with store.begin() as db:
            stale = repository.interrupt_stale_sessions(
                db,
                started_before=datetime.now(UTC) - timedelta(seconds=MAX_SESSION_AGE_S),
            )
    finally:
        store.dispose()
    if stale:
        log.warning("records: %d abandoned session(s) marked interrupted", stale)


def _replica_tag() -> str:
    try:
        return str(serve.get_replica_context().replica_tag)
    except Exception:  # outside a replica (tests calling the class directly)
        return f"{socket.gethostname()}:{os.getpid()}"
