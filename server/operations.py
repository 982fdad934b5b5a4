"""Running the server in production: one composition of the app for both ways of
running it, health and readiness routes, JSON-lines logs, graceful shutdown.

`build_app(settings, ...)` is what `movecoach serve` (one process, uvicorn) and the Ray
Serve ingress (`server.distributed.deployment`) both call: `server.app.create_app` with
the inference worker of the deployment (in-process `InferenceWorker`, or the client of
the inference deployment), the recorder and the metrics wrapped around them, and the
operations routes. The websocket loop and the session logic are the same code in both.

Routes added:
    GET /health/live       200 while the process serves requests (liveness)
    GET /health/ready      200 when a kiosk would be served now, else 503 (readiness:
                           model loaded or inference deployment answering, kernels warm,
                           not shutting down); body = `GET /health`'s, which also
                           reports the group screen's worker (`group_worker`: not
                           started / loading / ready / failed) without waiting for it
    GET /health/inference  the inference component: the in-process backend, or the
                           inference deployment's own health answer; 200/503; `group`
                           = the group screen's worker, outside that status
    GET /metrics           Prometheus text exposition (`server.metrics`), one process
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from server.health import inference_health
from server.inference import InferenceWorker, PoseWorker
from server.metrics import (
    MeteredRecorder,
    MeteredWorker,
    Metrics,
    PrometheusMetrics,
    install_metrics,
)
from server.recording import SessionRecorder
from server.runtime import Runtime, runtime_of
from server.settings import Settings

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from server.store import Store
    from vision.backends import PoseBackend

__all__ = [
    "JsonLinesFormatter",
    "MaskSecretsFilter",
    "add_health_routes",
    "build_app",
    "configure_logging",
    "graceful_server",
    "local_worker",
    "uvicorn_log_config",
]

log = logging.getLogger(__name__)

LOG_FORMATS: Final[tuple[str, ...]] = ("text", "json")


def local_worker(
    settings: Settings, backend_factory: Callable[[], PoseBackend] | None = None
) -> InferenceWorker:
    """The in-process inference worker (`create_app`'s default too).

    Every backend a session used is kept for the next one, up to `max_sessions`: a
    MediaPipe backend holds ~73 MB and costs a graph start to build, so a pool smaller
    than the sessions a centre runs at once closed and rebuilt the difference at
    every round of sessions, which grew the heap (fragments the allocator kept) and
    spent CPU on the kiosks' frames (issue 18's soak run). At peak the same backends
    exist either way."""
    from vision.backends import create_backend

    factory = backend_factory or (lambda: create_backend(settings.backend))
    return InferenceWorker(factory, max_idle_backends=settings.max_sessions)


def build_app(
    settings: Settings,
    *,
    worker: PoseWorker | None = None,
    recorder: SessionRecorder | None = None,
    store: Store | None = None,
    metrics: Metrics | None = None,
    backend_factory: Callable[[], PoseBackend] | None = None,
    prepare_records: bool = True,
    freeze_start_up: bool = False,
) -> FastAPI:
    """The MoveCoach app with operations wired in.

    Args:
        settings: Server settings.
        worker: Inference worker (`server.distributed.client.RemoteInferenceWorker`
            under Ray Serve); default the in-process one (`local_worker`).
        recorder: Session recorder (e.g. `server.resume.ResumableRecorder`).
        store: Records database, as `create_app` takes it.
        metrics: Where counts go; default a `PrometheusMetrics`, served at /metrics.
            Other sinks (Ray's) are exported by their own system, not at /metrics.
        backend_factory: Pose backends of the default worker.
        prepare_records: Migrate the schema and interrupt stale sessions at start-up
            (one process owns the database). Under Ray Serve the application builder
            migrates once and replicas must not interrupt each other's sessions.
        freeze_start_up: As `create_app` takes it (`movecoach serve`).
    """
    from server.app import create_app
    from server.recording import CountingRecorder

    sink = metrics if metrics is not None else PrometheusMetrics()
    inner = worker if worker is not None else local_worker(settings, backend_factory)
    app = create_app(
        settings,
        recorder=MeteredRecorder(
            recorder if recorder is not None else CountingRecorder(), sink
        ),
        store=store,
        backend_factory=backend_factory,
        worker=MeteredWorker(inner, sink),
        prepare_records=prepare_records,
        freeze_start_up=freeze_start_up,
    )
    app.state.metrics = sink
    add_health_routes(app)
    if isinstance(sink, PrometheusMetrics):
        install_metrics(app, sink)
    return app


def add_health_routes(app: FastAPI) -> None:
    """/health/live, /health/ready and /health/inference (see the module docstring)."""
    from fastapi.responses import JSONResponse

    runtime = runtime_of(app.state)
    assert runtime is not None, "expected an app of server.app.create_app"

    async def live() -> JSONResponse:
        return JSONResponse({"live": True})

    async def ready() -> JSONResponse:
        info = runtime.health()
        return JSONResponse(info.model_dump(), status_code=200 if info.ready else 503)

    async def inference() -> JSONResponse:
        body, ok = await inference_health(runtime)
        return JSONResponse(body, status_code=200 if ok else 503)

    app.add_api_route("/health/live", live, include_in_schema=False)
    app.add_api_route("/health/ready", ready, include_in_schema=False)
    app.add_api_route("/health/inference", inference, include_in_schema=False)


# --- logs ---------------------------------------------------------------------------


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the
    exception if any, and any `extra=` fields given to the logging call."""

    _STANDARD: Final[frozenset[str]] = frozenset(
        logging.LogRecord("", 0, "", 0, "", None, None).__dict__
    ) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value if _jsonable(value) else repr(value)
        return json.dumps(entry, ensure_ascii=False)


_QUERY_SECRET: Final[re.Pattern[str]] = re.compile(
    r"([?&](?:token|access_token|password)=)[^&\s\"']*", re.IGNORECASE
)


class MaskSecretsFilter(logging.Filter):
    """Masks `token=`, `access_token=` and `password=` query values in log lines.

    Kiosks send their token in a header (`server.auth.kiosk_token_from`) and a token in
    a URL is refused, but a client of an older release may still put it there: the
    request line uvicorn logs (access log, websocket handshakes) then shows `token=***`
    instead of a credential that stays valid."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message and _QUERY_SECRET.search(message):
            record.msg, record.args = _QUERY_SECRET.sub(r"\1***", message), None
        return True


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


TEXT_FORMAT: Final[str] = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS: Final[tuple[str, ...]] = ("alembic", "matplotlib")
"""Libraries whose INFO lines at start-up are noise to an operator (alembic: its
plugins and migration context; matplotlib, which mediapipe imports: its font cache on
a first start); their warnings still show. The schema upgrade itself
is logged by MoveCoach (`server.records`)."""


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Root logging for `movecoach serve`: "text" (a timestamp, level, logger, message)
    or "json" (one JSON object per line, for a log shipper). Under Ray Serve use its
    `logging_config` instead (`encoding: JSON` in serve_config.yaml)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(
            f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}"
        )
    handler = logging.StreamHandler()
    handler.addFilter(MaskSecretsFilter())
    handler.setFormatter(
        JsonLinesFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = max(logging.WARNING, root.level)
    for name in QUIET_LOGGERS:  # `--log-level debug` still shows everything
        logging.getLogger(name).setLevel(quiet if root.level > logging.DEBUG else 0)


def uvicorn_log_config(fmt: str) -> dict[str, Any]:
    """uvicorn's own loggers (server, access) in the same format as ours."""
    formatter = (
        {"()": f"{__name__}.JsonLinesFormatter"}
        if fmt == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"mask_secrets": {"()": f"{__name__}.MaskSecretsFilter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["mask_secrets"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {
                "handlers": ["default"],
                "level": "INFO",
                "propagate": False,
            },
        },
    }


