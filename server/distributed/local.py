"""`movecoach serve --ray`: the app under Ray Serve from the command line.

Starts (or joins, with `address`) a Ray cluster, starts Serve's HTTP proxy on the
settings' host and port, deploys `build_app` with the settings, and waits until
SIGINT/SIGTERM; then Serve stops the replicas gracefully (a replica waits for its
kiosks' sessions up to `graceful_shutdown_timeout_s`; kiosks still connected after that
resume elsewhere, server/resume.py) and the cluster it started stops.

For a multi-node cluster use a Serve config file instead (`serve deploy
server/distributed/serve_config.yaml`, docs/deployment.md).
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Mapping
from typing import Any

from server.settings import Settings

__all__ = ["app_args", "serve_with_ray"]

log = logging.getLogger(__name__)


def app_args(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """`build_app` arguments carrying every setting (each replica gets the same)."""
    values = {
        f.name: (str(v) if v is not None and f.name == "demo_video" else v)
        for f in dataclasses.fields(settings)
        for v in (getattr(settings, f.name),)
        if f.name not in ("host", "port")
    }
    args: dict[str, Any] = {"settings": values}
    args.update({k: v for k, v in overrides.items() if v is not None})
    return args


def serve_with_ray(
    settings: Settings,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    args: Mapping[str, Any] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Serve the app on Ray until interrupted (or `stop` is set); returns 0.

    Args:
        settings: Server settings (host/port: Serve's HTTP proxy).
        address: A running Ray cluster to join ("auto", "ray://host:10001"); None
            starts a local one.
        num_cpus: CPUs of the local cluster (None: Ray counts them).
        args: More `build_app` arguments (provider, max_batch_size, replicas, ...).
        stop: Set it to stop (tests); otherwise SIGINT/SIGTERM.
    """
    import ray
    from ray import serve

    from server.distributed.deployment import APP_NAME, build_app

    started_here = not ray.is_initialized()
    if started_here:
        init: dict[str, Any] = {"include_dashboard": False}
        if address is not None:
            init["address"] = address
        else:
            init["num_cpus"] = num_cpus
            if settings.host in ("127.0.0.1", "localhost"):
                init["_node_ip_address"] = "127.0.0.1"  # nothing beyond loopback
        ray.init(**init)
    done = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if stop is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: done.set())
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(
            build_app(app_args(settings, **dict(args or {}))),
            name=APP_NAME,
            route_prefix="/",
        )
        log.info(
            "MoveCoach on Ray Serve at http://%s:%d/", settings.host, settings.port
        )
        done.wait()
        log.info("stopping: replicas drain their sessions")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        try:
            serve.shutdown()
        finally:
            if started_here:
                ray.shutdown()
    return 0
