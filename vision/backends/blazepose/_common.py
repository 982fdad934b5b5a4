"""Shapes of the two BlazePose networks and helpers every stage shares (edge: cv2)."""

from __future__ import annotations

import threading
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.base import BackendError, check_image

__all__ = [
    "DETECTOR_INPUT_SIZE",
    "F32",
    "F64",
    "LANDMARK_INPUT_SIZE",
    "NUM_DETECTOR_KEYPOINTS",
    "NUM_LANDMARKS",
    "NUM_POSE_JOINTS",
    "check_image",
    "cv2_module",
    "no_rois",
    "tensor_batch",
    "warp_into",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DETECTOR_INPUT_SIZE: Final[int] = 224
LANDMARK_INPUT_SIZE: Final[int] = 256
NUM_LANDMARKS: Final[int] = 39  # 33 BlazePose + 2 ROI alignment points + 4 unused
NUM_POSE_JOINTS: Final[int] = 33
NUM_DETECTOR_KEYPOINTS: Final[int] = 4


def no_rois() -> F64:
    """(0, 4) float64: nobody tracked."""
    return np.zeros((0, 4), np.float64)


def cv2_module() -> Any:
    """OpenCV, imported on first use."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - cv2 is a core dependency
        raise BackendError(
            "the onnx backend needs OpenCV (opencv-contrib-python, a movecoach "
            f"dependency: pip install -e .): {exc}"
        ) from exc
    return cv2


def tensor_batch(out: F32 | None, n: int, size: int) -> F32:
    """A (n, 3, size, size) float32 batch to fill: `out` itself (a caller's reused
    buffer) or a new array.

    Raises:
        ValueError: `out` has another shape or dtype, or is not C-contiguous.
    """
    if out is None:
        return np.empty((n, 3, size, size), np.float32)
    if (
        out.shape != (n, 3, size, size)
        or out.dtype != np.float32
        or not out.flags.c_contiguous
    ):
        raise ValueError(
            f"out must be ({n}, 3, {size}, {size}) float32 C-contiguous, got "
            f"{out.shape} {out.dtype}"
        )
    return out


_SCRATCH = threading.local()


def _scratch(size: int) -> tuple[npt.NDArray[np.uint8], list[npt.NDArray[np.uint8]]]:
    """This thread's (size, size, 3) uint8 warp target and its three planes, reused
    from call to call (inference threads each have their own)."""
    buffers = getattr(_SCRATCH, "buffers", {})
    _SCRATCH.buffers = buffers
    if size not in buffers:
        buffers[size] = (
            np.empty((size, size, 3), np.uint8),
            [np.empty((size, size), np.uint8) for _ in range(3)],
        )
    return buffers[size]  # type: ignore[no-any-return]


def warp_into(
    out: F32,
    image_bgr: npt.NDArray[np.uint8],
    tensor_to_image: F64,
    *,
    scale: float,
    offset: float,
    replicate: bool,
) -> None:
    """Warp a BGR frame into one network input, in place.

    Args:
        out: (3, S, S) float32 slot of a batch, RGB planes; each becomes
            pixel * scale + offset.
        image_bgr: (H, W, 3) uint8 BGR.
        tensor_to_image: (2, 3) affine, tensor px -> image px (OpenCV's inverse map,
            bilinear, no half-pixel offset, as MediaPipe's warps).
        scale, offset: The network's input normalization.
        replicate: Outside the image, repeat the edge (else pixel value 0).
    """
    cv2 = cv2_module()
    size = out.shape[-1]
    warped, planes = _scratch(size)
    cv2.warpAffine(
        image_bgr,
        tensor_to_image,
        (size, size),
        dst=warped,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    # One contiguous plane per channel, then one multiply each: about half the time
    # of converting the interleaved, channel-reversed view at once.
    cv2.split(warped, planes)
    for plane, channel in zip(planes, (2, 1, 0), strict=True):
        np.multiply(plane, np.float32(scale), out=out[channel], dtype=np.float32)
    if offset:
        out += np.float32(offset)
