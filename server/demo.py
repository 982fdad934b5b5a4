"""The demo video (`movecoach serve --demo VIDEO`): what the kiosk page plays through
the same path as a camera when there is none (`GET /api/demo`, `/api/demo/video`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

__all__ = ["DemoInfo", "probe_demo"]


class DemoInfo(BaseModel):
    available: bool
    name: str | None = None
    url: str | None = None
    fps: float | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None


def probe_demo(path: Path | None) -> DemoInfo:
    """The demo video's frame rate, length and size (unavailable without a path).

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: OpenCV cannot read it.
    """
    if path is None:
        return DemoInfo(available=False)
    if not path.is_file():
        raise FileNotFoundError(f"expected a demo video file, got no file at {path}")
    import cv2  # edge: only to read the demo's frame rate and size

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"expected a video OpenCV can read, got {path}")
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or None
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None
    finally:
        capture.release()
    return DemoInfo(
        available=True,
        name=path.name,
        url="/api/demo/video",
        fps=fps,
        frames=frames,
        width=width,
        height=height,
    )
