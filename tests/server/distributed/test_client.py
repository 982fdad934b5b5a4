"""`RemoteInferenceWorker` / `RemoteFrameStream` against fake inference deployments:
the in-process worker's contract (latest frame wins, results in order, stats, drain,
close), tracking state carried between requests, failures turned into per-frame errors
and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from server.distributed.batching import PoseReply, PoseRequest, no_rois
from server.distributed.client import UNREADY_AFTER_FAILURES, RemoteInferenceWorker
from server.inference import InferenceWorker, PoseStream, PoseWorker
from server.schemas import ProtocolError
from tests.server.conftest import standing_frame
from vision.types import Poses


class FakeService:
    """Answers each frame with one standing person; ROIs encode the frame's time, so a
    test can see which reply's ROIs the next request carried."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[PoseRequest] = []
        self.gate: asyncio.Event | None = None
        self.entered = 0
        self.fail: Callable[[PoseRequest], BaseException | None] = lambda r: None
        self.ready_error: BaseException | None = None
        self.health_calls = 0

    async def infer(self, request: PoseRequest) -> PoseReply:
        self.requests.append(request)
        self.entered += 1
        if self.gate is not None:
            await self.gate.wait()
        error = self.fail(request)
        if error is not None:
            raise error
        ts = request.timestamp_ms
        poses = Poses.from_frames([standing_frame(ts)], ts)
        rois = np.full((1, 4), float(ts))
        return PoseReply(ts, poses, rois, (64, 48))

    async def health(self) -> dict[str, Any]:
        self.health_calls += 1
        if self.ready_error is not None:
            raise self.ready_error
        return {"ready": True}

    def wait_ready(self, timeout_s: float) -> dict[str, Any]:
        if self.ready_error is not None:
            raise self.ready_error
        return {"ready": True}


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 10))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_both_workers_have_the_interface_the_app_uses() -> None:
    worker = RemoteInferenceWorker(FakeService())
    assert isinstance(worker, PoseWorker)
    assert isinstance(InferenceWorker(lambda: None), PoseWorker)  # type: ignore[arg-type,return-value]

    async def body() -> None:
        assert isinstance(await worker.open_stream(), PoseStream)

    run(body)


def test_latest_frame_wins_and_results_come_in_order() -> None:
    service = FakeService()

    async def body() -> None:
        worker = RemoteInferenceWorker(service)
        stream = await worker.open_stream()
        service.gate = asyncio.Event()
        stream.submit(10, b"a", 1)  # goes out at once
        await settle()
        stream.submit(20, b"b", 2)  # waits ...
        stream.submit(30, b"c", 3)  # ... and is replaced: 20 dropped
        service.gate.set()
        first = await stream.next_result()
        assert (first.timestamp_ms, first.received_ns, first.error) == (10, 1, None)
        assert first.frame is not None and first.candidates == 1
        assert first.image_wh == (64, 48)
        await settle()
        assert [r.timestamp_ms for r in service.requests] == [
            10
        ]  # not before task_done
        stream.task_done(True)
        second = await stream.next_result()
        assert second.timestamp_ms == 30
        stream.task_done(True)
        await stream.drain()
        assert (stream.stats.received, stream.stats.processed) == (3, 2)
        assert (stream.stats.dropped, stream.stats.rejected) == (1, 0)
        # Tracking: the request for 30 carried the ROIs of the reply to 10.
        assert service.requests[0].rois.shape == (0, 4)
        assert service.requests[1].rois.tolist() == [[10.0] * 4]

    run(body)


def test_non_monotonic_frames_are_rejected() -> None:
    async def body() -> None:
        stream = await RemoteInferenceWorker(FakeService()).open_stream()
        stream.submit(10, b"a", 1)
        with pytest.raises(ProtocolError) as info:
            stream.submit(10, b"b", 2)
        assert info.value.code == "non_monotonic"
        assert (stream.stats.received, stream.stats.rejected) == (2, 1)
        await stream.next_result()
        stream.task_done(True)

    run(body)


