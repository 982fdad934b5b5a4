"""The steps of reading poses from a source that `movecoach pose` and `movecoach
analyze` share, with their errors turned into one-line `CommandError`s."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vision.backends import PoseBackend
    from vision.sources import FrameSource
    from vision.types import PoseFrame, Poses

__all__ = ["frame_total", "main_person", "open_backend", "open_frames"]


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
