"""The MoveCoach web app: kiosk page, exercise catalogue, health, and the `/ws` kiosk
websocket.

`create_app(settings)` builds it; its lifespan loads the exercise catalogue and the pose
backend (running it once), compiles the kernels (`vision.geometry.warm_up`, the DTW
kernels of `exercises.alignment.warm_up`, and the template-free counter on a short
synthetic window) and starts the one inference worker, so the first resident pays no
start-up cost.

Routes:
    GET /                 the kiosk page (kiosk/web/index.html)
    GET /static/...       kiosk/web/ (scripts, styles, exercise pictures)
    GET /health           liveness + readiness (503 until the backend is loaded, warm);
                          also the group screen's worker (`group_worker`), which
                          readiness does not wait for
    GET /api/kiosk        page defaults (language, elder mode) and the demo video
    GET /api/exercises    exercises for the picker: id, names (en, zh-CN), kind, view,
                          required joints, picture URL
    GET /api/demo         the demo video (`movecoach serve --demo VIDEO`), if any
    GET /api/demo/video   the demo video file
    GET /coach            the coach pages (kiosk/web/coach/; sign-in, residents,
                          sessions, template authoring), with a records store
    GET /setup            the kiosk set-up page (stores the kiosk's token)
    GET /group            the group screen (kiosk/web/group/index.html)
    WS  /ws               kiosk protocol (docs/protocol.md)
    WS  /ws/group         group screen protocol (docs/group.md); its multi-person
                          inference worker starts with the first group session

With a records store the websocket also plays the kiosk's centre's own templates
(`server.catalogue`), and the JSON API of `server.api` is mounted under /api. What the
routes and sockets share is the `server.runtime.Runtime` in `app.state.runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel

from server.assessment_records import AssessmentResultRecorder
from server.catalogue import Catalogue
from server.demo import DemoInfo, probe_demo
from server.group_worker import GroupWorkerHost
from server.group_ws import group_socket
from server.health import GroupWorkerHealth, HealthInfo
from server.inference import PoseWorker
from server.middleware import install_middleware
from server.programme_records import ProgrammeResultRecorder
from server.recording import CountingRecorder, SessionRecorder
from server.runtime import Runtime
from server.schemas import (
    ASSESSMENT_IDS,
    PROTOCOL_VERSION,
    ExerciseInfo,
    ProgrammeInfo,
)
from server.settings import LANGUAGES, Settings
from server.static import RevalidatedStaticFiles
from server.ws import kiosk_socket
from vision.backends import PoseBackend, create_backend
from vision.geometry import warm_up

if TYPE_CHECKING:
    from server.store import Store

__all__ = [
    "NO_TELEMETRY",
    "WEB_DIR",
    "DemoInfo",
    "GroupWorkerHealth",
    "HealthInfo",
    "KioskInfo",
    "Runtime",
    "create_app",
]

log = logging.getLogger(__name__)

WEB_DIR: Final[Path] = Path(__file__).resolve().parents[1] / "kiosk" / "web"

NO_TELEMETRY: Final[TelemetryConfig] = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""FastAPI's OpenTelemetry instrumentation, all off. Left on, a process with a global
OpenTelemetry provider (Ray's replicas may set one) records a span per request and
socket, with exception messages and stack traces, and `FASTAPI_OTEL_AUTO_CONFIGURE=true`
in the environment adds OTLP exporters at start-up (or stops the server when the
exporter package is absent). Nothing leaves a centre's server unless a coach exports
it; the server's own metrics (`/metrics`, server.metrics) stay local."""


class KioskInfo(BaseModel):
    languages: list[str]
    default_lang: str
    default_elder: bool
    demo: DemoInfo
    kiosk_auth: bool = False  # kiosks must present their token (see /setup)
    records: bool = False  # sessions are recorded (residents may sign in)
    protocol: int = PROTOCOL_VERSION
    assessments: list[str] = list(ASSESSMENT_IDS)  # what `open` may name, in order


