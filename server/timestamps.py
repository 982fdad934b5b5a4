"""Frame timestamps between a session and the pose backends (`server.inference`).

A session's frame times are the client's (`performance.now()` on the page): bounded
by `accept_timestamp` (at most `MAX_TIMESTAMP_MS`, steps of at most
`MAX_TIMESTAMP_STEP_MS`, increasing) before they go anywhere. A pooled backend keeps
one clock across the sessions it serves (MediaPipe's VIDEO mode needs increasing
times); `ShiftedBackend` rebases each session to start just past the last time the
backend took, so the backend's clock grows by the sessions' spans only, never jumps
with what a client sends, and never reaches where MediaPipe's int64 microseconds wrap
(~9.22e15 ms): past `BACKEND_CLOCK_LIMIT_MS` a frame fails and the backend is closed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from server.schemas import ErrorCode, ProtocolError
from vision.backends.base import PoseBackend
from vision.clock import NonMonotonicTimestamp
from vision.types import Poses

__all__ = [
    "BACKEND_CLOCK_LIMIT_MS",
    "MAX_TIMESTAMP_MS",
    "MAX_TIMESTAMP_STEP_MS",
    "ShiftedBackend",
    "accept_timestamp",
]

MAX_TIMESTAMP_MS: Final[int] = 2**53 - 1
"""Latest frame timestamp taken (the page's clock is a JavaScript number, exact up to
2^53); far below where MediaPipe's int64 microseconds wrap (~9.22e15 ms)."""
MAX_TIMESTAMP_STEP_MS: Final[int] = 3_600_000
"""Longest step from one accepted frame of a session to the next (an hour)."""
BACKEND_CLOCK_LIMIT_MS: Final[int] = 2**50
"""A backend's own clock (its sessions' spans added up) stops here: a frame beyond it
fails and the backend is closed, not pooled (MediaPipe wraps near 2^63 microseconds)."""


def accept_timestamp(stream: Any, timestamp_ms: int) -> None:
    """Count a frame offered to `stream` (a `FrameStream` or the Ray client's) and
    take its timestamp as the stream's latest.

    Raises:
        ProtocolError: `non_monotonic` when timestamp_ms is not above the previous
            accepted frame's; `bad_timestamp` when it is above `MAX_TIMESTAMP_MS` or
            more than `MAX_TIMESTAMP_STEP_MS` after the previous one (counted as
            rejected; the stream goes on).
    """
    stream.stats.received += 1
    last = stream.clock.last_ms
    problem = None
    if not 0 <= timestamp_ms <= MAX_TIMESTAMP_MS:
        problem = (
            f"expected timestamp_ms in [0, {MAX_TIMESTAMP_MS}], got {timestamp_ms}"
        )
    elif last is not None and timestamp_ms - last > MAX_TIMESTAMP_STEP_MS:
        problem = (
            f"expected timestamp_ms at most {MAX_TIMESTAMP_STEP_MS} ms after "
            f"{last}, got {timestamp_ms}"
        )
    if problem is not None:
        stream.stats.rejected += 1
        raise ProtocolError(ErrorCode.BAD_TIMESTAMP, problem)
    try:
        stream.clock.advance(timestamp_ms)
    except NonMonotonicTimestamp as exc:
        stream.stats.rejected += 1
        raise ProtocolError(
            ErrorCode.NON_MONOTONIC,
            f"expected timestamp_ms above {exc.last_ms}, got {timestamp_ms}",
        ) from None


class ShiftedBackend:
    """A pooled backend whose clock keeps increasing across its sessions: a session's
    timestamps are rebased to start just after the last one the backend took, so its
    clock grows by the sessions' spans only, and a frame it refuses moves nothing.
    `failed`: it raised once; it is closed after its session, never pooled."""

    def __init__(self, backend: PoseBackend) -> None:
        self.backend = backend
        self.last_ms: int | None = None
        self.offset_ms = 0
        self.rebase = True
        self.failed = False

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        offset = self.offset_ms
        if self.rebase:
            offset = (-1 if self.last_ms is None else self.last_ms) + 1 - timestamp_ms
        shifted = timestamp_ms + offset
        try:
            if shifted > BACKEND_CLOCK_LIMIT_MS:
                raise OverflowError(
                    f"expected a backend clock of at most {BACKEND_CLOCK_LIMIT_MS} "
                    f"ms, got {shifted} ms"
                )
            poses = self.backend.detect(image_bgr, shifted)
        except Exception:
            # The backend may have taken `shifted` before it failed: the session keeps
            # this offset, so its next frame reaches the backend later than this one
            # (the backend's own `last_ms` stays, and a failed backend is not pooled).
            self.failed = True
            self.offset_ms, self.rebase = offset, False
            raise
        self.offset_ms, self.rebase, self.last_ms = offset, False, shifted
        return replace(poses, timestamp_ms=timestamp_ms) if offset else poses
