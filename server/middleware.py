"""What every HTTP request and answer of the app goes through: bounded, strict input,
security headers, and validation errors that never echo what was sent.

    install_middleware(app)        # create_app calls it once

- **Bodies**: at most `MAX_BODY_BYTES` (1 MiB) per request; a route that takes more
  (the demonstration video) has its own bound in `BODY_LIMITS`. A declared
  `Content-Length` over the bound is answered 413 before anything is read; a chunked
  body is counted as it streams and cut off with a 413 the moment it passes the bound,
  so no route ever holds more than the bound in memory.
- **Strict input**: a JSON body must parse with `server.schemas.protocol.loads_strict`
  (finite numbers, integers within 64 bits, no lone surrogates) or is answered 422
  `invalid_request`; a path segment that is an integer beyond 64 bits is answered 404
  (no record has such an id) and such a query value 422, before any route (or the
  database, which cannot hold it) sees them.
- **Headers** on every HTTP answer: `CONTENT_SECURITY_POLICY` (scripts and styles only
  from this server, never inline; no framing), `X-Content-Type-Options: nosniff`,
  `X-Frame-Options: DENY` (browsers older than `frame-ancestors`),
  `Referrer-Policy: no-referrer`; and `Cache-Control: no-store` on `/api/` answers
  (residents, sessions, exports: personal data stays out of browser and proxy caches)
  unless the route set its own. Pages and static files keep their `no-cache`.
- **422s** list where and what is wrong (`loc`, `msg`, `type`) but never the value:
  pydantic's `input` and `ctx` are dropped and the value is cut out of the message, so
  a password or a member code sent in a malformed body is not written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api._errors import PAGE_ERROR_MESSAGES
from server.schemas.protocol import INT64_MAX, INT64_MIN, loads_strict

__all__ = [
    "BODY_LIMITS",
    "CONTENT_SECURITY_POLICY",
    "MAX_BODY_BYTES",
    "BoundedInputMiddleware",
    "SecurityHeadersMiddleware",
    "install_middleware",
    "validation_errors",
]

MAX_BODY_BYTES: Final[int] = 1 << 20
"""Largest request body of any route but those in `BODY_LIMITS` (JSON, TOML)."""

BODY_LIMITS: Final[Mapping[str, tuple[int, str]]] = {
    # The route streams the video to a temporary file and checks the same bound.
    "/api/authoring/drafts/video": (200 * 1024 * 1024, "video_too_large"),
}
"""Path -> (largest body in bytes, error code) for routes allowed more."""

CONTENT_SECURITY_POLICY: Final[str] = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""The pages load scripts, styles, pictures and the demo video from this server only
and talk only to it (fetch, the websocket); none may be framed by another site."""

_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_MAX_LOC_CHARS: Final[int] = 64


def _too_large(code: str, limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        detail={
            "code": code,
            "message": f"{PAGE_ERROR_MESSAGES[code]['en']} "
            f"(expected a request body of at most {limit} bytes)",
        },
    )


def _error(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"code": code, "message": message}}, status_code)


def _out_of_range(text: str) -> bool:
    """Whether `text` is an integer literal outside 64 bits (no id is)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits.isdigit() or not digits.isascii():
        return False
    return len(digits) > 19 or not INT64_MIN <= int(text) <= INT64_MAX


def _input_error(scope: Scope) -> JSONResponse | None:
    """404 for a path segment, 422 for a query value, that is an integer beyond 64
    bits: ids are range-checked before any route reads them."""
    if any(_out_of_range(part) for part in scope["path"].split("/")):
        return _error(
            status.HTTP_404_NOT_FOUND,
            "not_found",
            "Not found (expected an id in [-2^63, 2^63 - 1]).",
        )
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    for name, value in query:
        if _out_of_range(value.strip()):
            return _error(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "invalid_request",
                f"expected {name[:_MAX_LOC_CHARS]} in [-2^63, 2^63 - 1], got an "
                "integer beyond 64 bits",
            )
    return None


def _is_json(scope: Scope) -> bool:
    content_type: bytes = dict(scope["headers"]).get(b"content-type", b"")
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class _HTTPMiddleware:
    """A pure ASGI middleware of HTTP requests: websockets and lifespan pass through
    untouched; `http` handles the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BoundedInputMiddleware(_HTTPMiddleware):
    """Bounds request bodies, range-checks integers in paths and queries, and holds
    JSON bodies to `loads_strict` (see the module docstring)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _input_error(scope)
        limit, code = BODY_LIMITS.get(scope["path"], (MAX_BODY_BYTES, "body_too_large"))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = _too_large(code, limit)
            refusal = JSONResponse({"detail": error.detail}, error.status_code)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the route: its exception handler answers 413.
                    raise _too_large(code, limit)
            return message

        if not _is_json(scope):
            await self.app(scope, bounded, send)
            return
        # JSON (at most MAX_BODY_BYTES): read it all, check it, hand it on.
        chunks: list[bytes] = []
        while True:
            try:
                message = await bounded()
            except HTTPException as exc:
                await JSONResponse({"detail": exc.detail}, exc.status_code)(
                    scope, receive, send
                )
                return
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # the client left
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                loads_strict(body)
            except ValueError as exc:
                await _error(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    "invalid_request",
                    f"invalid JSON body: {str(exc)[:200]}",
                )(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeadersMiddleware(_HTTPMiddleware):
    """Adds the security headers (and `no-store` under /api/) to every HTTP answer."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = scope["path"].startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in present]
                if api and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _redacted(error: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error without the value that was sent."""
    msg = str(error.get("msg", ""))
    value = error.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        for shown in {repr(value), str(value)}:
            if len(shown) >= 3:
                msg = msg.replace(shown, "(the value sent)")
    return {
        "type": error.get("type"),
        "loc": [
            p if isinstance(p, int) else str(p)[:_MAX_LOC_CHARS]
            for p in error.get("loc", ())
        ],
        "msg": msg,
    }


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    """`RequestValidationError.errors()` as a 422 answers them: `type`, `loc` (keys cut
    to 64 characters) and `msg` (without the value) of each."""
    return [_redacted(e) for e in errors]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": validation_errors(exc.errors())},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _overflow(request: Request, exc: Exception) -> JSONResponse:
    # The safety net behind the range checks: an integer the database cannot hold
    # that reached it another way ("9223372036854775808.0" in a query, say).
    return _error(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid_request",
        "expected integers in [-2^63, 2^63 - 1], got one beyond 64 bits",
    )


def install_middleware(app: FastAPI) -> None:
    """The input bounds, the headers and the 422 handlers on `app`."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_middleware(BoundedInputMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on 413s too
