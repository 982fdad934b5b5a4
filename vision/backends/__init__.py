"""Pose backends (edges): MediaPipe Tasks and ONNX Runtime, behind `PoseBackend`.

`create_backend("onnx")` builds one by name; each backend module imports its
heavy library (mediapipe, onnxruntime) only when constructed.

ONNX Runtime is the default: it sends nothing off the machine. MediaPipe Tasks (same
BlazePose weights) stays available by name; its privacy notice says it sends usage
metrics to Google (docs/records.md, "What leaves the server").
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from vision.backends.base import BackendError, PoseBackend

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "BackendError",
    "PoseBackend",
    "create_backend",
]

BACKENDS: Final[tuple[str, ...]] = ("mediapipe", "onnx")
"""Names `create_backend` accepts."""

DEFAULT_BACKEND: Final[str] = "onnx"
"""The backend every command, the server and the group screen use unless told
otherwise (`--backend`, `MOVECOACH_BACKEND`)."""


def _options(options_cls: Any, backend: str, options: dict[str, Any]) -> Any:
    from dataclasses import fields

    valid = [f.name for f in fields(options_cls)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown {backend} option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(valid) or '(none)'}"
        )
    return options_cls(**options)


def create_backend(name: str = DEFAULT_BACKEND, **options: Any) -> PoseBackend:
    """Build a pose backend by name.

    Args:
        name: One of `BACKENDS`.
        **options: Fields of that backend's options dataclass (`MediaPipeOptions`,
            `OnnxOptions`).

    Returns:
        A ready backend; close it when done (`with create_backend() as backend:` works
        for both).

    Raises:
        ValueError: an unknown backend or option name (the message lists valid names).
        BackendError: the backend cannot be built (library or module missing, model
            unloadable).
        models.ModelIntegrityError: a model file does not match its manifest hash.
    """
    if name == "mediapipe":
        from vision.backends.mediapipe_tasks import (
            MediaPipeOptions,
            MediaPipeTasksBackend,
        )

        return MediaPipeTasksBackend(_options(MediaPipeOptions, name, options))
    if name == "onnx":
        try:
            onnx_backend = importlib.import_module("vision.backends.onnx")
        except ModuleNotFoundError as exc:
            if exc.name in ("vision.backends.onnx", "onnxruntime"):
                what = (
                    "module vision/backends/onnx.py"
                    if exc.name == "vision.backends.onnx"
                    else "package onnxruntime (pip install 'onnxruntime>=1.20,<1.40')"
                )
                raise BackendError(
                    f"the onnx backend is not available: expected the {what}, "
                    "got none installed"
                ) from exc
            raise
        backend_cls = getattr(onnx_backend, "OnnxPoseBackend", None) or getattr(
            onnx_backend, "OnnxBackend", None
        )
        options_cls = getattr(onnx_backend, "OnnxOptions", None)
        if backend_cls is None or options_cls is None:
            raise BackendError(
                "the onnx backend is not available: expected OnnxPoseBackend and "
                "OnnxOptions in vision/backends/onnx.py, got neither or one"
            )
        return backend_cls(_options(options_cls, name, options))  # type: ignore[no-any-return]
    raise ValueError(
        f"unknown pose backend {name!r}; valid backends: {', '.join(BACKENDS)}"
    )
