"""Rate limits where guesses are possible: failures per key within a sliding window,
in memory, per process. One `FailureLimiter` per limited action, kept on the app
(`limiter_of`), so every route and socket of that app shares it.

    limiter = limiter_of(app.state, "sign_in", max_failures=5, window_s=60.0)
    if limiter.blocked(key, now):  ...            # refuse (429 / an error message)
    if wrong_guess: limiter.failed(key, now)
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.datastructures import State

__all__ = ["FailureLimiter", "limiter_of"]


class FailureLimiter:
    """At most `max_failures` failures per key within `window_s`; times are the
    caller's (a monotonic clock), so tests need no sleeps."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._lock = threading.Lock()
        self._fails: dict[str, collections.deque[float]] = {}

    def blocked(self, key: str, now: float) -> bool:
        """Whether `key` has used up its failures in the window ending `now`."""
        with self._lock:
            fails = self._fails.get(key)
            if fails is None:
                return False
            while fails and now - fails[0] > self.window_s:
                fails.popleft()
            if not fails:
                del self._fails[key]
                return False
            return len(fails) >= self.max_failures

    def failed(self, key: str, now: float) -> None:
        """Count one failure of `key` at `now`."""
        with self._lock:
            self._fails.setdefault(key, collections.deque()).append(now)


def limiter_of(
    state: State, action: str, *, max_failures: int, window_s: float
) -> FailureLimiter:
    """The app's limiter of `action` (made on first use with these limits)."""
    limiters: dict[str, FailureLimiter] | None = getattr(
        state, "movecoach_limiters", None
    )  # starlette's State is untyped
    if limiters is None:
        limiters = {}
        state.movecoach_limiters = limiters
    limiter = limiters.get(action)
    if limiter is None:
        limiter = limiters[action] = FailureLimiter(max_failures, window_s)
    return limiter
