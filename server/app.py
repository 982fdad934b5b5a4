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
(`Runtime.resolve_spec`), and the JSON API of `server.api` is mounted under /api.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from exercises.session import Session
from exercises.spec import UnknownExerciseError, builtin_specs
from server.group_ws import group_socket
from server.inference import FrameStream, InferenceWorker
from server.live import (
    AssessmentResultRecorder,
    Plan,
    assessment_info,
    resident_record,
    start_assessment,
    start_exercise,
    subject_of,
)
from server.recording import CountingRecorder, SessionRecorder
from server.schemas import (
    ASSESSMENT_IDS,
    PROTOCOL_VERSION,
    ErrorCode,
    ExerciseInfo,
    KioskOptions,
    OpenMessage,
    ProtocolError,
)
from server.settings import LANGUAGES, Settings
from server.static import RevalidatedStaticFiles
from server.ws import kiosk_socket
from vision.backends import PoseBackend, create_backend
from vision.geometry import warm_up
from vision.types import Skeleton

if TYPE_CHECKING:
    from server.store import Store

__all__ = [
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
PICTURES: Final[str] = "pictures"


GroupWorkerState = Literal["not_started", "loading", "ready", "failed"]


class GroupWorkerHealth(BaseModel):
    """The group screen's multi-person worker, built by the first group `open`.

    `not_started` until then (a kiosk-only centre stays there), `loading` while its
    model loads, `ready` once it runs, `failed` when the last start raised (`error`;
    the next `open` tries again) or its thread is gone. `backend` is known once loaded.
    """

    state: GroupWorkerState = "not_started"
    backend: str | None = None
    error: str | None = None


class HealthInfo(BaseModel):
    status: str  # "ok" when ready, else "starting" or "unavailable"
    live: bool
    ready: bool
    backend: str | None
    backend_loaded: bool
    kernels_warm: bool
    worker_running: bool
    sessions: int
    max_sessions: int
    protocol: int = PROTOCOL_VERSION
    # Reported, never part of `ready`: a kiosk-only centre never opens a group session.
    group_worker: GroupWorkerHealth = Field(default_factory=GroupWorkerHealth)


class DemoInfo(BaseModel):
    available: bool
    name: str | None = None
    url: str | None = None
    fps: float | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None


class KioskInfo(BaseModel):
    languages: list[str]
    default_lang: str
    default_elder: bool
    demo: DemoInfo
    kiosk_auth: bool = False  # kiosks must present their token (see /setup)
    records: bool = False  # sessions are recorded (residents may sign in)
    protocol: int = PROTOCOL_VERSION


def _label(value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name.lower()
    return str(value)


@dataclass
class Runtime:
    """What the routes and the websocket share: settings, the worker, the catalogue,
    the recorder, and the connection count. Lives in `app.state.runtime`."""

    settings: Settings
    worker: InferenceWorker  # or any worker with its interface (create_app `worker`)
    recorder: SessionRecorder
    web_dir: Path = WEB_DIR
    store: Store | None = None
    backend_factory: Callable[[], PoseBackend] | None = None
    group_backend_factory: Callable[[], PoseBackend] | None = None
    group_worker: InferenceWorker | None = None
    specs: Mapping[str, Any] = field(default_factory=dict)
    demo: DemoInfo = field(default_factory=lambda: DemoInfo(available=False))
    kernels_warm: bool = False
    stopping: bool = False
    connections: int = 0
    group_loading: bool = False
    group_error: str | None = None  # why the last group worker start failed
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _group_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- connections ------------------------------------------------------------

    def admit(self) -> bool:
        with self._lock:
            if self.connections >= self.settings.max_sessions:
                return False
            self.connections += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.connections -= 1

    # --- group screen -----------------------------------------------------------

    async def open_group_stream(self) -> FrameStream:
        """A stream of the multi-person worker, which the first group session
        builds (its models load in a thread) and starts.

        Raises:
            Whatever the group backend factory raises (missing model, wrong hash).
        """
        async with self._group_lock:
            worker = self.group_worker
            if worker is None:
                factory = self.group_backend_factory or _multiperson_backend
                worker = InferenceWorker(
                    factory, max_idle_backends=1, reset_backends=True
                )
                self.group_loading, self.group_error = True, None
                try:
                    await asyncio.to_thread(worker.load)
                    worker.start()
                except Exception as exc:
                    self.group_error = f"{type(exc).__name__}: {exc}"
                    raise
                finally:
                    self.group_loading = False
                self.group_worker = worker
                log.info("group worker ready: backend %s", worker.backend_name)
        return await worker.open_stream()

    # --- exercises --------------------------------------------------------------

    def spec(self, exercise_id: str) -> Any:
        """The built-in exercise `exercise_id`.

        Raises:
            ProtocolError: `unknown_exercise`, listing the valid ids.
        """
        try:
            return self.specs[exercise_id]
        except (KeyError, UnknownExerciseError):
            valid = sorted(self.specs)
            raise ProtocolError(
                ErrorCode.UNKNOWN_EXERCISE,
                f"unknown exercise {exercise_id!r}; valid ids: {', '.join(valid)}",
                valid=valid,
            ) from None

    async def resolve_spec(self, exercise_id: str, kiosk_id: int | None) -> Any:
        """A built-in exercise, else a template of the kiosk's centre (a kiosk
        without a token: the database's only centre), read from the records store
        at each `open`, so a template a coach saves is playable at once.

        Raises:
            ProtocolError: `unknown_exercise`, listing the ids this kiosk may open.
        """
        if exercise_id in self.specs:
            return self.specs[exercise_id]
        custom: dict[str, Any] = {}
        if self.store is not None:
            try:
                custom = await asyncio.to_thread(self._centre_specs, kiosk_id)
            except Exception:  # the live path goes on with built-ins only
                log.exception("custom templates could not be read")
        if exercise_id in custom:
            return custom[exercise_id]
        valid = sorted(set(self.specs) | set(custom))
        raise ProtocolError(
            ErrorCode.UNKNOWN_EXERCISE,
            f"unknown exercise {exercise_id!r}; valid ids: {', '.join(valid)}",
            valid=valid,
        )

    def _centre_specs(self, kiosk_id: int | None) -> dict[str, Any]:
        from server.api.kiosk import centre_specs, kiosk_centre_id

        assert self.store is not None
        with self.store.session() as db:
            return centre_specs(db, kiosk_centre_id(db, kiosk_id))

    @staticmethod
    def spec_id(spec: Any) -> str:
        return str(spec.id)

    def new_session(self, spec: Any, *, elder: bool, skeleton: Skeleton) -> Session:
        """The engine's session (ValueError if `skeleton` lacks needed joints)."""
        return Session(spec, elder_mode=elder, skeleton=skeleton)

    async def plan(
        self, message: OpenMessage, kiosk_id: int | None, *, elder: bool
    ) -> Plan:
        """What `message` opens: an exercise (built-in or the centre's template) or
        a fitness assessment, with the subject from the signed-in resident's record.

        Raises:
            ProtocolError: `unknown_exercise` / `unknown_assessment`, listing the ids.
        """
        if message.assessment is None:
            assert message.exercise is not None
            spec = await self.resolve_spec(message.exercise, kiosk_id)
            return Plan(
                self.spec_id(spec),
                self.describe(spec),
                None,
                start_exercise(spec, message, elder),
            )
        test_id = message.assessment
        if test_id not in ASSESSMENT_IDS:
            raise ProtocolError(
                ErrorCode.UNKNOWN_ASSESSMENT,
                f"unknown assessment {test_id!r}; "
                f"valid ids: {', '.join(ASSESSMENT_IDS)}",
                valid=ASSESSMENT_IDS,
            )
        record = None
        if self.store is not None and message.resident:
            try:
                record = await asyncio.to_thread(
                    resident_record, self.store, kiosk_id, message.resident
                )
            except Exception:  # the test goes on without the record's age
                log.exception("resident record could not be read")
        subject = subject_of(message, record)
        return Plan(
            test_id,
            None,
            assessment_info(test_id, subject),
            start_assessment(test_id, message, subject),
        )

    def picture_url(self, spec: Any) -> str:
        folder = self.web_dir / PICTURES
        for stem in (str(spec.id), _label(spec.kind), "exercise"):
            if (folder / f"{stem}.svg").is_file():
                return f"/static/{PICTURES}/{stem}.svg"
        return f"/static/{PICTURES}/exercise.svg"

    def describe(self, spec: Any) -> ExerciseInfo:
        def text(value: Any) -> dict[str, str]:
            return (
                {lang: str(value[lang]) for lang in LANGUAGES if lang in value}
                if value
                else {}
            )

        posture = getattr(spec, "posture", None)
        return ExerciseInfo(
            id=str(spec.id),
            name={lang: str(spec.name[lang]) for lang in LANGUAGES},
            kind=_label(spec.kind),
            view=_label(spec.view),
            required_joints=[str(j) for j in spec.required_joints],
            picture=self.picture_url(spec),
            description=text(getattr(spec, "description", None)),
            instructions=text(getattr(spec, "instructions", None)),
            posture=None if posture is None else _label(posture),
            target_reps=getattr(spec, "target_reps", None),
        )

    def kiosk_options(self, elder: bool) -> KioskOptions:
        s = self.settings
        return KioskOptions(
            cue_interval_ms=s.elder_cue_interval_ms if elder else s.cue_interval_ms,
            speech_rate=s.elder_speech_rate if elder else s.speech_rate,
            countdown_s=s.countdown_s,
            send_width=s.send_width,
        )

    # --- recorder ---------------------------------------------------------------

    def recorder_call(self, method: str, *args: Any) -> Any:
        """Call the recorder (if it has `method`) and return what it returns; its
        failures are logged, never raised into a session."""
        call = getattr(self.recorder, method, None)
        if call is None:
            return None
        try:
            return call(*args)
        except Exception:
            log.exception("session recorder %s failed", method)
            return None

    # --- health -----------------------------------------------------------------

    def health(self) -> HealthInfo:
        loaded = self.worker.warm
        running = self.worker.running
        ready = loaded and running and self.kernels_warm and not self.stopping
        return HealthInfo(
            status="ok" if ready else ("unavailable" if self.stopping else "starting"),
            live=True,
            ready=ready,
            backend=self.worker.backend_name,
            backend_loaded=loaded,
            kernels_warm=self.kernels_warm,
            worker_running=running,
            sessions=self.connections,
            max_sessions=self.settings.max_sessions,
            group_worker=self.group_health(),
        )

    def group_health(self) -> GroupWorkerHealth:
        """The group screen's worker; see `GroupWorkerHealth`."""
        worker = self.group_worker
        if worker is not None:
            if worker.warm and worker.running:
                return GroupWorkerHealth(state="ready", backend=worker.backend_name)
            return GroupWorkerHealth(
                state="failed",
                backend=worker.backend_name,
                error="the inference thread is not running",
            )
        if self.group_loading:
            return GroupWorkerHealth(state="loading")
        if self.group_error is not None:
            return GroupWorkerHealth(state="failed", error=self.group_error)
        return GroupWorkerHealth()


def _multiperson_backend() -> PoseBackend:
    """The group screen's backend: everyone in view, BlazePose-33 on ONNX (CPU)."""
    from vision.multiperson import MultiPersonOptions, MultiPersonPoseEstimator

    return MultiPersonPoseEstimator(MultiPersonOptions(provider="cpu", max_people=10))


def _probe_demo(path: Path | None) -> DemoInfo:
    if path is None:
        return DemoInfo(available=False)
    if not path.is_file():
        raise FileNotFoundError(f"expected a demo video file, got no file at {path}")
    import cv2  # edge: only to read the demo's frame rate and size

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"expected a video OpenCV can read, got {path}")
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or None
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None
    finally:
        capture.release()
    return DemoInfo(
        available=True,
        name=path.name,
        url="/api/demo/video",
        fps=fps,
        frames=frames,
        width=width,
        height=height,
    )


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


def _with_assessments(recorder: SessionRecorder, store: Store | None) -> Any:
    """With a records store, assessment results are stored (`server.live`)."""
    if store is None:
        return recorder
    return AssessmentResultRecorder(recorder, store)


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


def create_app(
    settings: Settings,
    *,
    backend_factory: Callable[[], PoseBackend] | None = None,
    recorder: SessionRecorder | None = None,
    web_dir: Path = WEB_DIR,
    store: Store | None = None,
    worker: Any | None = None,
    prepare_records: bool = True,
    group_backend_factory: Callable[[], PoseBackend] | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        settings: Server settings (`Settings.from_env()`).
        backend_factory: Builds one pose backend; default
            `create_backend(settings.backend)`. Called once at start-up and once per
            concurrent session beyond the pooled ones.
        recorder: Receives every session's open, events and close; default
            `CountingRecorder` (the records issue passes a database-backed one).
        web_dir: Folder of the kiosk page.
        store: The records database (`server.store.Store`); when given, its schema is
            upgraded at start-up, sessions a crash left active are marked interrupted,
            the records API is mounted under /api, and the recorder is closed at
            shutdown. None: no records (the live path alone).
        worker: The inference worker (`InferenceWorker`'s interface: load, start,
            stop, warm, running, backend_name, open_stream); default an
            `InferenceWorker` over `backend_factory`. Under Ray Serve, the client of
            the inference deployment (`server.distributed.client`).
        prepare_records: With a store, upgrade its schema and mark sessions a crash
            left active interrupted at start-up. False when several processes share
            the database (Ray Serve replicas): the deployment migrates once, and a
            starting replica must not interrupt the others' live sessions.
        group_backend_factory: Builds the group screen's multi-person backend
            (`PoseBackend` returning everyone in view); default
            `MultiPersonPoseEstimator` on the CPU. Called when the first group
            session opens.
    """
    factory = backend_factory or (lambda: create_backend(settings.backend))
    runtime = Runtime(
        settings=settings,
        worker=worker
        if worker is not None
        else InferenceWorker(factory, max_idle_backends=min(settings.max_sessions, 4)),
        recorder=_with_assessments(
            recorder if recorder is not None else CountingRecorder(), store
        ),
        web_dir=web_dir,
        store=store,
        backend_factory=factory,
        group_backend_factory=group_backend_factory,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None and prepare_records:
            await asyncio.to_thread(_prepare_records, store)
        runtime.specs = builtin_specs()
        runtime.demo = _probe_demo(settings.demo_video)
        await asyncio.to_thread(runtime.worker.load)
        await asyncio.to_thread(warm_up)
        await asyncio.to_thread(_warm_engine)
        runtime.kernels_warm = True
        runtime.worker.start()
        log.info(
            "ready: backend %s, %d exercises, demo %s",
            runtime.worker.backend_name,
            len(runtime.specs),
            runtime.demo.name,
        )
        try:
            yield
        finally:
            runtime.stopping = True
            await asyncio.to_thread(runtime.worker.stop)
            group_worker, runtime.group_worker = runtime.group_worker, None
            if group_worker is not None:
                await asyncio.to_thread(group_worker.stop)
            close = getattr(runtime.recorder, "close", None)
            if callable(close):
                await asyncio.to_thread(close)
            if store is not None:
                store.dispose()

    app = FastAPI(title="MoveCoach", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime

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
        return [runtime.describe(spec) for spec in runtime.specs.values()]

    @app.get("/api/demo", response_model=DemoInfo)
    async def demo() -> DemoInfo:
        return runtime.demo

    @app.get("/api/demo/video")
    async def demo_video() -> FileResponse:
        if not runtime.demo.available or settings.demo_video is None:
            raise HTTPException(
                404, "no demo video: start with `movecoach serve --demo VIDEO`"
            )
        return FileResponse(settings.demo_video, media_type="video/mp4")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            web_dir / "index.html", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/setup", include_in_schema=False)
    async def setup_page() -> FileResponse:
        return FileResponse(
            web_dir / "setup.html", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/group", include_in_schema=False)
    async def group_page() -> FileResponse:
        return FileResponse(
            web_dir / "group" / "index.html", headers={"Cache-Control": "no-cache"}
        )

    if store is not None:
        from server.api import include_routers

        include_routers(app, store, kiosk_auth=settings.kiosk_auth)

        @app.get("/coach", include_in_schema=False)
        async def coach_page() -> FileResponse:
            return FileResponse(
                web_dir / "coach" / "index.html", headers={"Cache-Control": "no-cache"}
            )

    app.add_api_websocket_route("/ws", kiosk_socket)
    app.add_api_websocket_route("/ws/group", group_socket)
    app.mount(
        "/static",
        RevalidatedStaticFiles(directory=web_dir, check_dir=False),
        name="static",
    )
    return app
