"""`Closeable`: the `with obj:` protocol for the edge objects that hold a resource
(backends, frame sources, video writers)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closeable"]


class Closeable:
    """Mixin: `with obj:` returns obj and calls `obj.close()` on leaving the block."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the resource; safe to call twice."""
        raise NotImplementedError
