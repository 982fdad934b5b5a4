"""Engine events on the wire, serialized generically (see `event_message`)."""

from __future__ import annotations

import dataclasses
import re
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from server.jsonable import to_jsonable
from server.schemas.group import GROUP_TYPES
from server.schemas.kiosk import CLIENT_TYPES
from server.schemas.protocol import PROTOCOL_VERSION

__all__ = ["RESERVED_TYPES", "EventMessage", "event_message", "snake_case"]


class EventMessage(BaseModel):
    """An engine event: `type` from the class name, its dataclass fields flattened."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    v: Literal[1] = PROTOCOL_VERSION
    timestamp_ms: int


RESERVED_TYPES: Final[frozenset[str]] = frozenset(
    {
        *CLIENT_TYPES,
        "opened",
        "pose",
        "stats",
        "summary",
        "error",
        *GROUP_TYPES,
        "group_opened",
        "group_pose",
        "checked_in",
        "checked_out",
        "alert_raised",
        "alert_acknowledged",
        "group_summary",
    }
)


# --- helpers ----------------------------------------------------------------------

_CAMEL_BOUNDARY: Final[re.Pattern[str]] = re.compile(
    r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
)


def snake_case(name: str) -> str:
    """`RepCompleted` -> `rep_completed`; `HTTPError` -> `http_error`."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def event_message(event: object) -> EventMessage:
    """Wire message of any engine event dataclass (see the module docstring).

    Raises:
        TypeError: `event` is not a dataclass instance, or its class name would shadow
            a protocol message type.
    """
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        raise TypeError(f"expected an event dataclass, got {type(event).__name__}")
    kind = snake_case(type(event).__name__)
    if kind in RESERVED_TYPES:
        raise TypeError(
            f"event class {type(event).__name__} shadows the {kind!r} message"
        )
    payload = to_jsonable(event)
    payload.pop("type", None)
    payload.pop("v", None)
    return EventMessage(type=kind, **payload)
