"""The inference worker (one thread, latest frame wins) and subject selection."""

from __future__ import annotations

import asyncio
import os
import threading
from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import pytest

from server.inference import (
    InferenceResult,
    InferenceWorker,
    decode_jpeg,
    select_subject,
)
from server.schemas import ErrorCode, ProtocolError
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from vision.types import PoseFrame, Poses


def person(
    cx: float, cy: float, half_w: float, half_h: float, visible: bool = True
) -> PoseFrame:
    """33 joints spread over a box centred at (cx, cy)."""
    xyz = np.zeros((33, 3), np.float32)
    t = np.linspace(0.0, 1.0, 33, dtype=np.float32)
    xyz[:, 0] = cx - half_w + 2 * half_w * t
    xyz[:, 1] = cy - half_h + 2 * half_h * t[::-1]
    vis = np.full(33, 1.0 if visible else 0.1, np.float32)
    return PoseFrame(xyz, vis, 0)


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        pytest.param([], None, id="nobody"),
        pytest.param(
            [person(0.5, 0.5, 0.1, 0.3, visible=False)], None, id="one-invisible"
        ),
        pytest.param([person(0.2, 0.5, 0.1, 0.3)], 0, id="one-off-centre"),
        pytest.param(
            [person(0.5, 0.5, 0.05, 0.1), person(0.5, 0.5, 0.15, 0.4)],
            1,
            id="larger-wins",
        ),
        pytest.param(
            [person(0.1, 0.5, 0.08, 0.3), person(0.5, 0.5, 0.08, 0.3)],
            1,
            id="central-wins",
        ),
        pytest.param(
            [person(0.5, 0.5, 0.2, 0.45, visible=False), person(0.8, 0.5, 0.05, 0.2)],
            1,
            id="invisible-giant-ignored",
        ),
        pytest.param(
            [person(0.85, 0.5, 0.14, 0.45), person(0.5, 0.5, 0.05, 0.15)],
            0,
            id="much-larger-beats-central",
        ),
    ],
)
def test_select_subject(people: list[PoseFrame], expected: int | None) -> None:
    poses = Poses.from_frames(people, timestamp_ms=77)
    chosen = select_subject(poses)
    assert chosen.timestamp_ms == 77
    if expected is None:
        assert chosen.is_missing
    else:
        np.testing.assert_array_equal(chosen.xyz, people[expected].xyz)


def test_decode_jpeg() -> None:
    image = decode_jpeg(jpeg_bytes(40, 30))
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8
    with pytest.raises(ProtocolError) as info:
        decode_jpeg(b"\xff\xd8 definitely not a jpeg")
    assert info.value.code == ErrorCode.BAD_IMAGE


@pytest.mark.parametrize(
    ("width", "height", "expectation"),
    [
        pytest.param(16384, 8, does_not_raise(), id="16384-wide"),
        pytest.param(33000, 8, pytest.raises(ProtocolError), id="33000-wide"),
        pytest.param(8, 33000, pytest.raises(ProtocolError), id="33000-tall"),
    ],
)
def test_decode_jpeg_refuses_images_too_large_for_the_model(
    width: int, height: int, expectation: Any
) -> None:
    # Found by the soak benchmark's fuzzing client: a bit-flipped JPEG header
    # decoding 32767+ px wide aborted the server process inside MediaPipe.
    with expectation as info:
        image = decode_jpeg(jpeg_bytes(width, height))
        assert image.shape == (height, width, 3)
    if info is not None:
        assert info.value.code == ErrorCode.BAD_IMAGE


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_latest_frame_wins_and_drops_are_counted() -> None:
    gate = threading.Event()
    backend = ScriptedBackend(gate=gate)
    worker = InferenceWorker(lambda: backend)

    async def scenario() -> tuple[list[int], object]:
        worker.start()
        stream = await worker.open_stream()
        stream.submit(10, jpeg_bytes(), 0)
        await asyncio.to_thread(
            backend.entered.wait, 5
        )  # the worker is busy with frame 10
        for ts in range(11, 20):
            stream.submit(ts, jpeg_bytes(), 0)  # each replaces the one waiting
        gate.set()
        seen = []
        for _ in range(2):
            result = await stream.next_result()
            seen.append(result.timestamp_ms)
            stream.task_done(True)
        await stream.drain()
        stream.close()
        return seen, stream.stats

    try:
        seen, stats = run(scenario())
    finally:
        worker.stop()
    assert seen == [10, 19]
    assert [ts for ts, _ in backend.calls] == [10, 19]
    assert (stats.received, stats.processed, stats.dropped, stats.rejected) == (
        10,
        2,
        8,
        0,
    )


