"""Template authoring for coaches: a demonstration (a recorded kiosk session of their
centre, or an uploaded video run through the pose backend here) -> a proposed template
(`exercises.authoring.propose_template`) with the repetitions found and the band, for
the coach to review, edit and save with `POST /api/templates` (`{"template": {...}}`).

    POST /api/authoring/drafts          {session_id, template_id, name, view, posture}
    POST /api/authoring/drafts/video?template_id=...&view=...   body: the video file

`kind = "routine"` (a field of the first, a query parameter of the second) proposes a
routine instead, from a demonstration of a flowing form such as tai chi
(`exercises.routine_authoring.propose_routine`: one section per move, cut where the
body moves least); the answer holds the routine's two files (`files`) for the coach to
rename and save in `exercises/routines/`.

Angles are taken from the landmarks as the live websocket's engine sees them (made
isotropic by the picture's aspect, which the frames carry), so a template authored here
matches what kiosks measure. A video is read frame by frame with OpenCV; at most
`MAX_VIDEO_BYTES` and `MAX_VIDEO_FRAMES` (one minute at 30 fps) are analysed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

import numpy as np
from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from exercises.authoring import AuthoringError, TemplateDraft, propose_template
from exercises.routine import RoutineError
from exercises.routine_authoring import AuthoringError as RoutineAuthoringError
from exercises.routine_authoring import dump_routine, propose_routine
from exercises.spec import POSTURES
from server.api._access import session_for
from server.api._errors import page_error
from server.auth import CurrentStaff, Db, api_error
from server.runtime import runtime_of
from server.store import repository
from vision.types import PoseFrame, PoseWindow

__all__ = ["MAX_VIDEO_BYTES", "MAX_VIDEO_FRAMES", "draft_json", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/authoring", tags=["authoring"])

MAX_VIDEO_BYTES: Final[int] = 200 * 1024 * 1024
MAX_VIDEO_FRAMES: Final[int] = 1800
TemplateId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
View = Literal["front", "side", "any"]
Posture = Literal[POSTURES]  # type: ignore[valid-type]
Kind = Literal["reps", "routine"]


class Texts(BaseModel):
    en: str | None = Field(default=None, max_length=500)
    zh_CN: str | None = Field(default=None, max_length=500, alias="zh-CN")

    def as_dict(self) -> dict[str, str]:
        out = {}
        if self.en and self.en.strip():
            out["en"] = self.en.strip()
        if self.zh_CN and self.zh_CN.strip():
            out["zh-CN"] = self.zh_CN.strip()
        return out


class DraftFromSession(BaseModel):
    session_id: int
    template_id: TemplateId
    name: Texts | None = None
    view: View = "any"
    posture: Posture = "standing"
    kind: Kind = "reps"


def _list(values: Any) -> list[float | None]:
    """A 1-D array as JSON numbers (2 decimals; NaN -> null)."""
    return [
        round(float(v), 2) if np.isfinite(v) else None
        for v in np.asarray(values, np.float64).tolist()
    ]


def draft_json(draft: TemplateDraft) -> dict[str, Any]:
    """The draft for the authoring page: the template plus what to review."""
    return {
        "template": draft.template,
        "channels": list(draft.channels),
        "primary": draft.primary,
        "moving": list(draft.moving),
        "sides": draft.sides,
        "t": _list(draft.t),
        "reference": {
            c: _list(draft.reference[:, k]) for k, c in enumerate(draft.channels)
        },
        "spread": {c: _list(draft.spread[:, k]) for k, c in enumerate(draft.channels)},
        "tolerance": {
            c: float(draft.tolerance[k]) for k, c in enumerate(draft.channels)
        },
        "range_of_motion_deg": draft.range_of_motion_deg,
        "counter_count": draft.counter_count,
        "reps": [
            {
                "demo": r.demo,
                "start_ms": r.start_ms,
                "end_ms": r.end_ms,
                "duration_ms": r.duration_ms,
                "cost": round(r.cost, 3) if np.isfinite(r.cost) else None,
                "values": {
                    c: _list(r.values[:, k]) for k, c in enumerate(draft.channels)
                },
            }
            for r in draft.reps
        ],
    }


def _propose_routine(
    window: PoseWindow, routine_id: str, name: dict[str, str]
) -> dict[str, Any]:
    """A routine draft: both files' layouts and text, and where the moves were cut."""
    texts = {lang: name.get(lang) or routine_id for lang in ("en", "zh-CN")}
    try:
        draft = propose_routine(
            [window[t] for t in range(len(window))], routine_id=routine_id, name=texts
        )
    except (RoutineAuthoringError, RoutineError) as exc:
        raise page_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "authoring_failed", str(exc)
        ) from None
    routine_text, poses_text = dump_routine(draft)
    return {
        "kind": "routine",
        "routine": draft.routine,
        "poses": draft.poses,
        "cuts_s": list(draft.cuts_s),
        "files": {
            f"{routine_id}.toml": routine_text,
            f"{routine_id}.poses.toml": poses_text,
        },
    }


