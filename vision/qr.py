"""QR codes in camera frames (edge, cv2): the kiosk's check-in without typing.

`QrReader.read(frame_bgr)` looks for one QR code in a BGR (or grayscale) frame and
returns a `QrReading`:

- DECODED: the code's text (what it means is `exercises.member_tokens.check_token`'s
  business, not this module's);
- UNREADABLE: a code is in view (its corners were found) but could not be decoded:
  blurred, too small, half covered. The kiosk asks the person to hold it still and
  closer instead of staying silent;
- NONE: no code in view.

How: OpenCV's classic `QRCodeDetector` on the gray frame first (it decodes a sharp
code in one call). When that finds corners but no text, or finds nothing and the
ArUco-based `QRCodeDetectorAruco` finds corners, the region around the corners is
cut out, enlarged to about `ROI_SIDE_PX` pixels and decoded again by both detectors,
as is and sharpened (unsharp mask). A mildly blurred code (a phone moving a little)
is read that way; a badly blurred one stays UNREADABLE. Measured on 2 shared vCPUs:
25-45 ms for a 640x480 frame with a sharp code or none, up to ~170 ms when the retry
runs, so the kiosk's edge should scan a few frames a second, not every frame.

One code per frame: with several in view, whichever the detector finds first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["ROI_SIDE_PX", "QrReader", "QrReading", "QrStatus"]

ROI_SIDE_PX: Final[int] = 400
"""The retry enlarges the code's surroundings to about this size: the detectors'
module sampling works best with several pixels per module."""
ROI_MARGIN: Final[float] = 0.25
"""Margin around the corners, as a share of the code's side (the quiet zone and some
slack for corners found slightly inside the code)."""
SHARPEN_SIGMA_PX: Final[float] = 3.0
"""Unsharp mask radius on the enlarged region."""


class QrStatus(enum.StrEnum):
    """What a frame showed."""

    DECODED = "decoded"
    UNREADABLE = "unreadable"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class QrReading:
    """One frame's QR result.

    Attributes:
        status: See `QrStatus`.
        text: The decoded text when DECODED, else None.
        corners_xy: (4, 2) float32 corner pixels in the frame (DECODED or
            UNREADABLE), else None.
    """

    status: QrStatus
    text: str | None = None
    corners_xy: npt.NDArray[np.float32] | None = None


def _gray(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(
            "frame must be a uint8 array (H, W, 3) BGR or (H, W) gray, got "
            f"{getattr(frame, 'dtype', type(frame).__name__)}"
        )
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    raise ValueError(f"frame must be (H, W, 3) BGR or (H, W) gray, got {frame.shape}")


def _corners(points: object) -> npt.NDArray[np.float32] | None:
    if points is None:
        return None
    xy = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return xy[:4] if xy.shape[0] >= 4 and np.isfinite(xy).all() else None


class QrReader:
    """Reads one QR code per frame (the detectors are built once and reused).

    Not thread-safe: give each thread (each kiosk stream) its own reader.
    """

    def __init__(self) -> None:
        self._classic = cv2.QRCodeDetector()
        self._aruco = cv2.QRCodeDetectorAruco()

    def read(self, frame: npt.NDArray[np.uint8]) -> QrReading:
        """Look for a QR code.

        Args:
            frame: (H, W, 3) uint8 BGR, or (H, W) uint8 gray.

        Returns:
            DECODED with the text and corners, UNREADABLE with the corners, or NONE.

        Raises:
            ValueError: not a uint8 BGR or gray image.
        """
        gray = _gray(frame)
        text, points, _ = self._classic.detectAndDecode(gray)
        corners = _corners(points)
        if text and corners is not None:
            return QrReading(QrStatus.DECODED, text, corners)
        if corners is None:
            found, points = self._aruco.detect(gray)
            corners = _corners(points) if found else None
        if corners is None:
            return QrReading(QrStatus.NONE)
        retried = self._retry(gray, corners)
        if retried:
            return QrReading(QrStatus.DECODED, retried, corners)
        return QrReading(QrStatus.UNREADABLE, None, corners)

    def _retry(
        self, gray: npt.NDArray[np.uint8], corners: npt.NDArray[np.float32]
    ) -> str | None:
        """Decode the enlarged (and then sharpened) region around the corners."""
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        margin = ROI_MARGIN * float(max(hi - lo))
        h, w = gray.shape
        x0, y0 = max(0, int(lo[0] - margin)), max(0, int(lo[1] - margin))
        x1, y1 = min(w, int(hi[0] + margin) + 1), min(h, int(hi[1] + margin) + 1)
        crop = gray[y0:y1, x0:x1]
        if crop.size == 0:
            return None
        scale = max(1.0, ROI_SIDE_PX / max(crop.shape))
        big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        blurred = cv2.GaussianBlur(big, (0, 0), SHARPEN_SIGMA_PX)
        sharp = cv2.addWeighted(big, 2.0, blurred, -1.0, 0)
        for image in (big, sharp):
            for detector in (self._classic, self._aruco):
                text, _, _ = detector.detectAndDecode(image)
                if text:
                    return str(text)
        return None
