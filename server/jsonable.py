"""JSON-ready copies of engine values and landmarks: the one encoder the wire messages
(`server.schemas`), the records (`server.store`) and the exports share.

It knows nothing of messages or tables: the wire and the store both depend on it, not
on each other. JSON has no NaN, so every non-finite float becomes `None` (`null`).

    to_jsonable(RepCompleted(...))   -> {"timestamp_ms": 1200, "score": 81.5, ...}
    fields_json(rep_row, ("count", "score"))  -> {"count": 3, "score": 80.5}
    joint_xy(frame.xyz)              -> [(0.5123, 0.2011), None, ...]  (per joint)
    visibility_list(frame.visibility) -> [0.998, 0.0, ...]
    replay_json(window)              -> the coach page's replay of a recording
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.types import PoseWindow

__all__ = [
    "XY_DIGITS",
    "fields_json",
    "joint_xy",
    "replay_json",
    "rounded",
    "to_jsonable",
    "visibility_list",
]

XY_DIGITS = 4
"""Decimals of normalized image coordinates (1/10 000 of the image: under a pixel)."""


def to_jsonable(value: object) -> Any:
    """JSON-ready copy of an engine value: dataclasses -> dicts of their fields, str
    enum members -> their values, other enum members -> their names, tuples/sets ->
    lists, numpy scalars/arrays -> Python, non-finite floats -> None, dates and times
    -> ISO 8601.

    Raises:
        TypeError: a value of another type (the message names it).
    """
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"cannot serialize {type(value).__name__} for JSON: {value!r}")


def fields_json(record: object, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of `record` (a database row, a dataclass), JSON-ready."""
    return {name: to_jsonable(getattr(record, name)) for name in names}


def rounded(values: npt.NDArray[np.floating[Any]], digits: int) -> list[float | None]:
    """values: (N,) float -> N floats rounded to `digits` decimals, None where not
    finite."""
    return [
        round(v, digits) if math.isfinite(v) else None
        for v in np.asarray(values, np.float64).tolist()
    ]


def visibility_list(
    visibility: npt.NDArray[np.floating[Any]], digits: int = 3
) -> list[float]:
    """visibility: (J,) in [0, 1] -> J floats rounded to `digits`; a joint with no
    finite visibility is invisible (0.0)."""
    return [0.0 if v is None else v for v in rounded(visibility, digits)]


def joint_xy(
    xyz: npt.NDArray[np.floating[Any]], digits: int = XY_DIGITS
) -> list[tuple[float, float] | None]:
    """xyz: (J, 2 or 3) normalized image coordinates -> J `(x, y)` pairs rounded to
    `digits`, None for a joint whose x or y is missing (NaN)."""
    xs = rounded(xyz[:, 0], digits)
    ys = rounded(xyz[:, 1], digits)
    return [
        None if x is None or y is None else (x, y) for x, y in zip(xs, ys, strict=True)
    ]


def replay_json(window: PoseWindow | None, *, max_frames: int = 3000) -> dict[str, Any]:
    """Compact JSON of a recording for the coach page's skeleton replay.

    Frames are thinned by a whole step so at most `max_frames` remain. Per frame, `xy`
    is the flat list `[x0, y0, x1, y1, ...]` (4 decimals, null = joint missing) and
    `visibility` has 2 decimals.
    """
    if window is None or len(window) == 0:
        return {"frames": 0, "step": 1, "timestamp_ms": [], "xy": [], "visibility": []}
    step = max(1, math.ceil(len(window) / max(1, max_frames)))
    xy = window.xyz[::step, :, :2].reshape(-1, window.xyz.shape[1] * 2)
    vis = window.visibility[::step]
    return {
        "skeleton": window.skeleton.value,
        "joint_names": list(window.skeleton.joint_names),
        "bones": [list(b) for b in window.skeleton.bones],
        "frames": int(xy.shape[0]),
        "step": step,
        "timestamp_ms": window.timestamp_ms[::step].tolist(),
        "xy": [rounded(row, XY_DIGITS) for row in xy],
        "visibility": [rounded(row, 2) for row in vis],
    }
