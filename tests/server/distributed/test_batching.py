"""`BatchedPoseModel`: frames of several kiosks in one ONNX Runtime call per stage, each
result equal to the one-frame backend's and routed back to its request."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.testing as npt
import pytest

from server.distributed.batching import BatchedPoseModel, PoseRequest, no_rois
from vision.backends.onnx import OnnxBackend, OnnxOptions

pytestmark = pytest.mark.model

EXACT = 1e-5
"""Batched and one-frame results agree this closely (normalized coordinates)."""


class CountingSession:
    """An ORT session that records the batch size of every `run`."""

    def __init__(self, inner: Any, calls: list[tuple[str, int]], name: str) -> None:
        self.inner, self.calls, self.name = inner, calls, name

    def get_inputs(self) -> Any:
        return self.inner.get_inputs()

    def run(self, names: Any, feed: dict[str, np.ndarray]) -> Any:
        self.calls.append((self.name, int(next(iter(feed.values())).shape[0])))
        return self.inner.run(names, feed)


@pytest.fixture(scope="module")
def model() -> BatchedPoseModel:
    built = BatchedPoseModel(OnnxOptions(intra_op_threads=1))
    yield built
    built.close()


@pytest.fixture
def calls(model: BatchedPoseModel) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    networks = model.networks
    detector, landmarker = networks.detector, networks.landmarker
    networks.detector = CountingSession(detector, seen, "detector")
    networks.landmarker = CountingSession(landmarker, seen, "landmarks")
    yield seen
    networks.detector, networks.landmarker = detector, landmarker


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def blank_jpeg() -> bytes:
    return cv2.imencode(".jpg", np.full((240, 320, 3), 30, np.uint8))[1].tobytes()


def test_a_batch_runs_each_network_once_and_answers_each_request(
    model: BatchedPoseModel, calls: list[tuple[str, int]], curl_jpegs: tuple[bytes, ...]
) -> None:
    picks = [0, 20, 40, 60]
    requests = [PoseRequest(curl_jpegs[i], 1000 + i) for i in picks]
    requests.insert(2, PoseRequest(blank_jpeg(), 5))  # nobody there
    requests.insert(1, PoseRequest(b"\xff\xd8 not a jpeg", 7))  # does not decode

    replies = model.infer_batch(requests)

    # One detector call for the five decodable frames (none tracked yet), one
    # landmark call for the four people it found.
    assert calls == [("detector", 5), ("landmarks", 4)]
    stages = model.timings_ms
    assert set(stages) == {"decode", "models", "other", "total"}
    assert 0 < stages["models"] < stages["total"]
    assert stages["decode"] + stages["models"] + stages["other"] == pytest.approx(
        stages["total"]
    )
    assert [r.timestamp_ms for r in replies] == [r.timestamp_ms for r in requests]
    assert {r.batch_size for r in replies} == {6}
    bad = replies[1]
    assert (bad.error_code, bad.poses, bad.rois.shape) == ("bad_image", None, (0, 4))
    nobody = replies[3]
    assert nobody.error_code is None and len(nobody.poses) == 0
    backend = OnnxBackend(OnnxOptions(intra_op_threads=1))
    try:
        for i, reply in zip(
            picks, [replies[0], replies[2], replies[4], replies[5]], strict=True
        ):
            backend.reset()
            alone = backend.detect(decode(curl_jpegs[i]), 1000 + i)
            assert reply.error_code is None and len(reply.poses) == len(alone) == 1
            npt.assert_allclose(reply.poses.xyz, alone.xyz, atol=EXACT)
            npt.assert_allclose(reply.poses.visibility, alone.visibility, atol=EXACT)
            assert reply.poses.timestamp_ms == 1000 + i
            assert reply.image_wh == (
                decode(curl_jpegs[i]).shape[1],
                decode(curl_jpegs[i]).shape[0],
            )
    finally:
        backend.close()


def test_tracked_requests_skip_the_detector_like_the_backend(
    model: BatchedPoseModel, calls: list[tuple[str, int]], curl_jpegs: tuple[bytes, ...]
) -> None:
    first = model.infer_batch([PoseRequest(curl_jpegs[0], 1)])[0]
    assert first.rois.shape == (1, 4)
    calls.clear()
    # Two kiosks: one tracking (its previous rois), one starting.
    tracked, fresh = model.infer_batch(
        [
            PoseRequest(curl_jpegs[1], 2, first.rois),
            PoseRequest(curl_jpegs[30], 3, no_rois()),
        ]
    )
    assert calls == [("detector", 1), ("landmarks", 2)]
    backend = OnnxBackend(OnnxOptions(intra_op_threads=1))
    try:
        backend.detect(decode(curl_jpegs[0]), 1)
        runs = backend.detector_runs
        expected = backend.detect(decode(curl_jpegs[1]), 2)
        assert backend.detector_runs == runs  # the backend tracked too
        npt.assert_allclose(tracked.poses.xyz, expected.xyz, atol=EXACT)
    finally:
        backend.close()
    assert len(fresh.poses) == 1 and fresh.rois.shape == (1, 4)


def test_a_failing_network_fails_its_batch_only(
    model: BatchedPoseModel, curl_jpegs: tuple[bytes, ...]
) -> None:
    class Broken:
        def get_inputs(self) -> Any:
            raise RuntimeError("device lost")

        def run(self, names: Any, feed: Any) -> Any:
            raise RuntimeError("device lost")

    landmarker = model.networks.landmarker
    model.networks.landmarker = Broken()
    try:
        replies = model.infer_batch(
            [PoseRequest(curl_jpegs[0], 1), PoseRequest(curl_jpegs[1], 2)]
        )
    finally:
        model.networks.landmarker = landmarker
    assert [r.error_code for r in replies] == ["inference_failed"] * 2
    assert all("device lost" in (r.error_detail or "") for r in replies)
    ok = model.infer_batch([PoseRequest(curl_jpegs[0], 3)])[0]
    assert ok.error_code is None and len(ok.poses) == 1


def test_an_empty_batch_is_empty(model: BatchedPoseModel) -> None:
    assert model.infer_batch([]) == []
