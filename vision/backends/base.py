"""The interface every pose backend implements (edge module)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from vision.types import Poses, Skeleton

__all__ = ["BackendError", "PoseBackend"]


class BackendError(RuntimeError):
    """A backend cannot be built or run (missing model, wrong hash, bad options)."""


class PoseBackend(Protocol):
    """Image in, everyone found out.

    `detect` takes a BGR uint8 (H, W, 3) image and its capture time; timestamps must
    increase between calls (VIDEO-mode tracking). Landmarks come back in normalized
    image coordinates as `Poses` (track_ids -1: tracking is a separate step).
    """

    name: str
    skeleton: Skeleton

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses: ...

    def close(self) -> None: ...
