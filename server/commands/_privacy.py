"""What each pose backend sends off the machine, for the `--backend` flags' help
(docs/records.md, "What leaves the server")."""

from __future__ import annotations

from typing import Final

__all__ = ["BACKENDS_HELP"]

BACKENDS_HELP: Final[str] = (
    "onnx = ONNX Runtime, sends nothing; mediapipe = MediaPipe Tasks, whose privacy "
    "notice says it sends usage metrics to Google (never the images; "
    "docs/records.md)"
)