@pytest.mark.parametrize(
    ("failure", "code", "worker_ok"),
    [
        pytest.param(
            lambda r: ConnectionError("replica died"),
            "inference_failed",
            False,
            id="exception",
        ),
        pytest.param(lambda r: TimeoutError(), "inference_failed", False, id="timeout"),
    ],
)
def test_a_failed_call_is_an_error_for_that_frame_and_resets_tracking(
    failure: Callable[[PoseRequest], BaseException], code: str, worker_ok: bool
) -> None:
    service = FakeService()

    async def body() -> None:
        worker = RemoteInferenceWorker(service)
        worker.start()
        stream = await worker.open_stream()
        stream.submit(1, b"a", 1)
        assert (await stream.next_result()).error is None
        stream.task_done(True)
        service.fail = lambda r: failure(r) if r.timestamp_ms == 2 else None
        stream.submit(2, b"b", 2)
        failed = await stream.next_result()
        assert failed.frame is None and failed.error is not None
        assert failed.error.code == code and "frame 2" in failed.error.detail
        stream.task_done(False)
        stream.submit(3, b"c", 3)
        assert (await stream.next_result()).error is None
        stream.task_done(True)
        assert service.requests[2].rois.shape == (
            0,
            4,
        )  # tracking reset after the failure
        assert (stream.stats.processed, stream.stats.rejected) == (2, 1)
        worker.stop()

    run(body)


def test_an_error_reply_is_a_protocol_error() -> None:
    service = FakeService()

    async def infer(request: PoseRequest) -> PoseReply:
        return PoseReply(
            request.timestamp_ms, None, no_rois(), (0, 0), "bad_image", "nope"
        )

    service.infer = infer  # type: ignore[method-assign]

    async def body() -> None:
        stream = await RemoteInferenceWorker(service).open_stream()
        stream.submit(5, b"x", 1)
        result = await stream.next_result()
        assert result.error is not None
        assert (result.error.code, result.error.detail) == ("bad_image", "nope")

    run(body)


def test_readiness_follows_the_deployment() -> None:
    service = FakeService()
    service.ready_error = ConnectionError("no replica yet")

    async def body() -> None:
        worker = RemoteInferenceWorker(
            service, ready_timeout_s=0.1, probe_interval_s=0.05
        )
        await asyncio.to_thread(worker.load)
        assert not worker.warm  # load gave up, but did not raise
        worker.start()
        stream = await worker.open_stream()
        service.fail = lambda r: ConnectionError("down")
        for ts in range(1, UNREADY_AFTER_FAILURES + 1):
            stream.submit(ts, b"a", ts)
            await stream.next_result()
            stream.task_done(False)
        assert not worker.running
        service.ready_error = None  # the deployment is back: the probe notices
        service.fail = lambda r: None
        for _ in range(200):
            if worker.running and worker.warm:
                break
            await asyncio.sleep(0.01)
        assert worker.running and worker.warm
        worker.stop()
        assert not worker.running

    run(body)


def test_close_discards_the_frame_in_flight() -> None:
    service = FakeService()

    async def body() -> None:
        worker = RemoteInferenceWorker(service)
        stream = await worker.open_stream()
        service.gate = asyncio.Event()
        stream.submit(1, b"a", 1)
        await settle()
        stream.submit(2, b"b", 2)
        stream.close()
        stream.close()  # idempotent
        await stream.drain()
        service.gate.set()
        await settle()
        assert stream._results.empty()
        assert stream.stats.dropped == 1
        stream.submit(3, b"c", 3)  # after close: counted, never sent
        await settle()
        assert [r.timestamp_ms for r in service.requests] == [1]

    run(body)


def test_stop_from_the_lifespan_thread_closes_streams_on_their_loop() -> None:
    async def body() -> None:
        worker = RemoteInferenceWorker(FakeService())
        worker.start()
        stream = await worker.open_stream()
        stream.submit(1, b"a", 1)  # a frame still waiting to be used
        await asyncio.to_thread(worker.stop)  # as the app's lifespan calls it
        await settle()
        await asyncio.wait_for(stream.drain(), 1)  # closed: nothing to wait for
        assert not worker.running
        stream.submit(2, b"b", 2)
        assert stream.stats.received == 2 and stream.stats.processed == 0

    run(body)
