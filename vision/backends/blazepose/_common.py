"""Shapes of the two BlazePose networks and helpers every stage shares (edge: cv2)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vision.backends.base import BackendError

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


def check_image(image_bgr: object) -> tuple[int, int]:
    """(W, H) of a BGR frame.

    Raises:
        ValueError: the image is not (H, W, 3) uint8.
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
