"""The chair-stand counter on the RepCount squats (the nearest stand-in for chair
stands), against the template-free counter measured in the same run.

`python -m benchmarks.assessments [--data ../shared/data/repcount-dev]`

Per squat sequence: the annotated count, the chair-stand counter's count
(`exercises.assessments.count_chair_stands`, no seat calibration, hand-assisted stands
allowed: squatters are not asked to cross their arms), the template-free counter's
count (`exercises.counting.count_repetitions`), and the number of annotated repetitions
whose hips go more than halfway down ("chair-depth": the chair-stand rules do not count
shallower squats as a sit). Metrics, each against the annotation and against the
chair-depth repetitions:

- MAE: mean |count - truth|;
- normalised MAE: mean |count - truth| / truth (RepCount's "MAE"; sequences with truth
  0 are left out of it);
- OBO: share of sequences with |count - truth| <= 1;
- n: sequences.

Also the counter's cost per frame (measure + update, p50/p95 in microseconds). The JSON
line printed last is also written to benchmarks/results/assessments.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._report import emit
from benchmarks.repcount_data import load_annotations, load_window
from exercises.assessments.chair_stand import (
    HALFWAY_FRACTION,
    NOMINAL_SEAT_RATIO,
    STANDING_LEG_RATIO,
    ChairStandCounter,
    count_chair_stands,
    measure_chair_stand,
)
from exercises.counting import count_repetitions
from exercises.metrics import Body
from vision.types import PoseWindow

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "repcount-dev"
HALFWAY_DOWN = STANDING_LEG_RATIO - HALFWAY_FRACTION * (
    STANDING_LEG_RATIO - NOMINAL_SEAT_RATIO
)


def _ratios(window: PoseWindow) -> np.ndarray:
    out = np.full(len(window), np.nan)
    for t in range(len(window)):
        m = measure_chair_stand(Body(window[t]))
        if m is not None:
            out[t] = m.leg_ratio
    return out


def _deep_reps(ratios: np.ndarray, bounds: tuple[tuple[int, int], ...]) -> int:
    deep = 0
    for start, end in bounds:
        span = ratios[start : end + 1]
        if np.isfinite(span).any() and np.nanmin(span) <= HALFWAY_DOWN:
            deep += 1
    return deep


def _metrics(counts: list[int], truths: list[int]) -> dict[str, Any]:
    err = np.abs(np.asarray(counts) - np.asarray(truths)).astype(np.float64)
    truth = np.asarray(truths, np.float64)
    positive = truth > 0
    return {
        "mae": round(float(err.mean()), 3) if err.size else None,
        "mae_normalised": (
            round(float((err[positive] / truth[positive]).mean()), 3)
            if positive.any()
            else None
        ),
        "obo": round(float((err <= 1).mean()), 3) if err.size else None,
        "n": int(err.size),
    }


def _per_frame_cost_us(window: PoseWindow) -> list[float]:
    counter = ChairStandCounter()
    samples = []
    for t in range(len(window)):
        frame = window[t]
        t0 = time.perf_counter()
        counter.update(measure_chair_stand(Body(frame)), int(frame.timestamp_ms))
        samples.append((time.perf_counter() - t0) * 1e6)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not (args.data / "annotation.csv").exists():
        emit("assessments", {"skipped": f"no data at {args.data}"})
        return 0
    seqs = [s for s in load_annotations(args.data) if s.action == "squat"]
    rows = []
    cost: list[float] = []
    for seq in seqs:
        window = load_window(seq.path)
        chair = count_chair_stands(window, reject_hand_assisted=False)
        peer = count_repetitions(window).count
        deep = _deep_reps(_ratios(window), seq.rep_bounds)
        cost += _per_frame_cost_us(window)
        rows.append(
            {
                "name": seq.name,
                "frames": len(window),
                "annotated": seq.count,
                "chair_depth_reps": deep,
                "chair_stand": chair.count,
                "chair_stand_hand_assisted": chair.hand_assisted,
                "chair_stand_incomplete": chair.incomplete,
                "template_free": peer,
            }
        )
        print(
            f"{seq.name:14s} annotated {seq.count:3d}  chair-depth {deep:3d}  "
            f"chair-stand {chair.count:3d}  template-free {peer:3d}",
            flush=True,
        )
    truth = [r["annotated"] for r in rows]
    deep = [r["chair_depth_reps"] for r in rows]
    chair_counts = [r["chair_stand"] for r in rows]
    peer_counts = [r["template_free"] for r in rows]
    arr = np.asarray(cost)
    result = {
        "data": str(args.data),
        "action": "squat",
        "vs_annotation": {
            "chair_stand": _metrics(chair_counts, truth),
            "template_free": _metrics(peer_counts, truth),
        },
        "vs_chair_depth_reps": {
            "chair_stand": _metrics(chair_counts, deep),
            "template_free": _metrics(peer_counts, deep),
        },
        "chair_stand_cost_us_per_frame": {
            "p50": round(float(np.percentile(arr, 50)), 2) if arr.size else None,
            "p95": round(float(np.percentile(arr, 95)), 2) if arr.size else None,
            "n": int(arr.size),
        },
        "per_sequence": rows,
    }
    emit("assessments", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