def _propose(
    window: PoseWindow,
    template_id: str,
    name: dict[str, str],
    view: str,
    posture: str,
    kind: str = "reps",
) -> dict[str, Any]:
    if kind == "routine":
        return _propose_routine(window, template_id, name)
    try:
        draft = propose_template(
            window,
            template_id=template_id,
            name=name or None,
            view=view,
            posture=posture,
        )
    except AuthoringError as exc:
        raise page_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "authoring_failed", str(exc)
        ) from None
    return draft_json(draft)


@router.post("/drafts")
def draft_from_session(
    body: DraftFromSession, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    """Propose a template from a recorded session of the coach's centre."""
    session = session_for(db, staff, body.session_id)
    window = repository.load_landmarks(db, session.id)
    if window is None or len(window) < 2:
        raise page_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "no_landmarks")
    out = _propose(
        window,
        body.template_id,
        body.name.as_dict() if body.name else {},
        body.view,
        body.posture,
        body.kind,
    )
    out["source"] = {"session_id": session.id, "frames": len(window)}
    return out


def _video_window(
    path: str, factory: Callable[[], Any]
) -> tuple[PoseWindow, dict[str, Any]]:
    """The most confident person per frame of a video file (edge: OpenCV + backend)."""
    from vision.sources import SourceError, open_source

    frames: list[PoseFrame] = []
    size: tuple[int, int] | None = None
    try:
        source = open_source(path)
    except SourceError as exc:
        raise page_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "video_unreadable", str(exc)
        ) from None
    backend = factory()
    try:
        with source:
            for captured in source:
                if size is None:
                    h, w = captured.image_bgr.shape[:2]
                    size = (int(w), int(h))
                poses = backend.detect(captured.image_bgr, captured.timestamp_ms)
                frames.append(
                    poses[int(np.argmax(poses.scores))]
                    if len(poses)
                    else PoseFrame.missing(
                        captured.timestamp_ms, backend.skeleton, poses.aspect_wh
                    )
                )
                if len(frames) >= MAX_VIDEO_FRAMES:
                    break
    except SourceError as exc:
        raise page_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "video_unreadable", str(exc)
        ) from None
    finally:
        with contextlib.suppress(Exception):
            backend.close()
    if len(frames) < 2:
        raise page_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "video_unreadable",
            f"expected a video with frames, got {len(frames)}",
        )
    return PoseWindow.from_frames(frames), {"frames": len(frames), "width_height": size}


@router.post("/drafts/video")
async def draft_from_video(
    request: Request,
    staff: CurrentStaff,
    template_id: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
    view: View = "any",
    posture: Annotated[str, Query(max_length=16)] = "standing",
    name_en: Annotated[str | None, Query(max_length=200)] = None,
    name_zh: Annotated[str | None, Query(max_length=200)] = None,
    kind: Kind = "reps",
) -> dict[str, Any]:
    """Propose a template from an uploaded demonstration video (the request body)."""
    import asyncio

    if posture not in POSTURES:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_request",
            f"expected posture one of {', '.join(POSTURES)}, got {posture!r}",
        )
    runtime = runtime_of(request.app.state)
    factory = None if runtime is None else runtime.backend_factory
    if factory is None:
        raise page_error(status.HTTP_503_SERVICE_UNAVAILABLE, "no_backend")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_VIDEO_BYTES:
        raise page_error(status.HTTP_413_CONTENT_TOO_LARGE, "video_too_large")
    fd, path = tempfile.mkstemp(prefix="movecoach-demo-", suffix=".video")
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_VIDEO_BYTES:
                    raise page_error(
                        status.HTTP_413_CONTENT_TOO_LARGE, "video_too_large"
                    )
                out.write(chunk)
        if size == 0:
            raise page_error(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "video_unreadable",
                "expected a video in the request body, got nothing",
            )
        window, info = await asyncio.to_thread(_video_window, path, factory)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    name = {
        k: v.strip()
        for k, v in (("en", name_en), ("zh-CN", name_zh))
        if v and v.strip()
    }
    draft = await asyncio.to_thread(
        _propose, window, template_id, name, view, posture, kind
    )
    draft["source"] = {"video_bytes": size, **info}
    log.info(
        "%s authored a draft %r from a %d-byte video", staff.username, template_id, size
    )
    return draft
