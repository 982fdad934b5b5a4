"""`movecoach serve`: the kiosk server (kiosk page, /ws websocket, coach pages at
/coach, kiosk set-up at /setup, records API under /api) under uvicorn.

Options override the `MOVECOACH_*` environment variables (see `server/settings.py`).
A centre on PostgreSQL: `movecoach serve --db postgresql+psycopg://user:pass@host/db
--kiosk-auth` (create the centre, staff and kiosks with `movecoach admin ...`).
"""

from __future__ import annotations

import argparse
import logging

from server.cli import CommandError
from server.settings import Settings, SettingsError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the kiosk server (page, /ws websocket, /health)",
        description="Serve the kiosk page and the /ws kiosk websocket. Options win "
        "over MOVECOACH_* environment variables.",
    )
    parser.add_argument(
        "--host", help="interface to bind (MOVECOACH_HOST, default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, help="TCP port (MOVECOACH_PORT, default 8000)"
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="records database URL: sqlite:///PATH or "
        "postgresql+psycopg://USER:PASS@HOST/DB (MOVECOACH_DB_URL; default a SQLite "
        "file under ~/.local/share/movecoach); migrated at start-up",
    )
    parser.add_argument(
        "--kiosk-auth",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="kiosks must present their token on the websocket and /api/kiosk "
        "(MOVECOACH_KIOSK_AUTH; default off). Tokens come from `movecoach admin "
        "create-kiosk`; a kiosk stores its token on the /setup page",
    )
    parser.add_argument(
        "--demo",
        metavar="VIDEO",
        help="video the kiosk page replays when there is no camera "
        "(MOVECOACH_DEMO_VIDEO)",
    )
    parser.add_argument(
        "--backend", help="pose backend: mediapipe or onnx (MOVECOACH_BACKEND)"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default info)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vision.backends import BACKENDS

    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            db_url=args.db,
            demo_video=args.demo,
            backend=args.backend,
            kiosk_auth=args.kiosk_auth,
        )
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    if settings.backend not in BACKENDS:
        raise CommandError(
            f"unknown pose backend {settings.backend!r}; "
            f"valid backends: {', '.join(BACKENDS)}"
        )
    if settings.demo_video is not None and not settings.demo_video.is_file():
        raise CommandError(
            f"expected a demo video file, got no file at {settings.demo_video}"
        )

    import uvicorn

    from server.app import create_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    from server.store import DatabaseRecorder, Store

    try:
        store = Store(settings.db_url)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    # The websocket loop awaits each rep's commit before sending it (no blocking).
    recorder = DatabaseRecorder(store, wait_for_reps=False)
    config = uvicorn.Config(
        create_app(settings, recorder=recorder, store=store),
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.transport_max_bytes,
        log_level=args.log_level,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise CommandError("the server did not start (see the log above)")
    return 0