def _warm_engine() -> None:
    """Compile the DTW kernels and run the template-free counter once on a short
    synthetic window (a person bobbing up and down), so the first session pays no
    JIT."""
    import numpy as np

    from exercises.alignment import warm_up as warm_alignment
    from exercises.counting import count_repetitions

    warm_alignment()
    frames = 60
    xyz = np.zeros((frames, 33, 3), np.float32)
    xyz[:, :, 0] = np.linspace(0.4, 0.6, 33, dtype=np.float32)
    xyz[:, :, 1] = np.linspace(0.1, 0.9, 33, dtype=np.float32)
    bob = 0.05 * np.sin(np.linspace(0.0, 6.0 * np.pi, frames, dtype=np.float32))
    xyz[:, :, 1] += bob[:, None]
    count_repetitions(xyz)


def _prepare_records(store: Store) -> None:
    """Schema to head; sessions still `active` from before this start were cut off."""
    from server.store import repository, upgrade_database

    upgrade_database(store.url)
    with store.begin() as db:
        stale = repository.interrupt_stale_sessions(
            db, started_before=repository.utcnow()
        )
    if stale:
        log.warning("records: %d session(s) cut off by a crash: interrupted", stale)


def _page(path: Path) -> FileResponse:
    """A page of the kiosk web folder, revalidated on every load (an upgrade shows)."""
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


def _freeze_start_up_objects() -> None:
    """What start-up loaded (libraries, the model, the catalogue, compiled kernels)
    lives as long as the process: collect once, then move it out of the garbage
    collector's reach (`gc.freeze`), so its full passes walk only what sessions
    create. Walking all of it took 55-119 ms with every thread held (measured on the
    2-core box at start-up), long enough to hold back a kiosk's frame."""
    gc.collect()
    gc.freeze()


