"""vision/backends/blazepose/runtime.py: options, a missing onnxruntime."""

from __future__ import annotations

import sys
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import needs_onnx_models
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
