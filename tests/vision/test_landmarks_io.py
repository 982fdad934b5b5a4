"""Landmark files: round trip, and a clear error for every kind of malformed file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vision.landmarks_io import (
    FORMAT_VERSION,
    LandmarksFileError,
    load_landmarks,
    save_landmarks,
)
from vision.types import PoseFrame, PoseWindow, Skeleton


def _window(t: int, skeleton: Skeleton = Skeleton.BLAZEPOSE_33) -> PoseWindow:
    rng = np.random.default_rng(t)
    j = skeleton.num_joints
    xyz = rng.random((t, j, 3), dtype=np.float32)
    vis = rng.random((t, j), dtype=np.float32)
    if t > 1:
        xyz[1] = np.nan  # a frame with nobody in view
        vis[1] = 0.0
    return PoseWindow(xyz, vis, np.arange(t, dtype=np.int64) * 33, skeleton)


@pytest.mark.parametrize(
    ("t", "skeleton"),
    [
        pytest.param(5, Skeleton.BLAZEPOSE_33, id="blazepose-5"),
        pytest.param(1, Skeleton.COCO_17, id="coco-1"),
        pytest.param(0, Skeleton.BLAZEPOSE_33, id="empty"),
    ],
)
def test_round_trip(tmp_path: Path, t: int, skeleton: Skeleton) -> None:
    window = _window(t, skeleton)
    detected = np.arange(t) != 1
    meta = {"source": "clip.mp4", "backend": "mediapipe", "fps": 29.97, "note": "é"}

    written = save_landmarks(tmp_path / "x.npz", window, detected=detected, meta=meta)
    loaded, loaded_meta = load_landmarks(written)

    assert written == tmp_path / "x.npz"
    assert loaded.skeleton is skeleton
    assert loaded.xyz.dtype == np.float32 and loaded.xyz.flags.c_contiguous
    np.testing.assert_array_equal(loaded.xyz, window.xyz)  # NaN == NaN here
    np.testing.assert_array_equal(loaded.visibility, window.visibility)
    np.testing.assert_array_equal(loaded.timestamp_ms, window.timestamp_ms)
    assert loaded.timestamp_ms.dtype == np.int64
    np.testing.assert_array_equal(loaded_meta.pop("detected"), detected)
    assert loaded_meta == meta


def test_suffix_added_and_frames_rebuild(tmp_path: Path) -> None:
    frames = [PoseFrame.missing(0), PoseFrame.missing(40)]
    window = PoseWindow.from_frames(frames)
    path = save_landmarks(
        tmp_path / "track", window, detected=np.zeros(2, bool), meta={}
    )
    assert path.name == "track.npz"
    loaded, meta = load_landmarks(path)
    assert loaded[1].is_missing and loaded[1].timestamp_ms == 40
    assert meta["source"] == "" and meta["backend"] == ""


@pytest.mark.parametrize(
    ("detected", "meta", "match"),
    [
        pytest.param(
            np.ones(4, bool),
            {},
            "detected must be (3,) bool, got (4,) bool",
            id="length",
        ),
        pytest.param(np.ones(3, np.int64), {}, "bool, got (3,) int64", id="dtype"),
        pytest.param(
            np.ones(3, bool), {"x": object()}, "JSON-serializable", id="meta-object"
        ),
        pytest.param(
            np.ones(3, bool), {"x": float("nan")}, "JSON-serializable", id="meta-nan"
        ),
        pytest.param(
            np.ones(3, bool),
            {"detected": []},
            "must not contain 'detected'",
            id="meta-detected",
        ),
    ],
)
def test_save_rejects(
    tmp_path: Path, detected: np.ndarray, meta: dict, match: str
) -> None:
    with pytest.raises(ValueError) as info:
        save_landmarks(tmp_path / "x.npz", _window(3), detected=detected, meta=meta)
    assert match in str(info.value)
    assert not (tmp_path / "x.npz").exists()


def _valid_fields() -> dict[str, np.ndarray]:
    window = _window(3)
    return {
        "format": np.int64(FORMAT_VERSION),
        "xyz": window.xyz,
        "visibility": window.visibility,
        "timestamp_ms": window.timestamp_ms,
        "detected": np.ones(3, bool),
        "skeleton": np.str_("blazepose_33"),
        "source": np.str_("s"),
        "backend": np.str_("b"),
        "meta_json": np.str_("{}"),
    }


def _npz(tmp_path: Path, **changes: object) -> Path:
    fields = _valid_fields()
    for key, value in changes.items():
        if value is None:
            del fields[key]
        else:
            fields[key] = value  # type: ignore[assignment]
    path = tmp_path / "bad.npz"
    np.savez(path, **fields)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(lambda p: p / "absent.npz", "got no file", id="missing"),
        pytest.param(
            lambda p: (p / "t.npz").write_text("hello") and p / "t.npz",
            "unreadable file",
            id="text",
        ),
        pytest.param(
            lambda p: (np.save(p / "a.npy", np.zeros(3)), p / "a.npy")[1],
            "single .npy",
            id="npy",
        ),
        pytest.param(
            lambda p: _npz(p, xyz=None), "expected a field 'xyz'", id="no-xyz"
        ),
        pytest.param(
            lambda p: _npz(p, format=np.int64(99)), "format 1, got 99", id="version"
        ),
        pytest.param(
            lambda p: _npz(p, xyz=np.zeros((3, 33), np.float32)),
            "xyz to be 3-d float",
            id="xyz-2d",
        ),
        pytest.param(
            lambda p: _npz(p, xyz=np.zeros((3, 33, 3))),
            "xyz must be (3, 33, 3) float32, got (3, 33, 3) float64",
            id="xyz-float64",
        ),
        pytest.param(
            lambda p: _npz(p, xyz=np.zeros((3, 17, 3), np.float32)),
            "(3, 33, 3) float32, got (3, 17, 3)",
            id="wrong-joints",
        ),
        pytest.param(
            lambda p: _npz(p, detected=np.ones(2, bool)),
            "detected to be (3,) like xyz, got (2,)",
            id="detected-length",
        ),
        pytest.param(
            lambda p: _npz(p, timestamp_ms=np.array([0, 20, 10])),
            "non-decreasing",
            id="time-backwards",
        ),
        pytest.param(
            lambda p: _npz(p, timestamp_ms=np.array([0.0, 1.0, 2.0])),
            "timestamp_ms to be 1-d int",
            id="time-float",
        ),
        pytest.param(
            lambda p: _npz(p, skeleton=np.str_("smpl_24")),
            "got 'smpl_24'",
            id="skeleton",
        ),
        pytest.param(
            lambda p: _npz(p, meta_json=np.str_("{oops")),
            "not valid JSON",
            id="meta-json",
        ),
        pytest.param(
            lambda p: _npz(p, meta_json=np.str_("[1]")),
            "an object, got list",
            id="meta-list",
        ),
        pytest.param(
            lambda p: _npz(p, source=np.array(["a", "b"])),
            "source to be 0-d str",
            id="source-array",
        ),
    ],
)
def test_load_rejects_malformed(tmp_path: Path, make: object, match: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(LandmarksFileError) as info:
        load_landmarks(path)
    assert match in str(info.value)


def test_load_rejects_pickled_object_arrays(tmp_path: Path) -> None:
    path = _npz(tmp_path, meta_json=np.array([{"a": 1}], dtype=object))
    with pytest.raises(LandmarksFileError, match="could not be read"):
        load_landmarks(path)


def test_load_rejects_damaged_zip(tmp_path: Path) -> None:
    good = save_landmarks(
        tmp_path / "x.npz", _window(3), detected=np.ones(3, bool), meta={}
    )
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(LandmarksFileError, match="unreadable file"):
        load_landmarks(good)


def test_meta_json_is_plain_json(tmp_path: Path) -> None:
    path = save_landmarks(
        tmp_path / "x.npz",
        _window(2),
        detected=np.ones(2, bool),
        meta={"source": "cam", "backend": "onnx", "k": [1, 2]},
    )
    with zipfile.ZipFile(path) as z:
        raw = np.load(io.BytesIO(z.read("meta_json.npy")))
    assert json.loads(str(raw)) == {"k": [1, 2]}


@pytest.mark.parametrize(
    ("aspect_wh", "meta", "loaded"),
    [
        pytest.param(16 / 9, {}, 16 / 9, id="stored"),
        pytest.param(None, {"resolution_wh": [1280, 720]}, 16 / 9, id="resolution"),
        pytest.param(None, {"image_wh": [480, 640]}, 0.75, id="image-wh"),
        pytest.param(None, {"width": 640, "height": 480}, 4 / 3, id="width-height"),
        pytest.param(None, {"resolution_wh": [0, 720]}, 1.0, id="degenerate"),
        pytest.param(None, {}, 1.0, id="unknown"),
    ],
)
def test_the_aspect_round_trips_and_older_files_take_the_metadatas(
    tmp_path: Path, aspect_wh: float | None, meta: dict, loaded: float
) -> None:
    window = _window(3)
    if aspect_wh is not None:
        window = PoseWindow(
            window.xyz, window.visibility, window.timestamp_ms, aspect_wh=aspect_wh
        )
    path = save_landmarks(
        tmp_path / "x.npz", window, detected=np.ones(3, bool), meta=meta
    )
    if aspect_wh is None:  # as written before the aspect was stored
        with np.load(path) as data:
            fields = {k: data[k] for k in data.files if k != "aspect_wh"}
        np.savez_compressed(path, **fields)
    got, _ = load_landmarks(path)
    assert got.aspect_wh == pytest.approx(loaded)
    assert got[0].aspect_wh == pytest.approx(loaded)