def serial_blas() -> None:
    """numpy's BLAS (OpenBLAS) on one thread for the rest of the process. The engine's
    matrix products are small (the rep counter's refit: a ~1000 x 26 scatter matrix
    and projections); OpenBLAS threads split them and then spin, beside ONNX
    Runtime's own threads: Session.feed cost 0.98-1.19 ms of CPU per frame on two
    threads against 0.50 ms on one (squat clip at 24 fps, 2-core box), at the same
    wall time. Called where the app is built, in the thread that builds it: OpenBLAS
    0.3.31 ignored a change made later from another thread (a test client's
    lifespan thread)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def create_app(
    settings: Settings,
    *,
    backend_factory: Callable[[], PoseBackend] | None = None,
    recorder: SessionRecorder | None = None,
    web_dir: Path = WEB_DIR,
    store: Store | None = None,
    worker: PoseWorker | None = None,
    prepare_records: bool = True,
    group_backend_factory: Callable[[], PoseBackend] | None = None,
    freeze_start_up: bool = False,
) -> FastAPI:
    """Build the app.

    Args:
        settings: Server settings (`Settings.from_env()`).
        backend_factory: Builds one pose backend; default
            `create_backend(settings.backend)`. Called once at start-up and once per
            concurrent session beyond the pooled ones.
        recorder: Receives every session's open, events and close; default
            `CountingRecorder` (`server.store.DatabaseRecorder` keeps records).
        web_dir: Folder of the kiosk page.
        store: The records database (`server.store.Store`); when given, its schema is
            upgraded at start-up, sessions a crash left active are marked interrupted,
            assessment and programme results are stored, the records API is
            mounted under /api, and the recorder is closed at shutdown. None: no
            records (the live path alone).
        worker: The inference worker (`server.inference.PoseWorker`); default an
            `InferenceWorker` over `backend_factory`. Under Ray Serve, the client of
            the inference deployment (`server.distributed.client`).
        prepare_records: With a store, upgrade its schema and mark sessions a crash
            left active interrupted at start-up. False when several processes share
            the database (Ray Serve replicas): the deployment migrates once, and a
            starting replica must not interrupt the others' live sessions.
        freeze_start_up: After start-up, collect and `gc.freeze` what it loaded
            (`movecoach serve`: one app a process; not for tests that build many).
        group_backend_factory: Builds the group screen's multi-person backend
            (`PoseBackend` returning everyone in view); default
            `MultiPersonPoseEstimator` on the CPU. Called when the first group
            session opens.
    """
    from server.operations import local_worker

    serial_blas()
    factory = backend_factory or (lambda: create_backend(settings.backend))
    sessions: SessionRecorder = recorder if recorder is not None else CountingRecorder()
    if store is not None:
        sessions = ProgrammeResultRecorder(
            AssessmentResultRecorder(sessions, store), store
        )
    runtime = Runtime(
        settings=settings,
        worker=worker if worker is not None else local_worker(settings, factory),
        recorder=sessions,
        catalogue=Catalogue(web_dir, store),
        store=store,
        backend_factory=factory,
        group=GroupWorkerHost(group_backend_factory),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None and prepare_records:
            await asyncio.to_thread(_prepare_records, store)
        runtime.catalogue.load()
        runtime.demo = probe_demo(settings.demo_video)
        await asyncio.to_thread(runtime.worker.load)
        await asyncio.to_thread(warm_up)
        await asyncio.to_thread(_warm_engine)
        runtime.kernels_warm = True
        if freeze_start_up:
            await asyncio.to_thread(_freeze_start_up_objects)
        runtime.worker.start()
        log.info(
            "ready: backend %s, %d exercises, demo %s",
            runtime.worker.backend_name,
            len(runtime.catalogue.specs),
            runtime.demo.name,
        )
        try:
            yield
        finally:
            runtime.stopping = True
            await asyncio.to_thread(runtime.worker.stop)
            await asyncio.to_thread(runtime.group.stop)
            await asyncio.to_thread(runtime.recorder.close)
            if store is not None:
                store.dispose()

    app = FastAPI(
        title="MoveCoach",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.runtime = runtime
    install_middleware(app)

    @app.get("/health", response_model=HealthInfo)
    async def health() -> JSONResponse:
        info = runtime.health()
        return JSONResponse(info.model_dump(), status_code=200 if info.ready else 503)

    @app.get("/api/kiosk", response_model=KioskInfo)
    async def kiosk_info() -> KioskInfo:
        return KioskInfo(
            languages=list(LANGUAGES),
            default_lang=settings.default_lang,
            default_elder=settings.default_elder,
            demo=runtime.demo,
            kiosk_auth=settings.kiosk_auth,
            records=store is not None,
        )

    @app.get("/api/exercises", response_model=list[ExerciseInfo])
    async def exercises() -> list[ExerciseInfo]:
        catalogue = runtime.catalogue
        return [catalogue.describe(spec) for spec in catalogue.specs.values()]

    @app.get("/api/programmes", response_model=list[ProgrammeInfo])
    async def programmes(elder: bool = False) -> list[ProgrammeInfo]:
        return runtime.catalogue.describe_programmes(elder)

    @app.get("/api/demo", response_model=DemoInfo)
    async def demo() -> DemoInfo:
        return runtime.demo

    @app.get("/api/demo/video")
    async def demo_video() -> FileResponse:
        if not runtime.demo.available or settings.demo_video is None:
            raise HTTPException(
                404, "no demo video: start with `movecoach serve --demo VIDEO`"
            )
        return FileResponse(
            settings.demo_video,
            media_type="video/mp4",
            headers={"Cache-Control": "no-cache"},  # no personal data
        )

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return _page(web_dir / "index.html")

    @app.get("/setup", include_in_schema=False)
    async def setup_page() -> FileResponse:
        return _page(web_dir / "setup.html")

    @app.get("/group", include_in_schema=False)
    async def group_page() -> FileResponse:
        return _page(web_dir / "group" / "index.html")

    if store is not None:
        from server.api import include_routers

        include_routers(
            app,
            store,
            kiosk_auth=settings.kiosk_auth,
            time_zone=settings.time_zone,
        )

        @app.get("/coach", include_in_schema=False)
        async def coach_page() -> FileResponse:
            return _page(web_dir / "coach" / "index.html")

    app.add_api_websocket_route("/ws", kiosk_socket)
    app.add_api_websocket_route("/ws/group", group_socket)
    app.mount(
        "/static",
        RevalidatedStaticFiles(directory=web_dir, check_dir=False),
        name="static",
    )
    return app
