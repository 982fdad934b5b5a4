"""`movecoach kiosk`: the headless kiosk client (a USB camera on a small PC, or a video
standing in for one) streaming to a `movecoach serve` server.

Prints what the server reports as it happens, one line each, in `--lang`; with `--json`
one JSON object per line (`opened`, every engine event, `error`s, and the final
`summary`). Exits when the source ends, after the server's summary has arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from server.cli import CommandError
from server.commands import (
    add_lang_option,
)

__all__ = ["add_parser", "run"]

_QUIET_TYPES = frozenset({"pose", "stats"})
TOKEN_ENV = "MOVECOACH_KIOSK_TOKEN"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "kiosk",
        help="stream a camera or video to a MoveCoach server (headless kiosk)",
        description="Headless kiosk: stream JPEG frames from a camera or a video to a "
        "MoveCoach server's /ws websocket and print its feedback.",
    )
    parser.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="server, e.g. ws://127.0.0.1:8000",
    )
    parser.add_argument(
        "--source", default="0", help="camera index (default 0) or a video file"
    )
    parser.add_argument("--exercise", required=True, metavar="ID", help="exercise id")
    add_lang_option(parser, "language")
    parser.add_argument(
        "--elder", action="store_true", help="elder mode (fewer, calmer cues)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        help="most frames per second to send (default the source's, at most 30)",
    )
    parser.add_argument(
        "--width",
        type=int,
        help="scale frames to this width before sending (default 640)",
    )
    parser.add_argument("--resident", help="who is exercising (for the session record)")
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="file holding this kiosk's token, for a server with --kiosk-auth (default "
        "MOVECOACH_KIOSK_TOKEN); sent in the websocket handshake, never in the URL",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per line"
    )
    parser.set_defaults(func=run)


def _token(path: str | None) -> str | None:
    """The kiosk token from `--token-file` (first line), else MOVECOACH_KIOSK_TOKEN:
    not an option's value, which `ps` shows to everyone on the machine."""
    if path is None:
        return os.environ.get(TOKEN_ENV, "").strip() or None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the kiosk token file {path}: {exc}") from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise CommandError(f"expected a kiosk token in {path}, got an empty file")
    return token


def run(args: argparse.Namespace) -> int:
    from kiosk.client import KioskClientError, KioskOptions, describe_message, run_kiosk

    if args.fps is not None and not 0 < args.fps <= 120:
        raise CommandError(f"--fps must be in (0, 120], got {args.fps}")
    if args.width is not None and not 64 <= args.width <= 4096:
        raise CommandError(f"--width must be in [64, 4096], got {args.width}")
    options = KioskOptions(
        server=args.server,
        source=args.source,
        exercise=args.exercise,
        lang=args.lang,
        elder=args.elder,
        fps=args.fps,
        send_width=args.width,
        resident=args.resident,
        token=_token(args.token_file),
    )

    def show(message: dict[str, Any]) -> None:
        if message.get("type") in _QUIET_TYPES:
            return
        if args.json:
            print(json.dumps(message, ensure_ascii=False), flush=True)
            return
        line = describe_message(message, args.lang)
        if line:
            stream = sys.stderr if message.get("type") == "error" else sys.stdout
            print(line, file=stream, flush=True)

    try:
        report = run_kiosk(options, on_message=show)
    except KioskClientError as exc:
        raise CommandError(str(exc)) from None
    if report.summary is None:
        raise CommandError(
            f"the server sent no summary after {report.frames_sent} frames "
            "(connection lost or the drain timed out)"
        )
    return 0
