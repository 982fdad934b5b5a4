"""Frame sources: videos written with cv2.VideoWriter, image folders, a fake camera."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import shared_data_path, video_frames
from vision import sources
from vision.sources import (
    CameraSource,
    CapturedFrame,
    ImageFolderSource,
    SourceError,
    VideoFileSource,
    open_source,
)

SIZE_WH = (64, 48)
# MJPEG/MPEG-4 are lossy; a frame's mean grey level must come back within this.
_GREY_TOLERANCE = 6.0


def _write_video(
    path: Path, *, fourcc: str, frames: int, fps: float, noise: bool = False
) -> list[np.ndarray]:
    """Frame i is uniform grey 10*i (or seeded noise); returns what was written."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE_WH)
    assert writer.isOpened(), f"cv2 cannot write {fourcc} to {path.suffix}"
    rng = np.random.default_rng(0)
    written = []
    for i in range(frames):
        if noise:
            image = rng.integers(0, 256, (SIZE_WH[1], SIZE_WH[0], 3), dtype=np.uint8)
        else:
            image = np.full((SIZE_WH[1], SIZE_WH[0], 3), 10 * i, np.uint8)
        writer.write(image)
        written.append(image)
    writer.release()
    return written


def _read_all(source: sources.FrameSource) -> list[CapturedFrame]:
    with source:
        return list(source)


@pytest.mark.parametrize(
    ("suffix", "fourcc", "fps", "frames"),
    [
        pytest.param(".avi", "MJPG", 25.0, 12, id="mjpeg-avi-25fps"),
        pytest.param(".mp4", "mp4v", 25.0, 12, id="mpeg4-mp4-25fps"),
        pytest.param(".avi", "MJPG", 30000 / 1001, 20, id="mjpeg-avi-29.97fps"),
    ],
)
def test_video_frames_timed_by_index_and_fps(
    tmp_path: Path, suffix: str, fourcc: str, fps: float, frames: int
) -> None:
    path = tmp_path / f"clip{suffix}"
    written = _write_video(path, fourcc=fourcc, frames=frames, fps=fps)

    source = open_source(str(path))
    assert isinstance(source, VideoFileSource)
    assert source.fps == pytest.approx(fps, rel=1e-3)
    assert source.frame_count == frames
    got = _read_all(source)

    assert [f.index for f in got] == list(range(frames))
    expected_ms = [round(i * 1000 / source.fps) for i in range(frames)]
    assert [f.timestamp_ms for f in got] == expected_ms
    assert all(isinstance(f.timestamp_ms, int) for f in got)
    assert np.all(np.diff([f.timestamp_ms for f in got]) > 0)
    for frame, original in zip(got, written, strict=True):
        assert frame.image_bgr.shape == (SIZE_WH[1], SIZE_WH[0], 3)
        assert frame.image_bgr.dtype == np.uint8
        assert frame.image_bgr.flags.c_contiguous
        assert abs(frame.image_bgr.mean() - original.mean()) < _GREY_TOLERANCE


@pytest.mark.parametrize(
    "clip",
    [
        pytest.param(None, id="mpeg4-noise"),
        pytest.param(("video", "bicep_curl_side.mp4"), id="h264-shared-clip"),
    ],
)
def test_video_decodes_in_decode_threads_to_the_same_frames(
    tmp_path: Path, clip: tuple[str, str] | None
) -> None:
    """`DECODE_THREADS` changes the CPU a frame costs, never the frame."""
    if clip is None:
        path = tmp_path / "noise.mp4"
        _write_video(path, fourcc="mp4v", frames=12, fps=25.0, noise=True)
    else:
        path = shared_data_path(*clip)
    with VideoFileSource(path) as source:
        assert source._capture is not None
        threads = source._capture.get(cv2.CAP_PROP_N_THREADS)
        got = [f.image_bgr for f in source]
    assert threads == sources.DECODE_THREADS
    want, _ = video_frames(path)
    assert len(got) == len(want) > 0
    for image, expected in zip(got, want, strict=True):
        np.testing.assert_array_equal(image, expected)


