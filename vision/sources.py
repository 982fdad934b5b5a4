"""Frame sources (edge, cv2): a camera, a video file, an image folder or one image.

Every source yields `CapturedFrame`s whose `timestamp_ms` increases strictly, which is
what VIDEO-mode pose tracking and the One-Euro filter need:

- camera: `time.monotonic_ns()` right after the frame is grabbed (the capture instant);
- video file: `round(index * 1000 / fps)` from the frame index and the container's frame
  rate. `CAP_PROP_POS_MSEC` is not used: with FFmpeg it reports the *next* frame's time
  for some containers, repeats values after seeks and is 0 for the first frames of
  others, so it is neither exact nor always monotonic. Index-based time is exact for
  constant-frame-rate files (all that phones, webcams and our data produce) and is
  monotonic by construction;
- image folder: files sorted by name, one every `interval_ms` (an option).

Sources are context managers (`with open_source("clip.mp4") as source:`) and release the
capture on exit. Problems the caller can act on raise `SourceError` saying what was
expected and what was found.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vision._closeable import Closeable
from vision._stderr import captured_native_stderr

__all__ = [
    "IMAGE_SUFFIXES",
    "CameraSource",
    "CapturedFrame",
    "FrameSource",
    "ImageFolderSource",
    "SourceError",
    "VideoFileSource",
    "open_source",
]

IMAGE_SUFFIXES: Final[tuple[str, ...]] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
)
"""File name endings read as images (case-insensitive)."""

DEFAULT_INTERVAL_MS: Final[int] = 33
"""Spacing of image-folder timestamps unless told otherwise (about 30 fps)."""

FRAME_COUNT_SLACK: Final[int] = 2
"""Frames a video may end short of its reported count before it counts as corrupt.

