"""benchmarks.compare_commits: which values of a benchmark's JSON line it compares."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from benchmarks.compare_commits import DEFAULT_KEYS, leaves


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"a": 1, "b": {"c": 2.5}}, {"a": 1.0, "b.c": 2.5}, id="nested"),
        pytest.param(
            {"configs": [{"p50_ms": 3}, {"p50_ms": 4}]},
            {"configs.0.p50_ms": 3.0, "configs.1.p50_ms": 4.0},
            id="lists-by-index",
        ),
        pytest.param(
            {"met": True, "name": "x", "none": None, "n": 0},
            {"n": 0.0},
            id="numbers-only-not-bools",
        ),
    ],
)
def test_leaves(value: Any, expected: dict[str, float]) -> None:
    assert leaves(value) == expected


@pytest.mark.parametrize(
    ("bench", "path", "compared"),
    [
        pytest.param("kernels", "per_frame_us.wrapper_kinematics", True, id="k-time"),
        pytest.param("kernels", "speedup_vs_numpy.kernel", False, id="k-speedup"),
        pytest.param("pose", "backends.onnx.ratio", True, id="p-ratio"),
        pytest.param("pose", "backends.onnx.detection_rate", False, id="p-rate"),
        pytest.param("e2e", "configs.1.overhead_ratio", True, id="e-overhead"),
        pytest.param("e2e", "configs.1.errors", False, id="e-errors"),
    ],
)
def test_default_keys(bench: str, path: str, compared: bool) -> None:
    assert any(fnmatch.fnmatchcase(path, p) for p in DEFAULT_KEYS[bench]) is compared
