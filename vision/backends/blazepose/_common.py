"""Shapes of the two BlazePose networks and helpers every stage shares (edge: cv2)."""

from __future__ import annotations

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
