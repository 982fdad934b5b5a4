"""The video-mode clock: one stream's capture times must increase strictly (core).

Time is data (`timestamp_ms`, stamped at the camera edge); every consumer that keeps
state across frames (backends in VIDEO mode, smoothers, trackers, the server's frame
streams) holds one `VideoClock` and lets it reject a frame that does not come after
the last one, as mediapipe's `detect_for_video` does. No clock is read here.
"""

from __future__ import annotations

from numbers import Integral

__all__ = ["NonMonotonicTimestamp", "VideoClock"]


class NonMonotonicTimestamp(ValueError):
    """A timestamp at or before the last accepted one.

    Attributes:
        timestamp_ms: The rejected capture time.
        last_ms: The last accepted capture time.
    """

    def __init__(self, timestamp_ms: int, last_ms: int, mode: str = "") -> None:
        self.timestamp_ms = timestamp_ms
        self.last_ms = last_ms
        label = f" ({mode})" if mode else ""
        super().__init__(
            f"timestamps must increase{label}: got {timestamp_ms} ms after {last_ms} ms"
        )


def _as_int(timestamp_ms: object) -> int:
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, Integral):
        raise TypeError(f"timestamp_ms must be an int, got {timestamp_ms!r}")
    return int(timestamp_ms)


class VideoClock:
    """The last accepted `timestamp_ms` of one stream.

    `check` validates a timestamp without taking it (call it before work that may
    fail), `advance` takes it as the latest. A pure value: no system clock.

    Args:
        mode: Named in the error message, e.g. "VIDEO mode".
    """

    __slots__ = ("last_ms", "mode")

    def __init__(self, mode: str = "") -> None:
        self.mode = mode
        self.last_ms: int | None = None

    def check(self, timestamp_ms: object) -> int:
        """`timestamp_ms` as an int, if it may follow the last accepted one.

        Raises:
            TypeError: not an integer (bools are not timestamps).
            NonMonotonicTimestamp: (a ValueError) not after the last accepted one.
        """
        # Plain ints (every frame) skip the slower Integral check.
        ts = timestamp_ms if type(timestamp_ms) is int else _as_int(timestamp_ms)
        last = self.last_ms
        if last is not None and ts <= last:
            raise NonMonotonicTimestamp(ts, last, self.mode)
        return ts

    def advance(self, timestamp_ms: object) -> int:
        """`check` the timestamp, then take it as the latest; returns it as an int.
        (`check` written out again: this runs on every frame of every stream.)"""
        ts = timestamp_ms if type(timestamp_ms) is int else _as_int(timestamp_ms)
        last = self.last_ms
        if last is not None and ts <= last:
            raise NonMonotonicTimestamp(ts, last, self.mode)
        self.last_ms = ts
        return ts

    def reset(self) -> None:
        """Forget the last timestamp (a new stream)."""
        self.last_ms = None

    def __repr__(self) -> str:
        return f"VideoClock(last_ms={self.last_ms!r})"
