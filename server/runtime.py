"""What the routes and the websockets of one app share (`app.state.runtime`): the
settings, the pose worker, the session recorder, the catalogue, the group screen's
worker, admission of sockets, and health.

Each responsibility is a part of its own:

    runtime.admission      at most `Settings.max_sessions` sockets at once
    runtime.worker         pose inference (`server.inference.PoseWorker`)
    runtime.recorder       the session recorder, shielded (`server.recording`)
    runtime.catalogue      exercises, centre templates, assessments (`server.catalogue`)
    runtime.group          the group screen's worker (`server.group_worker`)
    runtime.health()       `/health` (`server.health`)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.catalogue import Catalogue
from server.demo import DemoInfo
from server.group_worker import GroupWorkerHost
from server.health import HealthInfo
from server.inference import PoseWorker
from server.recording import SessionRecorder, ShieldedRecorder
from server.settings import Settings
from vision.backends import PoseBackend

if TYPE_CHECKING:
    from starlette.datastructures import State

    from server.store import Store

__all__ = ["Admission", "Runtime", "runtime_of"]


class Admission:
    """Counts the sockets being served; refuses one beyond `max_sessions`."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.connections = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Take a place; False when all `max_sessions` are taken."""
        with self._lock:
            if self.connections >= self.max_sessions:
                return False
            self.connections += 1
            return True

    def leave(self) -> None:
        """Give a place back (after an `admit` that returned True)."""
        with self._lock:
            self.connections -= 1


@dataclass
class Runtime:
    """See the module docstring. `recorder` is wrapped in a `ShieldedRecorder`: a
    recorder's failure is logged, never raised into a session.

    Attributes:
        settings: Server settings.
        worker: The kiosks' pose worker.
        recorder: Receives every session's open, events, frames and close.
        catalogue: What a kiosk may open.
        store: The records database, or None (the live path alone).
        backend_factory: Builds one single-person backend (template authoring uses
            it for uploaded videos).
        group: The group screen's multi-person worker.
        demo: The demo video, once probed.
        kernels_warm: The kernels are compiled (readiness).
        stopping: The server is shutting down (sessions end `shutdown`).
    """

    settings: Settings
    worker: PoseWorker
    recorder: SessionRecorder
    catalogue: Catalogue
    store: Store | None = None
    backend_factory: Callable[[], PoseBackend] | None = None
    group: GroupWorkerHost = field(default_factory=GroupWorkerHost)
    demo: DemoInfo = field(default_factory=lambda: DemoInfo(available=False))
    kernels_warm: bool = False
    stopping: bool = False
    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.admission = Admission(self.settings.max_sessions)
        if not isinstance(self.recorder, ShieldedRecorder):
            self.recorder = ShieldedRecorder(self.recorder)

    @property
    def records(self) -> Store | None:
        """The records store: the app's, else the one the recorder writes to."""
        return self.store if self.store is not None else self.recorder.store

    def health(self) -> HealthInfo:
        """Liveness, readiness (backend loaded, worker running, kernels warm, not
        stopping), degraded inference (a backend failed lately) and the group
        worker's state."""
        loaded = self.worker.warm
        running = self.worker.running
        ready = loaded and running and self.kernels_warm and not self.stopping
        problem = self.worker.degraded
        status = "degraded" if problem is not None else "ok"
        return HealthInfo(
            status=status
            if ready
            else ("unavailable" if self.stopping else "starting"),
            live=True,
            ready=ready,
            inference="ok" if problem is None else "degraded",
            inference_problem=problem,
            backend=self.worker.backend_name,
            backend_loaded=loaded,
            kernels_warm=self.kernels_warm,
            worker_running=running,
            sessions=self.admission.connections,
            max_sessions=self.settings.max_sessions,
            group_worker=self.group.health(),
        )


def runtime_of(state: State) -> Runtime | None:
    """The app's runtime (None: the records API mounted without the live app)."""
    runtime = getattr(state, "runtime", None)  # starlette's State is untyped
    return runtime if isinstance(runtime, Runtime) else None
