"""benchmarks.video_cameras: the clips as cheaper cameras would have recorded them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.video_cameras import CAMERAS, recorded_as


def _clip(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    rng = np.random.default_rng(0)
    for i in range(frames):
        frame = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        frame[10:30, 4 * i : 4 * i + 16] = 255  # a square moving right
        writer.write(frame)
    writer.release()
    return path


def _read(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames, fps


def test_each_camera(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "clip.mp4")
    shared, fps = _read(clip)
    assert recorded_as(clip, "as_shared", tmp_path / "cache") == clip

    half_fps, slow = _read(recorded_as(clip, "half_fps", tmp_path / "cache"))
    assert len(half_fps) == 6 and slow == pytest.approx(fps / 2, abs=0.1)

    half_res, _ = _read(recorded_as(clip, "half_res", tmp_path / "cache"))
    assert len(half_res) == 12 and half_res[0].shape == (24, 32, 3)

    jpeg, _ = _read(recorded_as(clip, "jpeg25", tmp_path / "cache"))
    assert len(jpeg) == 12 and jpeg[0].shape == shared[0].shape
    # Noise compresses badly: the frames lose detail against the shared ones.
    loss = np.mean(
        [np.abs(a.astype(int) - b).mean() for a, b in zip(jpeg, shared, strict=True)]
    )
    assert loss > 5.0


def test_written_once_and_unknown_cameras_refused(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "clip.mp4")
    first = recorded_as(clip, "jpeg25", tmp_path / "cache")
    written = first.stat().st_mtime_ns
    assert recorded_as(clip, "jpeg25", tmp_path / "cache") == first
    assert first.stat().st_mtime_ns == written
    with pytest.raises(ValueError, match="unknown camera 'vhs'"):
        recorded_as(clip, "vhs", tmp_path / "cache")
    assert set(CAMERAS) == {"as_shared", "jpeg25", "half_res", "half_fps"}
