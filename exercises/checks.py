"""Typed reads of single values from a parsed data file (a TOML or JSON document as
dicts and lists): each check returns the value or raises the file's error class naming
the source, the key path, what was expected and what was found.

The one set of checks behind templates (`exercises.spec_checks`), routines
(`exercises.routine_validation`) and every other data file (`exercises.fields.Fields`).

Core module: stdlib only; it reads no files.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from exercises.events import LocalizedText

__all__ = [
    "ID_PATTERN",
    "LANGUAGES",
    "Context",
    "array",
    "choice",
    "describe",
    "ident",
    "integer",
    "join",
    "join_path",
    "names",
    "number",
    "parse_toml",
    "string",
    "table",
    "text",
]

LANGUAGES: Final[tuple[str, ...]] = ("en", "zh-CN")
ID_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*$")


class Context:
    """The file being read, so a check can raise `error` naming it and a key path."""

    __slots__ = ("error", "source")

    def __init__(self, source: str, error: type[ValueError] = ValueError) -> None:
        self.source = source
        self.error = error

    def fail(self, path: str, message: str) -> ValueError:
        where = f"{self.source}: {path}" if path else self.source
        return self.error(f"{where}: {message}")


def describe(value: Any) -> str:
    """What a value is, for "expected X, got Y" messages."""
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"


def join(path: str, key: str | int) -> str:
    """`path.key` or `path[3]`, the key as written."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def join_path(path: str, key: str | int) -> str:
    """`path.key`, `path[3]`, or `path."zh-CN"` for keys TOML must quote."""
    if isinstance(key, str) and not re.fullmatch(r"[A-Za-z0-9_]+", key):
        key = f'"{key}"'
    return join(path, key)


def names(values: Iterable[Any]) -> str:
    """The values joined by commas, or "(none)"."""
    return ", ".join(str(v) for v in values) or "(none)"


def parse_toml(text: str, source: str, error: type[ValueError]) -> dict[str, Any]:
    """A TOML document as dicts and lists; invalid TOML raises `error` naming the
    source."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: invalid TOML: {exc}") from exc


def table(
    ctx: Context,
    path: str,
    value: Any,
    valid: Iterable[str] | None = None,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """`value` as a table; with `valid`, its keys must be among them; the `required`
    ones must be there."""
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a table, got {describe(value)}")
    if valid is not None:
        allowed = tuple(valid)
        for key in value:
            if key not in allowed:
                raise ctx.fail(
                    join(path, key), f"unknown key; valid keys: {names(allowed)}"
                )
    for key in required:
        if key not in value:
            raise ctx.fail(join(path, key), "missing required key")
    return value


def array(ctx: Context, path: str, value: Any, *, nonempty: bool = True) -> list[Any]:
    """`value` as an array (`nonempty`: with at least one entry)."""
    if not isinstance(value, list) or (nonempty and not value):
        raise ctx.fail(path, f"expected a non-empty array, got {describe(value)}")
    return value


def string(ctx: Context, path: str, value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, f"expected a non-empty string, got {describe(value)}")
    return value


def ident(ctx: Context, path: str, value: Any) -> str:
    """An id of lowercase letters, digits and _ starting with a letter."""
    text = string(ctx, path, value)
    if not ID_PATTERN.match(text):
        raise ctx.fail(
            path, f"expected an id of lowercase letters, digits and _, got {text!r}"
        )
    return text


def choice(ctx: Context, path: str, value: Any, valid: Iterable[str]) -> str:
    """One of a closed set of names."""
    allowed = tuple(valid)
    if not isinstance(value, str) or value not in allowed:
        raise ctx.fail(path, f"expected one of {names(allowed)}, got {describe(value)}")
    return value


def number(
    ctx: Context,
    path: str,
    value: Any,
    *,
    positive: bool = False,
    minimum: float | None = None,
) -> float:
    """A finite number (`positive`: above 0; `minimum`: at least that)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(path, f"expected a number, got {describe(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise ctx.fail(path, f"expected a finite number, got {value!r}")
    if positive and x <= 0:
        raise ctx.fail(path, f"expected a number > 0, got {value!r}")
    if minimum is not None and x < minimum:
        raise ctx.fail(path, f"expected a number >= {minimum:g}, got {value!r}")
    return x


def integer(ctx: Context, path: str, value: Any, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ctx.fail(path, f"expected an integer >= {minimum}, got {describe(value)}")
    return int(value)


def text(ctx: Context, path: str, value: Any) -> LocalizedText:
    """Text in every language of `LANGUAGES` (en and zh-CN)."""
    data = table(ctx, path, value)
    for key in data:
        if key not in LANGUAGES:
            raise ctx.fail(
                join(path, key),
                f"unknown language; valid languages: {names(LANGUAGES)}",
            )
    for lang in LANGUAGES:
        if lang not in data:
            raise ctx.fail(
                path, f"missing {lang!r} text (every text needs en and zh-CN)"
            )
        string(ctx, join_path(path, lang), data[lang])
    return {lang: data[lang] for lang in LANGUAGES}