def test_a_stream_that_is_not_read_does_not_stall_others() -> None:
    backends: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        backends.append(ScriptedBackend())
        return backends[-1]

    worker = InferenceWorker(factory)

    async def scenario() -> tuple[list[int], int]:
        worker.start()
        stuck = await worker.open_stream()
        healthy = await worker.open_stream()
        stuck.submit(1, jpeg_bytes(), 0)
        await (
            stuck.next_result()
        )  # taken, but task_done never called: its reader is stuck
        for ts in range(2, 30):
            stuck.submit(ts, jpeg_bytes(), 0)
        done = []
        for ts in range(100, 110):
            healthy.submit(ts, jpeg_bytes(), 0)
            result = await healthy.next_result()
            done.append(result.timestamp_ms)
            healthy.task_done(True)
        return done, stuck.stats.dropped

    try:
        done, stuck_dropped = run(scenario())
    finally:
        worker.stop()
    assert done == list(range(100, 110))  # every healthy frame processed, in order
    assert stuck_dropped == 27  # the stuck stream only ever holds its newest frame
    assert len(backends[0].calls) == 1  # no inference for the stuck stream meanwhile


def test_errors_reach_only_their_stream_and_backends_are_reused() -> None:
    backend = ScriptedBackend(fail_on=lambda ts: ts == 3)
    made = []

    def factory() -> ScriptedBackend:
        made.append(backend if not made else ScriptedBackend())
        return made[-1]

    worker = InferenceWorker(factory)

    async def scenario() -> list[tuple[int, str | None]]:
        worker.start()
        out = []
        stream = await worker.open_stream()
        for ts, data in [
            (1, jpeg_bytes()),
            (2, b"\xff\xd8garbage"),
            (3, jpeg_bytes()),
            (4, jpeg_bytes()),
        ]:
            stream.submit(ts, data, 0)
            result = await stream.next_result()
            out.append((ts, None if result.error is None else result.error.code.value))
            stream.task_done(result.error is None)
        stream.close()
        # The next session re-uses the pooled backend with earlier timestamps: shifted.
        again = await worker.open_stream()
        again.submit(1, jpeg_bytes(), 0)
        result = await again.next_result()
        out.append(
            (
                result.timestamp_ms,
                None if result.error is None else result.error.code.value,
            )
        )
        again.task_done(True)
        again.close()
        return out

    try:
        out = run(scenario())
    finally:
        worker.stop()
    assert out == [
        (1, None),
        (2, "bad_image"),
        (3, "inference_failed"),
        (4, None),
        (1, None),
    ]
    assert len(made) == 1  # pooled, not rebuilt
    assert [ts for ts, _ in backend.calls] == [1, 3, 4, 5]  # 1 -> 5: shifted past 4
    assert backend.closed  # worker.stop closes pooled backends


def test_stream_rejects_non_monotonic_timestamps() -> None:
    worker = InferenceWorker(ScriptedBackend)

    async def scenario() -> object:
        worker.start()
        stream = await worker.open_stream()
        stream.submit(5, jpeg_bytes(), 0)
        with pytest.raises(ProtocolError) as info:
            stream.submit(5, jpeg_bytes(), 0)
        assert info.value.code == ErrorCode.NON_MONOTONIC
        await stream.next_result()
        stream.task_done(True)
        await stream.drain()
        return stream.stats

    try:
        stats = run(scenario())
    finally:
        worker.stop()
    assert (stats.received, stats.processed, stats.rejected) == (2, 1, 1)  # type: ignore[attr-defined]


