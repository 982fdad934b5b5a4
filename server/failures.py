"""Failures that repeat frame after frame, logged so the log stays readable: one line
per failure with a running count of its kind, and the traceback only the first time
a kind is seen (issue 18: a backend failing on every frame wrote a 35-line traceback
each time, 20,000 lines in a run).

    except Exception as exc:
        log_repeated_failure(log, exc, "pose backend failed on frame %d", timestamp_ms)

A kind is the exception's type and the place it was raised (file and line of the
innermost frame), so the same bug on different frames (different messages) is one
kind and a new bug gets its own traceback.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Final

__all__ = ["MAX_KINDS", "failure_counts", "log_repeated_failure"]

MAX_KINDS: Final[int] = 256
"""Kinds remembered; beyond them failures are still counted in one line each, under
a catch-all kind, but show no further tracebacks (the table cannot grow without
bound)."""

_lock = threading.Lock()
_counts: dict[tuple[str, str], int] = {}


def _kind(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return type(exc).__qualname__, where


def log_repeated_failure(
    logger: logging.Logger, exc: BaseException, message: str, *args: object
) -> int:
    """Log `message % args` and the exception in one line with the count of its kind
    so far; the first of a kind also gets the traceback. Returns that count.

    Called from the inference thread and the event loop alike (a lock guards the
    counts)."""
    kind = _kind(exc)
    with _lock:
        if kind not in _counts and len(_counts) >= MAX_KINDS:
            kind = ("(other kinds)", "")
        count = _counts[kind] = _counts.get(kind, 0) + 1
    logger.error(
        message + ": %s: %s (failure %d of this kind%s)",
        *args,
        type(exc).__name__,
        str(exc)[:300],
        count,
        "; traceback follows" if count == 1 else "; traceback logged at the first",
        exc_info=exc if count == 1 else None,
    )
    return count


def failure_counts() -> dict[tuple[str, str], int]:
    """(exception type, where raised) -> failures so far (for tests and /metrics)."""
    with _lock:
        return dict(_counts)