def test_video_fps_override(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _write_video(path, fourcc="MJPG", frames=4, fps=25.0)
    got = _read_all(VideoFileSource(path, fps=10.0))
    assert [f.timestamp_ms for f in got] == [0, 100, 200, 300]


def test_video_reads_once_and_releases(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _write_video(path, fourcc="MJPG", frames=3, fps=25.0)
    source = VideoFileSource(path)
    with source:
        assert len(list(source)) == 3
        with pytest.raises(SourceError, match="read once"):
            list(source)
    assert source._capture is None
    with pytest.raises(SourceError, match="read once"):
        list(source)
    source.close()  # twice is fine


def test_video_stops_quietly_when_closed_mid_read(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _write_video(path, fourcc="MJPG", frames=10, fps=25.0)
    with VideoFileSource(path) as source:
        frames = source.frames()
        next(frames)
        source.close()
        assert list(frames) == []


def _corrupt_middle(path: Path) -> None:
    data = path.read_bytes()
    third = len(data) // 3
    path.write_bytes(data[:third] + bytes(third) + data[2 * third :])


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("suffix", "fourcc", "damage", "match"),
    [
        pytest.param(
            ".avi",
            "MJPG",
            _corrupt_middle,
            "expected 20 frames",
            id="avi-zeroed-middle",
        ),
        pytest.param(
            ".mp4",
            "mp4v",
            _corrupt_middle,
            "expected 20 frames",
            id="mp4-zeroed-middle",
        ),
        pytest.param(".avi", "MJPG", _truncate_half, "expected", id="avi-truncated"),
        pytest.param(
            ".mp4", "mp4v", _truncate_half, "expected a video", id="mp4-truncated"
        ),
    ],
)
def test_damaged_video_raises(
    tmp_path: Path, suffix: str, fourcc: str, damage: object, match: str
) -> None:
    path = tmp_path / f"clip{suffix}"
    _write_video(path, fourcc=fourcc, frames=20, fps=25.0, noise=True)
    damage(path)  # type: ignore[operator]
    with pytest.raises(SourceError, match=match):
        _read_all(open_source(path))


def _write_images(folder: Path, names: list[str]) -> dict[str, np.ndarray]:
    folder.mkdir(exist_ok=True)
    images = {}
    for k, name in enumerate(names):
        image = np.zeros((30, 40, 3), np.uint8)
        image[..., k % 3] = 50 + 40 * k  # distinct per file
        assert cv2.imwrite(str(folder / name), image)
        images[name] = image
    return images


@pytest.mark.parametrize(
    ("interval_ms", "expected_ms"),
    [
        pytest.param(None, [0, 33, 66], id="default-33ms"),
        pytest.param(100, [0, 100, 200], id="100ms"),
    ],
)
def test_image_folder_sorted_with_fixed_interval(
    tmp_path: Path, interval_ms: int | None, expected_ms: list[int]
) -> None:
    images = _write_images(tmp_path / "shots", ["b.png", "c.bmp", "a.png"])
    (tmp_path / "shots" / "notes.txt").write_text("not an image")
    kwargs = {} if interval_ms is None else {"interval_ms": interval_ms}
    source = open_source(tmp_path / "shots", **kwargs)
    assert isinstance(source, ImageFolderSource)
    assert source.frame_count == 3
    assert [p.name for p in source.files] == ["a.png", "b.png", "c.bmp"]
    got = _read_all(source)
    assert [f.timestamp_ms for f in got] == expected_ms
    assert [f.index for f in got] == [0, 1, 2]
    for frame, name in zip(got, ["a.png", "b.png", "c.bmp"], strict=True):
        np.testing.assert_array_equal(frame.image_bgr, images[name])  # lossless


def test_single_image_and_grey_and_alpha_become_bgr(tmp_path: Path) -> None:
    grey = np.arange(30 * 40, dtype=np.uint16).reshape(30, 40).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    rgba = np.full((30, 40, 4), 77, np.uint8)
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba)
    for name in ("grey.png", "alpha.png"):
        source = open_source(str(tmp_path / name))
        assert isinstance(source, ImageFolderSource)
        (frame,) = _read_all(source)
        assert frame.image_bgr.shape == (30, 40, 3)
        assert frame.image_bgr.dtype == np.uint8
        assert frame.timestamp_ms == 0
    np.testing.assert_array_equal(
        _read_all(open_source(tmp_path / "grey.png"))[0].image_bgr[..., 1], grey
    )


def _make_case(tmp_path: Path, case: str) -> str:
    if case == "missing":
        return str(tmp_path / "nope.mp4")
    if case == "empty-folder":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "readme.txt").write_text("x")
        return str(tmp_path / "empty")
    if case == "garbage-video":
        (tmp_path / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(3000))
        return str(tmp_path / "garbage.mp4")
    if case == "empty-file":
        (tmp_path / "empty.mp4").write_bytes(b"")
        return str(tmp_path / "empty.mp4")
    if case == "text-as-image":
        (tmp_path / "photo.jpg").write_text("not a jpeg")
        return str(tmp_path / "photo.jpg")
    if case == "corrupt-image-in-folder":
        _write_images(tmp_path / "shots", ["a.png"])
        (tmp_path / "shots" / "b.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
        return str(tmp_path / "shots")
    if case == "good-video":
        _write_video(tmp_path / "ok.avi", fourcc="MJPG", frames=2, fps=25.0)
        return str(tmp_path / "ok.avi")
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "expectation"),
    [
        pytest.param(
            "missing", pytest.raises(SourceError, match="no such path"), id="missing"
        ),
        pytest.param(
            "empty-folder",
            pytest.raises(SourceError, match=r"got none \(1 other"),
            id="empty-folder",
        ),
        pytest.param(
            "garbage-video",
            pytest.raises(SourceError, match=r"unreadable file.*3000 bytes"),
            id="garbage-video",
        ),
        pytest.param(
            "empty-file",
            pytest.raises(SourceError, match=r"unreadable file.*0 bytes"),
            id="empty-file",
        ),
        pytest.param(
            "text-as-image",
            pytest.raises(SourceError, match=r"unreadable file.*photo\.jpg"),
            id="text-as-image",
        ),
        pytest.param(
            "corrupt-image-in-folder",
            pytest.raises(SourceError, match=r"b\.jpg"),
            id="corrupt-image-in-folder",
        ),
        pytest.param("good-video", does_not_raise(), id="good-video"),
    ],
)
def test_open_and_read_errors(tmp_path: Path, case: str, expectation: object) -> None:
    spec = _make_case(tmp_path, case)
    with expectation:  # type: ignore[attr-defined]
        _read_all(open_source(spec))


