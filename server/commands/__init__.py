"""Subcommands of `movecoach`; each module defines `add_parser(subparsers)`.

Options several commands share are declared once here (`add_backend_option`,
`add_lang_option`, `add_max_frames_option`), so their choices and defaults agree with
`vision.backends` and `server.settings`; the steps of reading poses from a source
are in `_frames`.
"""

from __future__ import annotations

import argparse

from server.commands._privacy import BACKENDS_HELP
from server.settings import LANGUAGES
from vision.backends import BACKENDS, DEFAULT_BACKEND

__all__ = [
    "add_backend_option",
    "add_lang_option",
    "add_max_frames_option",
    "check_max_frames",
]


def add_backend_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--backend`, its help followed by what each backend sends off the machine."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"{help} (default {DEFAULT_BACKEND}): {BACKENDS_HELP}",
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
