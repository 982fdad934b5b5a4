"""The inference worker (one thread, latest frame wins) and subject selection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from server.inference import (
    BACKEND_CLOCK_LIMIT_MS,
    MAX_TIMESTAMP_MS,
    MAX_TIMESTAMP_STEP_MS,
    InferenceResult,
    InferenceWorker,
    decode_jpeg,
    select_subject,
)
from server.schemas import ErrorCode, ProtocolError
from server.timestamps import ShiftedBackend
from tests.server.conftest import MediaPipeClock, ScriptedBackend, jpeg_bytes
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
    assert [ts for ts, _ in backend.calls] == [0, 9]  # rebased to the session's start
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


def test_errors_reach_only_their_stream_and_a_failed_backend_is_not_reused() -> None:
    made: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        # Frame 3 is the backend's time 2 (the session starts at its time 0).
        made.append(ScriptedBackend(fail_on=(lambda ts: ts == 2) if not made else None))
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
        # The backend failed on frame 3: closed, and the next session gets a new one.
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
        assert worker.degraded is not None
        assert "RuntimeError: scripted failure" in worker.degraded
    finally:
        worker.stop()
    assert out == [
        (1, None),
        (2, "bad_image"),
        (3, "inference_failed"),
        (4, None),
        (1, None),
    ]
    assert len(made) == 2 and made[0].closed
    assert [ts for ts, _ in made[0].calls] == [0, 2, 3]
    assert [ts for ts, _ in made[1].calls] == [0]


def test_pooled_backends_are_reused_with_times_rebased_per_session() -> None:
    made: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        made.append(ScriptedBackend())
        return made[-1]

    worker = InferenceWorker(factory)

    async def session(timestamps: list[int]) -> list[int]:
        stream = await worker.open_stream()
        out = []
        for ts in timestamps:
            stream.submit(ts, jpeg_bytes(), 0)
            result = await stream.next_result()
            assert result.error is None
            out.append(result.timestamp_ms)
            stream.task_done(True)
        stream.close()
        return out

    async def scenario() -> list[list[int]]:
        worker.start()
        return [
            await session([1000, 1040, 1100]),
            await session([7, 57]),
            await session([5_000_000, 5_000_010]),
        ]

    try:
        out = run(scenario())
    finally:
        worker.stop()
    assert out == [[1000, 1040, 1100], [7, 57], [5_000_000, 5_000_010]]
    assert len(made) == 1  # pooled, not rebuilt
    # Each session starts one past the last time the backend took; steps are kept.
    assert [ts for ts, _ in made[0].calls] == [0, 40, 100, 101, 151, 152, 162]
    assert worker.degraded is None


@pytest.mark.parametrize(
    ("timestamps", "codes"),
    [
        pytest.param([2**53 - 1], [None], id="first-at-the-bound"),
        pytest.param([2**53], ["bad_timestamp"], id="2^53"),
        pytest.param([9_223_372_036_854_776], ["bad_timestamp"], id="x1000-wraps"),
        pytest.param([2**63], ["bad_timestamp"], id="2^63"),
        pytest.param([2**64 - 1], ["bad_timestamp"], id="2^64-1"),
        pytest.param(
            [1000, 1000 + MAX_TIMESTAMP_STEP_MS], [None, None], id="an-hour-later"
        ),
        pytest.param(
            [1000, 1001 + MAX_TIMESTAMP_STEP_MS, 1500],
            [None, "bad_timestamp", None],
            id="jump-refused-session-goes-on",
        ),
        pytest.param(
            [1000, 2**64 - 1, 1001], [None, "bad_timestamp", None], id="wrap-refused"
        ),
    ],
)
def test_finding_1_timestamps_are_bounded(
    timestamps: list[int], codes: list[str | None]
) -> None:
    """Frame times past 2^53 or an hour after the last are refused with
    `bad_timestamp`, counted as rejected, and the stream takes the next frame."""
    assert MAX_TIMESTAMP_MS == 2**53 - 1
    worker = InferenceWorker(ScriptedBackend)

    async def scenario() -> list[str | None]:
        worker.start()
        stream = await worker.open_stream()
        out: list[str | None] = []
        for ts in timestamps:
            try:
                stream.submit(ts, jpeg_bytes(), 0)
            except ProtocolError as exc:
                out.append(exc.code.value)
                continue
            result = await stream.next_result()
            out.append(None if result.error is None else result.error.code.value)
            stream.task_done(result.error is None)
        stream.close()
        assert stream.stats.rejected == codes.count("bad_timestamp")
        return out

    try:
        assert run(scenario()) == codes
    finally:
        worker.stop()


def test_finding_1_a_frame_the_backend_refuses_does_not_move_its_clock() -> None:
    backend = ScriptedBackend(fail_on=lambda ts: ts == 5)  # the backend's time
    shifted = ShiftedBackend(backend)
    image = np.zeros((8, 8, 3), np.uint8)
    assert shifted.detect(image, 10).timestamp_ms == 10
    assert shifted.last_ms == 0  # a new backend's clock starts at 0
    with pytest.raises(RuntimeError, match="scripted failure"):
        shifted.detect(image, 15)
    assert (shifted.last_ms, shifted.failed) == (0, True)
    with pytest.raises(OverflowError, match="backend clock"):
        shifted.detect(image, 10 + BACKEND_CLOCK_LIMIT_MS + 1)
    assert shifted.last_ms == 0
    assert shifted.detect(image, 20).timestamp_ms == 20
    shifted.rebase = True  # the next session
    assert shifted.detect(image, 7).timestamp_ms == 7
    assert shifted.last_ms == 11
    assert [ts for ts, _ in backend.calls] == [0, 5, 10, 11]


def test_a_session_whose_first_frame_fails_goes_on_later_than_that_frame() -> None:
    # The backend may have taken the failed frame's time: the session's next frame
    # must reach it later (rebasing again would hand it the same time).
    backend = ScriptedBackend(fail_on=lambda ts: ts == 0)
    shifted = ShiftedBackend(backend)
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(RuntimeError, match="scripted failure"):
        shifted.detect(image, 10)
    assert shifted.detect(image, 20).timestamp_ms == 20
    assert [ts for ts, _ in backend.calls] == [0, 10]
    assert (shifted.last_ms, shifted.failed) == (10, True)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param([2**64 - 1], id="2^64-1"),
        pytest.param([9_223_372_036_854_776], id="x1000-wraps"),
        pytest.param([9_223_372_036_854_775], id="x1000-fits"),
        pytest.param([1, 2**63, 5], id="2^63-midway"),
    ],
)
def test_finding_1_one_session_cannot_stop_the_next_sessions_frames(
    hostile: list[int],
) -> None:
    """One backend (as after a kiosk run) serves a session that sends a hostile
    timestamp, then the next session: every frame of that one is processed."""
    worker = InferenceWorker(MediaPipeClock, max_idle_backends=1)

    async def scenario() -> list[str | None]:
        worker.start()
        first = await worker.open_stream()
        for ts in [1000, 1067, *hostile]:
            with contextlib.suppress(ProtocolError):
                first.submit(ts, jpeg_bytes(), 0)
                result = await first.next_result()
                first.task_done(result.error is None)
        first.close()
        second = await worker.open_stream()
        out = []
        for ts in [1, 68, 135]:
            second.submit(ts, jpeg_bytes(), 0)
            result = await second.next_result()
            out.append(None if result.error is None else result.error.code.value)
            second.task_done(result.error is None)
        second.close()
        return out

    try:
        assert run(scenario()) == [None, None, None]
    finally:
        worker.stop()


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


def _results_of(
    backend: ScriptedBackend, frames: list[tuple[int, bytes]]
) -> list[InferenceResult]:
    """One stream's results for (timestamp_ms, JPEG) frames sent one at a time."""
    worker = InferenceWorker(lambda: backend)

    async def scenario() -> list[InferenceResult]:
        worker.start()
        stream = await worker.open_stream()
        results = []
        for ts, jpeg in frames:
            stream.submit(ts, jpeg, 0)
            results.append(await stream.next_result())
            stream.task_done(True)
        stream.close()
        return results

    try:
        return run(scenario())  # type: ignore[no-any-return]
    finally:
        worker.stop()


