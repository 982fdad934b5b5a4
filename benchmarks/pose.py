"""Pose pipeline benchmark: decode -> pose backend -> kinematics, per stage and backend.

    python -m benchmarks.pose [--video PATH] [--passes 3] [--backends mediapipe,onnx]
                              [--kiosks 1,4 [--kiosk-seconds 5]]

Each pass reads the whole clip with a fresh backend (so VIDEO-mode tracking starts the
same way) and times, per frame: `decode` (the frame source), `inference`
(`backend.detect`), `kinematics` (`Kinematics.update_with_angles`), `pipeline` (all
three, one frame end to end) and `raw_model`, the time spent inside the model runtime
call(s) during that same `detect` (MediaPipe's `detect_for_video`; onnxruntime's
`session.run` through `PoseNetworks.run_detector/run_landmarks`). `ratio` = pipeline
time / raw model time over a pass (median of the passes); the target is <= 1.10, i.e.
everything we add around the model costs at most 10 %. Passes for the backends are
interleaved so that load from other processes hits them alike.

Each stage is also measured in process CPU time (`time.process_time`: every thread of
the process, so ONNX Runtime's or MediaPipe's worker threads count, spinning
included): `cpu_ms_per_frame` per stage, `backend_other` = inference - raw_model (the
backend's pre/post-processing and tracking), and `cpu_ratio` = pipeline / raw model in
CPU time, which other processes on a shared machine disturb far less than wall time.

`--kiosks 1,4` adds a paced run per backend: K backends (one per kiosk, as the server
keeps them), frames at `KIOSK_FPS` each, one after the other in one thread like the
server's inference worker, idle between frames: process CPU ms per frame and the frame
rate reached (K x 15 when the machine keeps up). Idle gaps are where spinning runtime
threads burn CPU that the back-to-back passes above hide.

Prints a human summary, then the JSON line LAST; writes benchmarks/results/pose.json.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks._report import emit, percentiles_ms
from vision.backends import BACKENDS, BackendError, create_backend
from vision.geometry import Kinematics, angle_triples, warm_up
from vision.sources import SourceError, open_source
from vision.types import PoseFrame, Skeleton

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO: Final[Path] = (
    ROOT.parent / "shared" / "data" / "video" / "bicep_curl_side.mp4"
)
RATIO_TARGET: Final[float] = 1.10
KIOSK_FPS: Final[float] = 15.0
STAGES: Final[tuple[str, ...]] = (
    "decode",
    "inference",
    "kinematics",
    "pipeline",
    "raw_model",
)
ANGLES: Final[tuple[tuple[str, str, str], ...]] = (
    ("left_shoulder", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow", "right_wrist"),
    ("left_elbow", "left_shoulder", "left_hip"),
    ("right_elbow", "right_shoulder", "right_hip"),
    ("left_shoulder", "left_hip", "left_knee"),
    ("right_shoulder", "right_hip", "right_knee"),
    ("left_hip", "left_knee", "left_ankle"),
    ("right_hip", "right_knee", "right_ankle"),
)


class _ModelClock:
    """Accumulates the time spent in a backend's model runtime call(s).

    Wraps the one call each backend funnels its inference through; `undo()` restores it.
    """

    def __init__(self, backend: Any) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.calls = 0
        self._undo: Callable[[], None] = lambda: None
        landmarker: Any = getattr(backend, "_landmarker", None)
        networks: Any = getattr(backend, "networks", None)
        runs = ("run_detector", "run_landmarks")
        if backend.name == "mediapipe" and hasattr(landmarker, "detect_for_video"):
            original = landmarker.detect_for_video
            landmarker.detect_for_video = self._timed(original)
            self.what = "mediapipe PoseLandmarker.detect_for_video"
            self._undo = lambda: delattr(landmarker, "detect_for_video")
        elif all(callable(getattr(networks, run, None)) for run in runs):
            for run in runs:
                setattr(networks, run, self._timed(getattr(networks, run)))
            self.what = "PoseNetworks.run_detector/run_landmarks (onnxruntime run)"

            def undo() -> None:
                for run in runs:
                    delattr(networks, run)

            self._undo = undo
        else:  # unknown backend: the model is all of detect
            self.what = f"{type(backend).__name__}.detect (no finer hook)"

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.cpu_seconds += time.process_time() - c0
                self.calls += 1

        return timed

    @property
    def hooked(self) -> bool:
        return not self.what.endswith("(no finer hook)")

    def undo(self) -> None:
        self._undo()


def _one_pass(
    name: str, video: Path, max_frames: int | None, options: dict[str, Any]
) -> dict[str, Any]:
    triples = angle_triples(Skeleton.BLAZEPOSE_33, ANGLES)
    kinematics = Kinematics(Skeleton.BLAZEPOSE_33, triples)
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    detected = 0
    t_create = time.perf_counter()
    backend = create_backend(name, **options)
    create_s = time.perf_counter() - t_create
    clock = _ModelClock(backend)
    try:
        with open_source(video) as source:
            frames = iter(source)
            while max_frames is None or len(samples["pipeline"]) < max_frames:
                clock.seconds = clock.cpu_seconds = 0.0
                c0, t0 = time.process_time(), time.perf_counter()
                captured = next(frames, None)
                t1, c1 = time.perf_counter(), time.process_time()
                if captured is None:
                    break
                poses = backend.detect(captured.image_bgr, captured.timestamp_ms)
                c2, t2 = time.process_time(), time.perf_counter()
                frame = (
                    poses[int(np.argmax(poses.scores))]
                    if len(poses)
                    else PoseFrame.missing(captured.timestamp_ms)
                )
                kinematics.update_with_angles(frame)
                t3, c3 = time.perf_counter(), time.process_time()
                cpu["decode"] += c1 - c0
                cpu["inference"] += c2 - c1
                cpu["kinematics"] += c3 - c2
                cpu["pipeline"] += c3 - c0
                cpu["raw_model"] += clock.cpu_seconds if clock.hooked else c2 - c1
                detected += bool(len(poses))
                samples["decode"].append(t1 - t0)
                samples["inference"].append(t2 - t1)
                samples["kinematics"].append(t3 - t2)
                samples["pipeline"].append(t3 - t0)
                samples["raw_model"].append(clock.seconds if clock.hooked else t2 - t1)
    finally:
        clock.undo()
        backend.close()
    return {
        "samples": samples,
        "cpu_s": cpu,
        "detected": detected,
        "create_s": create_s,
        "raw_stage": clock.what,
    }


def _paced(
    name: str, video: Path, kiosks: int, seconds: float, options: dict[str, Any]
) -> dict[str, Any]:
    """K kiosks at `KIOSK_FPS` each through K backends in one thread (see above)."""
    with open_source(video) as source:
        images = [captured.image_bgr for captured in source]
    backends = [create_backend(name, **options) for _ in range(kiosks)]
    try:
        for b in backends:
            b.detect(images[0], 1)  # models built, first detection made
        period_s = 1.0 / (KIOSK_FPS * kiosks)
        n = late = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            wait_s = t0 + n * period_s - time.perf_counter()
            if wait_s > 0:
                time.sleep(wait_s)
            else:
                late += 1
            backend = backends[n % kiosks]
            backend.detect(images[(n // kiosks) % len(images)], 2 + n)
            n += 1
        cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - t0
    finally:
        for b in backends:
            b.close()
    return {
        "kiosks": kiosks,
        "frames": n,
        "fps": round(n / wall_s, 2),
        "target_fps": KIOSK_FPS * kiosks,
        "late_frames": late,
        "cpu_ms_per_frame": round(1000 * cpu_s / n, 3),
    }


def _summary(name: str, passes: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {s: [x for p in passes for x in p["samples"][s]] for s in STAGES}
    frames = len(passes[0]["samples"]["pipeline"])
    ratios = [
        sum(p["samples"]["pipeline"]) / sum(p["samples"]["raw_model"]) for p in passes
    ]
    pipeline_ms = [1000 * statistics.fmean(p["samples"]["pipeline"]) for p in passes]
    raw_ms = [1000 * statistics.fmean(p["samples"]["raw_model"]) for p in passes]
    ratio = statistics.median(ratios)

    def cpu_ms(p: dict[str, Any], stage: str) -> float:
        if stage == "backend_other":
            return cpu_ms(p, "inference") - cpu_ms(p, "raw_model")
        return 1000 * float(p["cpu_s"][stage]) / len(p["samples"]["pipeline"])

    cpu_stages = (*STAGES, "backend_other")
    cpu_ms_per_frame = {
        s: round(statistics.median(cpu_ms(p, s) for p in passes), 3) for s in cpu_stages
    }
    cpu_ratio = statistics.median(
        cpu_ms(p, "pipeline") / cpu_ms(p, "raw_model") for p in passes
    )
    return {
        "backend": name,
        "frames_per_pass": frames,
        "detected_per_pass": [p["detected"] for p in passes],
        "detection_rate": round(passes[0]["detected"] / frames, 4),
        "stages": {s: percentiles_ms(merged[s]) for s in STAGES},
        "pipeline_ms_per_frame": round(statistics.median(pipeline_ms), 3),
        "raw_model_ms_per_frame": round(statistics.median(raw_ms), 3),
        "pipeline_fps": round(1000 / statistics.median(pipeline_ms), 2),
        "ratio": round(ratio, 4),
        "ratio_per_pass": [round(r, 4) for r in ratios],
        "ratio_target": RATIO_TARGET,
        "meets_target": ratio <= RATIO_TARGET,
        "cpu_ms_per_frame": cpu_ms_per_frame,
        "cpu_ratio": round(cpu_ratio, 4),
        "raw_stage": passes[0]["raw_stage"],
        "create_ms": round(1000 * statistics.median(p["create_s"] for p in passes), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pose", description=__doc__
    )
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, from {', '.join(BACKENDS)}",
    )
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument(
        "--onnx-provider",
        choices=("cpu", "cuda"),
        default="cpu",
        help="ONNX Runtime execution provider (default cpu)",
    )
    parser.add_argument(
        "--kiosks",
        default="",
        help="comma-separated kiosk counts for the paced run (default: none)",
    )
    parser.add_argument("--kiosk-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        kiosk_counts = [int(k) for k in args.kiosks.split(",") if k.strip()]
    except ValueError:
        kiosk_counts = [0]
    if any(k < 1 for k in kiosk_counts):
        parser.error(f"--kiosks: expected counts >= 1, got {args.kiosks!r}")
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        parser.error(
            f"--backends: expected names from {BACKENDS}, got {args.backends!r}"
        )
    if args.passes < 1:
        parser.error(f"--passes: expected >= 1, got {args.passes}")
    if not args.video.is_file():
        print(
            f"benchmarks.pose: error: expected the benchmark video at {args.video}, "
            "got no file (pass --video PATH)",
            file=sys.stderr,
        )
        return 2

    warm_up()  # JIT (or cache load) is paid here, not in the first frame
    runs: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    for _ in range(args.passes):
        for name in names:
            if name in unavailable:
                continue
            try:
                options = {"provider": args.onnx_provider} if name == "onnx" else {}
                runs.setdefault(name, []).append(
                    _one_pass(name, args.video, args.max_frames, options)
                )
            except (BackendError, ImportError) as exc:
                unavailable[name] = str(exc)
                runs.pop(name, None)
            except SourceError as exc:
                print(f"benchmarks.pose: error: {exc}", file=sys.stderr)
                return 2

    backends = {name: _summary(name, passes) for name, passes in runs.items()}
    for name in backends:
        options = {"provider": args.onnx_provider} if name == "onnx" else {}
        backends[name]["paced"] = [
            _paced(name, args.video, k, args.kiosk_seconds, options)
            for k in kiosk_counts
        ]
    for name, reason in unavailable.items():
        backends[name] = {"backend": name, "unavailable": reason}
    for name, r in backends.items():
        if "unavailable" in r:
            print(f"{name}: unavailable ({r['unavailable']})")
            continue
        st = r["stages"]
        print(
            f"{name}: {r['frames_per_pass']} frames x {args.passes}, pose in "
            f"{100 * r['detection_rate']:.1f}%; p50 ms decode "
            f"{st['decode']['p50_ms']:.2f}, inference {st['inference']['p50_ms']:.2f}, "
            f"kinematics {st['kinematics']['p50_ms']:.4f}; pipeline "
            f"{r['pipeline_ms_per_frame']:.2f} ms/frame vs raw model "
            f"{r['raw_model_ms_per_frame']:.2f} -> ratio {r['ratio']:.3f} "
            f"(target <= {RATIO_TARGET})"
        )
        c = r["cpu_ms_per_frame"]
        print(
            f"{name}: process CPU ms/frame: pipeline {c['pipeline']:.2f} = decode "
            f"{c['decode']:.2f} + model {c['raw_model']:.2f} + backend pre/post "
            f"{c['backend_other']:.2f} + kinematics {c['kinematics']:.3f} -> CPU ratio "
            f"{r['cpu_ratio']:.3f}"
        )
        for p in r["paced"]:
            print(
                f"{name}: {p['kiosks']} kiosk(s) paced at {KIOSK_FPS:g} fps: "
                f"{p['fps']:.1f} of {p['target_fps']:g} frames/s, "
                f"{p['cpu_ms_per_frame']:.2f} CPU ms/frame"
            )
    emit(
        "pose",
        {
            "video": str(args.video),
            "passes": args.passes,
            "onnx_provider": args.onnx_provider,
            "ratio_target": RATIO_TARGET,
            "backends": backends,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
