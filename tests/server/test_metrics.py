"""Prometheus metrics: the text exposition parses and carries what the websocket loop
did (frames in, processed, dropped, rejected; inference latency; active sessions; reps
recorded), and the wrappers change nothing else."""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from exercises.events import PhaseChanged, RepCompleted
from server.metrics import MeteredRecorder, PrometheusMetrics
from server.operations import build_app
from server.recording import CloseReason, CountingRecorder, SessionEnd, SessionInfo
from server.schemas import encode_frame
from server.settings import Settings
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.test_ws import (
    TIMEOUT_S,
    close_session,
    open_session,
    send_frame,
    until,
)
from vision.types import PoseFrame


def scrape(client: TestClient) -> dict[str, float]:
    """Every sample of GET /metrics by name (labels ignored; one series each here)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert (
        response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    )
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@contextlib.contextmanager
def serving(backend: Any = None, **settings: Any) -> Iterator[TestClient]:
    settings.setdefault("stats_every", 1000)
    app = build_app(
        Settings(**settings),
        backend_factory=(lambda: backend) if backend is not None else ScriptedBackend,
        recorder=CountingRecorder(),
    )
    with TestClient(app) as client:
        yield client


def rep(count: int) -> RepCompleted:
    return RepCompleted(
        1000 * count,
        count=count,
        score=80.0,
        breakdown={},
        duration_ms=900,
        range_of_motion_deg={},
    )


def test_an_idle_server_exposes_every_series_at_zero() -> None:
    with serving() as client:
        samples = scrape(client)
    for name in (
        "movecoach_frames_received_total",
        "movecoach_frames_processed_total",
        "movecoach_frames_dropped_total",
        "movecoach_frames_rejected_total",
        "movecoach_inference_seconds_count",
        "movecoach_active_sessions",
        "movecoach_sessions_total",
        "movecoach_reps_recorded_total",
    ):
        assert samples[name] == 0, name


def test_counts_follow_a_session() -> None:
    with serving() as client, client.websocket_connect("/ws") as ws:
        open_session(ws)
        for ts in (10, 20, 30):
            send_frame(ws, ts)
        ws.send_bytes(encode_frame(30, jpeg_bytes()))  # not after 30: rejected
        assert until(ws, "error")["code"] == "non_monotonic"
        ws.send_bytes(b"MC\x01")  # short header: rejected by the loop itself
        assert until(ws, "error")["code"] == "bad_frame"
        during = scrape(client)
        summary = close_session(ws)
        after = scrape(client)
    stats = summary["stats"]
    assert (stats["received"], stats["processed"], stats["rejected"]) == (5, 3, 2)
    assert during["movecoach_active_sessions"] == 1
    assert during["movecoach_sessions_total"] == 1
    assert after["movecoach_active_sessions"] == 0
    assert after["movecoach_frames_received_total"] == stats["received"]
    assert after["movecoach_frames_processed_total"] == stats["processed"]
    assert after["movecoach_frames_rejected_total"] == stats["rejected"]
    assert after["movecoach_frames_dropped_total"] == stats["dropped"] == 0
    assert after["movecoach_inference_seconds_count"] == 3
    assert after["movecoach_inference_seconds_sum"] > 0


def test_dropped_frames_are_counted() -> None:
    gate = threading.Event()
    slow = ScriptedBackend()
    with serving(slow) as client, client.websocket_connect("/ws") as ws:
        open_session(ws)
        slow.gate = gate
        ws.send_bytes(encode_frame(1, jpeg_bytes()))
        assert slow.entered.wait(TIMEOUT_S)
        for ts in range(2, 7):
            ws.send_bytes(encode_frame(ts, jpeg_bytes()))
        ws.send_text("barrier")  # answered after every frame above was received
        assert until(ws, "error")["code"] == "bad_json"
        gate.set()
        summary = close_session(ws)
        samples = scrape(client)
    assert summary["stats"]["dropped"] == 4
    assert samples["movecoach_frames_dropped_total"] == 4
    assert samples["movecoach_frames_processed_total"] == 2


class FutureRecorder(CountingRecorder):
    """A recorder that answers reps with futures the test resolves."""

    def __init__(self) -> None:
        super().__init__()
        self.futures: list[concurrent.futures.Future[Any]] = []

    def on_event(self, session_id: str, event: Any) -> Any:
        super().on_event(session_id, event)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.futures.append(future)
        return future


def test_reps_count_once_committed() -> None:
    metrics = PrometheusMetrics()
    inner = FutureRecorder()
    recorder = MeteredRecorder(inner, metrics)

    def reps() -> float:
        return metrics.registry.get_sample_value("movecoach_reps_recorded_total") or 0.0

    done = recorder.on_event("s", rep(1))
    assert done is inner.futures[0] and reps() == 0  # not yet committed
    done.set_result(1)
    assert reps() == 1
    failed = recorder.on_event("s", rep(2))
    failed.set_exception(RuntimeError("database gone"))
    assert reps() == 1  # a rep that did not commit is not counted
    recorder.on_event("s", PhaseChanged(5, phase="up", previous="down")).set_result(
        None
    )
    assert reps() == 1  # other events are not reps
    assert inner.events["RepCompleted"] == 2


def test_reps_count_for_a_recorder_without_futures() -> None:
    metrics = PrometheusMetrics()
    recorder = MeteredRecorder(CountingRecorder(), metrics)
    assert recorder.on_event("s", rep(1)) is None
    assert metrics.registry.get_sample_value("movecoach_reps_recorded_total") == 1


class LandmarkRecorder(CountingRecorder):
    """A recorder that can resume and keeps landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[str, int]] = []
        self.resumed: list[str] = []

    @property
    def resumable(self) -> bool:
        return True

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        self.frames.append((session_id, frame.timestamp_ms))

    def on_resume(self, info: SessionInfo) -> None:
        self.resumed.append(info.session_id)


