"""Subcommands of `movecoach`; each module defines `add_parser(subparsers)`.

Options several commands share are declared once here (`add_backend_option`,
`add_lang_option`, `add_max_frames_option`), so their choices and defaults agree with
`vision.backends` and `server.settings`; so are the steps of reading poses from a
source (`open_frames`, `open_backend`, `frame_total`, `main_person`), with their errors
turned into one-line `CommandError`s.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.commands._privacy import BACKENDS_HELP
from server.settings import LANGUAGES
from vision.backends import BACKENDS, DEFAULT_BACKEND

if TYPE_CHECKING:
    from vision.backends import PoseBackend
    from vision.sources import FrameSource
    from vision.types import PoseFrame, Poses

__all__ = [
    "add_backend_option",
    "add_lang_option",
    "add_max_frames_option",
    "check_max_frames",
    "frame_total",
    "main_person",
    "open_backend",
    "open_frames",
]


def add_backend_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--backend`, its help followed by what each backend sends off the machine."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"{help}: {BACKENDS_HELP}",
    )


def add_lang_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help=help)


def add_max_frames_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--max-frames", type=int, metavar="N", help=help)


def check_max_frames(args: argparse.Namespace) -> None:
    """Raises CommandError unless `--max-frames` is unset or at least 1."""
    from server.cli import CommandError

    if args.max_frames is not None and args.max_frames < 1:
        raise CommandError(f"--max-frames: expected N >= 1, got {args.max_frames}")


def open_frames(source: str, **options: int) -> FrameSource:
    """`vision.sources.open_source`; its SourceError as a CommandError."""
    from server.cli import CommandError
    from vision.sources import SourceError, open_source

    try:
        return open_source(source, **options)
    except SourceError as exc:
        raise CommandError(str(exc)) from None


def open_backend(name: str) -> PoseBackend:
    """`vision.backends.create_backend`; a model, backend or option error as a
    CommandError naming the backend."""
    from models import ModelIntegrityError
    from server.cli import CommandError
    from vision.backends import BackendError, create_backend

    try:
        return create_backend(name)
    except (ModelIntegrityError, BackendError, ValueError) as exc:
        raise CommandError(f"{name} backend: {exc}") from None


def frame_total(frame_count: int | None, max_frames: int | None) -> int | None:
    """How many frames a run will read (for the progress bar): the source's count,
    capped by `--max-frames`; None when neither is known."""
    if max_frames is None:
        return frame_count
    return max_frames if frame_count is None else min(frame_count, max_frames)


def main_person(poses: Poses, timestamp_ms: int) -> PoseFrame:
    """The most confident person of a frame, or `PoseFrame.missing` (with the frame's
    skeleton and aspect) when nobody was found."""
    import numpy as np

    from vision.types import PoseFrame

    if len(poses):
        return poses[int(np.argmax(poses.scores))]
    return PoseFrame.missing(timestamp_ms, poses.skeleton, poses.aspect_wh)
