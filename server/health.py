"""What `/health` (and the operations routes `/health/ready`, `/health/inference`)
answer: liveness, readiness and the state of each inference worker.

`Runtime.health()` builds a `HealthInfo`; `inference_health(runtime)` the body of
`/health/inference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from server.schemas import PROTOCOL_VERSION

if TYPE_CHECKING:
    from server.runtime import Runtime

__all__ = ["GroupWorkerHealth", "GroupWorkerState", "HealthInfo", "inference_health"]

GroupWorkerState = Literal["not_started", "loading", "ready", "failed"]


class GroupWorkerHealth(BaseModel):
    """The group screen's multi-person worker, built by the first group `open`.

    `not_started` until then (a kiosk-only centre stays there), `loading` while its
    model loads, `ready` once it runs, `failed` when the last start raised (`error`;
    the next `open` tries again) or its thread is gone. `backend` is known once loaded.
    """

    state: GroupWorkerState = "not_started"
    backend: str | None = None
    error: str | None = None


class HealthInfo(BaseModel):
    """`status`: "ok" when ready, "degraded" when ready but a pose backend failed
    lately (`inference_problem` says how; its session's frames may fail, other
    sessions go on), else "starting" or "unavailable"."""

    status: str
    live: bool
    ready: bool
    inference: Literal["ok", "degraded"] = "ok"
    inference_problem: str | None = None
    backend: str | None
    backend_loaded: bool
    kernels_warm: bool
    worker_running: bool
    sessions: int
    max_sessions: int
    protocol: int = PROTOCOL_VERSION
    # Reported, never part of `ready`: a kiosk-only centre never opens a group session.
    group_worker: GroupWorkerHealth = Field(default_factory=GroupWorkerHealth)


async def inference_health(runtime: Runtime) -> tuple[dict[str, Any], bool]:
    """The body of `/health/inference` and whether inference is ready: the worker's
    state, the inference deployment's own answer where there is one (`deployment`),
    and the group screen's worker (`group`, reported, never required)."""
    worker = runtime.worker
    body: dict[str, Any] = {
        "backend": worker.backend_name,
        "loaded": bool(worker.warm),
        "running": bool(worker.running),
        "degraded": worker.degraded,
    }
    try:
        deployment = await worker.deployment_health()
    except Exception as exc:
        deployment = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
    if deployment is not None:  # the inference deployment answers for itself
        body["deployment"] = deployment
        ok = bool(deployment.get("ready")) and body["running"]
    else:
        ok = body["loaded"] and body["running"]
    body["ready"] = ok
    body["group"] = runtime.group.health().model_dump()
    return body, ok
