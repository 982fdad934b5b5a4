"""Capture of native stderr (edge helper).

C/C++ libraries (FFmpeg, glog, TFLite) write to file descriptor 2 directly, past
Python's `sys.stderr`."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["captured_native_stderr"]


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Route file descriptor 2 to a temporary file for the duration.

    Yields a list that receives the captured text when the block ends. The redirection
    is process-wide, so keep the block short (opening a file, building a model): other
    threads' stderr is captured too while it lasts.
    """
    out: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
        yield out
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))
