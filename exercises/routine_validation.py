"""Validation helpers for routine files (`exercises.routine`): each check names the
file, the key path and, where there is a choice, the valid names.

Core module: stdlib.
"""

from __future__ import annotations

from typing import Any

from exercises import checks as _checks
from exercises.checks import (
    array,
    choice,
    describe,
    ident,
    integer,
    join,
    number,
    string,
    table,
    text,
)
from exercises.routine_features import FEATURES

__all__ = [
    "Context",
    "RoutineError",
    "array",
    "choice",
    "describe",
    "feature",
    "features",
    "ident",
    "integer",
    "join",
    "number",
    "string",
    "table",
    "text",
    "tolerances",
]


class RoutineError(ValueError):
    """A malformed routine; the message names the file, the key and valid choices."""


class Context(_checks.Context):
    def __init__(self, source: str) -> None:
        super().__init__(source, RoutineError)


def feature(ctx: Context, path: str, value: Any) -> str:
    name = string(ctx, path, value)
    if name not in FEATURES:
        raise ctx.fail(
            path, f"unknown feature {name!r}; valid features: {', '.join(FEATURES)}"
        )
    return name


def features(ctx: Context, path: str, value: Any) -> tuple[str, ...]:
    names = tuple(
        feature(ctx, join(path, i), v) for i, v in enumerate(array(ctx, path, value))
    )
    if len(set(names)) != len(names):
        raise ctx.fail(path, f"expected each feature once, got {list(names)}")
    return names


def tolerances(ctx: Context, path: str, value: Any) -> dict[str, float]:
    data = table(ctx, path, value)
    return {
        feature(ctx, join(path, k), k): number(ctx, join(path, k), v, positive=True)
        for k, v in data.items()
    }
