"""`movecoach serve`: the kiosk server (kiosk page, /ws websocket, coach pages at
/coach, kiosk set-up at /setup, records API under /api) under uvicorn.

Options override the `MOVECOACH_*` environment variables (see `server/settings.py`).
A centre on PostgreSQL: `movecoach serve --db postgresql+psycopg://user:pass@host/db
--kiosk-auth` (create the centre, staff and kiosks with `movecoach admin ...`).
Kiosks on the LAN need HTTPS for their camera: `--ssl-certfile/--ssl-keyfile` (a
self-signed pair from `movecoach admin make-cert`; docs/kiosk-setup.md).

One process (the default) serves Prometheus metrics at /metrics and health at
/health/{live,ready,inference}, records with session resumption, and shuts down
gracefully (kiosks are told to reconnect; the recorder is flushed). `--ray` runs the
same app on Ray Serve with pose inference as a separate, batched deployment
(docs/deployment.md).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.cli import CommandError
from server.commands._privacy import BACKENDS_HELP
from server.settings import Settings, SettingsError
from vision.backends import BACKENDS, DEFAULT_BACKEND

if TYPE_CHECKING:
    from server.store import Store

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
        "--backend",
        choices=BACKENDS,
        help=f"pose backend (MOVECOACH_BACKEND; default {DEFAULT_BACKEND}): "
        f"{BACKENDS_HELP}",
    )
    parser.add_argument(
        "--ssl-certfile",
        metavar="PEM",
        help="serve HTTPS with this certificate (with --ssl-keyfile): kiosks on the "
        "LAN need it, browsers give the camera only to https:// pages (and to "
        "localhost). `movecoach admin make-cert` writes a self-signed one",
    )
    parser.add_argument(
        "--ssl-keyfile",
        metavar="PEM",
        help="the certificate's private key (unencrypted PEM)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default info)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="log lines as text or as JSON objects, one per line (default text)",
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="serve through Ray Serve (pip install 'movecoach[distributed]'): the same "
        "app, with pose inference (onnx) as a separate deployment batching frames "
        "of every kiosk; a local Ray cluster unless --ray-address",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --ray: join this Ray cluster (auto, ray://HOST:10001)",
    )
    parser.add_argument(
        "--provider",
        choices=["cpu", "cuda"],
        help="with --ray: ONNX Runtime provider of the inference deployment "
        "(default cpu)",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        metavar="N",
        help="with --ray: most frames per inference batch (default 8)",
    )
    parser.add_argument(
        "--colocate",
        action="store_true",
        help="with --ray on a CPU box: no inference deployment, the ingress "
        "replica runs pose inference itself (no hop between replicas) and, on a "
        "local cluster, serves its kiosks on --port itself, not through Serve's "
        "proxy (docs/deployment.md)",
    )
    parser.set_defaults(func=run)


def _ray_app_args(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The Ray app's extra `build_app` arguments, checked by the app's own parser
    (`AppArgs.parse`) before anything starts."""
    # Ray reports cluster usage to its developers unless told not to.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        from server.distributed.deployment import AppArgs
        from server.distributed.local import app_args
    except ImportError as exc:
        raise CommandError(
            f"--ray needs Ray Serve (pip install 'movecoach[distributed]'): {exc}"
        ) from None
    extra = {
        "provider": args.provider,
        "max_batch_size": args.max_batch_size,
        "colocate": args.colocate or None,
    }
    try:
        AppArgs.parse(app_args(settings, **extra))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return extra


def _tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    """uvicorn's `ssl_certfile` and `ssl_keyfile`, checked before anything starts;
    None for plain HTTP."""
    if args.ssl_certfile is None and args.ssl_keyfile is None:
        return None
    if args.ssl_certfile is None or args.ssl_keyfile is None:
        raise CommandError(
            "expected both --ssl-certfile and --ssl-keyfile, got only "
            + ("--ssl-certfile" if args.ssl_certfile else "--ssl-keyfile")
        )
    from server.tls import TlsError, check_certificate_pair

    certfile, keyfile = Path(args.ssl_certfile), Path(args.ssl_keyfile)
    try:
        check_certificate_pair(certfile, keyfile)
    except TlsError as exc:
        raise CommandError(str(exc)) from None
    return str(certfile), str(keyfile)


def _check_port(host: str, port: int) -> None:
    """Bind and release `host:port` as uvicorn will (SO_REUSEADDR), so that a port in
    use fails at once with one line instead of after the model has loaded."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(
            f"cannot listen on {host}:{port}: unknown host ({exc.strerror}); expected "
            "an address of this machine (--host or MOVECOACH_HOST)"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            hint = {
                errno.EADDRINUSE: "another program (another movecoach serve?) listens "
                "there; stop it or choose another --port (MOVECOACH_PORT)",
                errno.EACCES: "ports below 1024 need privileges; choose --port 1024 "
                "or above",
                errno.EADDRNOTAVAIL: "the address is not one of this machine's; "
                "check --host (MOVECOACH_HOST)",
            }.get(exc.errno or 0, "check --host and --port")
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror}; {hint}"
            ) from None


def _prepare_records(store: Store, url: str) -> None:
    """What the app's start-up does with the records (schema at head, sessions a crash
    left active interrupted), done here first: a database that opens but is damaged
    where only this reads (the sessions table) is one line and exit 2, not a failed
    start-up's traceback (issue 18, finding 12)."""
    from alembic.util import CommandError as AlembicError
    from sqlalchemy.exc import SQLAlchemyError

    from server.app import _prepare_records as prepare
    from server.commands._database import database_error

    try:
        prepare(store)
    except (SQLAlchemyError, AlembicError, OSError, ValueError) as exc:
        store.dispose()
        raise database_error(url, exc) from None


def run(args: argparse.Namespace) -> int:
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

    if args.colocate and not args.ray:
        raise CommandError("--colocate applies to --ray only")
    if args.colocate and args.max_batch_size is not None:
        raise CommandError(
            "--max-batch-size sizes the inference deployment's batches; "
            "--colocate has none"
        )
    tls = _tls_files(args)
    if tls and args.ray:
        raise CommandError(
            "--ssl-certfile/--ssl-keyfile do not apply to --ray (Ray Serve's proxy "
            "speaks plain HTTP): put a TLS reverse proxy in front (docs/kiosk-setup.md)"
        )
    ray_args = _ray_app_args(settings, args) if args.ray else {}
    _check_port(settings.host, settings.port)

    import uvicorn

    from server.operations import (
        build_app,
        configure_logging,
        graceful_server,
        uvicorn_log_config,
    )

    configure_logging(args.log_level, args.log_format)
    from server.commands._database import prepare_database

    prepare_database(settings.db_url)  # one line and exit 2 if it cannot be written
    if args.ray:
        from server.distributed.local import serve_with_ray

        return serve_with_ray(settings, address=args.ray_address, args=ray_args)
    from server.resume import ResumableRecorder
    from server.store import Store

    try:
        store = Store(settings.db_url)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _prepare_records(store, settings.db_url)
    # The websocket loop awaits each rep's commit before sending it (no blocking).
    recorder = ResumableRecorder(store, wait_for_reps=False)
    config = uvicorn.Config(
        build_app(
            settings,
            recorder=recorder,
            store=store,
            prepare_records=False,
            freeze_start_up=True,
        ),
        host=settings.host,
        port=settings.port,
        **settings.uvicorn_websocket_options,
        log_level=args.log_level,
        log_config=uvicorn_log_config(args.log_format),
        lifespan="on",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = graceful_server(config)
    server.run()
    if not server.started:
        raise CommandError("the server did not start (see the log above)")
    return 0
