"""A spoken verdict that does not flicker: the first is announced at once, a change
only once it has held for a while.

    gate = Debouncer(hold_ms=500)
    if gate.update("hold_still", timestamp_ms):   # True: announce it now
        ...

Core module: stdlib only.
"""

from __future__ import annotations

__all__ = ["Debouncer"]


class Debouncer:
    """Debounces a stream of verdict keys (see the module docstring).

    Args:
        hold_ms: How long a new verdict must hold before it replaces the announced one.

    Attributes:
        current: The announced verdict; None before the first (or after `reset`).
    """

    __slots__ = ("_pending", "current", "hold_ms")

    def __init__(self, hold_ms: int) -> None:
        self.hold_ms = int(hold_ms)
        self.current: str | None = None
        self._pending: tuple[str, int] | None = None

    def reset(self) -> None:
        """Forget the announced verdict: the next one is announced at once."""
        self.current = None
        self._pending = None

    def update(self, key: str, timestamp_ms: int) -> bool:
        """Take this frame's verdict; True when it is to be announced now."""
        if key == self.current:
            self._pending = None
            return False
        if self.current is not None:
            if self._pending is None or self._pending[0] != key:
                self._pending = (key, timestamp_ms)
            if timestamp_ms - self._pending[1] < self.hold_ms:
                return False
        self.current = key
        self._pending = None
        return True