def test_the_recorder_wrapper_keeps_what_the_recorder_has_and_lacks() -> None:
    inner = CountingRecorder()
    recorder = MeteredRecorder(inner, PrometheusMetrics())
    assert recorder.inner is inner and inner.opened == 0
    assert not recorder.resumable and recorder.store is None  # as the recorder
    info = SessionInfo("s", "squat", "en", False, None, datetime.now(UTC))
    recorder.on_open(info)
    recorder.on_landmarks("s", PoseFrame.missing(5))  # the recorder keeps none
    recorder.on_close("s", SessionEnd(CloseReason.CLOSED, None, None))
    assert (inner.opened, inner.closed["CLOSED"], inner.active) == (1, 1, set())
    keeping = LandmarkRecorder()
    recorder = MeteredRecorder(keeping, PrometheusMetrics())
    assert recorder.resumable  # as the recorder
    recorder.on_resume(info)
    recorder.on_landmarks("s", PoseFrame.missing(5))
    assert (keeping.resumed, keeping.frames) == (["s"], [("s", 5)])


@pytest.mark.parametrize("kind", ["received", "processed", "dropped", "rejected"])
def test_frame_counters_ignore_non_positive_counts(kind: str) -> None:
    metrics = PrometheusMetrics()
    metrics.count_frames(kind, 0)
    metrics.count_frames(kind, 2)
    assert metrics.registry.get_sample_value(f"movecoach_frames_{kind}_total") == 2


class _HeldBack(PrometheusMetrics):
    frames_flush_s = 1.0


def test_held_back_frame_counts_reach_the_counters_once_due_and_at_session_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A metrics class with costly counters (Ray's) passes frame counts on at most
    every `frames_flush_s` and when a session ends; none is lost."""
    clock = [100.0]
    monkeypatch.setattr("server.metrics.time.monotonic", lambda: clock[0])
    metrics = _HeldBack()
    value = metrics.registry.get_sample_value
    metrics.session_started()
    for _ in range(3):
        metrics.count_frames("received", 1)
    metrics.count_frames("dropped", 2)
    assert value("movecoach_frames_received_total") == 0
    clock[0] += 1.0
    metrics.count_frames("received", 1)
    assert value("movecoach_frames_received_total") == 4
    assert value("movecoach_frames_dropped_total") == 2
    metrics.count_frames("processed", 5)
    assert value("movecoach_frames_processed_total") == 0
    metrics.session_ended()
    assert value("movecoach_frames_processed_total") == 5
    assert value("movecoach_frames_received_total") == 4


def test_batches_are_observed() -> None:
    metrics = PrometheusMetrics()
    metrics.observe_batch(3, 0.04)
    metrics.observe_batch(8, 0.1)
    value = metrics.registry.get_sample_value
    assert value("movecoach_inference_batch_size_count") == 2
    assert value("movecoach_inference_batch_size_sum") == 11
    assert value("movecoach_inference_batch_size_bucket", {"le": "4.0"}) == 1
    assert value("movecoach_inference_batch_seconds_sum") == pytest.approx(0.14)


def test_two_apps_in_one_process_keep_their_own_counts() -> None:
    with serving() as first, serving() as second:
        with first.websocket_connect("/ws") as ws:
            open_session(ws)
            send_frame(ws, 1)
            close_session(ws)
        assert scrape(first)["movecoach_frames_received_total"] == 1
        assert scrape(second)["movecoach_frames_received_total"] == 0
