"""`movecoach pose SOURCE`: run a pose backend over a camera, video, image or folder.

Prints a summary (with `--json`, the last stdout line is one JSON object: frames,
detected, detection_rate, fps, backend, per-stage p50/p95 ms), and optionally writes the
landmarks (`--out x.npz`, see `vision.landmarks_io`) and an annotated video
(`--annotate out.mp4`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from server.cli import CommandError
from server.commands import (
    _frames,
    add_backend_option,
    add_max_frames_option,
    check_max_frames,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pose",
        help="find body landmarks in a camera, video, image or image folder",
        description=(
            "Run a pose backend over SOURCE: a camera index (0), a video file, an "
            "image file or a folder of images (read in name order)."
        ),
    )
    parser.add_argument("source", help="camera index, video, image or image folder")
    add_backend_option(parser, "pose backend")
    parser.add_argument(
        "--out", type=Path, metavar="LANDMARKS.npz", help="write the landmarks here"
    )
    parser.add_argument(
        "--annotate",
        type=Path,
        metavar="OUT.mp4",
        help="write a video with the skeleton drawn (.mp4, .avi, .mkv, .mov)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary as the last line"
    )
    add_max_frames_option(parser, "stop after N frames")
    parser.add_argument(
        "--interval-ms",
        type=int,
        default=33,
        metavar="MS",
        help="time between images of a folder (default 33)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on for files when stderr is a terminal)",
    )
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """FFmpeg and OpenCV print their own complaints for unreadable files; our
    SourceError already says what went wrong, in one line."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when FFmpeg loads
    import cv2

    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def _stage(samples_s: list[float]) -> dict[str, float | None]:
    if not samples_s:
        return {"p50": None, "p95": None}
    ms = np.asarray(samples_s, np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
    }


def _check_out_path(path: Path | None, what: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise CommandError(
            f"{what}: expected an existing folder for {path.name}, got no folder "
            f"{path.parent}"
        )


def run(args: argparse.Namespace) -> int:
    """Run the command; returns 0 on success (raises CommandError for user errors)."""
    check_max_frames(args)
    if args.interval_ms < 1:
        raise CommandError(f"--interval-ms: expected MS >= 1, got {args.interval_ms}")
    _check_out_path(args.out, "--out")
    _check_out_path(args.annotate, "--annotate")
    if args.out is not None and args.out.suffix != ".npz":
        raise CommandError(f"--out: expected a .npz path, got {str(args.out)!r}")
    with _quiet_native_logs():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from vision.annotate import AnnotatedVideoWriter, AnnotateError, draw_poses
    from vision.landmarks_io import save_landmarks
    from vision.sources import SourceError
    from vision.types import PoseFrame, PoseWindow

    source = _frames.open_frames(args.source, interval_ms=args.interval_ms)
    with source:
        backend = _frames.open_backend(args.backend)
        try:
            writer = (
                AnnotatedVideoWriter(args.annotate, source.fps or 30.0)
                if args.annotate is not None
                else None
            )
        except AnnotateError as exc:
            backend.close()
            raise CommandError(f"--annotate: {exc}") from None

        total = _frames.frame_total(source.frame_count, args.max_frames)
        show_progress = (
            args.progress
            if args.progress is not None
            else (not source.is_live and sys.stderr.isatty())
        )
        from tqdm import tqdm

        bar = tqdm(
            total=total,
            unit="frame",
            desc="pose",
            file=sys.stderr,
            disable=not show_progress,
            leave=False,
        )
        decode_s: list[float] = []
        inference_s: list[float] = []
        frames: list[PoseFrame] = []
        detected: list[bool] = []
        interrupted = False
        started = time.perf_counter()
        try:
            iterator = iter(source)
            while args.max_frames is None or len(frames) < args.max_frames:
                t0 = time.perf_counter()
                captured = next(iterator, None)
                t1 = time.perf_counter()
                if captured is None:
                    break
                poses = backend.detect(captured.image_bgr, captured.timestamp_ms)
                t2 = time.perf_counter()
                decode_s.append(t1 - t0)
                inference_s.append(t2 - t1)
                frames.append(_frames.main_person(poses, captured.timestamp_ms))
                detected.append(len(poses) > 0)
                if writer is not None:
                    writer.write(draw_poses(captured.image_bgr.copy(), poses))
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True  # a camera runs until Ctrl-C: keep what we have
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        except AnnotateError as exc:
            raise CommandError(f"--annotate: {exc}") from None
        finally:
            elapsed_s = time.perf_counter() - started
            bar.close()
            backend.close()
            if writer is not None:
                writer.close()

    n = len(frames)
    n_detected = int(sum(detected))
    if n == 0:
        raise CommandError(f"expected at least one frame from {args.source}, got none")
    if n_detected == 0:
        what = "the image" if n == 1 else f"any of {n} frames"
        raise CommandError(f"no person found in {what} of {args.source}")

    if args.out is not None:
        try:
            save_landmarks(
                args.out,
                PoseWindow.from_frames(frames),
                detected=np.asarray(detected, np.bool_),
                meta={
                    "source": str(args.source),
                    "backend": args.backend,
                    "fps": source.fps,
                    "frame_count": n,
                },
            )
        except OSError as exc:
            raise CommandError(f"--out: could not write {args.out}: {exc}") from None

    summary: dict[str, Any] = {
        "source": str(args.source),
        "backend": args.backend,
        "frames": n,
        "detected": n_detected,
        "detection_rate": round(n_detected / n, 4),
        "fps": round(n / elapsed_s, 2) if elapsed_s > 0 else None,
        "source_fps": (
            round(source.fps, 3)
            if source.fps is not None and math.isfinite(source.fps)
            else None
        ),
        "stages_ms": {"decode": _stage(decode_s), "inference": _stage(inference_s)},
        "interrupted": interrupted,
        "out": str(args.out) if args.out is not None else None,
        "annotate": str(args.annotate) if args.annotate is not None else None,
    }
    stages = summary["stages_ms"]
    print(
        f"{n} frames, person found in {n_detected} ({100 * n_detected / n:.1f}%), "
        f"{summary['fps']} frames/s; decode p50 {stages['decode']['p50']} ms, "
        f"inference p50 {stages['inference']['p50']} ms ({args.backend})"
    )
    if args.out is not None:
        print(f"landmarks: {args.out}")
    if args.annotate is not None:
        print(f"annotated video: {args.annotate}")
    if args.json:
        print(json.dumps(summary), flush=True)
    return 0