Containers without an index (some MKV/WebM) estimate the count from duration x fps and
can be off by a frame or two; a larger shortfall means frames failed to decode."""


DECODE_THREADS: Final[int] = 1
"""FFmpeg threads decoding a video file (OpenCV's default: one per core).

The frames are the same; on the 2-core box one thread took less process CPU per frame
for the 522x294 clip (0.35 vs 0.50 ms decoding alone, 0.64 vs 0.70 beside the pose
backend) and about as much for 720p/1080p clips, where the extra threads overlap
little with the backend in one pipeline anyway."""


class SourceError(RuntimeError):
    """A source cannot be opened or read: missing file, undecodable data, no images."""


@dataclass(frozen=True, slots=True, eq=False)
class CapturedFrame:
    """One image from a source.

    Attributes:
        image_bgr: (H, W, 3) uint8, BGR channel order, C-contiguous.
        timestamp_ms: Capture time in ms, strictly increasing within a source.
        index: 0-based position of the frame in the source.
    """

    image_bgr: npt.NDArray[np.uint8]
    timestamp_ms: int
    index: int


def _check_image(image: object, what: str) -> npt.NDArray[np.uint8]:
    if image is None:
        raise SourceError(f"{what}: expected an image, got nothing (decoding failed)")
    if not isinstance(image, np.ndarray):
        raise SourceError(f"{what}: expected a numpy image, got {type(image).__name__}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise SourceError(
            f"{what}: expected an (H, W, 3) uint8 BGR image, "
            f"got {image.shape} {image.dtype.name}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise SourceError(f"{what}: expected a non-empty image, got {image.shape}")
    return np.ascontiguousarray(image)


def _last_log_line(log: list[str]) -> str:
    lines = [line.strip() for line in "".join(log).splitlines() if line.strip()]
    if not lines:
        return ""
    # "[mov,mp4,m4a @ 0x55d0] moov atom not found" -> "moov atom not found"
    return lines[-1].split("] ", 1)[-1][:200]


class FrameSource(Closeable):
    """Base of every source: iterate it for `CapturedFrame`s; close it when done.

    Attributes:
        description: What the source reads, for messages ("video clip.mp4").
    """

    description: str = "source"

    def __iter__(self) -> Iterator[CapturedFrame]:
        return self.frames()

    def frames(self) -> Iterator[CapturedFrame]:
        """Yield the frames in order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying device or file. Safe to call twice."""

    @property
    def fps(self) -> float | None:
        """Frames per second where known, else None."""
        return None

    @property
    def frame_count(self) -> int | None:
        """Number of frames where known in advance (None for a camera)."""
        return None

    @property
    def is_live(self) -> bool:
        """True for a camera: frames arrive in real time and never run out."""
        return False


class _CaptureSource(FrameSource):
    """A source read through an OpenCV `VideoCapture` (a file or a camera)."""

    _capture: cv2.VideoCapture | None = None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _open_video(path: Path) -> cv2.VideoCapture:
    """FFmpeg with `DECODE_THREADS` threads, else whichever backend opens the file."""
    capture = cv2.VideoCapture(
        str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, DECODE_THREADS]
    )
    if capture.isOpened():
        return capture
    capture.release()
    return cv2.VideoCapture(str(path))


class VideoFileSource(_CaptureSource):
    """Frames of a video file, timed by frame index and the file's frame rate.

    Args:
        path: Video file readable by OpenCV's FFmpeg backend.
        fps: Frame rate to use instead of the file's (for files that report none).

    Raises:
        SourceError: the file is missing, is not a video OpenCV can open, or reports no
            usable frame rate (and `fps` was not given).
    """

    def __init__(self, path: str | Path, *, fps: float | None = None) -> None:
        self.path = Path(path)
        self.description = f"video {self.path}"
        if not self.path.is_file():
            raise SourceError(
                "expected a video file, got "
                f"{'a directory' if self.path.is_dir() else 'no file'} at {self.path}"
            )
        # FFmpeg prints why it cannot open a file on fd 2; put that in our message.
        with captured_native_stderr() as log:
            self._capture: cv2.VideoCapture | None = _open_video(self.path)
            opened = self._capture.isOpened()
        if not opened:
            self.close()
            reason = _last_log_line(log)
            raise SourceError(
                "expected a video OpenCV can decode, got an unreadable file: "
                f"{self.path} ({self.path.stat().st_size} bytes"
                + (f"; {reason})" if reason else ")")
            )
        reported_fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        if fps is not None:
            if not (math.isfinite(fps) and fps > 0):
                self.close()
                raise SourceError(f"expected fps > 0, got {fps}")
            self._fps = float(fps)
        elif math.isfinite(reported_fps) and 0 < reported_fps <= 1000:
            self._fps = reported_fps
        else:
            self.close()
            raise SourceError(
                f"expected {self.description} to report a frame rate in (0, 1000], "
                f"got {reported_fps}; pass fps= to time its frames"
            )
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._frame_count = count if count > 0 else None
        self._started = False

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return self._frame_count

    def timestamp_ms(self, index: int) -> int:
        """Presentation time of frame `index` in ms: `round(index * 1000 / fps)`."""
        return round(index * 1000.0 / self._fps)

    def frames(self) -> Iterator[CapturedFrame]:
        """Yield every frame once.

        Raises:
            SourceError: the source was already read or closed, no frame decodes, or
                the stream ends more than `FRAME_COUNT_SLACK` frames before its count.
        """
        if self._started or self._capture is None:
            raise SourceError(
                f"{self.description} can be read once; open it again to re-read"
            )
        self._started = True
        capture = self._capture
        index = 0
        last_ms = -1
        while True:
            ok, image = capture.read()
            if not ok:
                break
            image = _check_image(image, f"{self.description}, frame {index}")
            # Strictly increasing even above 1000 fps after rounding.
            ts = max(self.timestamp_ms(index), last_ms + 1)
            last_ms = ts
            yield CapturedFrame(image, ts, index)
            index += 1
        if self._capture is None:  # closed while the caller held the generator
            return
        if index == 0:
            raise SourceError(
                f"expected at least one decodable frame in {self.description}, got none"
            )
        expected = self._frame_count
        if expected is not None and index < expected - FRAME_COUNT_SLACK:
            raise SourceError(
                f"{self.description}: frame {index} could not be decoded; expected "
                f"{expected} frames, got {index} (corrupt or truncated file)"
            )


class CameraSource(_CaptureSource):
    """Live frames from a camera, stamped with `time.monotonic_ns()` at capture.

    Args:
        index: OpenCV camera index (0 = the first camera).
        width, height: Resolution to request (the driver may choose another).
        max_consecutive_failures: Failed grabs in a row before giving up.

    Raises:
        SourceError: the camera cannot be opened.
    """

    def __init__(
        self,
        index: int = 0,
        *,
        width: int | None = None,
        height: int | None = None,
        max_consecutive_failures: int = 10,
    ) -> None:
        if index < 0:
            raise SourceError(f"expected a camera index >= 0, got {index}")
        self.index = index
        self.description = f"camera {index}"
        self.max_consecutive_failures = max_consecutive_failures
        self._capture: cv2.VideoCapture | None = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self.close()
            raise SourceError(
                f"expected a camera at index {index}, got none that opens "
                "(unplugged, in use by another program, or no permission)"
            )
        if width is not None:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height is not None:
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        reported = float(self._capture.get(cv2.CAP_PROP_FPS))
        self._fps = reported if math.isfinite(reported) and reported > 0 else None

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def is_live(self) -> bool:
        return True

    def frames(self) -> Iterator[CapturedFrame]:
        """Yield frames until closed.

        Raises:
            SourceError: the camera stops delivering frames.
        """
        index = 0
        last_ms = -1
        failures = 0
        while self._capture is not None:
            capture = self._capture
            if not capture.grab():
                failures += 1
                if failures >= self.max_consecutive_failures:
                    raise SourceError(
                        f"{self.description} stopped delivering frames after {index} "
                        f"frames ({failures} failed grabs in a row)"
                    )
                continue
            # Stamp at grab, before the (slower) decode in retrieve().
            ts = max(time.monotonic_ns() // 1_000_000, last_ms + 1)
            ok, image = capture.retrieve()
            if not ok:
                failures += 1
                if failures >= self.max_consecutive_failures:
                    raise SourceError(
                        f"{self.description}: expected a frame, got {failures} "
                        "undecodable frames in a row"
                    )
                continue
            failures = 0
            last_ms = ts
            yield CapturedFrame(
                _check_image(image, f"{self.description}, frame {index}"), ts, index
            )
            index += 1


class ImageFolderSource(FrameSource):
    """Image files read in name order, one every `interval_ms`.

    Args:
        path: A folder (every file ending in one of `IMAGE_SUFFIXES`) or one image.
        interval_ms: Time between consecutive images, > 0.

    Raises:
        SourceError: the folder holds no images, the file is not an image, or the path
            does not exist.
    """

    def __init__(
        self, path: str | Path, *, interval_ms: int = DEFAULT_INTERVAL_MS
    ) -> None:
        self.path = Path(path)
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, int):
            raise SourceError(f"expected an int interval_ms, got {interval_ms!r}")
        if interval_ms <= 0:
            raise SourceError(f"expected interval_ms > 0, got {interval_ms}")
        self.interval_ms = interval_ms
        suffixes = ", ".join(IMAGE_SUFFIXES)
        if self.path.is_dir():
            self.description = f"image folder {self.path}"
            self._files = sorted(
                p
                for p in self.path.iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self._files:
                others = sum(1 for _ in self.path.iterdir())
                raise SourceError(
                    f"expected image files ({suffixes}) in {self.path}, "
                    f"got none ({others} other entries)"
                )
        elif self.path.is_file():
            self.description = f"image {self.path}"
            if self.path.suffix.lower() not in IMAGE_SUFFIXES:
                raise SourceError(
                    f"expected an image file ({suffixes}), got {self.path.name}"
                )
            self._files = [self.path]
        else:
            raise SourceError(
                f"expected an image file or folder, got no such path: {self.path}"
            )
        self._closed = False

    @property
    def files(self) -> tuple[Path, ...]:
        """The images in the order they are read."""
        return tuple(self._files)

    @property
    def fps(self) -> float:
        return 1000.0 / self.interval_ms

    @property
    def frame_count(self) -> int:
        return len(self._files)

    def frames(self) -> Iterator[CapturedFrame]:
        """Yield every image once, stamped `index * interval_ms`.

        Raises:
            SourceError: an image cannot be decoded.
        """
        for index, file in enumerate(self._files):
            if self._closed:
                return
            # imdecode(fromfile) instead of imread: reads non-ASCII paths too.
            try:
                data = np.fromfile(file, np.uint8)
            except OSError as exc:
                raise SourceError(f"expected a readable image, got {exc}") from exc
            image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
            if image is None:
                raise SourceError(
                    f"expected an image OpenCV can decode, got an unreadable file: "
                    f"{file} ({data.size} bytes)"
                )
            yield CapturedFrame(
                _check_image(image, f"image {file}"), index * self.interval_ms, index
            )

    def close(self) -> None:
        self._closed = True


def open_source(
    spec: str | int | Path,
    *,
    interval_ms: int = DEFAULT_INTERVAL_MS,
    fps: float | None = None,
) -> FrameSource:
    """Open a source by what `spec` names.

    Args:
        spec: An int or a string of digits ("0") for a camera index; a folder of
            images; an image file (by suffix, see `IMAGE_SUFFIXES`); any other file is
            read as a video.
        interval_ms: Time between images of a folder.
        fps: Frame rate override for a video file.

    Returns:
        A `FrameSource`; use it as a context manager.

    Raises:
        SourceError: nothing usable at `spec` (the message says what was expected).
    """
    if isinstance(spec, bool):
        raise SourceError(f"expected a camera index or a path, got {spec!r}")
    if isinstance(spec, int):
        return CameraSource(spec)
    text = str(spec)
    if isinstance(spec, str) and text.strip().isdigit() and not Path(text).exists():
        return CameraSource(int(text.strip()))
    if not text:
        raise SourceError("expected a camera index, video, image or folder, got ''")
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, interval_ms=interval_ms)
    if not path.exists():
        raise SourceError(
            f"expected a camera index, video, image or folder, got no such path: {path}"
        )
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFolderSource(path, interval_ms=interval_ms)
    return VideoFileSource(path, fps=fps)
