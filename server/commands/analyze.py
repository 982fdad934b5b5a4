"""`movecoach analyze SOURCE --exercise ID`: count and score reps in a recording.

SOURCE is a landmarks file (`.npz`, see `vision.landmarks_io`) or anything
`movecoach pose` reads (a video, an image folder, a camera index), which goes through a
pose backend first (a progress bar on stderr). Prints a table of reps and a summary;
with `--json`, one JSON object per line (reps, moves, cues, holds) and a final
`{"type": "summary", "reps": N, ...}`; `--report out.html` also writes a small report
(`server.report`: per-rep scores, the angle curves against the template's band).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from server.cli import CommandError
from server.commands import (
    _frames,
    add_backend_option,
    add_lang_option,
    add_max_frames_option,
    check_max_frames,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="count and score an exercise in a landmarks file or a video",
        description=(
            "Run an exercise session over SOURCE: a landmarks .npz (from `movecoach "
            "pose --out`) or a video, image folder or camera index (through a pose "
            "backend). Prints each rep's score, duration, range of motion and cues."
        ),
    )
    parser.add_argument("source", help="landmarks .npz, video, image folder or camera")
    parser.add_argument(
        "--exercise",
        "-e",
        required=True,
        metavar="ID",
        help="template id (see templates list)",
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON lines; the last one is the summary"
    )
    add_backend_option(parser, "pose backend for videos")
    parser.add_argument(
        "--elder", action="store_true", help="elder mode (slower pace, calmer cues)"
    )
    add_lang_option(parser, "language of the cue texts")
    add_max_frames_option(parser, "read at most N frames of a video")
    parser.add_argument(
        "--report",
        metavar="OUT.html",
        type=Path,
        help="also write an HTML report: per-rep scores, the angle curves against "
        "the template's band",
    )
    parser.add_argument(
        "--aspect",
        metavar="W:H",
        help=(
            "image width:height (e.g. 16:9 or 1.778); default: the video's own, or the "
            "landmark file's (its aspect_wh or resolution_wh), else 1"
        ),
    )
    parser.set_defaults(func=run)


def _spec(exercise_id: str) -> Any:
    from exercises.spec import UnknownExerciseError, get_spec

    try:
        return get_spec(exercise_id)
    except UnknownExerciseError as exc:
        raise CommandError(str(exc)) from None


def _load_npz(path: Path) -> tuple[Any, dict[str, Any]]:
    from vision.landmarks_io import LandmarksFileError, load_landmarks

    try:
        return load_landmarks(path)
    except LandmarksFileError as exc:
        raise CommandError(str(exc)) from None


def _parse_aspect(text: str) -> float:
    try:
        if ":" in text:
            w, h = (float(v) for v in text.split(":", 1))
            value = w / h
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise CommandError(f"--aspect: expected W:H or a positive number, got {text!r}")
    return value


def _run_backend(source: str, backend_name: str, max_frames: int | None) -> Any:
    """Video/folder/camera -> PoseWindow of the most confident person per frame (the
    backend stamps the images' width / height on it)."""
    from tqdm import tqdm

    from vision.sources import SourceError
    from vision.types import PoseFrame, PoseWindow

    frames: list[PoseFrame] = []
    with _frames.open_frames(source) as opened:
        backend = _frames.open_backend(backend_name)
        progress = tqdm(
            total=_frames.frame_total(opened.frame_count, max_frames),
            unit="frame",
            desc="pose",
        )
        try:
            for captured in opened:
                progress.update()
                poses = backend.detect(captured.image_bgr, captured.timestamp_ms)
                frames.append(_frames.main_person(poses, captured.timestamp_ms))
                if max_frames is not None and len(frames) >= max_frames:
                    break
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
            backend.close()
    if not frames:
        raise CommandError(f"expected at least one frame, got none from {source}")
    return PoseWindow.from_frames(frames)


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _event_json(event: Any, lang: str) -> dict[str, Any] | None:
    from exercises.events import CueIssued, HoldCompleted, MoveCompleted, RepCompleted

    if isinstance(event, RepCompleted):
        return {
            "type": "rep",
            "timestamp_ms": event.timestamp_ms,
            "count": event.count,
            "score": event.score,
            "breakdown": event.breakdown,
            "duration_ms": event.duration_ms,
            "range_of_motion_deg": event.range_of_motion_deg,
            "cue_ids": list(event.cue_ids),
            "side": event.side,
            "partial": event.partial,
        }
    if isinstance(event, MoveCompleted):
        return {
            "type": "move",
            "timestamp_ms": event.timestamp_ms,
            "move_id": event.move_id,
            "index": event.index,
            "round": event.round,
            "score": event.score,
            "duration_ms": event.duration_ms,
            "held_ms": event.held_ms,
        }
    if isinstance(event, CueIssued):
        return {
            "type": "cue",
            "timestamp_ms": event.timestamp_ms,
            "cue_id": event.cue_id,
            "severity": event.severity.name.lower(),
            "text": event.message[lang],
            "value": _num(event.value),
        }
    if isinstance(event, HoldCompleted):
        return {
            "type": "hold",
            "timestamp_ms": event.timestamp_ms,
            "held_ms": event.held_ms,
            "target_ms": event.target_ms,
            "score": event.score,
        }
    return None


def _summary_json(analysis: Any, window: Any) -> dict[str, Any]:
    s = analysis.summary
    return {
        "type": "summary",
        "exercise": analysis.exercise_id,
        "reps": s.reps,
        "partial_reps": s.partial_reps,
        "mean_score": s.mean_score,
        "best_score": s.best_score,
        "worst_score": s.worst_score,
        "duration_ms": s.duration_ms,
        "active_ms": s.active_ms,
        "mean_rep_duration_ms": s.mean_rep_duration_ms,
        "image_aspect": round(window.aspect_wh, 4),
        "cues_by_id": s.cues_by_id,
        "faults_by_id": s.faults_by_id,
        "hold_ms": s.hold_ms,
        "hold_target_ms": s.hold_target_ms,
        "hold_completed": s.hold_completed,
        "moves_completed": s.moves_completed,
        "elder_mode": s.elder_mode,
        "frames": len(window),
    }


def _print_table(analysis: Any, spec: Any, window: Any, lang: str) -> None:
    from exercises.events import CueIssued, HoldCompleted, MoveCompleted

    s = analysis.summary
    seconds = s.duration_ms / 1000
    print(f"{spec.name[lang]} ({spec.id}), {len(window)} frames, {seconds:.1f} s")
    if analysis.reps:
        print(
            f"{'rep':>4} {'score':>6} {'time s':>7}  {'range of motion (deg)':<28} cues"
        )
        for r in analysis.reps:
            rom = ", ".join(f"{k} {v:.0f}" for k, v in r.range_of_motion_deg.items())
            cues = ", ".join(r.cue_ids) or "-"
            flag = "*" if r.partial else " "
            took = r.duration_ms / 1000
            print(f"{r.count:>4}{flag}{r.score:>6.1f} {took:>7.2f}  {rom:<28} {cues}")
    for e in analysis.events:
        if isinstance(e, MoveCompleted):
            print(f"  move {e.round}.{e.index + 1} {e.move_id}: score {e.score:.1f}")
        elif isinstance(e, HoldCompleted):
            at = e.timestamp_ms / 1000
            print(f"  hold reached {e.held_ms / 1000:.1f} s at {at:.1f} s")
        elif isinstance(e, CueIssued):
            print(f"  cue at {e.timestamp_ms / 1000:.1f} s: {e.message[lang]}")
    mean = "-" if s.mean_score is None else f"{s.mean_score:.1f}"
    print(f"reps: {s.reps} (partial {s.partial_reps}), mean score: {mean}")
    if s.hold_target_ms is not None:
        print(f"held: {s.hold_ms / 1000:.1f} s of {s.hold_target_ms / 1000:.1f} s")
    if s.cues_by_id:
        print("cues: " + ", ".join(f"{k} x{v}" for k, v in s.cues_by_id.items()))


def _check_report_path(path: Path | None) -> None:
    from server.report import REPORT_SUFFIXES

    if path is not None and path.suffix.lower() not in REPORT_SUFFIXES:
        raise CommandError(
            f"--report: expected a path ending in {' or '.join(REPORT_SUFFIXES)}, "
            f"got {path.name!r}"
        )


def _write_report(
    args: argparse.Namespace, spec: Any, window: Any, analysis: Any
) -> None:
    from server.report import write_report

    try:
        write_report(
            args.report,
            spec=spec,
            window=window,
            analysis=analysis,
            source=str(args.source),
            lang=args.lang,
        )
    except (ValueError, OSError) as exc:
        raise CommandError(f"--report: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run the command; returns 0 on success (raises CommandError for user errors)."""
    spec = _spec(args.exercise)
    check_max_frames(args)
    _check_report_path(args.report)
    aspect = _parse_aspect(args.aspect) if args.aspect is not None else None
    source = Path(args.source)
    if source.suffix.lower() == ".npz":
        window, _ = _load_npz(source)
    else:
        window = _run_backend(args.source, args.backend, args.max_frames)
    if len(window) == 0:
        raise CommandError(f"expected at least one frame, got none in {args.source}")
    if aspect is not None:
        window = dataclasses.replace(window, aspect_wh=aspect)

    from exercises.analysis import analyze

    try:
        analysis = analyze(window, spec, elder_mode=args.elder)
    except ValueError as exc:  # e.g. a skeleton without the joints the exercise needs
        raise CommandError(str(exc)) from None
    if args.report is not None:
        _write_report(args, spec, window, analysis)
    if args.json:
        for event in analysis.events:
            line = _event_json(event, args.lang)
            if line is not None:
                print(json.dumps(line, ensure_ascii=False))
        print(json.dumps(_summary_json(analysis, window), ensure_ascii=False))
    else:
        _print_table(analysis, spec, window, args.lang)
    return 0