def test_a_result_carries_everyone_found_and_errors_carry_nobody() -> None:
    found = [person(0.2, 0.5, 0.05, 0.2), person(0.5, 0.5, 0.1, 0.4)]
    backend = ScriptedBackend(lambda i, ts, image: found)
    good, bad = _results_of(backend, [(5, jpeg_bytes()), (6, b"not a jpeg")])
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


class _Following(ScriptedBackend):
    """A backend that follows people itself and numbers them (`FollowsPeople`:
    `last_lineage` exists from construction, as the estimator's does)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_lineage = np.zeros(0, np.int64)

    def detect(self, image_bgr: npt.NDArray[np.uint8], timestamp_ms: int) -> Poses:
        poses = super().detect(image_bgr, timestamp_ms)
        first = 10 * len(self.calls)  # 10, 11 on the first frame; 20, 21 next
        self.last_lineage = np.arange(len(poses), dtype=np.int64) + first
        return poses


@pytest.mark.parametrize("follows", [True, False], ids=["follows", "plain"])
def test_a_result_carries_the_backends_lineage_of_each_pose(follows: bool) -> None:
    """The group screen's tracker takes the estimator's lineage as its strongest
    cue; it travels with the poses it numbers, taken on the worker's thread."""
    found = [person(0.2, 0.5, 0.05, 0.2), person(0.5, 0.5, 0.1, 0.4)]
    kind = _Following if follows else ScriptedBackend
    backend = kind(lambda i, ts, image: found)
    frames = [(5, jpeg_bytes()), (6, jpeg_bytes()), (7, b"bad")]
    first, second, bad = _results_of(backend, frames)
    if follows:
        assert first.lineage is not None and first.lineage.tolist() == [10, 11]
        assert second.lineage is not None and second.lineage.tolist() == [20, 21]
    else:
        assert first.lineage is None and second.lineage is None
    assert bad.lineage is None and bad.poses is None


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
