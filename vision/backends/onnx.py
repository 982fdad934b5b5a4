"""The `onnx` pose backend (`create_backend("onnx")`): BlazePose through ONNX Runtime.

The pipeline lives in `vision.backends.blazepose` (anchors, detector, ROIs, landmarks,
VIDEO-mode tracking, the ONNX Runtime sessions); this module names the backend and
its options for `vision.backends.create_backend`.
"""

from vision.backends.blazepose.backend import OnnxBackend
from vision.backends.blazepose.runtime import OnnxOptions

__all__ = ["OnnxBackend", "OnnxOptions"]
