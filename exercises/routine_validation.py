"""Validation helpers for routine files (`exercises.routine`): each check names the
file, the key path and, where there is a choice, the valid names.

Core module: stdlib.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from exercises.events import LocalizedText
from exercises.routine_features import FEATURES
from exercises.spec import LANGUAGES

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

_ID_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")


class RoutineError(ValueError):
    """A malformed routine; the message names the file, the key and valid choices."""


class Context:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> RoutineError:
        where = f"{self.source}: {path}" if path else self.source
        return RoutineError(f"{where}: {message}")


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"


def table(
    ctx: Context,
    path: str,
    value: Any,
    valid: tuple[str, ...] | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`value` as a table; with `valid`, its keys must be among them, and the
    `required` ones there."""
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a table, got {describe(value)}")
    if valid is not None:
        for key in value:
            if key not in valid:
                raise ctx.fail(
                    join(path, key), f"unknown key; valid keys: {', '.join(valid)}"
                )
    for key in required:
        if key not in value:
            raise ctx.fail(join(path, key), "missing required key")
    return value


def array(ctx: Context, path: str, value: Any, *, nonempty: bool = True) -> list[Any]:
    if not isinstance(value, list) or (nonempty and not value):
        raise ctx.fail(path, f"expected a non-empty array, got {describe(value)}")
    return value


def string(ctx: Context, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, f"expected a non-empty string, got {describe(value)}")
    return value


def ident(ctx: Context, path: str, value: Any) -> str:
    text = string(ctx, path, value)
    if not _ID_RE.match(text):
        raise ctx.fail(
            path, f"expected an id of lowercase letters, digits and _, got {text!r}"
        )
    return text


def choice(ctx: Context, path: str, value: Any, valid: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ctx.fail(
            path, f"expected one of {', '.join(valid)}, got {describe(value)}"
        )
    return value


def number(
    ctx: Context,
    path: str,
    value: Any,
    *,
    positive: bool = False,
    lo: float = -math.inf,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(path, f"expected a number, got {describe(value)}")
    x = float(value)
    if not math.isfinite(x) or (positive and x <= 0) or x < lo:
        need = "> 0" if positive else f">= {lo:g}" if lo > -math.inf else "finite"
        raise ctx.fail(path, f"expected a number {need}, got {value!r}")
    return x


def integer(ctx: Context, path: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ctx.fail(path, f"expected an integer >= {minimum}, got {describe(value)}")
    return value


def text(ctx: Context, path: str, value: Any) -> LocalizedText:
    data = table(ctx, path, value)
    for key in data:
        if key not in LANGUAGES:
            raise ctx.fail(
                join(path, key),
                f"unknown language; valid languages: {', '.join(LANGUAGES)}",
            )
    for lang in LANGUAGES:
        if lang not in data:
            raise ctx.fail(
                path, f"missing {lang!r} text (every text needs en and zh-CN)"
            )
        string(ctx, join(path, lang), data[lang])
    return {lang: data[lang] for lang in LANGUAGES}


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
