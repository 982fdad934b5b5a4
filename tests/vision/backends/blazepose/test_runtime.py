"""vision/backends/blazepose/runtime.py: options, a missing onnxruntime, sessions
shared between backends."""

from __future__ import annotations

import gc
import sys
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import needs_onnx_models, shared_video_frames
from vision.backends import blazepose as ob
from vision.backends.base import BackendError


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        pytest.param({}, does_not_raise(), id="defaults"),
        pytest.param(
            {"provider": "cuda", "num_poses": 4, "intra_op_threads": 2},
            does_not_raise(),
            id="cuda-multi",
        ),
        pytest.param(
            {"provider": "tpu"},
            pytest.raises(
                ValueError, match=r"provider must be one of \['cpu', 'cuda'\]"
            ),
            id="bad-provider",
        ),
        pytest.param(
            {"num_poses": 0},
            pytest.raises(ValueError, match="num_poses must be an int >= 1, got 0"),
            id="no-poses",
        ),
        pytest.param(
            {"num_poses": True},
            pytest.raises(ValueError, match="num_poses must be an int"),
            id="bool-poses",
        ),
        pytest.param(
            {"min_detection_confidence": 1.5},
            pytest.raises(ValueError, match=r"min_detection_confidence .*\[0, 1\]"),
            id="threshold-high",
        ),
        pytest.param(
            {"min_presence_confidence": -0.1},
            pytest.raises(ValueError, match=r"min_presence_confidence .*\[0, 1\]"),
            id="threshold-low",
        ),
        pytest.param(
            {"intra_op_threads": -1},
            pytest.raises(ValueError, match="intra_op_threads must be an int >= 0"),
            id="threads",
        ),
        pytest.param(
            {"tracking": "yes"},
            pytest.raises(ValueError, match="tracking must be a bool"),
            id="tracking",
        ),
        pytest.param(
            {"allow_spinning": 1},
            pytest.raises(ValueError, match="allow_spinning must be a bool, got 1"),
            id="spinning",
        ),
    ],
)
def test_options(kwargs: dict[str, Any], expectation: Any) -> None:
    with expectation:
        ob.OnnxOptions(**kwargs)


def test_missing_onnxruntime_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendError, match=r"needs onnxruntime .*pip install"):
        ob.OnnxBackend()


def test_module_does_not_import_onnxruntime_at_import() -> None:
    import subprocess

    code = (
        "import sys, vision.backends.onnx, vision.backends.blazepose as m; "
        "m.generate_anchors(); "
        "print('onnxruntime' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[4],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False", out.stdout + out.stderr


@pytest.mark.model
@needs_onnx_models
@pytest.mark.parametrize(
    ("kwargs", "threads", "spinning"),
    [
        pytest.param({}, 1, "0", id="defaults-one-thread-no-spinning"),
        pytest.param(
            {"intra_op_threads": 2, "allow_spinning": True}, 2, "1", id="spinning-on"
        ),
    ],
)
def test_sessions_use_the_chosen_threading(
    kwargs: dict[str, Any], threads: int, spinning: str
) -> None:
    networks = ob.PoseNetworks(ob.OnnxOptions(**kwargs))
    try:
        for session in (networks.detector, networks.landmarker):
            chosen = session.get_session_options()
            assert chosen.intra_op_num_threads == threads
            for pool in ("intra_op", "inter_op"):
                key = f"session.{pool}.allow_spinning"
                assert chosen.get_session_config_entry(key) == spinning
    finally:
        networks.close()
    with pytest.raises(BackendError, match="closed"):
        networks.run_landmarks(np.zeros((1, 3, 256, 256), np.float32))


@pytest.mark.model
@needs_onnx_models
def test_backends_share_one_session_pair_per_options_until_the_last_closes() -> None:
    # Three intra-op threads: options no other test's backends hold, so the pair is
    # this test's alone and its release can be seen.
    options = ob.OnnxOptions(intra_op_threads=3)
    first, second = ob.OnnxBackend(options), ob.OnnxBackend(options)
    other = ob.OnnxBackend(ob.OnnxOptions(intra_op_threads=3, allow_spinning=True))
    try:
        assert first.networks.landmarker is second.networks.landmarker
        assert first.networks.detector is second.networks.detector
        assert other.networks.landmarker is not first.networks.landmarker
        pair = weakref.ref(ob.shared_sessions(options))
        image = np.full((240, 320, 3), 127, np.uint8)
        first.close()
        assert len(second.detect(image, 1)) == 0  # the other backend still runs
        with pytest.raises(BackendError, match="closed"):
            first.detect(image, 2)
        assert pair() is not None
    finally:
        first.close()
        second.close()
        other.close()
    gc.collect()
    assert pair() is None  # the last holder closed: the sessions are freed


@pytest.mark.model
@needs_onnx_models
def test_backends_on_shared_sessions_in_two_threads_track_as_one_alone() -> None:
    """Each backend keeps its own input buffers and tracking: two kiosks' backends
    running the same clip at once on the shared sessions give what one gives
    alone, to the bit."""
    frames = shared_video_frames("video", "bicep_curl_side.mp4")[0][:24]

    def track(backend: ob.OnnxBackend) -> list[np.ndarray]:
        try:
            return [backend.detect(f, 1 + 33 * i).xyz for i, f in enumerate(frames)]
        finally:
            backend.close()

    alone = track(ob.OnnxBackend())
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(track, [ob.OnnxBackend(), ob.OnnxBackend()]))
    assert sum(len(xyz) for xyz in alone) == len(frames)  # one person every frame
    for run in together:
        assert all(np.array_equal(a, b) for a, b in zip(alone, run, strict=True))
