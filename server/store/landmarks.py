"""Landmark recordings: frames buffered per session, stored as compressed chunks.

A chunk is `np.savez_compressed` bytes holding

    xyz:          (T, J, 3) float16 (default) or float32, normalized image coordinates
    visibility:   (T, J)    same dtype, in [0, 1]
    timestamp_ms: (T,)      int64, capture times from the kiosk's monotonic clock
    aspect_wh:    ()        float64, the camera image's width / height
                            (`PoseFrame.aspect_wh`; chunks without it read as 1.0)

float16 keeps about 3 significant digits (a 1/2048 step at x = 1.0, under a pixel at
1080p) at half the size; NaN (missing joint) survives both dtypes. Chunks are appended
in `seq` order and never rewritten, so an interrupted session keeps every flushed chunk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "DEFAULT_CHUNK_FRAMES",
    "DEFAULT_CHUNK_MS",
    "LandmarkBuffer",
    "decode_chunk",
    "encode_chunk",
    "window_from_chunks",
]

DEFAULT_CHUNK_MS: Final[int] = 2000
"""Flush a session's buffered frames once they span this much capture time."""
DEFAULT_CHUNK_FRAMES: Final[int] = 256
"""…or once this many frames are buffered, whichever comes first."""

_DTYPES: Final[dict[str, type[np.floating[Any]]]] = {
    "float16": np.float16,
    "float32": np.float32,
}


def encode_chunk(
    xyz: npt.NDArray[np.floating[Any]],
    visibility: npt.NDArray[np.floating[Any]],
    timestamp_ms: npt.NDArray[np.integer[Any]],
    dtype: str = "float16",
    aspect_wh: float = 1.0,
) -> bytes:
    """Compress T frames into one chunk.

    Args:
        xyz: (T, J, 3) float, normalized image coordinates; NaN = joint missing.
        visibility: (T, J) float in [0, 1].
        timestamp_ms: (T,) int, capture times.
        dtype: "float16" (default) or "float32" for the coordinates and visibility.

    Raises:
        ValueError: shapes disagree, T is 0, or `dtype` is not one of the two.
    """
    if dtype not in _DTYPES:
        raise ValueError(f"expected dtype float16 or float32, got {dtype!r}")
    xyz = np.asarray(xyz)
    visibility = np.asarray(visibility)
    timestamp_ms = np.asarray(timestamp_ms)
    if xyz.ndim != 3 or xyz.shape[2] != 3 or xyz.shape[0] == 0:
        raise ValueError(f"expected xyz of shape (T, J, 3) with T > 0, got {xyz.shape}")
    t, j, _ = xyz.shape
    if visibility.shape != (t, j) or timestamp_ms.shape != (t,):
        raise ValueError(
            f"expected visibility {(t, j)} and timestamp_ms {(t,)}, "
            f"got {visibility.shape} and {timestamp_ms.shape}"
        )
    out = io.BytesIO()
    np.savez_compressed(
        out,
        xyz=xyz.astype(_DTYPES[dtype]),
        visibility=visibility.astype(_DTYPES[dtype]),
        timestamp_ms=timestamp_ms.astype(np.int64),
        aspect_wh=np.float64(aspect_wh),
    )
    return out.getvalue()


def decode_chunk(
    data: bytes,
) -> tuple[
    npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]], npt.NDArray[np.int64]
]:
    """(xyz (T, J, 3), visibility (T, J), timestamp_ms (T,) int64), stored dtype."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return npz["xyz"], npz["visibility"], npz["timestamp_ms"].astype(np.int64)


def window_from_chunks(chunks: list[tuple[str, bytes]]) -> PoseWindow | None:
    """Concatenate decoded chunks `(skeleton value, data)` into one float32 window."""
    if not chunks:
        return None
    parts = [decode_chunk(data) for _, data in chunks]
    with np.load(io.BytesIO(chunks[0][1]), allow_pickle=False) as npz:
        aspect_wh = float(npz["aspect_wh"]) if "aspect_wh" in npz.files else 1.0
    return PoseWindow(
        np.ascontiguousarray(np.concatenate([p[0] for p in parts]), np.float32),
        np.ascontiguousarray(np.concatenate([p[1] for p in parts]), np.float32),
        np.concatenate([p[2] for p in parts]),
        Skeleton(chunks[0][0]),
        aspect_wh,
    )


@dataclass(slots=True)
class LandmarkBuffer:
    """Frames of one session waiting to become a chunk (no I/O, no clock).

    `add` returns True when the buffered frames span `chunk_ms` of capture time or
    number `chunk_frames`; the caller then `take`s them and stores the chunk.
    """

    chunk_ms: int = DEFAULT_CHUNK_MS
    chunk_frames: int = DEFAULT_CHUNK_FRAMES
    skeleton: Skeleton | None = None
    aspect_wh: float = 1.0
    _xyz: list[npt.NDArray[np.float32]] = field(default_factory=list)
    _visibility: list[npt.NDArray[np.float32]] = field(default_factory=list)
    _timestamps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._timestamps)

    def add(self, frame: PoseFrame) -> bool:
        """Buffer one frame; True when a chunk is due.

        Raises:
            ValueError: the frame's skeleton differs from the buffered frames'.
        """
        if self.skeleton is None:
            self.skeleton = frame.skeleton
        elif frame.skeleton is not self.skeleton:
            raise ValueError(
                f"expected {self.skeleton.value} frames, got {frame.skeleton.value}"
            )
        if not frame.is_missing:  # a missing frame's aspect may be unknown
            self.aspect_wh = frame.aspect_wh
        self._xyz.append(frame.xyz)
        self._visibility.append(frame.visibility)
        self._timestamps.append(int(frame.timestamp_ms))
        span = self._timestamps[-1] - self._timestamps[0]
        return span >= self.chunk_ms or len(self._timestamps) >= self.chunk_frames

    def take(self) -> PoseWindow | None:
        """The buffered frames as a window (None when empty); the buffer is emptied."""
        if not self._timestamps:
            return None
        assert self.skeleton is not None
        window = PoseWindow(
            np.ascontiguousarray(np.stack(self._xyz), np.float32),
            np.ascontiguousarray(np.stack(self._visibility), np.float32),
            np.asarray(self._timestamps, np.int64),
            self.skeleton,
            self.aspect_wh,
        )
        self._xyz.clear()
        self._visibility.clear()
        self._timestamps.clear()
        return window
