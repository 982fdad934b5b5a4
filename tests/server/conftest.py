"""Fakes for the server tests: pose backends implementing `PoseBackend`, JPEG helpers.

`starlette.testclient` warns at import when only `httpx` (not `httpx2`) is installed;
it is imported here once with that one warning silenced, so `filterwarnings = error`
does not turn the environment's choice of HTTP client into test failures.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from vision.types import PoseFrame, Poses, Skeleton

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".*install `httpx2` instead")
    import starlette.testclient  # noqa: F401


def kiosk_protocols(token: str) -> list[str]:
    """The subprotocols a kiosk page offers with its token (docs/protocol.md)."""
    return ["movecoach", f"movecoach.token.{token}"]


def jpeg_bytes(width: int = 64, height: int = 48, value: int = 128) -> bytes:
    """A small valid JPEG of a flat grey image."""
    ok, buf = cv2.imencode(".jpg", np.full((height, width, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


def standing_frame(timestamp_ms: int = 0) -> PoseFrame:
    """A person standing in the middle of the image, every joint visible."""
    rng = np.random.default_rng(0)
    xyz = np.zeros((33, 3), np.float32)
    xyz[:, 0] = 0.45 + 0.1 * rng.random(33)
    xyz[:, 1] = np.linspace(0.1, 0.9, 33)
    return PoseFrame(xyz, np.ones(33, np.float32), timestamp_ms)


class ScriptedBackend:
    """A `PoseBackend` that returns scripted poses instead of looking at the image.

    Args:
        script: Called with (call index, timestamp_ms, image) and returns the people
            "found"; default: one standing person every frame.
        gate: When given, `detect` signals `entered` and blocks until the gate is set
            (a slow backend whose slowness the test controls).

    Like MediaPipe's VIDEO mode it rejects timestamps that do not increase.
    """

    name = "scripted"
    skeleton = Skeleton.BLAZEPOSE_33

    def __init__(
        self,
        script: Callable[[int, int, npt.NDArray[np.uint8]], Sequence[PoseFrame]]
        | None = None,
        *,
        gate: threading.Event | None = None,
        fail_on: Callable[[int], bool] | None = None,
    ) -> None:
        self.script = script or (lambda i, ts, image: [standing_frame(ts)])
        self.gate = gate
        self.fail_on = fail_on
        self.entered = threading.Event()
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.closed = False

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        if self.calls and timestamp_ms <= self.calls[-1][0]:
            raise ValueError(
                f"timestamps must increase: {timestamp_ms} after {self.calls[-1][0]}"
            )
        index = len(self.calls)
        self.calls.append((timestamp_ms, image_bgr.shape))
        if self.gate is not None:
            self.entered.set()
            if not self.gate.wait(10):
                raise TimeoutError("test gate never opened")
        if self.fail_on is not None and self.fail_on(timestamp_ms):
            raise RuntimeError("scripted failure")
        frames = [
            PoseFrame(f.xyz, f.visibility, timestamp_ms, f.skeleton)
            for f in self.script(index, timestamp_ms, image_bgr)
        ]
        return Poses.from_frames(frames, timestamp_ms)

    def close(self) -> None:
        self.closed = True


class MediaPipeClock(ScriptedBackend):
    """A backend with MediaPipe's clock: `timestamp_ms` x 1000 as a signed 64-bit
    integer (it wraps), refused unless above the last one taken."""

    def __init__(self) -> None:
        super().__init__()
        self.last_us: int | None = None

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        us = (timestamp_ms * 1000) % 2**64
        us = us - 2**64 if us >= 2**63 else us
        if us < 0 or (self.last_us is not None and us <= self.last_us):
            raise ValueError(f"input timestamp must be monotonically increasing: {us}")
        poses = super().detect(image_bgr, timestamp_ms)
        self.last_us = us
        return poses


@pytest.fixture
def scripted_backends() -> list[ScriptedBackend]:
    """Every backend a `scripted_factory` built, in order."""
    return []


@pytest.fixture
def scripted_factory(
    scripted_backends: list[ScriptedBackend],
) -> Callable[[], ScriptedBackend]:
    def factory() -> ScriptedBackend:
        backend = ScriptedBackend()
        scripted_backends.append(backend)
        return backend

    return factory
