"""exercises.fields: the strict reader's messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from exercises.fields import Fields, describe, join_path


class DocError(ValueError):
    pass


def _f(data: dict[str, Any]) -> Fields:
    return Fields.root(data, "doc.toml", DocError)


def test_describe_and_paths() -> None:
    assert describe(True) == "a boolean (True)"
    assert describe({}) == "a table"
    assert describe([1]) == "an array"
    assert describe("x") == "a string ('x')"
    assert describe(1.5) == "float (1.5)"
    assert join_path("", "a") == "a"
    assert join_path("a", 2) == "a[2]"
    assert join_path("a", "zh-CN") == 'a."zh-CN"'
    assert join_path("a", "60-64") == 'a."60-64"'


@pytest.mark.parametrize(
    ("read", "data", "message"),
    [
        pytest.param(
            lambda f: f.integer("n", minimum=1),
            {"n": True},
            r"^doc\.toml: n: expected an integer, got a boolean \(True\)$",
            id="bool-is-not-int",
        ),
        pytest.param(
            lambda f: f.integer("n", maximum=3),
            {"n": 4},
            r"^doc\.toml: n: expected an integer <= 3, got 4$",
            id="int-max",
        ),
        pytest.param(
            lambda f: f.number("x", minimum=0.0),
            {"x": float("inf")},
            r"^doc\.toml: x: expected a finite number, got inf$",
            id="infinite",
        ),
        pytest.param(
            lambda f: f.number("x", minimum=0.0),
            {"x": -1},
            r"^doc\.toml: x: expected a number >= 0\.0, got -1\.0$",
            id="number-min",
        ),
        pytest.param(
            lambda f: f.table("t").string("s"),
            {"t": {"s": "  "}},
            r"^doc\.toml: t\.s: expected a non-empty string, got a string \('  '\)$",
            id="blank-string",
        ),
        pytest.param(
            lambda f: f.tables("rows"),
            {"rows": [{}, 3]},
            r"^doc\.toml: rows\[1\]: expected a table, got int \(3\)$",
            id="array-of-tables",
        ),
        pytest.param(
            lambda f: f.strings("names"),
            {"names": ["a", 2]},
            r"^doc\.toml: names: entry 1: expected a non-empty string, got int \(2\)$",
            id="strings",
        ),
        pytest.param(
            lambda f: f.text("name"),
            {"name": {"en": "Squat"}},
            r'^doc\.toml: name\."zh-CN": missing required key$',
            id="text-both",
        ),
        pytest.param(
            lambda f: f.ident("id"),
            {"id": "Squat"},
            r"^doc\.toml: id: expected an id of lowercase letters, digits and _, "
            r"got 'Squat'$",
            id="ident",
        ),
        pytest.param(
            lambda f: f.boolean("b"),
            {"b": "yes"},
            r"^doc\.toml: b: expected true or false, got a string \('yes'\)$",
            id="boolean",
        ),
    ],
)
def test_errors(
    read: Callable[[Fields], Any], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(DocError, match=message):
        read(_f(data))


def test_values() -> None:
    f = _f(
        {
            "d": dt.date(2025, 3, 5),
            "s": "2025-03-06",
            "t": {"zh-CN": "你好"},
            "n": 3,
        }
    )
    assert f.date("d") == dt.date(2025, 3, 5)
    assert f.date("s") == dt.date(2025, 3, 6)
    assert f.text("t", both=False) == {"zh-CN": "你好"}
    assert f.number("n") == 3.0
    assert f.has("n") and not f.has("m")
