"""vision.qr: QR codes generated with cv2.QRCodeEncoder, placed in frames: a member
code (sharp, mildly and badly blurred, small inside a real video frame), a code that
is not ours, a damaged one, and no code."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from exercises.member_tokens import (
    CHECK_IN_MESSAGES,
    CheckInProblem,
    TokenStatus,
    check_token,
    make_member_token,
)
from vision.qr import QrReader, QrStatus, qr_modules

TOKEN = make_member_token(bytes(range(16)))
VIDEO = Path(__file__).resolve().parents[3] / "shared/data/video/bicep_curl_side.mp4"
FRAME_HW = (480, 640)


def qr_frame(
    text: str, *, module_px: int, blur_sigma_px: float = 0.0, background: int = 128
) -> npt.NDArray[np.uint8]:
    """A BGR frame with the code of `text` in the middle: `module_px` pixels per
    module, a 4-module white quiet zone, then a Gaussian blur."""
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(
        code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST
    )
    q = 4 * module_px
    code = cv2.copyMakeBorder(code, q, q, q, q, cv2.BORDER_CONSTANT, value=255)
    frame = np.full(FRAME_HW, background, np.uint8)
    h, w = code.shape
    y, x = (FRAME_HW[0] - h) // 2, (FRAME_HW[1] - w) // 2
    frame[y : y + h, x : x + w] = code
    if blur_sigma_px:
        frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma_px)
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))


@pytest.fixture(scope="module")
def reader() -> QrReader:
    return QrReader()


def test_sharp_member_code(reader: QrReader) -> None:
    reading = reader.read(qr_frame(TOKEN, module_px=4))
    assert reading.status is QrStatus.DECODED
    assert reading.text == TOKEN
    assert check_token(reading.text).status is TokenStatus.VALID
    assert reading.corners_xy is not None and reading.corners_xy.shape == (4, 2)
    # Corners lie on the code: (640 - 33*4) / 2 = 254 ... 386 wide, with the zone.
    x, y = reading.corners_xy[:, 0], reading.corners_xy[:, 1]
    assert 254 <= x.min() < x.max() <= 386 and 174 <= y.min() < y.max() <= 306


def test_gray_frame(reader: QrReader) -> None:
    gray = cv2.cvtColor(qr_frame(TOKEN, module_px=4), cv2.COLOR_BGR2GRAY)
    assert reader.read(gray).text == TOKEN


def test_mildly_blurred_code_is_read(reader: QrReader) -> None:
    """One detectAndDecode call on the frame cannot read it; the enlarged, sharpened
    retry around the found corners can."""
    frame = qr_frame(TOKEN, module_px=4, blur_sigma_px=2.0)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(frame)
    assert text == ""
    reading = reader.read(frame)
    assert (reading.status, reading.text) == (QrStatus.DECODED, TOKEN)


@pytest.mark.parametrize("module_px", [8, 10])
def test_blurred_code_at_larger_size_is_read(reader: QrReader, module_px: int) -> None:
    assert (
        reader.read(qr_frame(TOKEN, module_px=module_px, blur_sigma_px=2.5)).text
        == TOKEN
    )


def test_badly_blurred_code_is_unreadable_not_misread(reader: QrReader) -> None:
    """Corners found, nothing decoded: the kiosk asks to hold it still, and nobody
    is checked in."""
    reading = reader.read(qr_frame(TOKEN, module_px=10, blur_sigma_px=6.0))
    assert reading.status is QrStatus.UNREADABLE
    assert reading.text is None
    assert reading.corners_xy is not None
    assert CHECK_IN_MESSAGES[CheckInProblem.UNREADABLE]["en"].startswith(
        "Hold the code"
    )


def test_blurred_beyond_recognition_is_no_code(reader: QrReader) -> None:
    assert (
        reader.read(qr_frame(TOKEN, module_px=4, blur_sigma_px=8.0)).status
        is QrStatus.NONE
    )


def test_code_that_is_not_ours(reader: QrReader) -> None:
    reading = reader.read(qr_frame("https://example.com/pay?id=12345", module_px=4))
    assert reading.status is QrStatus.DECODED
    assert reading.text is not None
    assert check_token(reading.text).status is TokenStatus.NOT_OURS


def test_damaged_member_code(reader: QrReader) -> None:
    damaged = TOKEN[:-2] + "AA"
    reading = reader.read(qr_frame(damaged, module_px=4))
    assert reading.text == damaged
    assert check_token(damaged).status is TokenStatus.DAMAGED


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(np.full((*FRAME_HW, 3), 100, np.uint8), id="flat"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (*FRAME_HW, 3), dtype=np.uint8),
            id="noise",
        ),
        pytest.param(
            np.ascontiguousarray(
                np.tile(
                    np.repeat(np.repeat(np.eye(2, dtype=np.uint8) * 255, 16, 0), 16, 1),
                    (15, 20),
                )[..., None].repeat(3, 2)
            ),
            id="checkerboard",
        ),
    ],
)
def test_no_code(reader: QrReader, frame: npt.NDArray[np.uint8]) -> None:
    reading = reader.read(frame)
    assert (reading.status, reading.text, reading.corners_xy) == (
        QrStatus.NONE,
        None,
        None,
    )


def _video_frames(n: int) -> list[npt.NDArray[np.uint8]]:
    if not VIDEO.exists():
        pytest.skip(f"shared clip not found: {VIDEO}")
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    try:
        while len(frames) < n:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return frames[::10]


def test_person_exercising_shows_no_code(reader: QrReader) -> None:
    for frame in _video_frames(60):
        assert reader.read(frame).status is QrStatus.NONE


def test_small_code_held_up_in_a_real_frame(reader: QrReader) -> None:
    """A phone-sized code (3 px per module) pasted into a frame of the curl clip."""
    frame = _video_frames(1)[0].copy()
    code = qr_frame(TOKEN, module_px=3)[240 - 75 : 240 + 75, 320 - 75 : 320 + 75]
    frame[40:190, 40:190] = code
    assert reader.read(frame).text == TOKEN


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        pytest.param(np.zeros((4, 4, 3), np.float32), r"uint8 array", id="float"),
        pytest.param(np.zeros((4, 4, 4), np.uint8), r"got \(4, 4, 4\)", id="bgra"),
    ],
)
def test_bad_frames(
    reader: QrReader, frame: npt.NDArray[np.uint8], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        reader.read(frame)


def test_qr_modules_draw_a_code_that_reads_back(reader: QrReader) -> None:
    modules = qr_modules(TOKEN)
    assert modules.dtype == np.bool_ and modules.shape == (25, 25)  # version 2
    # The three finder patterns sit in the corners: no border was left around them.
    for rows, cols in ((slice(0, 7), slice(0, 7)), (slice(0, 7), slice(-7, None))):
        assert modules[rows, cols][0].all() and modules[rows, cols][:, 0].all()
    quiet = np.pad(modules, 4, constant_values=False)
    picture = np.where(np.kron(quiet, np.ones((8, 8), bool)), 0, 255).astype(np.uint8)
    assert reader.read(picture).text == TOKEN
    with pytest.raises(ValueError, match="empty"):
        qr_modules("")
