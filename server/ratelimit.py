"""Limits where guesses are possible (member codes and cards, staff passwords): failed
tries per key, in memory, per process, with backoff. One `FailureLimiter` per limited
action and scope (`limiter_of`), kept on the app, so every route and socket of that
app shares it.

    limiter = limiter_of(app.state, "sign_in", Limit(free=5, window_s=900, ...))
    wait_s = limiter.retry_after(key, now)   # > 0: refuse (429 / an error message)
    if wrong_guess: limiter.failed(key, now)

A key may fail `free` times within `window_s`; the failure that uses the last free try
locks the key for `base_lock_s`, and each further failure (once the lock has passed)
doubles the lock, up to `max_lock_s`. Failures older than `window_s` are forgotten.

Our own rather than `limits`/`slowapi`: those count every hit against fixed or moving
windows on the wall clock; here only failures count, the lock grows with each one, the
caller passes the time (monotonic seconds: tests need no sleeps), and the number of keys
held is bounded (an attacker who varies the key cannot grow memory without end).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from starlette.datastructures import State

__all__ = ["MAX_KEYS", "FailureLimiter", "Limit", "limiter_of"]

MAX_KEYS: Final[int] = 10_000
"""Keys a limiter holds at most; the least recently failed go first."""


@dataclass(frozen=True, slots=True)
class Limit:
    """How many failures a key has for free and how long it waits after them.

    Attributes:
        free: Failures within `window_s` before the key is locked (>= 1).
        window_s: How long a failure counts.
        base_lock_s: The first lock; each further failure doubles it.
        max_lock_s: The longest lock.
    """

    free: int
    window_s: float
    base_lock_s: float
    max_lock_s: float

    def __post_init__(self) -> None:
        if self.free < 1 or not 0 < self.base_lock_s <= self.max_lock_s:
            raise ValueError(
                "expected free >= 1 and 0 < base_lock_s <= max_lock_s, got "
                f"{self.free}, {self.base_lock_s}, {self.max_lock_s}"
            )

    def lock_s(self, failures: int) -> float:
        """The lock after `failures` failures within the window (0: none)."""
        excess = failures - self.free
        if excess < 0:
            return 0.0
        return min(self.max_lock_s, self.base_lock_s * 2.0 ** min(excess, 64))


@dataclass(slots=True)
class _Key:
    fails: collections.deque[float]
    locked_until: float = 0.0


class FailureLimiter:
    """Failures per key under one `Limit`; times are the caller's (a monotonic
    clock), so tests need no sleeps.

    Args:
        limit: Free failures, window and backoff.
        max_keys: Keys held at most (the least recently failed are forgotten).
    """

    def __init__(self, limit: Limit, *, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}

    def _prune(self, key: str, now: float) -> _Key | None:
        # Caller holds the lock.
        state = self._keys.get(key)
        if state is None:
            return None
        fails = state.fails
        while fails and now - fails[0] > self.limit.window_s:
            fails.popleft()
        if not fails and state.locked_until <= now:
            del self._keys[key]
            return None
        return state

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0.0: now)."""
        with self._lock:
            state = self._prune(key, now)
            return 0.0 if state is None else max(0.0, state.locked_until - now)

    def blocked(self, key: str, now: float) -> bool:
        """Whether `key` must wait before its next try."""
        return self.retry_after(key, now) > 0.0

    def failed(self, key: str, now: float) -> None:
        """Count one failure of `key` at `now` (and lock it once its free tries are
        used up)."""
        with self._lock:
            state = self._prune(key, now)
            if state is None:
                state = _Key(collections.deque())
            else:
                del self._keys[key]  # re-inserted last: most recently failed
            self._keys[key] = state
            state.fails.append(now)
            lock_s = self.limit.lock_s(len(state.fails))
            if lock_s > 0:
                state.locked_until = max(state.locked_until, now + lock_s)
            while len(self._keys) > self.max_keys:
                del self._keys[next(iter(self._keys))]

    def forget(self, key: str) -> None:
        """Drop `key`'s failures (its owner proved who they are)."""
        with self._lock:
            self._keys.pop(key, None)


_MAKING = threading.Lock()


def limiter_of(state: State, action: str, limit: Limit) -> FailureLimiter:
    """The app's limiter of `action` (made on first use with `limit`)."""
    with _MAKING:
        return _limiter_of(state, action, limit)


def _limiter_of(state: State, action: str, limit: Limit) -> FailureLimiter:
    limiters: dict[str, FailureLimiter] | None = getattr(
        state, "movecoach_limiters", None
    )  # starlette's State is untyped
    if limiters is None:
        limiters = {}
        state.movecoach_limiters = limiters
    limiter = limiters.get(action)
    if limiter is None:
        limiter = limiters[action] = FailureLimiter(limit)
    return limiter
