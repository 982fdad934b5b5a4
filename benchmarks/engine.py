"""The engine's CPU per frame: `Session.feed` on a real clip's poses at 15 fps, as the
server's event loop runs it (issue 21: the single process is GIL-bound, and the engine
is the largest holder of the GIL on the event loop).

    python -m benchmarks.engine [--video PATH] [--exercise bicep_curl] [--fps 15]
                                [--seconds 90] [--session-s 6] [--repeats 3]

1. The clip (default ../shared/data/video/bicep_curl_side.mp4, as benchmarks.scale) is
   run through the ONNX backend once, looped to --seconds at --fps (the poses a kiosk's
   frames give; the model is not timed).
2. The poses are fed to `Session`s of --session-s (benchmarks.scale's kiosks stay that
   long) and to one session over all of them (a long set: the rep counter's window
   fills), --repeats times each; the repeat with the lowest mean counts.

Reported per frame, in process CPU time (`time.process_time_ns`, so a shared machine
adds little): mean, p50, p95 and max of `feed` (the rep counter's refits are the
tail), and the wire's `pose` message of the frame (`server.ws.pose_message`, then
`model_dump_json`), each beside the peer measured in the same run: the ONNX backend's
own CPU per frame (`detect`, tracked frames) on the same clip, as the ratio `feed +
message` / model. Prints the load average beside the figures; the JSON line LAST;
writes benchmarks/results/engine.json.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks._report import emit
from benchmarks.e2e import encode_video

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO: Final[Path] = (
    ROOT.parent / "shared" / "data" / "video" / "bicep_curl_side.mp4"
)


def clip_results(
    video: Path, fps: float, seconds: float
) -> tuple[list[Any], np.ndarray]:
    """`InferenceResult`s of the clip looped to `seconds` at `fps` (ONNX backend), and
    the CPU ms of each frame's `detect` (the peer: the model the engine sits beside)."""
    from server.inference import InferenceResult, decode_jpeg, select_subject
    from vision.backends import create_backend
    from vision.types import aspect_from_wh

    jpegs = encode_video(video, 640, 300)
    backend = create_backend("onnx")
    out, detect_ms = [], []
    for i in range(round(seconds * fps)):
        ts = round(i * 1000 / fps)
        image = decode_jpeg(jpegs[i % len(jpegs)])
        wh = (int(image.shape[1]), int(image.shape[0]))
        t0 = time.process_time_ns()
        detected = backend.detect(image, ts)
        detect_ms.append((time.process_time_ns() - t0) / 1e6)
        poses = replace(detected, aspect_wh=aspect_from_wh(wh))
        frame = select_subject(poses)
        out.append(InferenceResult(ts, 0, frame, len(poses), wh, 0.0, None, poses))
    backend.close()
    return out, np.array(detect_ms)


def feed_cpu_ms(
    results: list[Any], exercise: str, session_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """CPU ms per frame of `feed` and of its `pose` message, new sessions every
    `session_frames` frames."""
    from exercises.session import Session
    from exercises.spec import get_spec
    from server.ws import pose_message

    spec = get_spec(exercise)
    feed, message = [], []
    session = Session(spec)
    for i, result in enumerate(results):
        if i and i % session_frames == 0:
            session = Session(spec)
        t0 = time.process_time_ns()
        session.feed(result.frame)
        t1 = time.process_time_ns()
        pose_message(result, 1.0, 2.0).model_dump_json()
        t2 = time.process_time_ns()
        feed.append((t1 - t0) / 1e6)
        message.append((t2 - t1) / 1e6)
    return np.array(feed), np.array(message)


def figures(ms: np.ndarray) -> dict[str, float]:
    return {
        "mean_ms": round(float(ms.mean()), 4),
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p95_ms": round(float(np.percentile(ms, 95)), 4),
        "max_ms": round(float(ms.max()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--exercise", default="bicep_curl")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--session-s", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.video.is_file():
        print(f"skipped: video not found: {args.video}")
        return 0
    results, detect_ms = clip_results(args.video, args.fps, args.seconds)
    # The peer, same run: the pose model's own CPU per frame (tracked frames: the
    # first, which runs the detector too, left out).
    model = figures(detect_ms[1:])
    print(f"peer: ONNX backend detect {model} (CPU per frame)")
    runs: dict[str, Any] = {}
    for label, session_s in (("sessions", args.session_s), ("one_session", None)):
        frames = len(results) if session_s is None else round(session_s * args.fps)
        feed_cpu_ms(results, args.exercise, frames)  # JIT and caches warm
        best = min(
            (feed_cpu_ms(results, args.exercise, frames) for _ in range(args.repeats)),
            key=lambda r: float(r[0].mean()),
        )
        runs[label] = {"feed": figures(best[0]), "pose_message": figures(best[1])}
        engine_ms = float(best[0].mean() + best[1].mean())
        runs[label]["feed_and_message_vs_model"] = round(
            engine_ms / model["mean_ms"], 4
        )
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"{label}: feed {runs[label]['feed']} | pose message "
            f"{runs[label]['pose_message']['mean_ms']} ms mean | feed + message = "
            f"{runs[label]['feed_and_message_vs_model']:.3f} x the model's CPU per "
            f"frame (load {load})"
        )
    emit(
        "engine",
        {
            "video": str(args.video),
            "exercise": args.exercise,
            "fps": args.fps,
            "frames": len(results),
            "session_s": args.session_s,
            "cpu_ms_per_frame": runs,
            "peer_model_cpu_ms_per_frame": model,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
