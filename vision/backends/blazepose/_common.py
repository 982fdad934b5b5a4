"""Shapes of the two BlazePose networks and helpers every stage shares (edge: cv2)."""

from __future__ import annotations

import threading
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.base import BackendError, check_image
from vision.backends.blazepose.kernels import _warp_replicate

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


def _rows_scratch(
    size: int,
) -> tuple[F32, npt.NDArray[np.uint32], F32, npt.NDArray[np.uint32]]:
    """This thread's row work arrays of `_warp_replicate` for output side `size`:
    tensor rows 0..size-1 (float32), offsets (2, size), weights (2, size), words
    (4, size)."""
    rows = getattr(_SCRATCH, "rows", {})
    _SCRATCH.rows = rows
    if size not in rows:
        rows[size] = (
            np.arange(size, dtype=np.float32),
            np.empty((2, size), np.uint32),
            np.empty((2, size), np.float32),
            np.empty((4, size), np.uint32),
        )
    return rows[size]  # type: ignore[no-any-return]


def _warp_replicate_into(
    out: F32, image_bgr: npt.NDArray[np.uint8], tensor_to_image: F64, scale: float
) -> bool:
    """`warp_into`'s replicated-border warp as one numba pass straight into the RGB
    planes (no uint8 crop, split or multiply): OpenCV's float bilinear warp (>= 4.11:
    float32 map, fmas, round half to even) to the bit, at ~0.32 ms for a 256x256
    crop of a 522x294 frame (0.62 with float64 arithmetic and byte-wise gathers).
    False (nothing written) where the kernel does not apply: an image under 2 px
    wide or of 2**31 bytes or more (int32 offsets), or a non-finite transform."""
    rows, cols = image_bgr.shape[:2]
    if cols < 2 or image_bgr.size >= 2**31 or not np.isfinite(tensor_to_image).all():
        return False
    m = tensor_to_image.astype(np.float32)
    tensor_rows, offsets, weights, words = _rows_scratch(out.shape[-1])
    # OpenCV's per-row terms, float32 products and sums (numpy fuses nothing).
    row_x = tensor_rows * m[0, 1] + m[0, 2]
    row_y = tensor_rows * m[1, 1] + m[1, 2]
    _warp_replicate(
        np.ascontiguousarray(image_bgr).reshape(-1),
        rows,
        cols,
        m[0, 0],
        m[1, 0],
        row_x,
        row_y,
        np.float32(scale),
        offsets,
        weights,
        words,
        out,
    )
    return True


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
    if not (replicate and _warp_replicate_into(out, image_bgr, tensor_to_image, scale)):
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
        # One contiguous plane per channel, then one multiply each: about half the
        # time of converting the interleaved, channel-reversed view at once.
        cv2.split(warped, planes)
        for plane, channel in zip(planes, (2, 1, 0), strict=True):
            np.multiply(plane, np.float32(scale), out=out[channel], dtype=np.float32)
    if offset:
        out += np.float32(offset)
