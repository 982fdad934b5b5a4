"""The catalogued clips as a cheaper camera would have recorded them, for
`python -m benchmarks.video --camera NAME`.

- `as_shared`: the clip itself;
- `jpeg25`: every frame JPEG-compressed at quality 25 (a cheap webcam's blocks);
- `half_res`: half the width and height (a low-resolution camera, a person further
  off);
- `half_fps`: every other frame at half the frame rate (a kiosk at 15 frames a
  second).

The re-encodings are written once under the benchmark cache (keyed like the
landmarks: the clip's size and time), never committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

CAMERAS: Final[tuple[str, ...]] = ("as_shared", "jpeg25", "half_res", "half_fps")
_JPEG_QUALITY: Final[int] = 25


def recorded_as(clip: Path, camera: str, cache: Path) -> Path:
    """`clip` as `camera` would have recorded it (the clip itself for
    `as_shared`); written under `cache` unless there already.

    Raises:
        ValueError: an unknown camera.
        OSError: the clip cannot be read or the re-encoding written.
    """
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; one of {', '.join(CAMERAS)}")
    if camera == "as_shared":
        return clip
    stat = clip.stat()
    out = cache / camera / f"{clip.stem}.{stat.st_size}.{int(stat.st_mtime)}.mp4"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".part.mp4")
        _reencode(clip, partial, camera)
        partial.replace(out)
    return out


def _reencode(clip: Path, out: Path, camera: str) -> None:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    if not cap.isOpened():
        raise OSError(f"cannot read {clip}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    step = 2 if camera == "half_fps" else 1
    if camera == "half_res":
        width, height = width // 4 * 2, height // 4 * 2  # half, kept even
    writer = cv2.VideoWriter(
        str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps / step, (width, height)
    )
    if not writer.isOpened():
        cap.release()
        raise OSError(f"cannot write {out}")
    try:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                if camera == "jpeg25":
                    _, jpeg = cv2.imencode(
                        ".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY]
                    )
                    frame = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
                elif camera == "half_res":
                    frame = cv2.resize(
                        frame, (width, height), interpolation=cv2.INTER_AREA
                    )
                writer.write(frame)
            index += 1
    finally:
        cap.release()
        writer.release()
