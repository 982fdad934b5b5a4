"""Shared reporting for the benchmark scripts: percentiles, a JSON line last, a
result file."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentiles_ms(samples_s: list[float] | np.ndarray) -> dict[str, float]:
    """p50/p95 of durations given in seconds, in milliseconds."""
    arr = np.asarray(samples_s, np.float64) * 1000.0
    if arr.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "n": 0}
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 4),
        "p95_ms": round(float(np.percentile(arr, 95)), 4),
        "n": int(arr.size),
    }


def emit(
    name: str, result: dict[str, Any], details: dict[str, Any] | None = None
) -> None:
    """Write benchmarks/results/<name>.json (the result and its `details`: tables per
    item) and print the result, without the details, as the last stdout line."""
    result = {
        "benchmark": name,
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "unix_time": int(time.time()),
        **result,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    full = {**result, **(details or {})}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(full, indent=2) + "\n")
    print(json.dumps(result), flush=True)