# --- graceful shutdown ----------------------------------------------------------------


def graceful_server(config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server whose shutdown (SIGTERM, Ctrl-C) first marks the app stopping.

    Then, as uvicorn does: listeners close, every kiosk socket is closed with 1012
    (service restart: the kiosk reconnects and resumes, `server.resume`), the websocket
    loop ends each session with reason `shutdown` (recorded interrupted, resumable), and
    the lifespan closes the recorder, which writes everything queued before it stops
    (reps were committed before the kiosk saw them).
    """
    import uvicorn

    class _GracefulServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            app = self.config.loaded_app if self.config.loaded else self.config.app
            runtime = _find_runtime(app)
            if runtime is not None:
                runtime.stopping = True  # /health/ready -> 503, sessions end "shutdown"
                log.info(
                    "shutting down: %d kiosk connection(s) will be told to reconnect",
                    runtime.admission.connections,
                )
            await super().shutdown(sockets)

    return _GracefulServer(config)


def _find_runtime(app: object) -> Runtime | None:
    # uvicorn wraps the app in middleware (proxy headers, message logger), each
    # keeping the next in `.app`: unwrap until the FastAPI app.
    from starlette.applications import Starlette

    for _ in range(8):
        if isinstance(app, Starlette):
            return runtime_of(app.state)
        app = getattr(app, "app", None)  # ASGI middleware are untyped
        if app is None:
            return None
    return None
