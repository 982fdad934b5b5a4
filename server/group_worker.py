"""The group screen's inference worker: multi-person pose, built and started by the
first group session (a kiosk-only centre never loads its model), then shared by every
group screen of the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from server.health import GroupWorkerHealth
from server.inference import InferenceWorker, PoseStream
from vision.backends import PoseBackend
from vision.multiperson_options import MultiPersonOptions

__all__ = ["GROUP_SCREEN_OPTIONS", "GroupWorkerHost", "multiperson_backend"]

log = logging.getLogger(__name__)


GROUP_SCREEN_OPTIONS: Final = MultiPersonOptions(provider="cpu", max_people=10)
"""The group screen's multi-person settings (`benchmarks.group` measures these): ORT's
intra-op threads at its default, one per core (a frame's crops run as one batch). No
`frame_budget_ms`: on a quiet 2-core box a budget of 80 ms cut the p95 of 8 people
from 91 to 82 ms, but on a loaded one (the browser test beside another, ~5 frames/s)
it refreshed followers every other frame and their in-step scores fell below the
test's line (18 against 30, twice in a row)."""


def multiperson_backend() -> PoseBackend:
    """The group screen's backend: everyone in view, BlazePose-33 on ONNX (CPU)."""
    from vision.multiperson import MultiPersonPoseEstimator

    return MultiPersonPoseEstimator(GROUP_SCREEN_OPTIONS)


class GroupWorkerHost:
    """Builds the group worker on first use and reports its state (`health`).

    Args:
        factory: Builds the multi-person backend; default `multiperson_backend`.
    """

    def __init__(self, factory: Callable[[], PoseBackend] | None = None) -> None:
        self.factory: Callable[[], PoseBackend] = factory or multiperson_backend
        self.worker: InferenceWorker | None = None
        self.loading = False
        self.error: str | None = None  # why the last start failed
        self._lock = asyncio.Lock()

    async def open_stream(self) -> PoseStream:
        """A stream of the multi-person worker, which the first call builds (its
        models load in a thread) and starts.

        Raises:
            Whatever the factory raises (missing model, wrong hash).
        """
        async with self._lock:
            worker = self.worker
            if worker is None:
                worker = InferenceWorker(
                    self.factory, max_idle_backends=1, reset_backends=True
                )
                self.loading, self.error = True, None
                try:
                    await asyncio.to_thread(worker.load)
                    worker.start()
                except Exception as exc:
                    self.error = f"{type(exc).__name__}: {exc}"
                    raise
                finally:
                    self.loading = False
                self.worker = worker
                log.info("group worker ready: backend %s", worker.backend_name)
        return await worker.open_stream()

    def stop(self) -> None:
        """Stop the worker, if one was built (blocking: call from a thread)."""
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()

    def health(self) -> GroupWorkerHealth:
        """See `GroupWorkerHealth`."""
        worker = self.worker
        if worker is not None:
            if worker.warm and worker.running:
                return GroupWorkerHealth(state="ready", backend=worker.backend_name)
            return GroupWorkerHealth(
                state="failed",
                backend=worker.backend_name,
                error="the inference thread is not running",
            )
        if self.loading:
            return GroupWorkerHealth(state="loading")
        if self.error is not None:
            return GroupWorkerHealth(state="failed", error=self.error)
        return GroupWorkerHealth()
