"""Landmark chunks: the codec, the buffer, and chunks through the database."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import numpy.testing as npt
import pytest

from server.store import Store, repository
from server.store.landmarks import (
    LandmarkBuffer,
    decode_chunk,
    encode_chunk,
    window_from_chunks,
)
from tests.server.store.helpers import (
    frames,
    seed_centre,
)
from vision.types import PoseFrame, PoseWindow, Skeleton


def _window(count: int, **kw: int) -> PoseWindow:
    return PoseWindow.from_frames(frames(count, **kw))


@pytest.mark.parametrize(
    ("dtype", "stored"),
    [
        pytest.param("float32", np.float32, id="float32"),
        pytest.param("float16", np.float16, id="float16"),
    ],
)
def test_chunk_round_trips_exactly_in_its_dtype(dtype: str, stored: type) -> None:
    window = _window(40, missing_every=7)
    xyz, vis, ts = decode_chunk(
        encode_chunk(window.xyz, window.visibility, window.timestamp_ms, dtype)
    )
    assert xyz.dtype == stored and vis.dtype == stored and ts.dtype == np.int64
    npt.assert_array_equal(xyz, window.xyz.astype(stored))  # NaN == NaN here
    npt.assert_array_equal(vis, window.visibility.astype(stored))
    npt.assert_array_equal(ts, window.timestamp_ms)
    assert np.isnan(xyz[6]).all() and np.isnan(xyz[0, 5]).all()


def test_float16_error_is_below_a_pixel_at_1080p() -> None:
    window = _window(30)
    xyz, _, _ = decode_chunk(
        encode_chunk(window.xyz, window.visibility, window.timestamp_ms)
    )
    finite = np.isfinite(window.xyz)
    assert (
        np.max(np.abs(xyz[finite].astype(np.float32) - window.xyz[finite])) < 1 / 1920
    )


def test_float16_chunk_is_smaller_than_float32() -> None:
    window = _window(60)
    half = encode_chunk(window.xyz, window.visibility, window.timestamp_ms, "float16")
    full = encode_chunk(window.xyz, window.visibility, window.timestamp_ms, "float32")
    assert len(half) < 0.7 * len(full)


@pytest.mark.parametrize(
    ("xyz_shape", "vis_shape", "ts_shape", "dtype", "match"),
    [
        pytest.param((0, 33, 3), (0, 33), (0,), "float16", "T > 0", id="empty"),
        pytest.param(
            (2, 33, 2), (2, 33), (2,), "float16", r"\(T, J, 3\)", id="xy-only"
        ),
        pytest.param(
            (2, 33, 3), (3, 33), (2,), "float16", "visibility", id="vis-mismatch"
        ),
        pytest.param((2, 33, 3), (2, 33), (2,), "float64", "dtype", id="bad-dtype"),
    ],
)
def test_encode_chunk_rejects_bad_input(
    xyz_shape: tuple[int, ...],
    vis_shape: tuple[int, ...],
    ts_shape: tuple[int, ...],
    dtype: str,
    match: str,
) -> None:
    with pytest.raises(ValueError, match=match):
        encode_chunk(
            np.zeros(xyz_shape),
            np.zeros(vis_shape),
            np.zeros(ts_shape, np.int64),
            dtype,
        )


def test_buffer_is_due_after_two_seconds_of_capture_time() -> None:
    buffer = LandmarkBuffer(chunk_ms=2000, chunk_frames=1000)
    due = [buffer.add(f) for f in frames(70, step_ms=33)]  # 0 .. 2277 ms
    assert due.index(True) == 61  # 61 * 33 = 2013 ms after the first frame
    window = buffer.take()
    assert window is not None and len(window) == 70
    assert len(buffer) == 0 and buffer.take() is None


def test_buffer_is_due_after_chunk_frames() -> None:
    buffer = LandmarkBuffer(chunk_ms=10_000, chunk_frames=5)
    assert [buffer.add(f) for f in frames(5)] == [False, False, False, False, True]


def test_buffer_refuses_a_second_skeleton() -> None:
    buffer = LandmarkBuffer()
    buffer.add(frames(1)[0])
    with pytest.raises(ValueError, match="coco_17"):
        buffer.add(PoseFrame.missing(99, Skeleton.COCO_17))


def test_window_from_chunks_concatenates_in_order() -> None:
    a, b = _window(3, start_ms=0), _window(4, start_ms=500, seed=1)
    chunks = [
        ("blazepose_33", encode_chunk(w.xyz, w.visibility, w.timestamp_ms, "float32"))
        for w in (a, b)
    ]
    window = window_from_chunks(chunks)
    assert window is not None
    npt.assert_array_equal(window.xyz, np.concatenate([a.xyz, b.xyz]))
    npt.assert_array_equal(
        window.timestamp_ms, np.concatenate([a.timestamp_ms, b.timestamp_ms])
    )
    assert window_from_chunks([]) is None


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_chunks_round_trip_through_the_database(store: Store, dtype: str) -> None:
    ids = seed_centre(store)
    parts = [
        _window(45, start_ms=0, seed=1),
        _window(30, start_ms=2000, seed=2, missing_every=5),
    ]
    with store.begin() as db:
        sid = repository.start_session(
            db, exercise_id="squat", language="en", resident_id=ids["resident_id"]
        ).id
    parts = [dataclasses.replace(p, aspect_wh=4 / 3) for p in parts]
    for part in parts:  # each its own transaction, as the recorder appends them
        with store.begin() as db:
            repository.append_landmarks(db, sid, part, dtype=dtype)
    with store.session() as db:
        loaded = repository.load_landmarks(db, sid)
    assert loaded is not None and loaded.skeleton is Skeleton.BLAZEPOSE_33
    assert loaded.aspect_wh == pytest.approx(4 / 3)
    stored = np.float32 if dtype == "float32" else np.float16
    expected_xyz = (
        np.concatenate([p.xyz for p in parts]).astype(stored).astype(np.float32)
    )
    npt.assert_array_equal(loaded.xyz, expected_xyz)
    npt.assert_array_equal(
        loaded.visibility,
        np.concatenate([p.visibility for p in parts]).astype(stored).astype(np.float32),
    )
    npt.assert_array_equal(
        loaded.timestamp_ms, np.concatenate([p.timestamp_ms for p in parts])
    )


def test_chunks_are_numbered_per_session(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        a = repository.start_session(
            db, exercise_id="squat", language="en", resident_id=ids["resident_id"]
        ).id
        b = repository.start_session(db, exercise_id="squat", language="en").id
        seqs = [
            repository.append_landmarks(db, sid, _window(2)).seq for sid in (a, a, b, a)
        ]
        assert repository.load_landmarks(db, 999_999) is None
    assert seqs == [0, 1, 0, 2]


def test_the_aspect_is_recorded_with_the_landmarks() -> None:
    wide = 16 / 9
    buffer = LandmarkBuffer()
    for f in frames(3):
        buffer.add(dataclasses.replace(f, aspect_wh=wide))
    buffer.add(PoseFrame.missing(500))  # a missing frame does not unset it
    window = buffer.take()
    assert window is not None and window.aspect_wh == wide
    chunk = encode_chunk(
        window.xyz, window.visibility, window.timestamp_ms, aspect_wh=wide
    )
    loaded = window_from_chunks([("blazepose_33", chunk)])
    assert loaded is not None and loaded.aspect_wh == pytest.approx(wide)
    # A chunk stored before the aspect was: a square picture, as it was read then.
    old = io.BytesIO()
    np.savez_compressed(
        old,
        xyz=window.xyz,
        visibility=window.visibility,
        timestamp_ms=window.timestamp_ms,
    )
    legacy = window_from_chunks([("blazepose_33", old.getvalue())])
    assert legacy is not None and legacy.aspect_wh == 1.0
