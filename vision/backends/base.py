"""The interface every pose backend implements (edge module)."""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from vision.types import Poses, Skeleton

__all__ = [
    "BackendError",
    "FollowsPeople",
    "PoseBackend",
    "check_image",
    "options_or_default",
]

_Options = TypeVar("_Options")


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


@runtime_checkable
class FollowsPeople(Protocol):
    """A backend that follows each person from frame to frame itself (the
    multi-person estimator's ROIs): `last_lineage` (N,) int64 numbers the poses of its
    last `detect` by the chain of fits each continues (>= 1, never reused), for
    `vision.tracking.PoseTracker.update(poses, lineage=...)`."""

    last_lineage: npt.NDArray[np.int64]


def options_or_default(options: object, options_cls: type[_Options]) -> _Options:
    """A backend's options: `options`, or `options_cls()` when None.

    Raises:
        TypeError: options of another type.
    """
    if options is None:
        return options_cls()
    if not isinstance(options, options_cls):
        raise TypeError(
            f"options must be {options_cls.__name__}, got {type(options).__name__}"
        )
    return options


def check_image(image_bgr: object) -> tuple[int, int]:
    """(W, H) of a BGR frame given to a backend.

    Raises:
        ValueError: the image is not (H, W, 3) uint8 with both sides >= 1.
    """
    if (
        not isinstance(image_bgr, np.ndarray)
        or image_bgr.ndim != 3
        or image_bgr.shape[2] != 3
        or image_bgr.dtype != np.uint8
        or image_bgr.shape[0] < 1
        or image_bgr.shape[1] < 1
    ):
        raise ValueError(
            "image_bgr must be (H, W, 3) uint8, got "
            f"{getattr(image_bgr, 'shape', None)} "
            f"{getattr(image_bgr, 'dtype', type(image_bgr).__name__)}"
        )
    return int(image_bgr.shape[1]), int(image_bgr.shape[0])
