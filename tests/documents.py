"""Mutations of parsed data documents (templates, plans, scoring tables) for
table-driven validation tests: `set_at("sessions.0.days", ["mon"])` returns a
function that changes a dict in place. Path parts are split on "." and parts made
of digits index arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["delete_at", "set_at"]

Mutation = Callable[[dict[str, Any]], None]


def _walk(d: Any, path: str) -> tuple[Any, Any]:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        d = d[k]
    return d, keys[-1]


def set_at(path: str, value: Any) -> Mutation:
    """Mutation: set the value at a dotted path."""

    def apply(d: dict[str, Any]) -> None:
        parent, key = _walk(d, path)
        parent[key] = value

    return apply


def delete_at(path: str) -> Mutation:
    """Mutation: delete the key (or array entry) at a dotted path."""

    def apply(d: dict[str, Any]) -> None:
        parent, key = _walk(d, path)
        del parent[key]

    return apply