def test_load_builds_and_warms_one_backend() -> None:
    backend = ScriptedBackend()
    worker = InferenceWorker(lambda: backend)
    assert not worker.warm
    worker.load()
    assert worker.warm and worker.backend_name == "scripted"
    assert len(backend.calls) == 1  # one warm-up detect
    worker.stop()


def test_a_result_carries_everyone_found_and_errors_carry_nobody() -> None:
    found = [person(0.2, 0.5, 0.05, 0.2), person(0.5, 0.5, 0.1, 0.4)]
    backend = ScriptedBackend(lambda i, ts, image: found)
    worker = InferenceWorker(lambda: backend)

    async def scenario() -> list[InferenceResult]:
        worker.start()
        stream = await worker.open_stream()
        results = []
        for ts, jpeg in ((5, jpeg_bytes()), (6, b"not a jpeg")):
            stream.submit(ts, jpeg, 0)
            results.append(await stream.next_result())
            stream.task_done(True)
        stream.close()
        return results

    try:
        good, bad = run(scenario())
    finally:
        worker.stop()
    assert good.poses is not None
    assert good.poses.timestamp_ms == 5
    # Stamped with the decoded image's aspect (the scripted backend does not know it).
    assert good.poses.aspect_wh == pytest.approx(64 / 48)
    assert good.frame is not None and good.frame.aspect_wh == pytest.approx(64 / 48)
    np.testing.assert_array_equal(
        good.poses.xyz,
        np.stack([f.xyz for f in found]),
    )
    assert good.candidates == 2
    assert bad.poses is None
    assert bad.error.code is ErrorCode.BAD_IMAGE


class _Resettable(ScriptedBackend):
    def __init__(self) -> None:
        super().__init__()
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


@pytest.mark.parametrize(
    ("reset_backends", "resets"),
    [
        pytest.param(False, 0, id="kiosk-pool-keeps-state"),
        pytest.param(True, 2, id="group-pool-resets"),  # pooled at each open
    ],
)
def test_pooled_backends_are_reset_between_streams_when_asked(
    reset_backends: bool, resets: int
) -> None:
    backend = _Resettable()
    worker = InferenceWorker(lambda: backend, reset_backends=reset_backends)

    async def scenario() -> None:
        worker.start()
        for _ in range(2):
            stream = await worker.open_stream()
            stream.close()

    worker.load()  # the pool's first backend
    try:
        run(scenario())
    finally:
        worker.stop()
    assert backend.resets == resets


@pytest.mark.parametrize(
    ("threads", "served_meanwhile"), [(2, True), (1, False)], ids=["two", "one"]
)
def test_worker_threads_serve_streams_side_by_side(
    threads: int, served_meanwhile: bool
) -> None:
    """With one thread per core, a kiosk's frame is served while another kiosk's frame
    is still in the model; with one thread it waits for it."""
    gate = threading.Event()
    made: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        made.append(ScriptedBackend(gate=gate if not made else None))
        return made[-1]

    worker = InferenceWorker(factory, threads=threads)
    assert worker.threads == threads

    async def scenario() -> bool:
        worker.start()
        slow = await worker.open_stream()
        fast = await worker.open_stream()
        slow.submit(1, jpeg_bytes(), 0)
        await asyncio.to_thread(made[0].entered.wait, 5)  # in the model, held
        fast.submit(1, jpeg_bytes(), 0)
        try:
            await asyncio.wait_for(fast.next_result(), 1.0)
            served = True
        except TimeoutError:
            served = False
        gate.set()
        await slow.next_result()
        return served

    try:
        assert run(scenario()) is served_meanwhile
    finally:
        gate.set()
        worker.stop()
    assert not worker.running


def test_default_threads_are_the_cores_of_the_process() -> None:
    assert InferenceWorker(ScriptedBackend).threads == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        InferenceWorker(ScriptedBackend, threads=0)