@pytest.mark.parametrize(
    ("make", "expectation"),
    [
        pytest.param(
            lambda p: VideoFileSource(p),
            pytest.raises(SourceError, match="a directory"),
            id="video-from-dir",
        ),
        pytest.param(
            lambda p: ImageFolderSource(p, interval_ms=0),
            pytest.raises(SourceError, match="interval_ms > 0, got 0"),
            id="zero-interval",
        ),
        pytest.param(
            lambda p: ImageFolderSource(p, interval_ms=2.5),
            pytest.raises(SourceError, match="int interval_ms"),
            id="float-interval",
        ),
        pytest.param(
            lambda p: CameraSource(-1),
            pytest.raises(SourceError, match="index >= 0, got -1"),
            id="negative-camera",
        ),
        pytest.param(
            lambda p: open_source(True),
            pytest.raises(SourceError, match="got True"),
            id="bool-spec",
        ),
    ],
)
def test_bad_arguments(tmp_path: Path, make: object, expectation: object) -> None:
    _write_images(tmp_path / "shots", ["a.png"])
    with expectation:  # type: ignore[attr-defined]
        make(tmp_path / "shots")  # type: ignore[operator]


class _FakeCapture:
    """Stands in for cv2.VideoCapture(index): `frames` good frames, then failures."""

    def __init__(self, index: object, frames: int = 5, opens: bool = True) -> None:
        self.index = index
        self.frames = frames
        self.opens = opens
        self.grabbed = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opens

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def grab(self) -> bool:
        self.grabbed += 1
        return self.grabbed <= self.frames

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.full((4, 6, 3), self.grabbed, np.uint8)

    def release(self) -> None:
        self.released = True


@pytest.mark.parametrize(
    "spec",
    [pytest.param(0, id="int"), pytest.param("0", id="digit-string")],
)
def test_camera_stamps_monotonic_clock_at_grab(
    monkeypatch: pytest.MonkeyPatch, spec: int | str
) -> None:
    captures: list[_FakeCapture] = []

    def fake_capture(index: object) -> _FakeCapture:
        captures.append(_FakeCapture(index))
        return captures[-1]

    # Two grabs inside the same millisecond and a clock that stands still: the
    # source must still hand out strictly increasing timestamps.
    clock_ns = iter(
        [5_000_000_000, 5_000_000_400, 5_000_000_400, 5_020_000_000, 5_040_000_000]
    )
    monkeypatch.setattr(sources.cv2, "VideoCapture", fake_capture)
    monkeypatch.setattr(sources.time, "monotonic_ns", lambda: next(clock_ns))

    source = open_source(spec)
    assert isinstance(source, CameraSource)
    assert source.is_live and source.fps == 30.0 and source.frame_count is None
    with source, pytest.raises(SourceError, match="stopped delivering frames after 5"):
        got = []
        for frame in source:
            got.append(frame)
    assert captures[0].released
    assert [f.timestamp_ms for f in got] == [5000, 5001, 5002, 5020, 5040]
    assert [int(f.image_bgr[0, 0, 0]) for f in got] == [1, 2, 3, 4, 5]


def test_camera_that_does_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sources.cv2, "VideoCapture", lambda index: _FakeCapture(index, opens=False)
    )
    with pytest.raises(SourceError, match="expected a camera at index 3, got none"):
        open_source("3")
