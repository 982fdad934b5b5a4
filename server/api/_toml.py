"""TOML that staff upload (custom templates, scoring tables), parsed with a nesting
bound: `tomllib` recurses once per level of arrays and inline tables, and dotted keys
nest without any bracket, so a few kilobytes could otherwise exhaust the recursion
limit in the parser or in whatever walks the result (a 500)."""

from __future__ import annotations

import tomllib
from typing import Any, Final

__all__ = ["MAX_TOML_DEPTH", "TomlTooDeep", "check_toml_nesting", "load_toml"]

MAX_TOML_DEPTH: Final[int] = 32
"""Deepest nesting of tables and arrays accepted (the deepest template or scoring
table nests 5)."""


class TomlTooDeep(tomllib.TOMLDecodeError):
    """Tables and arrays nested deeper than `MAX_TOML_DEPTH`."""


def _depth(data: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TOML_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def load_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)`, refusing nesting deeper than `MAX_TOML_DEPTH`.

    Raises:
        tomllib.TOMLDecodeError: malformed, or nested too deeply (`TomlTooDeep`).
    """
    try:
        data = tomllib.loads(text)
    except RecursionError:
        data = None
    if data is None or _depth(data) > MAX_TOML_DEPTH:
        raise TomlTooDeep(
            f"expected tables and arrays nested at most {MAX_TOML_DEPTH} deep, "
            "got deeper"
        )
    return data


def check_toml_nesting(text: str) -> None:
    """Raises `TomlTooDeep` when `text` nests too deeply; other problems are left to
    the parser that reads it next (its messages name them)."""
    try:
        load_toml(text)
    except TomlTooDeep:
        raise
    except tomllib.TOMLDecodeError:
        pass
