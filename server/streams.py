"""The session-side half of a pose stream, shared by the in-process worker's
`server.inference.FrameStream` and the Ray ingress's
`server.distributed.client.RemoteFrameStream`: the one waiting frame (a newer one
replaces and drops it: the latest frame wins), the results queue the session awaits,
the idle event `drain` waits for, and the frame counters.

Every method is called on the event loop; a worker thread touches the waiting frame
only under its own lock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from server.schemas import ProtocolError
from vision.clock import VideoClock
from vision.types import PoseFrame, Poses

__all__ = ["BaseFrameStream", "FrameJob", "InferenceResult", "StreamStats"]


@dataclass(slots=True)
class StreamStats:
    """Frame counters of one stream (see `server.schemas.StatsMessage`)."""

    received: int = 0
    processed: int = 0
    dropped: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class InferenceResult:
    """What the worker made of one frame.

    Attributes:
        timestamp_ms: The frame's capture time, as the client sent it.
        received_ns: `time.perf_counter_ns()` when the server received the frame.
        frame: The selected subject (`PoseFrame.missing` when nobody), or None on error.
        candidates: People found in the image.
        image_wh: (width, height) of the decoded image; (0, 0) on error.
        inference_ms: Decode + model + subject selection.
        error: Why the frame produced no pose (`bad_image`, `inference_failed`).
        poses: Everyone the backend found (untracked), None on error or when the
            worker does not pass them on; the group screen uses these.
        lineage: (N,) int64, one per pose of `poses`, from a backend that follows
            people itself (`vision.backends.base.FollowsPeople`); else None.
    """

    timestamp_ms: int
    received_ns: int
    frame: PoseFrame | None
    candidates: int
    image_wh: tuple[int, int]
    inference_ms: float
    error: ProtocolError | None = None
    poses: Poses | None = None
    lineage: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True, slots=True)
class FrameJob:
    """One frame offered to a stream."""

    timestamp_ms: int
    jpeg: bytes
    received_ns: int


class BaseFrameStream:
    """Results, idle state, counters and the one waiting frame of a stream."""

    def __init__(self) -> None:
        self._results: asyncio.Queue[InferenceResult] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self.stats = StreamStats()
        self.clock = VideoClock()  # the last accepted frame's timestamp_ms
        self._pending: FrameJob | None = None
        self._busy = False  # taken for inference and its result not yet used
        self._closed = False

    async def next_result(self) -> InferenceResult:
        """Wait for the next result of this stream."""
        return await self._results.get()

    async def drain(self) -> None:
        """Wait until the waiting frame (if any) has been processed and used."""
        await self._idle.wait()

    def _used(self, processed: bool) -> None:
        # task_done: count the result the session used.
        if processed:
            self.stats.processed += 1
        else:
            self.stats.rejected += 1

    def _wait(self, job: FrameJob) -> None:
        # The job waits in place of (and drops) any frame still waiting.
        self._drop_waiting()
        self._pending = job

    def _drop_waiting(self) -> None:
        if self._pending is not None:
            self.stats.dropped += 1
            self._pending = None

    def _close_slot(self) -> bool:
        """Mark closed and drop the waiting frame; False when already closed."""
        if self._closed:
            return False
        self._closed = True
        self._drop_waiting()
        return True
